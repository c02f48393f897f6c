/**
 * The two bond layouts of a PVE node: (A) a bond with a static address for a
 * storage network next to a separate bridge vmbr0 on another NIC; (B) a bond
 * as the port of vmbr0.  One boot: A, then B as a reload on top of A.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';
import { addresses, bonding, describeStep, infoData, link, portsOf } from './state.ts';

const storageBond = `auto lo
iface lo inet loopback

iface eno1 inet manual

iface eno2 inet manual

iface eno3 inet manual

# storage network on a bond of its own
auto bond0
iface bond0 inet static
	address 10.10.10.2/24
	bond-slaves eno1 eno2
	bond-miimon 100
	bond-mode 802.3ad
	bond-xmit-hash-policy layer3+4

auto vmbr0
iface vmbr0 inet static
	address 192.168.1.2/24
	gateway 192.168.1.1
	bridge-ports eno3
	bridge-stp off
	bridge-fd 0
`;

const bondInBridge = `auto lo
iface lo inet loopback

iface eno1 inet manual

iface eno2 inet manual

auto bond0
iface bond0 inet manual
	bond-slaves eno1 eno2
	bond-miimon 100
	bond-mode 802.3ad
	bond-xmit-hash-policy layer3+4

auto vmbr0
iface vmbr0 inet static
	address 192.168.1.2/24
	gateway 192.168.1.1
	bridge-ports bond0
	bridge-stp off
	bridge-fd 0
`;

describe('kernel: bond layouts', { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 60_000 }, () => {
  let a: StepResult, b: StepResult;
  before(async () => {
    const run = await runInGuest({
      steps: [
        { name: 'storage bond + vmbr0', files: storageBond },
        { name: 'bond as port of vmbr0', files: bondInBridge },
      ],
    });
    [a, b] = run.steps as [StepResult, StepResult];
  });

  it('A: applies cleanly (ifreload 0, ifquery --check 0)', () => {
    assert.equal(a.ifreload?.rc, 0, describeStep(a));
    assert.equal(a.check?.rc, 0, describeStep(a));
  });

  it('A: bond0 carries the storage address, vmbr0 bridges eno3', () => {
    assert.deepEqual(addresses(a, 'bond0'), ['10.10.10.2/24']);
    assert.equal(link(a, 'bond0').master, undefined);
    assert.equal(infoData(a, 'bond0')['mode'], '802.3ad');
    assert.deepEqual(bonding(a, 'bond0').slaves, ['eno1', 'eno2']);
    assert.equal(link(a, 'vmbr0').linkinfo?.info_kind, 'bridge');
    assert.deepEqual(portsOf(a, 'vmbr0'), ['eno3']);
    assert.deepEqual(addresses(a, 'vmbr0'), ['192.168.1.2/24']);
    assert.ok(
      a.route.some((r) => r['dst'] === 'default' && r['gateway'] === '192.168.1.1' && r['dev'] === 'vmbr0'),
      JSON.stringify(a.route),
    );
  });

  it('B: reload applies cleanly', () => {
    assert.equal(b.ifreload?.rc, 0, describeStep(b));
    assert.equal(b.check?.rc, 0, describeStep(b));
  });

  it('B: bond0 is the only port of vmbr0, without an address of its own', () => {
    assert.deepEqual(portsOf(b, 'vmbr0'), ['bond0']);
    assert.equal(link(b, 'bond0').linkinfo?.info_slave_kind, 'bridge');
    assert.deepEqual(addresses(b, 'bond0'), []);
    assert.deepEqual(bonding(b, 'bond0').slaves, ['eno1', 'eno2']);
    assert.equal(infoData(b, 'bond0')['xmit_hash_policy'], 'layer3+4');
    assert.deepEqual(addresses(b, 'vmbr0'), ['192.168.1.2/24']);
    assert.equal(link(b, 'eno3').master, undefined, 'eno3 left vmbr0');
    assert.ok(
      b.route.some((r) => r['dst'] === 'default' && r['gateway'] === '192.168.1.1' && r['dev'] === 'vmbr0'),
      JSON.stringify(b.route),
    );
  });
});
