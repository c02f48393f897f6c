/**
 * An apply's confirm window when its agent goes away (issue 19), with real etcd, real agents
 * (their detached guard processes included) and a real API server:
 *   - the agent SIGKILLed while the window is open: the node's guard rolls the live file back by
 *     itself; the agent, started again, publishes the rolled-back state (window closed, last
 *     outcome `rolled-back`) in etcd;
 *   - the agent cut off from etcd (SIGSTOP) while the window is open: the node goes offline, the
 *     admin's confirm cannot arrive (595) and the node rolls back; once resumed, the agent comes
 *     back by itself and publishes the rolled-back state.
 * The live files on disk and the `state` key in etcd are the oracles.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { api, login, nodeFile, readLive, requireFleet, startFleet, until } from './harness.ts';
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

interface Published {
  window: unknown;
  last: { outcome?: string } | null;
  interfaces: { iface: string }[];
}

async function published(f: Fleet, node: string): Promise<Published | null> {
  const v = await f.client.get(`/nodenet/v1/nodes/${node}/state`).string();
  return v === null ? null : (JSON.parse(v) as Published);
}

type Auth = { ticket: string; csrf: string };

/** Stage vmbr9 on `node` and apply it with a confirm window; resolves once the window is open. */
async function applyWithWindow(f: Fleet, base: string, auth: Auth, node: string, root: string, secs: number) {
  const s = await api(base, 'POST', `/nodes/${node}/network`, { iface: 'vmbr9', type: 'bridge', autostart: 1 }, auth);
  assert.equal(s.status, 200, JSON.stringify(s.json));
  const ap = await api(base, 'PUT', `/nodes/${node}/network`, { 'confirm-timeout': secs }, auth);
  assert.equal(ap.status, 200, JSON.stringify(ap.json));
  await until('the confirm window to open', async () => {
    const p = await api(base, 'GET', `/nodes/${node}/network/pending`, {}, auth);
    return (p.json.data as { pending?: { phase?: string } | null }).pending?.phase === 'waiting';
  });
  assert.ok(readLive(root).includes('iface vmbr9'), 'the change is live during the window');
}

test('agent SIGKILLed in a confirm window: the guard rolls back, the restarted agent publishes it', async (t) => {
  if (!ok || !fleet) return t.skip('no fleet');
  const f = fleet;
  const original = nodeFile('10.5.0.1/24');
  const a = await f.agent('w1', original);
  const srv = await f.server('api1');
  const auth = await login(srv.base);
  await applyWithWindow(f, srv.base, auth, 'w1', a.root, 8);
  // The agent publishes the open window (it opened after the PUT answered).
  await until('the open window published', async () => (await published(f, 'w1'))?.window);
  a.kill('SIGKILL');
  await a.exited;
  // Nobody confirms (the agent is gone): the guard, its own process, puts the old file back.
  await until('the live file back', () => readLive(a.root) === original, 60_000, 200);
  // Meanwhile etcd still holds what the dead agent published: the open window; the API's stale read says so.
  assert.ok((await published(f, 'w1'))?.window, 'the last published state shows the window');
  const stale = await api(srv.base, 'GET', '/nodes/w1/network', {}, auth);
  assert.equal(typeof stale.json.stale, 'string', JSON.stringify(stale.json));
  const b = await f.agent('w1', original, { root: a.root });
  const st = await until('the rolled-back state published', async () => {
    const p = await published(f, 'w1');
    return p && p.window === null && p.last?.outcome === 'rolled-back' ? p : null;
  });
  assert.ok(!st.interfaces.some((i) => i.iface === 'vmbr9'), 'vmbr9 is gone from the published view');
  const v = await api(srv.base, 'GET', '/nodes/w1/network/verify', {}, auth);
  assert.equal(v.status, 200, JSON.stringify(v.json));
  assert.equal(b.proc.exitCode, null);
});

test('agent cut off from etcd (SIGSTOP) in a confirm window: the confirm cannot arrive, the node rolls back', async (t) => {
  if (!ok || !fleet) return t.skip('no fleet');
  const f = fleet;
  const original = nodeFile('10.6.0.1/24');
  const a = await f.agent('w2', original, { ttl: 2 });
  const srv = await f.server('api2');
  const auth = await login(srv.base);
  await applyWithWindow(f, srv.base, auth, 'w2', a.root, 8);
  a.kill('SIGSTOP');
  try {
    await until('w2 offline', async () => {
      const r = await api(srv.base, 'GET', '/nodes', {}, auth);
      return (r.json.data as { node: string; status: string }[]).find((n) => n.node === 'w2')?.status === 'offline';
    });
    const c = await api(srv.base, 'POST', '/nodes/w2/network/confirm', {}, auth);
    assert.equal(c.status, 595, JSON.stringify(c.json));
    await until('the live file back', () => readLive(a.root) === original, 60_000, 200);
  } finally {
    a.kill('SIGCONT');
  }
  const st = await until('w2 back with the rolled-back state', async () => {
    const p = await published(f, 'w2');
    const r = await api(srv.base, 'GET', '/nodes', {}, auth);
    const up = (r.json.data as { node: string; status: string }[]).find((n) => n.node === 'w2')?.status === 'online';
    return up && p && p.window === null && p.last?.outcome === 'rolled-back' ? p : null;
  });
  assert.ok(!st.interfaces.some((i) => i.iface === 'vmbr9'), 'vmbr9 is gone from the published view');
  // The late confirm never applied: the file is the original one, and a confirm now finds no window.
  assert.equal(readLive(a.root), original);
  const late = await api(srv.base, 'POST', '/nodes/w2/network/confirm', {}, auth);
  assert.equal(late.status === 200 ? (late.json.data as { confirmed: number }).confirmed : 0, 0);
  assert.equal(a.proc.exitCode, null);
});
