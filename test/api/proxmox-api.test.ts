/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON answers and the dynamic client proxy */
/** npm proxmox-api@1.1.1 (strict Content-Type, reason phrases) against a real HTTPS server: token and ticket auth. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, fetch } from 'undici';
import { requirePrereq, startServer, PASSWORD, raw } from './helpers.ts';

let proxmoxApi: ((opts: Record<string, unknown>) => any) | undefined;
try {
  proxmoxApi = ((await import('proxmox-api')) as unknown as { default: (o: Record<string, unknown>) => any }).default;
} catch {
  proxmoxApi = undefined;
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });
const insecureFetch = (url: string, opts: Record<string, unknown>) =>
  fetch(url, { ...opts, dispatcher: insecure } as never);

async function waitTask(node: any, upid: string): Promise<{ status: string; exitstatus?: string }> {
  for (let i = 0; i < 100; i++) {
    const st = await node.tasks.$(upid).status.$get();
    if (st.status !== 'running') return st;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('task did not finish');
}

for (const mode of ['token', 'ticket'] as const) {
  test(`proxmox-api 1.1.1 (${mode} auth): the full network flow`, async (t) => {
    if (!requirePrereq(t, proxmoxApi !== undefined, 'npm devDependency proxmox-api@1.1.1 (npm ci)')) return;
    const h = await startServer();
    t.after(() => h.close());
    const before = await h.interfaces();
    const px = proxmoxApi!(
      mode === 'token'
        ? { host: '127.0.0.1', port: h.port, tokenID: h.tokenId, tokenSecret: h.token, fetch: insecureFetch }
        : { host: '127.0.0.1', port: h.port, username: 'root@pam', password: PASSWORD, fetch: insecureFetch },
    );
    const node = px.nodes.$('pve');
    const net = node.network;

    const bridges = await net.$get({ type: 'bridge' });
    assert.ok(bridges.some((b: { iface: string }) => b.iface === 'vmbr0'));

    assert.equal(
      await net.$post({
        iface: 'vmbr1',
        type: 'bridge',
        bridge_ports: '',
        autostart: true,
        cidr: '10.0.0.1/24',
        comments: 'test',
      }),
      null,
    );
    const one = await net.$('vmbr1').$get();
    assert.equal(one.cidr, '10.0.0.1/24');
    assert.equal(one.autostart, 1);
    assert.equal(one.comments, 'test\n');

    assert.equal(await net.$('vmbr1').$put({ type: 'bridge', mtu: 9000, delete: 'comments' }), null);
    const upd = await net.$('vmbr1').$get();
    assert.equal(upd.mtu, '9000');
    assert.equal(upd.comments, undefined);

    // The pending diff is a top-level envelope key; the client returns only `data`, so read it raw.
    const list = await raw(h, 'GET', '/nodes/pve/network');
    assert.match(list.json.changes, /^\+iface vmbr1 inet static$/m);

    await assert.rejects(
      net.$post({ iface: 'vmbr1', type: 'bridge' }),
      /return Error 400 Parameter verification failed\.: .*interface already exists/,
    );
    await assert.rejects(net.$('vmbr77').$get(), /400 Parameter verification failed\..*interface does not exist/);

    assert.equal(await net.$delete(), null);
    assert.ok(!(await net.$get()).some((b: { iface: string }) => b.iface === 'vmbr1'));
    assert.equal(await h.staged(), null);

    await net.$post({ iface: 'vmbr1', type: 'bridge', bridge_ports: '', autostart: true, cidr: '10.0.0.1/24' });
    const upid: string = await net.$put();
    assert.match(upid, /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:srvreload:networking:root@pam/);
    const st = await waitTask(node, upid);
    assert.equal(st.status, 'stopped');
    assert.equal(st.exitstatus, 'OK');
    const log = await node.tasks.$(upid).log.$get();
    assert.equal(log[log.length - 1].t, 'TASK OK');
    assert.match(await h.interfaces(), /^iface vmbr1 inet static$/m);

    assert.equal(await net.$('vmbr1').$delete(), null);
    await assert.rejects(net.$('vmbr1').$get(), /interface does not exist/);
    const st2 = await waitTask(node, await net.$put());
    assert.equal(st2.exitstatus, 'OK');
    assert.equal(await h.interfaces(), before);
  });
}
