/**
 * The fleet on one etcd (issue 19's acceptance): three agents and one API server. GET /nodes
 * shows them online, a change staged through /nodes/n2/network lands on n2 only (its files on
 * disk are the oracle), a killed agent shows offline within 20 s, and its interfaces stay
 * readable from what it last published while changes to it are refused with 595.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { api, login, nodeFile, readLive, readStaged, requireFleet, startFleet, until } from './harness.ts';
import type { Fleet } from './harness.ts';

let fleet: Fleet | undefined;
let ok = false;

before(async (t) => {
  ok = requireFleet(t as unknown as TestContext);
  if (ok) fleet = await startFleet(1);
});
after(async () => {
  await fleet?.close();
});

test('three agents and one server: online, a change lands on its node only, a killed agent goes offline', async (t) => {
  if (!ok || !fleet) return t.skip('no fleet');
  const f = fleet;
  const agents = await Promise.all(['n1', 'n2', 'n3'].map((n, i) => f.agent(n, nodeFile(`10.0.${i}.1/24`))));
  const srv = await f.server('api1');
  const auth = await login(srv.base);

  const nodes = await until('three nodes online', async () => {
    const r = await api(srv.base, 'GET', '/nodes', {}, auth);
    const list = r.json.data as { node: string; status: string }[];
    return list.filter((n) => n.status === 'online').length === 3 ? list : null;
  });
  assert.deepEqual(
    nodes.map((n) => [n.node, n.status]),
    [
      ['n1', 'online'],
      ['n2', 'online'],
      ['n3', 'online'],
    ],
  );

  const before = agents.map((a) => readLive(a.root));
  const r = await api(
    srv.base,
    'POST',
    '/nodes/n2/network',
    { iface: 'vmbr7', type: 'bridge', cidr: '10.7.0.2/24', autostart: 1 },
    auth,
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const staged = readStaged(agents[1]!.root);
  assert.ok(staged?.includes('iface vmbr7 inet static'), `n2 has the staged bridge: ${staged}`);
  assert.ok(staged!.includes('address 10.7.0.2/24'));
  assert.equal(readStaged(agents[0]!.root), null, 'n1 has nothing staged');
  assert.equal(readStaged(agents[2]!.root), null, 'n3 has nothing staged');
  // Read back through the API, from another node's view too.
  const l2 = await api(srv.base, 'GET', '/nodes/n2/network', {}, auth);
  assert.ok((l2.json.data as { iface: string }[]).some((i) => i.iface === 'vmbr7'));
  const l1 = await api(srv.base, 'GET', '/nodes/n1/network', {}, auth);
  assert.ok(!(l1.json.data as { iface: string }[]).some((i) => i.iface === 'vmbr7'));

  // Apply on n2 (backend none: the staged file becomes live), then the files say so.
  const ap = await api(srv.base, 'PUT', '/nodes/n2/network', {}, auth);
  assert.equal(ap.status, 200, JSON.stringify(ap.json));
  const upid = ap.json.data as string;
  assert.match(upid, /^UPID:n2:/);
  await until('the apply task on n2 to end', async () => {
    const s = await api(srv.base, 'GET', `/nodes/n2/tasks/${encodeURIComponent(upid)}/status`, {}, auth);
    return (s.json.data as { status?: string }).status === 'stopped' ? s : null;
  });
  assert.ok(readLive(agents[1]!.root).includes('iface vmbr7 inet static'));
  assert.equal(readLive(agents[0]!.root), before[0]);
  assert.equal(readLive(agents[2]!.root), before[2]);

  // A killed agent: its node is offline within 20 s (TTL 3 s here; 10 s by default).
  agents[2]!.kill('SIGKILL');
  const started = Date.now();
  await until(
    'n3 offline',
    async () => {
      const r2 = await api(srv.base, 'GET', '/nodes', {}, auth);
      return (r2.json.data as { node: string; status: string }[]).find((n) => n.node === 'n3')?.status === 'offline';
    },
    20_000,
    250,
  );
  t.diagnostic(`n3 offline ${Date.now() - started} ms after SIGKILL (ttl 3 s)`);
  // Its interfaces: from its last published state, marked stale; a change: 595.
  const stale = await api(srv.base, 'GET', '/nodes/n3/network', {}, auth);
  assert.equal(stale.status, 200);
  assert.ok(typeof stale.json.stale === 'string');
  assert.deepEqual(
    (stale.json.data as { iface: string }[]).map((i) => i.iface),
    ['vmbr0'],
  );
  const refused = await api(srv.base, 'POST', '/nodes/n3/network', { iface: 'vmbr8', type: 'bridge' }, auth);
  assert.equal(refused.status, 595);
  assert.equal(readStaged(agents[2]!.root), null);
  // A node nobody registered: a parameter error on `node`, as for a wrong node on one server.
  const none = await api(srv.base, 'GET', '/nodes/n9/network', {}, auth);
  assert.equal(none.status, 400);
  assert.match(JSON.stringify(none.json), /no such node 'n9'/);
});
