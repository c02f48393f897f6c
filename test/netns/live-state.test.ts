/**
 * Issue 13 with the real ifupdown2 in a namespace, through the real `bin/nodenet`:
 * - a port typo (`create vmbr7 --bridge_ports eno9`, no eno9 in the sandbox) is staged with a
 *   warning, the apply does not invent the card, and `verify` reports the missing port;
 * - after an apply through the API, `GET .../network/vmbr4000` and the list agree with the
 *   kernel that the new bridge is up (one source of live state for every view), and the API's
 *   validation knows the sandbox's NICs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { sandboxNames } from '../../src/apply/netns.ts';
import { LO, makeRoot, removeRoot, skipUnlessReady } from './helpers.ts';

const BIN = new URL('../../bin/nodenet', import.meta.url).pathname;
const DIST = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const skip = skipUnlessReady();

const FILE = `${LO}auto eno1\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 10.99.0.1/24\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n`;

function cli(root: string, args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, '--root', root, '--backend', 'netns', ...args], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Link names in the root's sandbox namespace, read with `ip` (not through nodenet). */
function sandboxLinks(root: string): Map<string, { up: boolean; master?: string }> {
  const out = spawnSync('ip', ['-n', sandboxNames(root).ns, '-j', 'link', 'show'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const links = JSON.parse(out.stdout) as { ifname: string; flags: string[]; master?: string }[];
  return new Map(
    links.map((l) => [l.ifname, { up: l.flags.includes('UP'), ...(l.master ? { master: l.master } : {}) }]),
  );
}

describe('netns: a port typo is caught at staging and by verify', { skip }, () => {
  let root = '';
  before(() => {
    assert.ok(existsSync(DIST), 'dist/ is missing: run `npm run build` first (npm test does)');
    root = makeRoot(FILE);
  });
  after(() => {
    if (root) cli(root, ['netns', 'destroy']);
    removeRoot(root);
  });

  it('stages with NIC_NOT_ON_HOST, applies without inventing eno9, and verify names the missing port', () => {
    const first = cli(root, ['apply']);
    assert.equal(first.code, 0, first.err + first.out);
    const staged = cli(root, [
      '--output-format',
      'json',
      'create',
      'vmbr7',
      '--type',
      'bridge',
      '--bridge_ports',
      'eno9',
      '--autostart',
      '1',
    ]);
    assert.equal(staged.code, 0, staged.err);
    const ds = (JSON.parse(staged.out) as { diagnostics: { code: string; severity: string; message: string }[] })
      .diagnostics;
    assert.deepEqual(
      ds.filter((d) => d.code === 'NIC_NOT_ON_HOST').map((d) => [d.severity, /'eno9'/.test(d.message)]),
      [['warning', true]],
      'the sandbox has eno1 only: eno9 is flagged',
    );
    const apply = cli(root, ['apply']);
    assert.equal(apply.code, 1, 'the apply fails its verification');
    assert.match(apply.err, /vmbr7: bridge port eno9 does not exist in the kernel/);
    const links = sandboxLinks(root);
    assert.equal(links.has('eno9'), false, 'no card was made for the typo');
    assert.equal(links.get('vmbr7')?.up, true, 'ifupdown2 brought vmbr7 up without its port');
    const v = cli(root, ['verify']);
    assert.equal(v.code, 1);
    assert.match(v.out, /vmbr7:\n {2}critical +vmbr7: bridge port eno9 does not exist in the kernel/);
    assert.match(v.out, /DRIFT/);
  });
});

/** A small HTTPS JSON client for the server under test (self-signed certificate). */
function api(
  port: number,
  auth: string,
  method: string,
  path: string,
  body?: Record<string, string>,
): Promise<{ status: number; json: { data: unknown } }> {
  const payload = body ? new URLSearchParams(body).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/api2/json${path}`,
        rejectUnauthorized: false,
        headers: {
          Authorization: auth,
          ...(payload
            ? {
                'Content-Type': 'application/x-www-form-urlencoded',
                'Content-Length': String(Buffer.byteLength(payload)),
              }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { data: unknown },
          }),
        );
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

describe('netns: the API shows one live state in the list and the single GET', { skip }, () => {
  let root = '';
  let server: ChildProcess | undefined;
  let port = 0;
  let auth = '';
  before(async () => {
    assert.ok(existsSync(DIST), 'dist/ is missing: run `npm run build` first (npm test does)');
    root = makeRoot(FILE);
    assert.equal(cli(root, ['user', 'add', 'root@pam', '--password-stdin'], 'pw-13\n').code, 0);
    const tok = JSON.parse(cli(root, ['--output-format', 'json', 'token', 'add', 'root@pam', 'ci']).out) as {
      'full-tokenid': string;
      value: string;
    };
    auth = `PVEAPIToken=${tok['full-tokenid']}=${tok.value}`;
    server = spawn(process.execPath, [BIN, '--root', root, '--backend', 'netns', 'serve', '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: server!.stderr! });
      server!.on('exit', (c) => reject(new Error(`serve exited with ${c}`)));
      lines.on('line', (l) => {
        const m = /"url":"https:\/\/127\.0\.0\.1:(\d+)\//.exec(l);
        if (m) resolve(Number(m[1]));
      });
    });
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const done = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await done;
    }
    if (root) cli(root, ['netns', 'destroy']);
    removeRoot(root);
  });

  it('after an apply, GET vmbr4000 and the list both say active 1, as the kernel does', async () => {
    // a first list reads the link state (vmbr4000 does not exist yet)
    const l0 = await api(port, auth, 'GET', '/nodes/localhost/network');
    assert.equal(l0.status, 200);
    const c = await api(port, auth, 'POST', '/nodes/localhost/network', {
      iface: 'vmbr4000',
      type: 'bridge',
      autostart: '1',
      cidr: '10.40.0.1/24',
    });
    assert.equal(c.status, 200, JSON.stringify(c.json));
    const upid = (await api(port, auth, 'PUT', '/nodes/localhost/network')).json.data as string;
    for (;;) {
      const st = (await api(port, auth, 'GET', `/nodes/localhost/tasks/${encodeURIComponent(upid)}/status`)).json
        .data as { status: string; exitstatus?: string };
      if (st.status === 'stopped') {
        assert.equal(st.exitstatus, 'OK');
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(sandboxLinks(root).get('vmbr4000')?.up, true, 'the kernel has vmbr4000 up');
    const one = (await api(port, auth, 'GET', '/nodes/localhost/network/vmbr4000')).json.data as { active?: number };
    const list = (await api(port, auth, 'GET', '/nodes/localhost/network')).json.data as {
      iface: string;
      active?: number;
    }[];
    assert.equal(one.active, 1, 'the single GET');
    assert.equal(list.find((o) => o.iface === 'vmbr4000')?.active, 1, 'the list');
  });

  it('the API validates ports against the sandbox NICs: a typo is a warning at staging', async () => {
    const c = await api(port, auth, 'POST', '/nodes/localhost/network', {
      iface: 'vmbr7',
      type: 'bridge',
      bridge_ports: 'eno9',
    });
    assert.equal(c.status, 200, JSON.stringify(c.json));
    const check = (await api(port, auth, 'GET', '/nodes/localhost/network/check')).json.data as {
      diagnostics: { code: string; severity: string; message: string }[];
    };
    assert.deepEqual(
      check.diagnostics.filter((d) => d.code === 'NIC_NOT_ON_HOST').map((d) => [d.severity, /'eno9'/.test(d.message)]),
      [['warning', true]],
    );
    assert.equal((await api(port, auth, 'DELETE', '/nodes/localhost/network')).status, 200);
  });
});
