/** verifyState: every port, slave and raw device the file names that the kernel lacks is reported. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelOf } from './pipeline.ts';
import type { KernelInterface, KernelState } from './state.ts';
import { verifyState } from './verify.ts';

const FILE = `auto lo
iface lo inet loopback

auto eno1
iface eno1 inet manual

iface bond1 inet manual
	bond-slaves eno1 eno7
	bond-mode active-backup

auto vmbr0
iface vmbr0 inet manual
	bridge-ports eno1

auto vmbr7
iface vmbr7 inet manual
	bridge-ports eno9

auto eno5.10
iface eno5.10 inet manual
`;

function state(ifaces: KernelInterface[]): KernelState {
  return { interfaces: ifaces, routes: [], sysctls: {}, firewall: { iptables: null, nft: null } };
}

test('a missing port, slave or raw device is reported, critical for an auto interface', () => {
  const k = state([
    { name: 'lo', kind: 'loopback', up: true, mtu: 65536, addresses: [] },
    { name: 'eno1', kind: 'veth', up: true, mtu: 1500, addresses: [], master: 'vmbr0' },
    {
      name: 'vmbr0',
      kind: 'bridge',
      up: true,
      mtu: 1500,
      addresses: [],
      bridge: { stp_state: 0, forward_delay: 0, vlan_filtering: 0 },
    },
    // the bridge came up without its only port: ifupdown2 warned and exited 0
    {
      name: 'vmbr7',
      kind: 'bridge',
      up: true,
      mtu: 1500,
      addresses: [],
      bridge: { stp_state: 0, forward_delay: 0, vlan_filtering: 0 },
    },
  ]);
  const r = verifyState(modelOf(FILE), k);
  assert.equal(r.ok, false);
  const missing = r.differences
    .filter((d) => /does not exist in the kernel/.test(d.message))
    .map((d) => [d.severity, d.message]);
  assert.deepEqual(missing, [
    ['tolerated', 'bond1: bond slave eno7 does not exist in the kernel (bond1 is not brought up at boot)'],
    ['critical', 'vmbr7: bridge port eno9 does not exist in the kernel'],
    ['critical', 'eno5.10: VLAN raw device eno5 does not exist in the kernel'],
  ]);
});

test('with every lower device present, nothing is reported missing', () => {
  const k = state([
    { name: 'eno1', kind: 'veth', up: true, mtu: 1500, addresses: [], master: 'vmbr0' },
    {
      name: 'vmbr0',
      kind: 'bridge',
      up: true,
      mtu: 1500,
      addresses: [],
      bridge: { stp_state: 0, forward_delay: 0, vlan_filtering: 0 },
    },
  ]);
  const r = verifyState(
    modelOf('auto eno1\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n'),
    k,
  );
  assert.deepEqual(r, { ok: true, differences: [] });
});

test('an MTU under IPv4 minimum with no mtu line is critical; one the file sets is compared as before', () => {
  const m = modelOf(
    'auto bond0\niface bond0 inet manual\n\tbond-slaves eno1\n\n' +
      'auto bond0.40\niface bond0.40 inet static\n\taddress 10.40.0.2/24\n\n' +
      'auto bond0.50\niface bond0.50 inet manual\n\tmtu 1400\n',
  );
  const k = state([
    { name: 'eno1', kind: 'veth', up: true, mtu: 1500, addresses: [], master: 'bond0' },
    { name: 'bond0', kind: 'bond', up: true, mtu: 1500, addresses: [], bond: { mode: 'balance-rr', options: {} } },
    // what the kernel tier saw after a bond change: MTU 0, and the IPv4 address gone with it
    {
      name: 'bond0.40',
      kind: 'vlan',
      up: true,
      mtu: 0,
      addresses: [],
      vlan: { id: 40, protocol: '802.1Q', link: 'bond0' },
    },
    {
      name: 'bond0.50',
      kind: 'vlan',
      up: true,
      mtu: 1500,
      addresses: [],
      vlan: { id: 50, protocol: '802.1Q', link: 'bond0' },
    },
  ]);
  const r = verifyState(m, k);
  assert.deepEqual(
    r.differences.map((d) => `${d.severity}: ${d.message}`),
    [
      'critical: bond0.40: address 10.40.0.2/24 missing',
      "critical: bond0.40: mtu 0, under IPv4's minimum of 68 (the file sets none)",
      'tolerated: bond0.50: mtu 1500, the file says 1400',
    ],
  );
});
