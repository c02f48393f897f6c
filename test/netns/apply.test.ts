/**
 * Real ifupdown2 in the netns backend: files applied, the kernel state read back through
 * readState(), reloads of changed files, guests' ports through a reload, and drift.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend } from '../../src/apply/backend.ts';
import { diffStates, type KernelState } from '../../src/apply/state.ts';
import { LO, NAT_STANZA, bridgedFile, makeRoot, removeRoot, skipUnlessReady, writeInterfaces } from './helpers.ts';

const iface = (s: KernelState, name: string) => s.interfaces.find((i) => i.name === name);
const routeLines = (s: KernelState) =>
  s.routes.map((r) => `${r.dst}${r.gateway === undefined ? '' : ` via ${r.gateway}`} dev ${r.dev ?? '?'}`);

describe('netns backend: apply and read back', { skip: skipUnlessReady() }, () => {
  let root: string | undefined;
  let be: NetnsBackend | undefined;

  before(async () => {
    root = makeRoot(bridgedFile());
    be = createNetnsBackend({ root });
    await be.prepare(['eno1', 'eno2']);
  });

  after(async () => {
    await be?.destroy().catch(() => undefined);
    removeRoot(root);
  });

  test('describe names the namespace and the ifupdown2 version', async () => {
    assert.ok(be !== undefined);
    assert.match(await be.describe(), /^netns nodenet-[0-9a-f]{8} \(ifupdown2 \S+, unpacked\)$/);
  });

  test('a bridged file: vmbr0 on eno1 with address and gateway', async () => {
    assert.ok(be !== undefined);
    const lines: string[] = [];
    const r = await be.reload({ all: true }, (l) => lines.push(l));
    assert.equal(r.code, 0, r.log.join('\n'));
    assert.deepEqual(r.errors, [], 'the brctl warning is filtered');
    assert.deepEqual(lines, r.log, 'every line is streamed');
    assert.equal(lines[0], '$ ifreload -a');

    const s = await be.readState();
    const vmbr0 = iface(s, 'vmbr0');
    assert.deepEqual(vmbr0, {
      name: 'vmbr0',
      kind: 'bridge',
      up: true,
      mtu: 1500,
      addresses: ['192.168.100.2/24'],
      bridge: { stp_state: 0, forward_delay: 0, vlan_filtering: 0 },
    });
    assert.equal(iface(s, 'eno1')?.master, 'vmbr0');
    assert.equal(iface(s, 'eno1')?.up, true);
    assert.equal(iface(s, 'eno2')?.up, false, 'eno2 has no stanza');
    assert.ok(routeLines(s).includes('default via 192.168.100.1 dev vmbr0'), routeLines(s).join('\n'));
    assert.ok(routeLines(s).includes('192.168.100.0/24 dev vmbr0'));

    const check = await be.check();
    assert.equal(check.code, 0);
    assert.equal(check.ifaces.find((i) => i.name === 'vmbr0')?.status, 'pass');
    assert.equal(check.ifaces.find((i) => i.name === 'vmbr0')?.config_status['bridge-ports'], 'pass');
  });

  test('bridge-fd is read back in seconds (the kernel reports centiseconds)', async () => {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, bridgedFile().replace('bridge-fd 0', 'bridge-fd 2'));
    assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
    assert.equal(iface(await be.readState(), 'vmbr0')?.bridge?.forward_delay, 2);
  });

  test('a NAT file: MASQUERADE and ip_forward read back, no duplicates on reload', async () => {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, bridgedFile() + NAT_STANZA);
    for (let i = 0; i < 2; i++) {
      const r = await be.reload({ all: true }, () => undefined);
      assert.equal(r.code, 0, r.log.join('\n'));
    }
    const s = await be.readState();
    assert.equal(s.sysctls['net.ipv4.ip_forward'], '1');
    assert.deepEqual(iface(s, 'vmbr1')?.addresses, ['10.10.10.1/24']);
    const rules = s.firewall.iptables;
    assert.ok(rules !== null, 'iptables-save is available');
    assert.deepEqual(
      rules.filter((l) => l.includes('MASQUERADE')),
      ['-A POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE'],
    );
  });

  test('reload of a changed file: readdress, remove the NAT bridge (post-down runs)', async () => {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, bridgedFile('192.168.100.3/24'));
    const r = await be.reload({ all: true }, () => undefined);
    assert.equal(r.code, 0, r.log.join('\n'));
    const s = await be.readState();
    assert.deepEqual(iface(s, 'vmbr0')?.addresses, ['192.168.100.3/24']);
    assert.equal(iface(s, 'vmbr1'), undefined, 'vmbr1 was deleted from the saved state');
    assert.deepEqual(s.firewall.iptables ?? [], [], 'the rule is gone and the empty nat table normalised away');
  });

  test('errors are attributed to their interface', async () => {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, bridgedFile().replace('bridge-ports eno1', 'bridge-ports eno1 eno9'));
    const r = await be.reload({ all: true }, () => undefined);
    assert.notEqual(r.code, 0);
    assert.deepEqual(r.errors, [{ iface: 'vmbr0', severity: 'error', message: 'bridge port eno9 does not exist' }]);
  });

  test('a guest port survives a reload with bridge-ports-condone-regex', async () => {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, bridgedFile('192.168.100.2/24', '\tbridge-ports-condone-regex ^(tap|veth|fwpr)\n'));
    assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
    // a container's veth plugged in by the hypervisor, not in the file
    for (const argv of [
      ['ip', 'link', 'add', 'veth100i0', 'type', 'veth', 'peer', 'name', 'ct100eth0'],
      ['ip', 'link', 'set', 'veth100i0', 'master', 'vmbr0', 'up'],
    ]) {
      const x = await be.execNet(argv);
      assert.equal(x.code, 0, x.stderr);
    }
    const r = await be.reload({ all: true }, () => undefined);
    assert.equal(r.code, 0, r.log.join('\n'));
    assert.equal(iface(await be.readState(), 'veth100i0')?.master, 'vmbr0');
  });

  test("without the regex, Debian's ifupdown2 3.0.0 unplugs the guest port on reload", async () => {
    // Documents the behaviour that the condone regex (or PVE's patch) exists for: the port is
    // detached from the bridge (the veth itself stays). nodenet must therefore write the regex.
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, bridgedFile());
    const r = await be.reload({ all: true }, () => undefined);
    assert.equal(r.code, 0, r.log.join('\n'));
    const s = await be.readState();
    assert.ok(iface(s, 'veth100i0') !== undefined);
    assert.equal(iface(s, 'veth100i0')?.master, undefined);
    await be.execNet(['ip', 'link', 'del', 'veth100i0']);
  });

  test('drift: an address deleted by hand is seen by readState and repaired by a reload', async () => {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, bridgedFile());
    assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
    const good = await be.readState();
    const del = await be.execNet(['ip', 'addr', 'del', '192.168.100.2/24', 'dev', 'vmbr0']);
    assert.equal(del.code, 0, del.stderr);
    const drifted = await be.readState();
    const diff = diffStates(good, drifted).map((d) => d.message);
    assert.ok(diff.includes('vmbr0: address 192.168.100.2/24 only before'), diff.join('\n'));
    assert.ok(
      diff.some((m) => m.startsWith('route -4 default via 192.168.100.1 dev vmbr0')),
      diff.join('\n'),
    );
    assert.notEqual((await be.check()).code, 0, 'ifquery --check sees it too');
    assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
    assert.deepEqual(diffStates(good, await be.readState()), []);
  });

  test('an empty file downs what was up (saved state survives between commands)', async () => {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, LO);
    assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
    assert.equal(iface(await be.readState(), 'vmbr0'), undefined);
  });
});
