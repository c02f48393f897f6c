/**
 * The fleet server under attack and under concurrent admins (issue 19), against real etcd, a
 * real agent and two real API servers:
 *   - two admins on two API servers, the second with the first's stale digest → 409, nothing
 *     overwritten (the node's staged file is the oracle);
 *   - unauthenticated requests → 401 and no request key is ever written to etcd (a watch on the
 *     node's `rpc/` prefix is the oracle);
 *   - bad node names → 400 before etcd is read or written;
 *   - an oversized body → 413 (the body limit holds in fleet mode);
 *   - a request forged straight into etcd (unknown route, a principal without Sys.Modify, no
 *     principal) → the agent refuses it and the node's files do not change.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { api, login, nodeFile, readLive, readStaged, requireFleet, startFleet, until } from './harness.ts';
import type { Fleet } from './harness.ts';

const P = '/nodenet/v1/nodes/';

let fleet: Fleet | undefined;
let ok = false;
before(async (t) => {
  ok = requireFleet(t as unknown as TestContext);
  if (ok) fleet = await startFleet(1);
});
after(async () => {
  await fleet?.close();
});

test('two admins on two API servers: the stale digest is refused with 409, nothing overwritten', async (t) => {
  if (!ok || !fleet) return t.skip('no fleet');
  const f = fleet;
  const a = await f.agent('d1', nodeFile('10.0.0.1/24'));
  const [s1, s2] = await Promise.all([f.server('api1'), f.server('api2')]);
  const [u1, u2] = await Promise.all([login(s1.base), login(s2.base)]);
  // Both read the node (same digest).
  const r1 = await api(s1.base, 'GET', '/nodes/d1/network', {}, u1);
  const r2 = await api(s2.base, 'GET', '/nodes/d1/network', {}, u2);
  const digest = r1.json.digest as string;
  assert.match(digest, /^[0-9a-f]{64}$/);
  assert.equal(r2.json.digest, digest);
  // Admin 1 stages through api1 with the digest it read.
  const w1 = await api(s1.base, 'POST', '/nodes/d1/network', { iface: 'vmbr1', type: 'bridge', digest }, u1);
  assert.equal(w1.status, 200, JSON.stringify(w1.json));
  const staged = readStaged(a.root);
  assert.ok(staged?.includes('iface vmbr1'), String(staged));
  // Admin 2, through api2, with the digest it read before admin 1's change: 409, file untouched.
  const w2 = await api(s2.base, 'POST', '/nodes/d1/network', { iface: 'vmbr2', type: 'bridge', digest }, u2);
  assert.equal(w2.status, 409, JSON.stringify(w2.json));
  assert.match(JSON.stringify(w2.json), /detected modified configuration/);
  const w3 = await api(s2.base, 'PUT', '/nodes/d1/network/vmbr0', { type: 'bridge', mtu: 9000, digest }, u2);
  assert.equal(w3.status, 409, JSON.stringify(w3.json));
  const w4 = await api(s2.base, 'DELETE', '/nodes/d1/network/vmbr1', { digest }, u2);
  assert.equal(w4.status, 409, JSON.stringify(w4.json));
  assert.equal(readStaged(a.root), staged, 'the staged file is exactly admin 1’s');
  // With the fresh digest (read through api2) admin 2 succeeds, and both changes are there.
  const fresh = (await api(s2.base, 'GET', '/nodes/d1/network', {}, u2)).json.digest as string;
  assert.notEqual(fresh, digest);
  const w5 = await api(s2.base, 'POST', '/nodes/d1/network', { iface: 'vmbr2', type: 'bridge', digest: fresh }, u2);
  assert.equal(w5.status, 200, JSON.stringify(w5.json));
  const both = readStaged(a.root)!;
  assert.ok(both.includes('iface vmbr1') && both.includes('iface vmbr2'), both);
});

test('attacks on the fleet server: 401 writes nothing, bad node names never reach etcd, body limit, forged requests', async (t) => {
  if (!ok || !fleet) return t.skip('no fleet');
  const f = fleet;
  const a = await f.agent('a1', nodeFile('10.0.1.1/24'));
  const srv = await f.server('api3');
  const auth = await login(srv.base);
  const live = readLive(a.root);

  // Every key written under the fleet's prefix while the attacks run.
  const written: string[] = [];
  const w = await f.client.watch().prefix('/nodenet/v1/').create();
  w.on('put', (kv) => written.push(kv.key.toString('utf8')));
  t.after(() => w.cancel());

  // Unauthenticated (no cookie; a forged cookie; a ticket without the CSRF token on a write).
  for (const [m, p, params, au] of [
    ['GET', '/nodes/a1/network', {}, undefined],
    ['POST', '/nodes/a1/network', { iface: 'vmbr5', type: 'bridge' }, undefined],
    ['PUT', '/nodes/a1/network', {}, { ticket: 'PVE:admin@pve:00000000::forged', csrf: 'x' }],
    ['DELETE', '/nodes/a1/network/vmbr0', {}, { ticket: auth.ticket, csrf: 'wrong' }],
  ] as const) {
    const r = await api(srv.base, m, p, params, au);
    assert.equal(r.status, 401, `${m} ${p}: ${JSON.stringify(r.json)}`);
  }

  // Node names that must never become a key: 400 from the server's own check.
  for (const bad of ['a%2Fb', '%2E%2E', 'a%00b', 'x'.repeat(300), 'a1%0Aauto', '-a1']) {
    const r = await api(srv.base, 'GET', `/nodes/${bad}/network`, {}, auth);
    const dots = bad === '%2E%2E'; // the client resolves a dot segment: /nodes/network, /network
    assert.equal(
      r.status,
      dots ? 501 : 400,
      `${bad.slice(0, 20)}: ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`,
    );
    if (!dots) assert.match(JSON.stringify(r.json), /"node"/);
    const r2 = await api(srv.base, 'POST', `/nodes/${bad}/network`, { iface: 'vmbr5', type: 'bridge' }, auth);
    assert.ok(r2.status === 400 || r2.status === 501, `${bad.slice(0, 20)}: ${r2.status}`);
  }

  // A body over the limit (64 KiB by default) is refused before anything is parsed.
  const huge = await api(
    srv.base,
    'POST',
    '/nodes/a1/network',
    { iface: 'vmbr5', type: 'bridge', comments: 'c'.repeat(2 << 20) },
    auth,
  );
  assert.equal(huge.status, 413);

  // Nothing reached etcd: no request key, no state change.
  await until('the server to be idle', async () => (await api(srv.base, 'GET', '/version', {}, auth)).status === 200);
  assert.deepEqual(
    written.filter((k) => !k.endsWith('/alive')),
    [],
    'no key written by the attacks',
  );
  assert.deepEqual(await f.client.getAll().prefix(`${P}a1/rpc/`).keys(), []);

  // Forged requests written straight into etcd (what someone with etcd write access can do —
  // docs/security.md): the agent checks the route and the privilege again.
  const forge = async (over: Record<string, unknown>): Promise<{ ok: boolean; error?: { code: string } }> => {
    const id = randomUUID();
    const req = {
      id,
      method: 'POST',
      route: '/nodes/{node}/network',
      path: { node: 'a1' },
      params: { iface: 'vmbr6', type: 'bridge' },
      principal: { id: 'eve@pve', user: 'eve@pve', kind: 'ticket', privs: ['Sys.Audit'] },
      source: '203.0.113.9',
      local: '-',
      from: 'forger',
      deadline: Date.now() + 20_000,
      ...over,
    };
    await f.client.put(`${P}a1/rpc/${id}`).value(JSON.stringify(req));
    const res = await until(`the agent's answer to ${JSON.stringify(over)}`, () =>
      f.client.get(`${P}a1/result/${id}`).string(),
    );
    await f.client.delete().key(`${P}a1/rpc/${id}`);
    await f.client.delete().key(`${P}a1/result/${id}`);
    return JSON.parse(res) as { ok: boolean; error?: { code: string } };
  };
  assert.equal((await forge({})).error?.code, 'FORBIDDEN', 'Sys.Audit only cannot write');
  assert.equal((await forge({ principal: null })).error?.code, 'FORBIDDEN', 'no principal cannot write');
  assert.equal(
    (
      await forge({
        principal: { id: 'eve@pve', user: 'eve@pve', kind: 'token', privs: ['Sys.Modify', 'Root'] },
        route: '/nodes/{node}/execute',
      })
    ).error?.code,
    'NOT_IMPLEMENTED',
    'an unknown route',
  );
  assert.equal(
    (
      await forge({
        principal: { id: 'eve@pve', user: 'eve@pve', kind: 'token', privs: ['Sys.Modify'] },
        params: { iface: 'vmbr6\nauto evil', type: 'bridge' },
      })
    ).error?.code,
    'PARAM',
    'parameters are checked again',
  );
  assert.equal(readStaged(a.root), null, 'nothing staged by the forged requests');
  assert.equal(readLive(a.root), live);
});
