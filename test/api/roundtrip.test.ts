/**
 * Set → get through the real HTTPS API (issue 13): random valid Proxmox VE parameter sets,
 * POSTed and PUT form-encoded as PVE clients send them, read back by GET exactly as set, with
 * untouched settings unchanged; the multi-address view and `netmask 24`; and cidr6 values
 * with an IPv4 part before `::` refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BASE,
  assertShows,
  assertUntouched,
  cases,
  createdInet6Only,
  expectedAfterUpdate,
  shown,
} from '../engine/pve-params.ts';
import { form, raw, startServer } from './helpers.ts';

const RUNS = Math.max(10, Math.round(Number(process.env.NODENET_PROPERTY_RUNS ?? 300) / 8));
const SEED = Number(process.env.NODENET_PROPERTY_SEED ?? 20261203);

test('API: random parameter sets POSTed and PUT read back by GET as set; untouched settings stay', async (t) => {
  const h = await startServer(undefined, { text: BASE });
  t.after(() => h.close());
  const get = async (name: string) => {
    const r = await raw(h, 'GET', `/nodes/pve/network/${name}`);
    assert.equal(r.status, 200, r.text);
    return r.json.data;
  };
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      try {
        const r1 = await raw(h, 'POST', '/nodes/pve/network', { body: form({ iface: c.name, ...c.create }) });
        assert.equal(r1.status, 200, `POST ${JSON.stringify(c.create)}: ${r1.text}`);
        const created = await get(c.name);
        assertShows(created, shown(c.create, createdInet6Only(c.create)), 'POST');
        const put: Record<string, string> = { type: c.type, ...c.update };
        if (c.del.length) put.delete = c.del.join(',');
        const r2 = await raw(h, 'PUT', `/nodes/pve/network/${c.name}`, { body: form(put) });
        assert.equal(r2.status, 200, `PUT ${JSON.stringify(put)}: ${r2.text}`);
        const after = await get(c.name);
        const only6 = createdInet6Only(c.create) && !('cidr' in c.update || 'address' in c.update);
        assertShows(after, expectedAfterUpdate(c.update, c.del, only6), 'PUT');
        assertUntouched(created, after, [...Object.keys(c.update), ...c.del, 'type'], 'PUT');
      } finally {
        // Revert: the next case starts from the live file again.
        await raw(h, 'DELETE', '/nodes/pve/network');
      }
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
  );
});

test('API: every address is shown (cidr + cidr-extra), netmask 24 is a prefix length, a bare address is /32', async (t) => {
  const text = [
    'auto lo',
    'iface lo inet loopback',
    '',
    'iface eno1 inet manual',
    '',
    'auto vmbr0',
    'iface vmbr0 inet static',
    '\taddress 192.168.1.2',
    '\tnetmask 24',
    '\tgateway 192.168.1.1',
    '\taddress 192.168.51.10/24',
    '\tbridge-ports eno1',
    '',
    'iface vmbr0 inet6 static',
    '\taddress 2001:db8::2/64',
    '\taddress 2001:db8:1::2/64 2001:db8:2::2',
    '',
    'iface vmbr1 inet static',
    '\taddress 10.1.1.1',
    '\tbridge-ports none',
    '',
  ].join('\n');
  const h = await startServer(undefined, { text });
  t.after(() => h.close());
  const check = await raw(h, 'GET', '/nodes/pve/network/check');
  assert.equal(check.status, 200, check.text);
  const errors = (check.json.data.diagnostics ?? check.json.data).filter(
    (d: { severity: string }) => d.severity === 'error',
  );
  assert.deepEqual(errors, [], 'address + netmask 24 is valid (no ADDRESS_INVALID, no GATEWAY_OUTSIDE_SUBNET)');
  const v0 = (await raw(h, 'GET', '/nodes/pve/network/vmbr0')).json.data;
  assert.equal(v0.cidr, '192.168.1.2/24');
  assert.equal(v0.address, '192.168.1.2');
  assert.equal(v0.netmask, '24');
  assert.equal(v0['cidr-extra'], '192.168.51.10/24');
  assert.equal(v0.cidr6, '2001:db8::2/64');
  assert.equal(v0['cidr6-extra'], '2001:db8:1::2/64 2001:db8:2::2/128');
  const v1 = (await raw(h, 'GET', '/nodes/pve/network/vmbr1')).json.data;
  assert.equal(v1.cidr, '10.1.1.1/32');
  assert.equal(v1.netmask, undefined);
  // An edit of cidr changes the first address only, in the file's own style; the others stay.
  const r = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', { body: form({ type: 'bridge', cidr: '192.168.1.3/25' }) });
  assert.equal(r.status, 200, r.text);
  const staged = (await h.staged())!;
  assert.match(
    staged,
    /\taddress 192\.168\.1\.3\n\tnetmask 25\n\tgateway 192\.168\.1\.1\n\taddress 192\.168\.51\.10\/24\n/,
  );
  const v2 = (await raw(h, 'GET', '/nodes/pve/network/vmbr0')).json.data;
  assert.equal(v2.cidr, '192.168.1.3/25');
  assert.equal(v2['cidr-extra'], '192.168.51.10/24');
  // delete=cidr removes every IPv4 address of the interface (and the gateway must go with it).
  const d = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', { body: form({ type: 'bridge', delete: 'cidr,gateway' }) });
  assert.equal(d.status, 200, d.text);
  const v3 = (await raw(h, 'GET', '/nodes/pve/network/vmbr0')).json.data;
  assert.equal(v3.cidr, undefined);
  assert.equal(v3['cidr-extra'], undefined);
  assert.equal(v3['cidr6-extra'], '2001:db8:1::2/64 2001:db8:2::2/128');
});

test('API: cidr6 with an IPv4 part before :: is refused (POST and PUT)', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const before = await h.interfaces();
  const p = await raw(h, 'POST', '/nodes/pve/network', {
    body: form({ iface: 'vmbr7', type: 'bridge', cidr6: '32.1.13.184::5/64' }),
  });
  assert.equal(p.status, 400, p.text);
  assert.ok(p.json.errors.cidr6, p.text);
  const u = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', {
    body: form({ type: 'bridge', cidr6: '32.1.13.184::5/64' }),
  });
  assert.equal(u.status, 400, u.text);
  assert.ok(u.json.errors.cidr6, u.text);
  assert.equal(await h.interfaces(), before);
  assert.equal(await h.staged(), null);
});
