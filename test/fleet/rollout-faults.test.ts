/**
 * Rollouts under faults, on a 3-member etcd with real agents (backend none) and two API servers:
 *   - the coordinating server is SIGKILLed mid-rollout: the other one takes over from the records
 *     and no node applies the change twice (the nodes' own history is the oracle);
 *   - an agent is SIGKILLed inside its confirm window: the node fails, the rollout halts (and
 *     rolls back the confirmed canary), and the node's guard, a separate process, puts its live
 *     file back when the window ends;
 *   - an agent is cut off (SIGSTOP: it neither answers nor keeps its lease) inside its window:
 *     the same, reported as offline;
 *   - an etcd member is SIGKILLed mid-rollout: the rollout still completes.
 * The faults are triggered by what the coordinator asks a node (watched in etcd), never by time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { api, login, nodeFile, readLive, readStaged, requireFleet, startFleet, until } from './harness.ts';
import type { Fleet, Proc } from './harness.ts';

type Agent = Proc & { root: string };
type Server = Proc & { root: string; base: string };

let fleet: Fleet | undefined;
let ok = false;
const agents = new Map<string, Agent>();
const servers: Server[] = [];
const sessions = new Map<string, { ticket: string; csrf: string }>();

/** A session on that server (each server signs its own tickets). */
async function auth(b: string): Promise<{ ticket: string; csrf: string }> {
  let a = sessions.get(b);
  if (!a) sessions.set(b, (a = await login(b)));
  return a;
}

const NODES = ['f1', 'f2', 'f3'];

before(async (t) => {
  ok = requireFleet(t as unknown as TestContext);
  if (!ok) return;
  fleet = await startFleet(3);
  const f = fleet;
  for (const [i, n] of NODES.entries()) agents.set(n, await f.agent(n, nodeFile(`10.1.${i}.1/24`), { ttl: 3 }));
  servers.push(await f.server('apiA'), await f.server('apiB'));
});
after(async () => {
  await fleet?.close();
});

/** A server that still runs. */
function base(): string {
  const s = servers.find((x) => x.proc.exitCode === null && x.proc.signalCode === null);
  assert.ok(s, 'a server runs');
  return s.base;
}

interface View {
  id: string;
  state: string;
  nodes: { node: string; state: string; error?: string; entry?: number }[];
  events: { ts: string; user: string; node?: string; msg: string; by?: string }[];
}

async function view(id: string): Promise<View> {
  const r = await api(base(), 'GET', `/cluster/network/rollouts/${id}`, {}, await auth(base()));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.data as View;
}

async function settle(id: string, states: string[], ms = 180_000): Promise<View> {
  return until(
    `rollout ${id} to reach ${states.join('|')}`,
    async () => {
      const v = await view(id);
      return states.includes(v.state) ? v : null;
    },
    ms,
    300,
  );
}

async function create(params: Record<string, string | number>): Promise<string> {
  const r = await api(base(), 'POST', '/cluster/network/rollouts', params, await auth(base()));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return (r.json.data as { id: string }).id;
}

async function applies(node: string): Promise<number> {
  const r = await api(base(), 'GET', `/nodes/${node}/network/history`, {}, await auth(base()));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return (r.json.data as { action?: string }[]).filter((h) => h.action === 'apply').length;
}

/**
 * Call `act` as soon as the coordinator sends `node` a request for `route` after it sent the
 * apply (PUT /nodes/{node}/network): the moment is set by the rollout's own steps.
 */
async function onRequest(node: string, route: string, act: () => void): Promise<{ fired: Promise<void> }> {
  const f = fleet!;
  const w = await f.client.watch().prefix(`/nodenet/v1/nodes/${node}/rpc/`).create();
  let applied = false;
  let done!: () => void;
  const fired = new Promise<void>((r) => (done = r));
  w.on('put', (kv) => {
    const req = JSON.parse(kv.value.toString('utf8')) as { method: string; route: string };
    if (req.method === 'PUT' && req.route === '/nodes/{node}/network') applied = true;
    else if (applied && req.method === 'GET' && req.route === route) {
      act();
      void w.cancel();
      done();
    }
  });
  return { fired };
}

async function leader(): Promise<string> {
  const f = fleet!;
  const res = await f.client.getAll().prefix('/nodenet/v1/election/coordinator/').sort('Create', 'Ascend').exec();
  return res.kvs[0]?.value.toString('utf8') ?? '';
}

const bridge = (name: string) =>
  JSON.stringify([{ method: 'POST', iface: name, params: { type: 'bridge', autostart: '1' } }]);

