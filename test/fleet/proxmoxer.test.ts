/**
 * Debian's python3-proxmoxer (run with /usr/bin/python3) against a fleet server, as against a
 * Proxmox VE cluster (issue 19): nodes.get(), per-node network list/create/get/update/delete,
 * apply and its task status on two nodes, and a third node that is down: stale reads, and its
 * 595 raised as proxmoxer's ResourceException. The nodes' files on disk are the oracle.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PASSWORD, api, login, nodeFile, readLive, readStaged, requireFleet, startFleet, until } from './harness.ts';
import type { Fleet } from './harness.ts';

const run = promisify(execFile);
const PY = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./proxmoxer-fleet.py', import.meta.url));

let fleet: Fleet | undefined;
let ok = false;
before(async (t) => {
  ok = requireFleet(t as unknown as TestContext);
  if (!ok) return;
  try {
    await run(PY, ['-c', 'import proxmoxer, requests']);
  } catch {
    const why = `${PY} with proxmoxer and requests (apt-get install python3-proxmoxer python3-requests)`;
    if (process.env.CI === 'true') assert.fail(`prerequisite missing: ${why}`);
    (t as unknown as TestContext).skip(`prerequisite missing: ${why}`);
    ok = false;
    return;
  }
  fleet = await startFleet(1);
});
after(async () => {
  await fleet?.close();
});

test('proxmoxer 1.2.0 against a fleet server: nodes, network on two nodes, tasks, an offline node’s 595', async (t) => {
  if (!ok || !fleet) return t.skip('no fleet or no proxmoxer');
  const f = fleet;
  const files = ['10.8.1.1/24', '10.8.2.1/24', '10.8.3.1/24'].map(nodeFile);
  const agents = await Promise.all(['px1', 'px2', 'px3'].map((n, i) => f.agent(n, files[i]!)));
  const srv = await f.server('api1');
  const auth = await login(srv.base);
  agents[2]!.kill('SIGKILL');
  await until('px3 offline, px1 and px2 online', async () => {
    const r = await api(srv.base, 'GET', '/nodes', {}, auth);
    const s = Object.fromEntries((r.json.data as { node: string; status: string }[]).map((n) => [n.node, n.status]));
    return s.px1 === 'online' && s.px2 === 'online' && s.px3 === 'offline';
  });
  const { stdout } = await run(PY, [SCRIPT], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: String(srv.port),
      USER: 'admin@pve',
      PASSWORD,
      ONLINE: 'px1,px2',
      OFFLINE: 'px3',
      PYTHONWARNINGS: 'ignore',
    },
    timeout: 120_000,
  }).catch((e: { stderr?: string; message: string }) =>
    assert.fail(`proxmoxer flow failed:\n${e.stderr ?? e.message}`),
  );
  const seen = JSON.parse(stdout.trim().split('\n').pop()!) as {
    upids: Record<string, string>;
    stale: string[];
    offline: string;
  };
  assert.match(seen.upids.px1!, /^UPID:px1:/);
  assert.match(seen.upids.px2!, /^UPID:px2:/);
  assert.deepEqual(seen.stale, ['vmbr0']);
  assert.match(seen.offline, /^595 /);
  // On disk: each online node applied its own vmbr1 (and not vmbr2); the offline node is untouched.
  for (const [i, a] of agents.slice(0, 2).entries()) {
    const live = readLive(a.root);
    assert.match(live, new RegExp(`iface vmbr1 inet static\\n(?:\\t.*\\n)*\\taddress 10\\.9\\.${i}\\.1/24\\n`), live);
    assert.match(live, /\tmtu 9000\n/);
    assert.ok(!live.includes('vmbr2'), live);
    assert.equal(readStaged(a.root), null, 'nothing left staged');
  }
  assert.equal(readLive(agents[2]!.root), files[2]);
});
