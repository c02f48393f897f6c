/**
 * Tasks while running, the nodenet extensions (check, history, rollback, confirm, verify), OpenAPI,
 * /version, /nodes, JSON bodies.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IFACE_PARAMS } from '../../src/model/params.ts';
import { TaskManager } from '../../src/api/tasks.ts';
import { form, raw, startServer } from './helpers.ts';
import type { Harness } from './helpers.ts';

async function waitTask(h: Harness, upid: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const r = await raw(h, 'GET', `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`);
    assert.equal(r.status, 200, r.text);
    if (r.json.data.status !== 'running') return r.json.data;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error('task did not finish');
}

test('task status and log work while the task runs, after it ends, and after a restart', async () => {
  const root = await fs.mkdtemp(join(tmpdir(), 'nodenet-tasks-'));
  try {
    const tm = new TaskManager(root, 'pve');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const upid = await tm.start('srvreload', 'networking', 'root@pam', async (log) => {
      log('step 1');
      await gate;
      log('step 2');
    });
    assert.equal((await tm.status(upid))!.status, 'running');
    assert.deepEqual((await tm.log(upid))!.lines, [{ n: 1, t: 'step 1' }]);
    release();
    await tm.idle();
    const st = (await tm.status(upid))!;
    assert.equal(st.status, 'stopped');
    assert.equal(st.exitstatus, 'OK');
    // A new manager (a restarted server) reads the persisted task.
    const tm2 = new TaskManager(root, 'pve');
    assert.equal((await tm2.status(upid))!.exitstatus, 'OK');
    const l = (await tm2.log(upid, 1, 1))!;
    assert.deepEqual(l, { lines: [{ n: 2, t: 'step 2' }], total: 3 });
    const failing = await tm.start('srvreload', 'networking', 'root@pam', async () => {
      throw new Error('ifreload failed\nmore detail');
    });
    assert.notEqual(failing, upid);
    await tm.idle();
    assert.equal((await tm.status(failing))!.exitstatus, 'ifreload failed');
    assert.equal(await tm.status('UPID:pve:00000001:00000001:00000001:srvreload:networking:x@pve:'), null);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('extensions: check, apply with confirm-timeout, confirm, history, rollback, verify', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const original = await h.interfaces();

  // JSON body (cv4pve style), booleans as JSON numbers.
  const c = await raw(h, 'POST', '/nodes/pve/network', {
    body: JSON.stringify({
      iface: 'vmbr1',
      type: 'bridge',
      autostart: 1,
      bridge_vlan_aware: true,
      cidr: '10.0.0.1/24',
    }),
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(c.status, 200, c.text);
  const chk = await raw(h, 'GET', '/nodes/pve/network/check');
  assert.equal(chk.status, 200);
  assert.ok(Array.isArray(chk.json.data.diagnostics));
  assert.equal(chk.json.data.errors, 0);

  const a = await raw(h, 'PUT', '/nodes/pve/network', { body: form({ 'confirm-timeout': 60 }) });
  assert.equal(a.status, 200, a.text);
  assert.equal((await waitTask(h, a.json.data)).exitstatus, 'OK');
  const applied = await h.interfaces();
  assert.match(applied, /iface vmbr1/);
  const log = await raw(h, 'GET', `/nodes/pve/tasks/${encodeURIComponent(a.json.data)}/log?start=0&limit=100`);
  assert.ok(log.json.data.some((l: { t: string }) => /press Keep within 60 s/.test(l.t)));
  assert.equal(log.json.total, log.json.data.length);

  const conf = await raw(h, 'POST', '/nodes/pve/network/confirm');
  assert.equal(conf.json.data.confirmed, 1);
  assert.equal((await raw(h, 'POST', '/nodes/pve/network/confirm')).json.data.confirmed, 0);

  const hist = await raw(h, 'GET', '/nodes/pve/network/history');
  assert.equal(hist.json.data.length, 1);
  assert.equal(hist.json.data[0].n, 1);
  assert.equal(hist.json.data[0].user, 'root@pam!ci');

  const rb = await raw(h, 'POST', '/nodes/pve/network/rollback', { body: form({ n: 1 }) });
  assert.equal(rb.status, 200, rb.text);
  assert.equal((await waitTask(h, rb.json.data)).exitstatus, 'OK');
  assert.equal(await h.interfaces(), original);
  const rb9 = await raw(h, 'POST', '/nodes/pve/network/rollback', { body: form({ n: 9 }) });
  assert.equal((await waitTask(h, rb9.json.data)).exitstatus, 'no history entry 9 (there are 2)');

  const v = await raw(h, 'GET', '/nodes/pve/network/verify');
  assert.equal(v.json.data.ok, 1);
  assert.equal(v.json.data.backend, 'none');

  // A staged config with a validation error is not applied (task fails, file unchanged).
  await fs.writeFile(
    join(h.root, 'etc/network/interfaces.new'),
    `${original}\nauto vmbr5\niface vmbr5 inet manual\n\tbridge-ports enp3s0f0\n`,
  );
  const bad = await raw(h, 'PUT', '/nodes/pve/network');
  const st = await waitTask(h, bad.json.data);
  assert.notEqual(st.exitstatus, 'OK');
  assert.equal(await h.interfaces(), original);
});

test('unconfirmed apply rolls back by itself after the timeout', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const original = await h.interfaces();
  await raw(h, 'POST', '/nodes/pve/network', { body: form({ iface: 'vmbr1', type: 'bridge' }) });
  const a = await raw(h, 'PUT', '/nodes/pve/network', { body: form({ 'confirm-timeout': 1 }) });
  await waitTask(h, a.json.data);
  assert.match(await h.interfaces(), /vmbr1/);
  // The window is 1 s; the rollback then runs on its own. Wait for it (no fixed sleep: under load
  // the rollback itself takes longer than the window), up to 30 s.
  const until = Date.now() + 30_000;
  while ((await h.interfaces()) !== original && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await h.interfaces(), original);
});

test('apply with reload=all reloads everything whatever changed; another value is refused', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  await raw(h, 'POST', '/nodes/pve/network', { body: form({ iface: 'vmbr1', type: 'bridge', autostart: 1 }) });
  const bad = await raw(h, 'PUT', '/nodes/pve/network', { body: form({ reload: 'some' }) });
  assert.equal(bad.status, 400, bad.text);
  assert.ok(bad.json.errors.reload, bad.text);
  const a = await raw(h, 'PUT', '/nodes/pve/network', { body: form({ reload: 'all' }) });
  assert.equal(a.status, 200, a.text);
  assert.equal((await waitTask(h, a.json.data)).exitstatus, 'OK');
  const log = await raw(h, 'GET', `/nodes/pve/tasks/${encodeURIComponent(a.json.data)}/log?start=0&limit=100`);
  const lines = log.json.data.map((l: { t: string }) => l.t);
  assert.ok(lines.includes('reload: all interfaces (a full reload was asked for)'), lines.join('\n'));
  // the default: targeted
  await raw(h, 'POST', '/nodes/pve/network', { body: form({ iface: 'vmbr2', type: 'bridge', autostart: 1 }) });
  const b = await raw(h, 'PUT', '/nodes/pve/network');
  assert.equal((await waitTask(h, b.json.data)).exitstatus, 'OK');
  const log2 = await raw(h, 'GET', `/nodes/pve/tasks/${encodeURIComponent(b.json.data)}/log?start=0&limit=100`);
  assert.ok(
    log2.json.data.some((l: { t: string }) => l.t === 'reload: targeted: down (none), up vmbr2'),
    JSON.stringify(log2.json.data),
  );
});

test('/version, /nodes, OpenAPI generated from the parameter schema', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const v = await raw(h, 'GET', '/version');
  assert.match(v.json.data.version, /^\d+\.\d+\.\d+/);
  const n = await raw(h, 'GET', '/nodes');
  assert.deepEqual(
    n.json.data.map((x: { node: string }) => x.node),
    ['pve'],
  );
  const o = await raw(h, 'GET', '/openapi', { auth: 'none' });
  assert.equal(o.status, 200);
  const doc = o.json.data;
  assert.equal(doc.openapi, '3.1.0');
  const post = doc.paths['/nodes/{node}/network'].post;
  const schema = post.requestBody.content['application/x-www-form-urlencoded'].schema;
  for (const p of IFACE_PARAMS) assert.ok(schema.properties[p.name], `OpenAPI lacks ${p.name}`);
  assert.equal(schema.properties.mtu.minimum, 1280);
  assert.deepEqual(schema.required.sort(), ['iface', 'type']);
  assert.ok(doc.paths['/nodes/{node}/tasks/{upid}/status'].get);
  assert.ok(
    doc.paths['/nodes/{node}/network/{iface}'].put.requestBody.content['application/json'].schema.properties.delete,
  );
});
