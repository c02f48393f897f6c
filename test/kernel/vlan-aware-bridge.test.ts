/**
 * A VLAN-aware bridge with `bridge-vids` over a bond and a NIC, a VLAN
 * sub-interface on it (`vmbr0.20`), read back with `bridge -j vlan`; then a
 * reload that changes the vids and moves the sub-interface to `vmbr0.30`.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';
import { addresses, bridgeVlans, describeStep, hasLink, infoData, link, portsOf } from './state.ts';

const file = (vids: string, sub: number): string => `auto lo
iface lo inet loopback

auto bond0
iface bond0 inet manual
	bond-slaves eno1 eno2
	bond-miimon 100
	bond-mode 802.3ad
	bond-xmit-hash-policy layer2+3

auto vmbr0
iface vmbr0 inet static
	address 192.168.50.2/24
	bridge-ports bond0 eno3
	bridge-stp off
	bridge-fd 0
	bridge-vlan-aware yes
	bridge-vids ${vids}

auto vmbr0.${sub}
iface vmbr0.${sub} inet static
	address 10.0.${sub}.2/24
`;

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('kernel: VLAN-aware bridge', { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 60_000 }, () => {
  let first: StepResult, second: StepResult;
  before(async () => {
    const run = await runInGuest({
      steps: [
        { name: 'vids 10 20 100-110, vmbr0.20', files: file('10 20 100-110', 20) },
        { name: 'vids 10 30, vmbr0.30', files: file('10 30', 30) },
      ],
    });
    [first, second] = run.steps as [StepResult, StepResult];
  });

  it('applies cleanly', () => {
    assert.equal(first.ifreload?.rc, 0, describeStep(first));
    assert.equal(first.check?.rc, 0, describeStep(first));
  });

  it('vmbr0 filters VLANs and bridges bond0 + eno3', () => {
    assert.equal(infoData(first, 'vmbr0')['vlan_filtering'], 1);
    assert.deepEqual(portsOf(first, 'vmbr0'), ['bond0', 'eno3']);
    assert.deepEqual(addresses(first, 'vmbr0'), ['192.168.50.2/24']);
  });

  it('bridge -j vlan: each port carries pvid 1 untagged plus the bridge-vids', () => {
    for (const port of ['bond0', 'eno3']) {
      const v = bridgeVlans(first, port);
      assert.deepEqual(v.vids, [1, 10, 20, ...range(100, 110)], `${port}: ${JSON.stringify(first.vlan)}`);
      assert.equal(v.pvid, 1);
      assert.deepEqual(v.untagged, [1]);
    }
  });

  it('vmbr0.20 is an 802.1Q VLAN on vmbr0 with its address, and the bridge itself carries VLAN 20', () => {
    const l = link(first, 'vmbr0.20');
    assert.equal(l.linkinfo?.info_kind, 'vlan');
    assert.equal(l.link, 'vmbr0');
    assert.equal(infoData(first, 'vmbr0.20')['id'], 20);
    assert.deepEqual(addresses(first, 'vmbr0.20'), ['10.0.20.2/24']);
    assert.ok(bridgeVlans(first, 'vmbr0').vids.includes(20), JSON.stringify(first.vlan));
  });

  it('a reload changes the vids and moves the sub-interface', () => {
    assert.equal(second.ifreload?.rc, 0, describeStep(second));
    assert.equal(second.check?.rc, 0, describeStep(second));
    for (const port of ['bond0', 'eno3']) assert.deepEqual(bridgeVlans(second, port).vids, [1, 10, 30], port);
    assert.equal(hasLink(second, 'vmbr0.20'), false);
    assert.equal(infoData(second, 'vmbr0.30')['id'], 30);
    assert.deepEqual(addresses(second, 'vmbr0.30'), ['10.0.30.2/24']);
  });
});
