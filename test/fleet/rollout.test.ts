/**
 * Rollouts on a real etcd with three real agents (backend none: an apply swaps the files, which
 * is what these tests look at) and one API server: a bridge to three nodes in a canary and a
 * wave; a template with per-node values staged for review (start=0) and then started; a node
 * whose probe fails halts the rollout and the confirmed node is rolled back. The nodes' files
 * and their own apply history are the oracles.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { api, login, nodeFile, readLive, readStaged, requireFleet, startFleet, until } from './harness.ts';
import type { Fleet, Proc } from './harness.ts';

let fleet: Fleet | undefined;
let ok = false;
let agents: (Proc & { root: string })[] = [];
let base = '';
let auth: { ticket: string; csrf: string };

before(async (t) => {
  ok = requireFleet(t as unknown as TestContext);
  if (!ok) return;
  fleet = await startFleet(1);
  const f = fleet;
  agents = await Promise.all(['n1', 'n2', 'n3'].map((n, i) => f.agent(n, nodeFile(`10.0.${i}.1/24`), { ttl: 3 })));
  const srv = await f.server('api1');
  base = srv.base;
  auth = await login(base);
});
after(async () => {
  await fleet?.close();
});

interface View {
  id: string;
  state: string;
  nodes: { node: string; state: string; changes?: string; error?: string; entry?: number }[];
  events: { ts: string; user: string; node?: string; msg: string }[];
}

async function rollout(id: string): Promise<View> {
  const r = await api(base, 'GET', `/cluster/network/rollouts/${id}`, {}, auth);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.data as View;
}

async function settle(id: string, states: string[]): Promise<View> {
  return until(
    `rollout ${id} to reach ${states.join('|')}`,
    async () => {
      const v = await rollout(id);
      return states.includes(v.state) ? v : null;
    },
    120_000,
    300,
  );
}

async function history(node: string): Promise<{ action?: string; outcome?: string; user: string }[]> {
  const r = await api(base, 'GET', `/nodes/${node}/network/history`, {}, auth);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.data as { action?: string; outcome?: string; user: string }[];
}

test('a bridge to three nodes: canary, then a wave of two; done, live everywhere, events recorded', async (t) => {
  if (!ok) return t.skip('no fleet');
  const ops = JSON.stringify([
    {
      method: 'POST',
      iface: 'vmbr9',
      params: { type: 'bridge', cidr: '10.9.{{N}}.1/24', autostart: '1', comments: 'on {{node}}' },
    },
  ]);
  const values = JSON.stringify({ n1: { N: '1' }, n2: { N: '2' }, n3: { N: '3' } });
  const r = await api(
    base,
    'POST',
    '/cluster/network/rollouts',
    { nodes: 'n1,n2,n3', ops, values, canary: 1, 'max-unavailable': 2, 'confirm-timeout': 30 },
    auth,
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const id = (r.json.data as { id: string }).id;
  const v = await settle(id, ['done', 'halted', 'failed', 'rolled-back']);
  assert.equal(v.state, 'done', JSON.stringify(v, null, 1));
  assert.deepEqual(
    v.nodes.map((n) => [n.node, n.state]),
    [
      ['n1', 'confirmed'],
      ['n2', 'confirmed'],
      ['n3', 'confirmed'],
    ],
  );
  for (const [i, a] of agents.entries()) {
    const live = readLive(a.root);
    assert.match(live, /iface vmbr9 inet static/, `n${i + 1}: ${live}`);
    assert.ok(live.includes(`address 10.9.${i + 1}.1/24`), live);
    assert.equal(readStaged(a.root), null, `n${i + 1} has nothing left staged`);
    assert.match(v.nodes[i]!.changes ?? '', /\+iface vmbr9 inet static/);
    // Each node applied exactly once, as the rollout's user.
    const h = await history(`n${i + 1}`);
    assert.equal(h.length, 1, JSON.stringify(h));
    assert.equal(h[0]!.user, 'admin@pve');
  }
  // The canary went first: n1 confirmed before n2 or n3 began applying.
  const at = (node: string, msg: RegExp) => v.events.findIndex((e) => e.node === node && msg.test(e.msg));
  assert.ok(at('n1', /confirmed/) >= 0 && at('n1', /confirmed/) < at('n2', /^applying/), JSON.stringify(v.events));
  assert.ok(at('n1', /confirmed/) < at('n3', /^applying/));
  assert.ok(v.events.every((e) => e.user === 'admin@pve' && !Number.isNaN(Date.parse(e.ts))));
  assert.ok(v.events.some((e) => /^done/.test(e.msg)));
  // The list shows it with counts from the node records.
  const l = await api(base, 'GET', '/cluster/network/rollouts', {}, auth);
  const s = (l.json.data as { id: string; counts: Record<string, number> }[]).find((x) => x.id === id)!;
  assert.equal(s.counts.confirmed, 3);
  assert.equal(s.counts.applying, 0);
});

test('a template with per-node values: start=0 stages with diffs and waits; start applies it', async (t) => {
  if (!ok) return t.skip('no fleet');
  const template =
    'auto lo\niface lo inet loopback\n\nauto vmbr0\niface vmbr0 inet static\n\taddress {{ADDR}}\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n';
  // A value missing for one node: refused, naming the node and the variable.
  const missing = await api(
    base,
    'POST',
    '/cluster/network/rollouts',
    { nodes: 'n1,n2', template, values: JSON.stringify({ n1: { ADDR: '192.0.2.1/24' } }) },
    auth,
  );
  assert.equal(missing.status, 400);
  assert.match(JSON.stringify(missing.json), /n2.*\{\{ADDR\}\}/);
  // A value with a newline cannot make a line.
  const evil = await api(
    base,
    'POST',
    '/cluster/network/rollouts',
    { nodes: 'n1', template, values: JSON.stringify({ n1: { ADDR: '192.0.2.1/24\n\tpost-up reboot' } }) },
    auth,
  );
  assert.equal(evil.status, 400);
  assert.match(JSON.stringify(evil.json), /control character/);

  const before = agents.map((a) => readLive(a.root));
  const values = JSON.stringify({
    n1: { ADDR: '192.0.2.1/24' },
    n2: { ADDR: '192.0.2.2/24' },
    n3: { ADDR: '192.0.2.3/24' },
  });
  const r = await api(
    base,
    'POST',
    '/cluster/network/rollouts',
    { nodes: 'n1,n2,n3', template, values, start: 0, canary: 0, 'max-unavailable': 3 },
    auth,
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const id = (r.json.data as { id: string }).id;
  const staged = await settle(id, ['staged', 'failed']);
  assert.equal(staged.state, 'staged', JSON.stringify(staged));
  for (const [i, a] of agents.entries()) {
    assert.equal(readLive(a.root), before[i], 'nothing applied yet');
    const s = readStaged(a.root);
    assert.ok(s?.includes(`address 192.0.2.${i + 1}/24`), String(s));
    assert.ok(!s!.includes('vmbr9'), 'the template replaced the whole file');
    const n = staged.nodes[i]!;
    assert.equal(n.state, 'staged');
    assert.match(n.changes ?? '', new RegExp(`\\+\\s*address 192\\.0\\.2\\.${i + 1}/24`));
    assert.match(n.changes ?? '', /-iface vmbr9 inet static/);
  }
  // Another rollout to a node with staged changes is refused there (and drops nothing of ours).
  const other = await api(
    base,
    'POST',
    '/cluster/network/rollouts',
    { nodes: 'n2', ops: JSON.stringify([{ method: 'DELETE', iface: 'vmbr0', params: {} }]) },
    auth,
  );
  const oid = (other.json.data as { id: string }).id;
  const ov = await settle(oid, ['failed', 'done', 'halted']);
  assert.equal(ov.state, 'failed');
  assert.match(ov.nodes[0]!.error ?? '', /already has staged changes/);
  assert.ok(readStaged(agents[1]!.root)?.includes('192.0.2.2/24'), 'the first rollout stays staged on n2');

  const st = await api(base, 'POST', `/cluster/network/rollouts/${id}/start`, {}, auth);
  assert.equal(st.status, 200, JSON.stringify(st.json));
  const v = await settle(id, ['done', 'halted', 'failed', 'rolled-back']);
  assert.equal(v.state, 'done', JSON.stringify(v, null, 1));
  assert.ok(v.events.some((e) => /^started by admin@pve/.test(e.msg)));
  for (const [i, a] of agents.entries()) {
    assert.ok(readLive(a.root).includes(`address 192.0.2.${i + 1}/24`));
    assert.equal(readStaged(a.root), null);
  }
  // start again: refused (it is done).
  const again = await api(base, 'POST', `/cluster/network/rollouts/${id}/start`, {}, auth);
  assert.equal(again.status, 400);
});

test('a node failing its probe halts the rollout; the confirmed canary is rolled back, the rest aborted', async (t) => {
  if (!ok) return t.skip('no fleet');
  // One port that answers (node:net listens), one that does not (closed again at once).
  const open: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => open.listen(0, '127.0.0.1', r));
  const openPort = (open.address() as { port: number }).port;
  const closed: Server = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  t.after(() => open.close());

  const before = agents.map((a) => readLive(a.root));
  const h0 = await Promise.all(['n1', 'n2', 'n3'].map((n) => history(n)));
  const ops = JSON.stringify([{ method: 'POST', iface: 'vmbr10', params: { type: 'bridge', autostart: '1' } }]);
  const values = JSON.stringify({
    n1: { P: String(openPort) },
    n2: { P: String(closedPort) },
    n3: { P: String(openPort) },
  });
  const r = await api(
    base,
    'POST',
    '/cluster/network/rollouts',
    {
      nodes: 'n1,n2,n3',
      ops,
      values,
      probes: '127.0.0.1:{{P}}',
      canary: 1,
      'max-unavailable': 1,
      'confirm-timeout': 60,
    },
    auth,
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const id = (r.json.data as { id: string }).id;
  const v = await settle(id, ['rolled-back', 'halted', 'failed', 'done']);
  assert.equal(v.state, 'rolled-back', JSON.stringify(v, null, 1));
  assert.deepEqual(
    v.nodes.map((n) => [n.node, n.state]),
    [
      ['n1', 'rolled-back'],
      ['n2', 'failed'],
      ['n3', 'aborted'],
    ],
  );
  assert.match(v.nodes[1]!.error ?? '', new RegExp(`probe 127\\.0\\.0\\.1:${closedPort}`));
  // Files: every node's live file is what it was before; nothing is left staged.
  for (const [i, a] of agents.entries()) {
    assert.equal(readLive(a.root), before[i], `n${i + 1} live file back to before: ${JSON.stringify(v)}`);
    assert.equal(readStaged(a.root), null, `n${i + 1} nothing staged`);
  }
  // The nodes' own history: n1 applied, then rolled back (a second entry); n3 untouched.
  const h = await Promise.all(['n1', 'n2', 'n3'].map((n) => history(n)));
  assert.equal(h[0]!.length, h0[0]!.length + 2, JSON.stringify(h[0]));
  // n2's apply was undone in its confirm window: one entry, its outcome `rolled-back`.
  assert.equal(h[1]!.length, h0[1]!.length + 1, JSON.stringify(h[1]));
  assert.equal(h[1]![0]!.outcome, 'rolled-back');
  assert.equal(h[2]!.length, h0[2]!.length);
  assert.ok(v.events.some((e) => /^halted: 1 node\(s\) failed/.test(e.msg)));
  assert.ok(v.events.some((e) => e.node === 'n1' && /^rolled back/.test(e.msg)));
});

test('the CLI: create with start=0 straight in etcd, then halt: the staged change is dropped', async (t) => {
  if (!ok || !fleet) return t.skip('no fleet');
  const { spawnSync } = await import('node:child_process');
  const { hostname } = await import('node:os');
  const { join } = await import('node:path');
  const { REPO } = await import('./harness.ts');
  const cli = (...argv: string[]) => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/nodenet'), '--output-format', 'json', 'rollout', ...argv], {
      encoding: 'utf8',
      env: { ...process.env, NODENET_ETCD: fleet!.endpoints },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const before = readLive(agents[0]!.root);
  const ops = JSON.stringify([{ method: 'POST', iface: 'vmbr11', params: { type: 'bridge' } }]);
  const { id } = cli('create', '--nodes', 'n1', '--ops', ops, '--start', '0') as { id: string };
  const staged = await settle(id, ['staged', 'failed']);
  assert.equal(staged.state, 'staged', JSON.stringify(staged));
  assert.ok(readStaged(agents[0]!.root)?.includes('iface vmbr11'));
  const halted = cli('halt', id) as { request?: { action: string } };
  assert.equal(halted.request?.action, 'halt');
  const v = await settle(id, ['halted']);
  assert.deepEqual(
    v.nodes.map((n) => [n.node, n.state]),
    [['n1', 'aborted']],
  );
  assert.equal(readStaged(agents[0]!.root), null, 'the staged change was dropped');
  assert.equal(readLive(agents[0]!.root), before);
  const user = `root@pam (cli on ${hostname()})`;
  assert.ok(
    v.events.some((e) => e.user === user && /^halted by/.test(e.msg)),
    JSON.stringify(v.events),
  );
  const list = cli('list') as unknown as { id: string; user: string; state: string }[];
  assert.deepEqual(
    list.filter((r) => r.id === id).map((r) => [r.user, r.state]),
    [[user, 'halted']],
  );
});
