/**
 * Values written to the interfaces file, through the HTTP API (issue 12): mako template code,
 * backslashes and parameters of another interface type are refused with a 400 and a message at
 * the field (PVE's `errors: {field: msg}`); nothing is staged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, raw, startServer } from './helpers.ts';
import type { Harness } from './helpers.ts';

let h: Harness;
let liveBefore: string;
before(async () => {
  h = await startServer('03-bridged-default.interfaces');
  liveBefore = await h.interfaces();
});
after(() => h.close());

async function untouched(): Promise<void> {
  assert.equal(await h.interfaces(), liveBefore);
  assert.equal(await h.staged(), null);
}

describe('the API refuses template code, backslashes and foreign parameters at the field', () => {
  const CASES: [string, Record<string, string>, string, RegExp][] = [
    [
      'POST',
      { iface: 'vmbr9', type: 'bridge', comments: "uplink 100% ${__import__('os').system('id > /tmp/x')}" },
      'comments',
      /mako template/,
    ],
    [
      'POST',
      { iface: 'vmbr9', type: 'bridge', comments: "<% __import__('os').system('id') %>" },
      'comments',
      /mako template/,
    ],
    ['POST', { iface: 'vmbr9', type: 'bridge', comments6: 'spare port \\' }, 'comments6', /backslash/],
    ['POST', { iface: 'vmbr9', type: 'bridge', comments: 'ok\n## hidden' }, 'comments', /may not start with '#'/],
    ['POST', { iface: 'vmbr9', type: 'bridge', slaves: 'enp3s0f1' }, 'slaves', /setting of bonds/],
    ['POST', { iface: 'bond9', type: 'bond', bridge_ports: 'enp3s0f1' }, 'bridge_ports', /setting of bridges/],
    ['PUT', { type: 'bridge', 'vlan-raw-device': 'enp3s0f1' }, 'vlan-raw-device', /setting of vlans/],
    ['PUT', { type: 'bridge', slaves: 'enp3s0f1' }, 'slaves', /'slaves' is a setting of bonds, not of vmbr0/],
    ['PUT', { type: 'bridge', comments: '${x}' }, 'comments', /mako template/],
  ];
  for (const [method, params, field, re] of CASES) {
    test(`${method} ${JSON.stringify(params)} → 400 at ${field}`, async () => {
      const path = method === 'POST' ? '/nodes/pve/network' : '/nodes/pve/network/vmbr0';
      for (const body of [form(params), JSON.stringify(params)]) {
        const headers: Record<string, string> = body.startsWith('{') ? { 'Content-Type': 'application/json' } : {};
        const r = await raw(h, method, path, { body, headers });
        assert.equal(r.status, 400, r.text);
        assert.match(r.json.errors?.[field] ?? '', re, r.text);
      }
      await untouched();
    });
  }

  test('a % that is not template code is written as given', async () => {
    const r = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', {
      body: form({ type: 'bridge', comments: 'uplink 100%' }),
    });
    assert.equal(r.status, 200, r.text);
    assert.match((await h.staged()) ?? '', /#\s?uplink 100%/);
    await raw(h, 'DELETE', '/nodes/pve/network');
  });
});
