/**
 * A rollout applied by real ifupdown2 (the agent's backend `netns`: a private network namespace
 * with veth NICs): the bridge it adds comes up in the node's kernel (`ip -j link` there, through
 * the linkstats route, is the oracle); a second rollout whose probe cannot connect from inside
 * the namespace is undone in the confirm window, and its bridge is gone from the kernel again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { REPO, api, login, readLive, requireFleet, startFleet, until } from './harness.ts';
import type { Fleet, Proc } from './harness.ts';
import { bridgedFile, missingPrerequisites } from '../netns/helpers.ts';

let fleet: Fleet | undefined;
let ok = false;
let agent: (Proc & { root: string }) | undefined;
let why = 'no fleet';

before(async (t) => {
  ok = requireFleet(t as unknown as TestContext);
  if (!ok) return;
  const missing = missingPrerequisites();
  if (missing.length) {
    if (process.env.CI === 'true') assert.fail(`netns prerequisites missing: ${missing.join(', ')}`);
    ok = false;
    why = `netns prerequisites missing: ${missing.join(', ')}`;
    return;
  }
  fleet = await startFleet(1);
});
after(async () => {
  // The agent's namespace outlives it (as `serve --backend netns`'s): remove it while its root
  // (the namespace's name comes from the root's path) still exists, then everything else.
  if (agent) {
    await agent.stop();
    const r = spawnSync(process.execPath, [join(REPO, 'bin/nodenet'), '--root', agent.root, 'netns', 'destroy'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, `netns destroy: ${r.stderr}`);
  }
  await fleet?.close();
});

test('netns: a bridge rolled out comes up in the kernel; a failed probe takes it down again', async (t) => {
  if (!ok || !fleet) return t.skip(why);
  agent = await fleet.agent('k9', bridgedFile(), { backend: 'netns', ttl: 5 });
  const srv = await fleet.server('apiN');
  const auth = await login(srv.base);
  const link = async (iface: string) => {
    const r = await api(srv.base, 'GET', '/nodes/k9/network/linkstats', { iface }, auth);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json.data as { available: number; state?: string };
  };
  const run = async (params: Record<string, string | number>) => {
    const r = await api(srv.base, 'POST', '/cluster/network/rollouts', { nodes: 'k9', ...params }, auth);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const id = (r.json.data as { id: string }).id;
    return until(
      `rollout ${id} to end`,
      async () => {
        const v = await api(srv.base, 'GET', `/cluster/network/rollouts/${id}`, {}, auth);
        const d = v.json.data as { state: string; nodes: { state: string; error?: string }[] };
        return ['done', 'halted', 'failed', 'rolled-back'].includes(d.state) ? d : null;
      },
      180_000,
      500,
    );
  };
  assert.equal((await link('vmbr12')).available, 0, 'no vmbr12 before');
  const ops = (name: string, cidr: string) =>
    JSON.stringify([{ method: 'POST', iface: name, params: { type: 'bridge', cidr, autostart: '1' } }]);
  const v1 = await run({ ops: ops('vmbr12', '10.12.0.1/24'), 'confirm-timeout': 60 });
  assert.equal(v1.state, 'done', JSON.stringify(v1));
  assert.equal((await link('vmbr12')).available, 1, 'vmbr12 exists in the node kernel');
  assert.match(readLive(agent.root), /iface vmbr12 inet static/);

  // Nothing listens on 10.13.0.2 inside the namespace: the probe fails, the window is undone.
  const before = readLive(agent.root);
  const v2 = await run({ ops: ops('vmbr13', '10.13.0.1/24'), probes: '10.13.0.2:22', 'confirm-timeout': 60 });
  assert.equal(v2.state, 'halted', JSON.stringify(v2));
  assert.equal(v2.nodes[0]!.state, 'failed');
  assert.match(v2.nodes[0]!.error ?? '', /probe 10\.13\.0\.2:22/);
  assert.equal(readLive(agent.root), before);
  assert.equal((await link('vmbr13')).available, 0, 'vmbr13 gone from the kernel again');
  assert.equal((await link('vmbr12')).available, 1, 'vmbr12 still there');
});
