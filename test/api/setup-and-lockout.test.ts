/**
 * The planning modes and the IPv6 switch through the API give the same result as the CLI, and
 * the lock-out warning: a change that touches the address the client reached is refused
 * without a confirm window.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { CORPUS, form, raw, startServer } from './helpers.ts';

async function cli(root: string, ...argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await main(['--root', root, ...argv], { out: () => undefined, err: (s) => (err += s), tty: false });
  return { code, err };
}

test('setup through the API stages exactly what the CLI stages', async (t) => {
  const cases: [string, string, Record<string, string>, string[]][] = [
    [
      '03-bridged-default.interfaces',
      'nat',
      {
        bridge: 'vmbr1',
        uplink: 'vmbr0',
        cidr: '10.10.10.1/24',
        forward: 'tcp/2222=10.10.10.100:22,udp/5353=10.10.10.101:53',
      },
      [
        'setup',
        'nat',
        '--bridge',
        'vmbr1',
        '--uplink',
        'vmbr0',
        '--cidr',
        '10.10.10.1/24',
        '--forward',
        'tcp/2222=10.10.10.100:22',
        '--forward',
        'udp/5353=10.10.10.101:53',
      ],
    ],
    [
      '03-bridged-default.interfaces',
      'routed',
      { bridge: 'vmbr5', uplink: 'vmbr0', cidr: '203.0.113.17/28' },
      ['setup', 'routed', '--bridge', 'vmbr5', '--uplink', 'vmbr0', '--cidr', '203.0.113.17/28'],
    ],
    [
      '03-bridged-default.interfaces',
      'bridged',
      { bridge: 'vmbr3', ports: 'eno2', cidr: '192.168.50.2/24' },
      ['setup', 'bridged', '--bridge', 'vmbr3', '--ports', 'eno2', '--cidr', '192.168.50.2/24'],
    ],
  ];
  for (const [corpus, mode, params, argv] of cases) {
    const h = await startServer(corpus);
    t.after(() => h.close());
    const r = await raw(h, 'POST', `/nodes/pve/network/setup/${mode}`, { body: form(params) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.changed, 1);
    assert.match(r.json.data.diff, /^\+\+\+ interfaces\.new/m);
    const viaApi = await h.staged();
    const dir = mkdtempSync(join(tmpdir(), 'nodenet-setup-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'etc/network'), { recursive: true });
    writeFileSync(join(dir, 'etc/network/interfaces'), readFileSync(join(CORPUS, corpus)));
    const c = await cli(dir, ...argv);
    assert.equal(c.code, 0, c.err);
    assert.equal(readFileSync(join(dir, 'etc/network/interfaces.new'), 'utf8'), viaApi, `${mode}: API and CLI differ`);
    // A refusal comes back as a PVE parameter error naming the field.
    const bad = await raw(h, 'POST', `/nodes/pve/network/setup/${mode}`, { body: form({ ...params, bridge: 'eno1' }) });
    assert.equal(bad.status, 400, bad.text);
    assert.ok(Object.keys(bad.json.errors ?? {}).length > 0, bad.text);
  }
});

test('the IPv6 switch writes and removes the sysctl.d file', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const file = join(h.root, 'etc/sysctl.d/disable-ipv6.conf');
  assert.equal((await raw(h, 'GET', '/nodes/pve/network/ipv6')).json.data.disabled, 0);
  const d = await raw(h, 'PUT', '/nodes/pve/network/ipv6', { body: form({ disable: 1 }) });
  assert.equal(d.status, 200, d.text);
  assert.match(await fs.readFile(file, 'utf8'), /^net\.ipv6\.conf\.all\.disable_ipv6 = 1$/m);
  assert.equal((await raw(h, 'GET', '/nodes/pve/network/ipv6')).json.data.disabled, 1);
  const now = await raw(h, 'PUT', '/nodes/pve/network/ipv6', { body: form({ disable: 0, now: 1 }) });
  assert.equal(now.status, 400, 'the none backend has no kernel to apply to');
  assert.equal((await raw(h, 'PUT', '/nodes/pve/network/ipv6', { body: form({ disable: 0 }) })).status, 200);
  await assert.rejects(fs.stat(file));
});

test('lock-out: a change to the interface the client reached needs a confirm window', async (t) => {
  // The server listens on 127.0.0.2, which the config puts on vmbr9: the client's connection
  // "runs over" vmbr9 as far as the check can tell.
  const text =
    'auto lo\niface lo inet loopback\n\nauto vmbr9\niface vmbr9 inet static\n\taddress 127.0.0.2/8\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\nauto vmbr1\niface vmbr1 inet static\n\taddress 10.1.0.1/24\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n';
  const h = await startServer('', { host: '127.0.0.2', text });
  t.after(() => h.close());
  // An unrelated change: no risk.
  assert.equal(
    (await raw(h, 'PUT', '/nodes/pve/network/vmbr1', { body: form({ type: 'bridge', cidr: '10.1.0.2/24' }) })).status,
    200,
  );
  assert.equal((await raw(h, 'GET', '/nodes/pve/network/lockout')).json.data.risk, null);
  // Moving the address the client reached: the check says so before apply.
  assert.equal(
    (await raw(h, 'PUT', '/nodes/pve/network/vmbr9', { body: form({ type: 'bridge', cidr: '127.0.0.3/8' }) })).status,
    200,
  );
  const l = await raw(h, 'GET', '/nodes/pve/network/lockout');
  assert.match(l.json.data.risk, /moves or removes the address 127\.0\.0\.2 of vmbr9, which carries your connection/);
  const refused = await raw(h, 'PUT', '/nodes/pve/network');
  assert.equal(refused.status, 400, refused.text);
  assert.match(refused.json.errors['confirm-timeout'], /confirm window/);
  assert.match(await h.interfaces(), /127\.0\.0\.2\/8/, 'nothing was applied');
  const ok = await raw(h, 'PUT', '/nodes/pve/network', { body: form({ 'confirm-timeout': 30 }) });
  assert.equal(ok.status, 200, ok.text);
  // Done: confirm, so no guard is left waiting.
  for (let i = 0; i < 100 && !(await h.interfaces()).includes('127.0.0.3'); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal((await raw(h, 'POST', '/nodes/pve/network/confirm')).json.data.confirmed, 1);
});

test('logout revokes the ticket and clears the cookie', async (t) => {
  const { login } = await import('./helpers.ts');
  const h = await startServer();
  t.after(() => h.close());
  const s = await login(h);
  assert.equal((await raw(h, 'GET', '/nodes/pve/network', { auth: s })).status, 200);
  const out = await raw(h, 'DELETE', '/access/ticket', { auth: { ticket: s.ticket, csrf: s.csrf } });
  assert.equal(out.status, 200, out.text);
  assert.match(String(out.headers['set-cookie']), /PVEAuthCookie=;.*Max-Age=0/);
  assert.equal((await raw(h, 'GET', '/nodes/pve/network', { auth: s })).status, 401, 'the ticket no longer works');
});

test('history entries carry the diff of what each apply changed', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  await raw(h, 'POST', '/nodes/pve/network', { body: form({ iface: 'vmbr7', type: 'bridge' }) });
  const a = await raw(h, 'PUT', '/nodes/pve/network');
  for (let i = 0; i < 100; i++) {
    const st = await raw(h, 'GET', `/nodes/pve/tasks/${encodeURIComponent(a.json.data)}/status`);
    if (st.json.data.status === 'stopped') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const hist = await raw(h, 'GET', '/nodes/pve/network/history');
  assert.match(hist.json.data[0].diff, /^\+iface vmbr7 inet manual$/m);
});
