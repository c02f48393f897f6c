/**
 * 802.1q VLANs in every naming form ifupdown2 accepts — `eno1.100`, nested
 * `bond0.100.10`, `vlanN` + `vlan-raw-device`, a custom name +
 * `vlan-raw-device` + `vlan-id` — on NICs, bonds and bridges, read back from
 * `ip -j -d link` (linkinfo protocol, id, and the lower device in `link`).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';
import { addresses, describeStep, infoData, link } from './state.ts';

const file = `auto lo
iface lo inet loopback

iface eno1 inet manual

auto eno1.100
iface eno1.100 inet static
	address 10.1.100.2/24

auto vlan200
iface vlan200 inet static
	address 10.1.200.2/24
	vlan-raw-device eno4

auto bond0
iface bond0 inet manual
	bond-slaves eno2 eno3
	bond-miimon 100
	bond-mode active-backup

auto bond0.100
iface bond0.100 inet manual

auto bond0.100.10
iface bond0.100.10 inet static
	address 10.2.10.2/24

auto storage
iface storage inet static
	address 10.3.0.2/24
	vlan-raw-device bond0
	vlan-id 300

auto vmbr1
iface vmbr1 inet manual
	bridge-ports eno5
	bridge-stp off
	bridge-fd 0

auto vmbr1.400
iface vmbr1.400 inet static
	address 10.4.0.2/24

auto vlan500
iface vlan500 inet manual
	vlan-raw-device vmbr1

auto mgmt
iface mgmt inet static
	address 10.6.0.2/24
	vlan-raw-device vmbr1
	vlan-id 600
`;

/** name -> [lower device, id, address or undefined] */
const expected: Record<string, [string, number, string | undefined]> = {
  'eno1.100': ['eno1', 100, '10.1.100.2/24'],
  vlan200: ['eno4', 200, '10.1.200.2/24'],
  'bond0.100': ['bond0', 100, undefined],
  'bond0.100.10': ['bond0.100', 10, '10.2.10.2/24'],
  storage: ['bond0', 300, '10.3.0.2/24'],
  'vmbr1.400': ['vmbr1', 400, '10.4.0.2/24'],
  vlan500: ['vmbr1', 500, undefined],
  mgmt: ['vmbr1', 600, '10.6.0.2/24'],
};

describe('kernel: 802.1q VLAN naming forms', { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 60_000 }, () => {
  let step: StepResult;
  before(async () => {
    step = (await runInGuest({ steps: [{ name: 'vlans', files: file }] })).steps[0]!;
  });

  it('ifreload -a and ifquery --check pass', () => {
    assert.equal(step.ifreload?.rc, 0, describeStep(step));
    assert.equal(step.check?.rc, 0, describeStep(step));
  });

  for (const [name, [lower, id, address]] of Object.entries(expected)) {
    it(`${name}: 802.1Q id ${id} on ${lower}`, () => {
      const l = link(step, name);
      assert.equal(l.linkinfo?.info_kind, 'vlan');
      const d = infoData(step, name);
      assert.equal(d['protocol'], '802.1Q');
      assert.equal(d['id'], id);
      assert.equal(l.link, lower);
      assert.ok(l.flags.includes('UP'), `${name} flags ${l.flags.join(',')}`);
      assert.deepEqual(addresses(step, name), address ? [address] : []);
    });
  }

  it('the lower devices are what the file says: a NIC, a bond, a bridge', () => {
    assert.equal(link(step, 'eno1').linkinfo?.info_kind, 'veth');
    assert.equal(link(step, 'bond0').linkinfo?.info_kind, 'bond');
    assert.equal(link(step, 'vmbr1').linkinfo?.info_kind, 'bridge');
    assert.equal(link(step, 'eno5').master, 'vmbr1');
  });
});
