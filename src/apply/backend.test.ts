import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { findHostIfupdown2 } from './ifupdown2.ts';
import { test } from 'node:test';
import {
  createBackend,
  createIfupdown2Backend,
  createNoneBackend,
  parseIfupdown2Log,
  reloadCommands,
  warmByDefault,
  type Ifupdown2Backend,
} from './backend.ts';
import { NodenetError } from '../errors.ts';

test('ifupdown2 log lines are attributed to their interface', () => {
  const log = [
    '$ ifreload -a',
    "warning: /sbin/brctl: missing - bridge operation may not work as expected. Please check if 'bridge-utils' package is installed",
    'error: vmbr0: bridge port eno9 does not exist',
    "error: netlink: eno2.20: cannot create vlan eno2.20 20: operation failed with 'Operation not supported' (95)",
    "error: /etc/network/interfaces: line11: iface vmbr1: unsupported address method 'statik'",
    "error: /etc/network/interfaces: line16: error processing line 'address 10.2.2.2/24'",
    "warning: error while writing to file /sys/class/net/bonding_masters: [Errno 13] Permission denied: '/sys/class/net/bonding_masters'",
    'warning: vmbr1: bridge-ports: invalid value "none": valid attribute values: [\'<interface-list>\']',
    'info: vmbr0: not an issue',
    'Traceback (most recent call last):',
  ];
  assert.deepEqual(parseIfupdown2Log(log), [
    { iface: 'vmbr0', severity: 'error', message: 'bridge port eno9 does not exist' },
    {
      iface: 'eno2.20',
      severity: 'error',
      message: "cannot create vlan eno2.20 20: operation failed with 'Operation not supported' (95)",
    },
    {
      iface: 'vmbr1',
      severity: 'error',
      message: "/etc/network/interfaces: line11: iface vmbr1: unsupported address method 'statik'",
    },
    { severity: 'error', message: "/etc/network/interfaces: line16: error processing line 'address 10.2.2.2/24'" },
    {
      severity: 'warning',
      message:
        "error while writing to file /sys/class/net/bonding_masters: [Errno 13] Permission denied: '/sys/class/net/bonding_masters'",
    },
    {
      iface: 'vmbr1',
      severity: 'warning',
      message: 'bridge-ports: invalid value "none": valid attribute values: [\'<interface-list>\']',
    },
  ]);
});

test('with known interfaces, other prefixes are not taken for interfaces', () => {
  const issues = parseIfupdown2Log(['error: iptables: Bad rule', 'error: vmbr0: x'], new Set(['vmbr0']));
  assert.deepEqual(issues, [
    { severity: 'error', message: 'iptables: Bad rule' },
    { iface: 'vmbr0', severity: 'error', message: 'x' },
  ]);
});

test('reload plans become ifreload -a, or ifdown then ifup -w', () => {
  assert.deepEqual(reloadCommands({ all: true }), [['ifreload', ['-a']]]);
  assert.deepEqual(reloadCommands({ up: ['vmbr2', 'vmbr0'], down: ['vmbr1'] }), [
    ['ifdown', ['vmbr1']],
    ['ifup', ['-w', 'vmbr2', 'vmbr0']],
  ]);
  assert.deepEqual(reloadCommands({ up: [], down: [] }), []);
  // the MTU repair: the named interfaces alone, no lower device
  assert.deepEqual(reloadCommands({ up: [], down: [], again: ['bond0.40', 'bond0.60'] }), [
    ['ifup', ['bond0.40', 'bond0.60']],
  ]);
  assert.throws(() => reloadCommands({ up: [], down: [], again: ['-a'] }), NodenetError);
  assert.throws(
    () => reloadCommands({ up: ['-a'], down: [] }),
    (e: unknown) => e instanceof NodenetError && e.code === 'PARAM',
  );
  assert.throws(() => reloadCommands({ up: ['a b'], down: [] }), NodenetError);
});

test('the none backend reloads nothing and reads an empty state', async () => {
  const be = createNoneBackend();
  const lines: string[] = [];
  const r = await be.reload({ all: true }, (l) => lines.push(l));
  assert.equal(r.code, 0);
  assert.deepEqual(lines, r.log);
  assert.deepEqual((await be.readState()).interfaces, []);
  await assert.rejects(be.exec(['true']), NodenetError);
});

test('the ifupdown2 backend refuses any root but /', () => {
  assert.throws(
    () => createIfupdown2Backend({ root: '/tmp' }),
    (e: unknown) => e instanceof NodenetError && e.code === 'USAGE' && /--root \//.test(e.message),
  );
});

test(
  'a missing host ifupdown2 is reported with how to install it',
  { skip: existsSync('/usr/sbin/ifreload') || existsSync('/sbin/ifreload') ? 'ifupdown2 is installed here' : false },
  async () => {
    await assert.rejects(
      findHostIfupdown2(),
      (e: unknown) => e instanceof NodenetError && e.code === 'BACKEND' && e.message.includes('apt install ifupdown2'),
    );
  },
);

test('the host backend is cold unless asked (a CLI apply stays cold; serve asks)', async () => {
  assert.equal(await createIfupdown2Backend({ root: '/' }).warm(), undefined);
  assert.equal(await createIfupdown2Backend({ root: '/', warm: false }).warm(), undefined);
  const viaKind = createBackend('ifupdown2', { root: '/' }) as Ifupdown2Backend;
  assert.equal(await viaKind.warm(), undefined);
  await viaKind.close(); // nothing to stop
});

test('NODENET_WARM=0 turns the warm worker off for serve', () => {
  const saved = process.env['NODENET_WARM'];
  try {
    process.env['NODENET_WARM'] = '0';
    assert.equal(warmByDefault(), false);
    delete process.env['NODENET_WARM'];
    assert.equal(warmByDefault(), true);
  } finally {
    if (saved === undefined) delete process.env['NODENET_WARM'];
    else process.env['NODENET_WARM'] = saved;
  }
});
