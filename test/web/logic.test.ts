import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressMove, allCidrs, bondMode, checkField, dependents, diffLines, freeName, vlanFromName } from '../../web/src/logic.ts';
import type { Iface } from '../../web/src/logic.ts';

const list: Iface[] = [
  { iface: 'eno1', type: 'eth' }, { iface: 'eno2', type: 'eth' },
  { iface: 'vmbr0', type: 'bridge', bridge_ports: 'eno1', cidr: '192.0.2.50/24' },
  { iface: 'bond0', type: 'bond', slaves: 'eno2 eno3', 'bond-primary': 'eno2' },
  { iface: 'bond0.50', type: 'vlan' },
  { iface: 'v9', type: 'vlan', 'vlan-raw-device': 'bond0', 'vlan-id': '9' },
];

test('dependents names bridge ports, bond slaves/primary and VLAN raw devices', () => {
  assert.deepEqual(dependents(list, 'eno1'), [{ iface: 'vmbr0', how: 'bridge port' }]);
  assert.deepEqual(dependents(list, 'eno2'), [{ iface: 'bond0', how: 'bond slave' }, { iface: 'bond0', how: 'bond primary' }]);
  assert.deepEqual(dependents(list, 'bond0').map((d) => d.iface), ['bond0.50', 'v9']);
});

test('VLAN names fill raw device and tag', () => {
  assert.deepEqual(vlanFromName('eno1.50'), { raw: 'eno1', tag: 50 });
  assert.deepEqual(vlanFromName('vlan7'), { tag: 7 });
  assert.equal(vlanFromName('storage'), null);
  assert.equal(vlanFromName('eno1.5000'), null);
});

test('bond modes: hash policy only for balance-xor/802.3ad, primary only for active-backup', () => {
  assert.equal(bondMode('802.3ad').hashPolicy, true);
  assert.equal(bondMode('balance-xor').hashPolicy, true);
  assert.equal(bondMode('active-backup').primary, true);
  assert.equal(bondMode('balance-rr').primary || bondMode('balance-rr').hashPolicy, false);
});

test('field checks and free names', () => {
  assert.equal(checkField('cidr', '10.0.0.1/24', 'bridge'), null);
  assert.ok(checkField('cidr', '10.0.0.1/33', 'bridge'));
  assert.ok(checkField('bridge_vids', '1-10', 'bridge'));
  assert.equal(checkField('bridge_vids', '2-10 100', 'bridge'), null);
  assert.ok(checkField('iface', 'toolongbridge1', 'bridge'));
  assert.equal(freeName(list, 'vmbr'), 'vmbr1');
});

test('diff lines are classified', () => {
  assert.deepEqual(diffLines('--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n').map((l) => l.kind), ['meta', 'meta', 'hunk', 'del', 'add', 'ctx']);
});

test('addressMove finds where the page address goes', () => {
  const diff = '--- a\n+++ b\n@@ -1,4 +1,4 @@\n auto vmbr0\n iface vmbr0 inet static\n-\taddress 192.0.2.50/24\n+\taddress 192.0.2.60/24\n';
  const staged = list.map((i) => (i.iface === 'vmbr0' ? { ...i, cidr: '192.0.2.60/24' } : i));
  const m = addressMove('192.0.2.50', diff, staged);
  assert.equal(m?.to, '192.0.2.60');
  assert.equal(m?.iface, 'vmbr0');
  assert.equal(addressMove('192.0.2.50', '', list), null);
  assert.equal(addressMove('pve.example', diff, staged), null);
});

test('the CIDR column shows every address: cidr, cidr-extra, cidr6, cidr6-extra', () => {
  assert.deepEqual(allCidrs({ iface: 'vmbr0', type: 'bridge', cidr: '192.0.2.2/24', 'cidr-extra': '192.0.2.3/24 198.51.100.2/24', cidr6: '2001:db8::2/64', 'cidr6-extra': 'fd00::2/64' }), [
    '192.0.2.2/24', '192.0.2.3/24', '198.51.100.2/24', '2001:db8::2/64', 'fd00::2/64',
  ]);
  assert.deepEqual(allCidrs({ iface: 'eno1', type: 'eth' }), []);
});