test('the coordinating server dies mid-rollout: the other takes over, no node applies twice', async (t) => {
  if (!ok) return t.skip('no fleet');
  const lead = await until('a coordinator elected', () => leader());
  const victim = servers.find((s) => s.log().includes(`"node":"${lead}"`))!;
  assert.ok(victim, `the leader ${lead} is one of ours`);
  const before = await Promise.all(NODES.map((n) => applies(n)));
  // Kill the leader the moment it asks f2 (second wave) for its window after applying there.
  const { fired } = await onRequest('f2', '/nodes/{node}/network/pending', () => victim.kill('SIGKILL'));
  const other = servers.find((s) => s !== victim)!;
  const r = await api(
    other.base,
    'POST',
    '/cluster/network/rollouts',
    { nodes: NODES.join(','), ops: bridge('vmbr20'), canary: 1, 'max-unavailable': 1, 'confirm-timeout': 60 },
    await auth(other.base),
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const id = (r.json.data as { id: string }).id;
  await fired;
  await victim.exited;
  const v = await settle(id, ['done', 'halted', 'rolled-back', 'failed']);
  t.diagnostic(`after the leader died: ${v.state}; ${v.nodes.map((n) => `${n.node}=${n.state}`).join(' ')}`);
  assert.equal(v.state, 'done', JSON.stringify(v, null, 1));
  // The survivor finished it (events say who acted), and each node applied exactly once.
  const survivor = lead === 'apiA' ? 'apiB' : 'apiA';
  assert.ok(
    v.events.some((e) => e.by === survivor),
    JSON.stringify(v.events),
  );
  const after = await Promise.all(NODES.map((n) => applies(n)));
  assert.deepEqual(
    after.map((a, i) => a - before[i]!),
    [1, 1, 1],
  );
  for (const n of NODES) assert.match(readLive(agents.get(n)!.root), /iface vmbr20 inet manual/);
  // Serve again with a second server, for the tests after this one.
  servers.push(await fleet!.server('apiC'));
});

test('an agent killed in its confirm window: node failed, rollout halted, its guard rolls it back', async (t) => {
  if (!ok) return t.skip('no fleet');
  const f2 = agents.get('f2')!;
  const old = NODES.map((n) => readLive(agents.get(n)!.root));
  const { fired } = await onRequest('f2', '/nodes/{node}/network/pending', () => f2.kill('SIGKILL'));
  const id = await create({
    nodes: NODES.join(','),
    ops: bridge('vmbr21'),
    canary: 1,
    'max-unavailable': 1,
    'confirm-timeout': 10,
  });
  await fired;
  // The guard (its own process) restores f2's file when the 10 s window ends (+ a margin).
  await until('f2 live file back to the old one', () => readLive(f2.root) === old[1], 40_000, 250);
  const v = await settle(id, ['rolled-back', 'halted', 'failed', 'done']);
  assert.equal(v.state, 'rolled-back', JSON.stringify(v, null, 1));
  assert.deepEqual(
    v.nodes.map((n) => [n.node, n.state]),
    [
      ['f1', 'rolled-back'],
      ['f2', 'failed'],
      ['f3', 'aborted'],
    ],
  );
  assert.match(v.nodes[1]!.error ?? '', /offline/);
  for (const [i, n] of NODES.entries()) assert.equal(readLive(agents.get(n)!.root), old[i], `${n} as before`);
  assert.equal(readStaged(agents.get('f3')!.root), null, 'f3: what the rollout staged was dropped');
  // Back for the next test (same root).
  agents.set('f2', await fleet!.agent('f2', '', { ttl: 3, root: f2.root }));
});

test('an agent cut off (SIGSTOP) in its confirm window: its window expires, it rolls back, the rollout halts', async (t) => {
  if (!ok) return t.skip('no fleet');
  const f3 = agents.get('f3')!;
  t.after(() => f3.kill('SIGCONT'));
  const old = NODES.map((n) => readLive(agents.get(n)!.root));
  const { fired } = await onRequest('f3', '/nodes/{node}/network/pending', () => f3.kill('SIGSTOP'));
  const id = await create({
    nodes: 'f3,f1',
    ops: bridge('vmbr22'),
    canary: 1,
    'confirm-timeout': 10,
    'on-failure': 'halt',
  });
  await fired;
  await until('f3 live file back to the old one', () => readLive(f3.root) === old[2], 40_000, 250);
  const v = await settle(id, ['halted', 'rolled-back', 'failed', 'done']);
  assert.equal(v.state, 'halted', JSON.stringify(v, null, 1));
  assert.deepEqual(
    v.nodes.map((n) => [n.node, n.state]),
    [
      ['f3', 'failed'],
      ['f1', 'aborted'],
    ],
  );
  assert.match(v.nodes[0]!.error ?? '', /offline/);
  assert.ok(v.events.some((e) => /^halted: 1 node\(s\) failed: f3/.test(e.msg)));
  assert.equal(readLive(agents.get('f1')!.root), old[0], 'f1 untouched');
  f3.kill('SIGCONT');
  // It comes back: online again, its file still the old one (the guard's rollback stands).
  await until('f3 online again', async () => {
    const r = await api(base(), 'GET', '/nodes', {}, await auth(base()));
    return (r.json.data as { node: string; status: string }[]).some((n) => n.node === 'f3' && n.status === 'online');
  });
  assert.equal(readLive(f3.root), old[2]);
});

test('an etcd member killed mid-rollout (3 members): the rollout completes', async (t) => {
  if (!ok) return t.skip('no fleet');
  const f = fleet!;
  const before = await Promise.all(NODES.map((n) => applies(n)));
  const { fired } = await onRequest('f1', '/nodes/{node}/network/pending', () => f.members[0]!.kill());
  const id = await create({ nodes: NODES.join(','), ops: bridge('vmbr23'), canary: 1, 'max-unavailable': 2 });
  await fired;
  const v = await settle(id, ['done', 'halted', 'rolled-back', 'failed']);
  assert.equal(v.state, 'done', JSON.stringify(v, null, 1));
  const after = await Promise.all(NODES.map((n) => applies(n)));
  assert.deepEqual(
    after.map((a, i) => a - before[i]!),
    [1, 1, 1],
  );
  for (const n of NODES) assert.match(readLive(agents.get(n)!.root), /iface vmbr23 inet manual/);
});
