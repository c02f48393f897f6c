/**
 * HTTP robustness (issue 12): a real HTTPS server on loopback fed garbage by unauthenticated
 * and authenticated clients — random bytes, truncated and chunked bodies, bodies over the
 * limit, deeply nested JSON, huge headers, slow clients and unfinished TLS handshakes,
 * template syntax and prototype names as parameters. After each group the server still
 * answers and nothing was staged. The server runs in this process, so a crash of the server
 * is a crash of the test.
 *
 * Also the resource limits: login attempts counted before the password check (per source and
 * per user), connection caps, the TLS handshake timeout, and the audit log (what it records,
 * entry cap, rotation). Loopback only (127.0.0.0/8 sources), bounded loops, seeded randomness.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
// A namespace import: on an older server without these exports the other tests still load and run.
import * as auth from '../../src/api/auth.ts';
import { NetworkCore } from '../../src/core/network.ts';
import { main } from '../../src/cli/main.ts';
import { form, PASSWORD, raw, startServer } from './helpers.ts';
import type { Harness } from './helpers.ts';
// mulberry32, seeded: a failure can be replayed with the same NODENET_SEED
import { rng } from '../../bench/fuzz.ts';

function bytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const SEED = Number(process.env.NODENET_SEED ?? 12012);

/**
 * What escaped the server's handlers. In `nodenet serve` an unhandled rejection or uncaught
 * exception would end the process; the test runner would only report it, so it is recorded
 * here and checked after every group.
 */
const escaped: string[] = [];
process.on('unhandledRejection', (e: unknown) => escaped.push(`unhandled rejection: ${String(e)}`));
process.on('uncaughtException', (e: Error) => escaped.push(`uncaught exception: ${String(e)}`));

/** The server answers an authenticated GET, and nothing escaped its handlers. */
async function alive(h: Harness): Promise<void> {
  const r = await raw(h, 'GET', '/version');
  assert.equal(r.status, 200, `server no longer answers: ${r.status} ${r.text}`);
  // Let errors of requests that just finished surface.
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(escaped, [], 'an error escaped the server (it would have ended `nodenet serve`)');
}

async function nothingStaged(h: Harness, live: string): Promise<void> {
  assert.equal(await h.staged(), null, 'something was staged (interfaces.new exists)');
  assert.equal(await h.interfaces(), live);
}

function authHeader(h: Harness): Record<string, string> {
  return { Authorization: `PVEAPIToken=${h.tokenId}=${h.token}` };
}

/**
 * Send raw bytes over TLS; resolve with what came back once the server closes the connection,
 * or after `quietMs` without data (then this side closes). Errors count as a close.
 */
function tlsSend(
  h: Harness,
  data: Buffer | string,
  opts: { quietMs?: number; localAddress?: string } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const s = tlsConnect(
      {
        host: h.host,
        port: h.port,
        rejectUnauthorized: false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      () => {
        s.write(data);
        arm();
      },
    );
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, opts.quietMs ?? 1500);
    };
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      arm();
    });
    s.on('error', finish);
    s.on('close', finish);
  });
}

/** A chunked POST of `total` bytes; resolves with the status, or 'reset' when the server cut the connection first. */
function chunkedPost(
  h: Harness,
  path: string,
  total: number,
  headers: Record<string, string> = {},
): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: number | 'reset') => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    const req = request(
      {
        host: h.host,
        port: h.port,
        method: 'POST',
        path,
        rejectUnauthorized: false,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked', ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
        res.on('error', () => done(res.statusCode ?? 0));
      },
    );
    req.on('error', () => done('reset'));
    const chunk = Buffer.from(`a=${'x'.repeat(16 * 1024 - 2)}`);
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

/** Open a raw TCP connection (no TLS handshake) from `localAddress`; resolves when connected. */
function rawTcp(h: Harness, localAddress: string): Promise<Socket & { closedByPeer: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: h.host, port: h.port, localAddress }) as Socket & { closedByPeer: Promise<void> };
    s.closedByPeer = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => undefined);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolve true when `p` settles within `ms`, false otherwise (a bound, not a timing assertion). */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]).finally(
    () => clearTimeout(t),
  );
}

/** JSON nested `depth` levels: arrays inside a key, or objects. */
const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('garbage does not stop the server and stages nothing', () => {
  let h: Harness;
  let live: string;
  before(async () => {
    h = await startServer('03-bridged-default.interfaces');
    live = await h.interfaces();
  });
  after(() => h.close());

  test('chunked bodies over the limit (no credentials, and with): 413 or cut, never a crash', async () => {
    // The issue's reproduction: six 400 KB chunked POSTs to any path, no credentials.
    const paths = [
      '/api2/json/nodes/pve/network',
      '/api2/json/access/ticket',
      '/api2/json/nodes/pve/network/vmbr0',
      '/api2/json/version',
      '/api2/json/x',
      '/api2/json',
    ];
    for (const p of paths) {
      const r = await chunkedPost(h, p, 400 * 1024);
      assert.ok(r === 413 || r === 'reset', `${p}: ${r}`);
      await alive(h);
    }
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => chunkedPost(h, paths[i]!, 400 * 1024, i % 2 ? authHeader(h) : {})),
    );
    for (const r of results) assert.ok(r === 413 || r === 'reset', String(r));
    // Outside /api2 (the UI's static files): refused as an unknown file, the body is never used.
    for (const p of ['/', '/index.html', '/x']) {
      const r = await chunkedPost(h, p, 400 * 1024);
      assert.ok(r === 404 || r === 'reset', `${p}: ${r}`);
      await alive(h);
    }
    await alive(h);
    await nothingStaged(h, live);
  });

  test('deeply nested JSON (65 KB), without and with credentials: 400/401, never a crash or 500', async () => {
    const bodies = [
      `{"iface":${deepArray(30_000)},"type":"bridge"}`,
      `{"comments":${deepArray(30_000)},"iface":"vmbr9","type":"bridge"}`,
      `{"type":"bridge","iface":"vmbr9","a":${deepObject(10_000)}}`,
      `{"type":"bridge","iface":"vmbr9","bridge_ports":[${'"eth0",'.repeat(3000)}${deepArray(15_000)}]}`,
      deepArray(30_000),
    ];
    for (const body of bodies) {
      assert.ok(body.length <= 64 * 1024, String(body.length));
      for (const [path, method] of [
        ['/nodes/pve/network', 'POST'],
        ['/nodes/pve/network/vmbr0', 'PUT'],
        ['/access/ticket', 'POST'],
        ['/nodes/pve/network/setup/nat', 'POST'],
      ] as const) {
        const unauth = await raw(h, method, path, {
          auth: 'none',
          body,
          headers: { 'Content-Type': 'application/json' },
        });
        assert.ok(
          [400, 401].includes(unauth.status),
          `unauthenticated ${method} ${path}: ${unauth.status} ${unauth.text}`,
        );
        const authed = await raw(h, method, path, { body, headers: { 'Content-Type': 'application/json' } });
        assert.equal(authed.status, 400, `${method} ${path}: ${authed.status} ${authed.text}`);
      }
      await alive(h);
    }
    await h.srv.audit.flush();
    await alive(h);
    await nothingStaged(h, live);
  });

  test('random bytes instead of a request, and as bodies (seeded)', async () => {
    const r = rng(SEED);
    // Instead of HTTP over TLS: the server answers 400 or closes.
    for (let i = 0; i < 12; i++) {
      const got = await tlsSend(h, bytes(r, 1 + Math.floor(r() * 4096)), { quietMs: 1000 });
      assert.ok(got === '' || got.startsWith('HTTP/1.1 4'), JSON.stringify(got.slice(0, 80)));
    }
    // Instead of TLS: random bytes on the TCP port.
    for (let i = 0; i < 8; i++) {
      const s = await rawTcp(h, '127.0.0.1');
      s.write(bytes(r, 1 + Math.floor(r() * 2048)));
      assert.ok(
        await within(s.closedByPeer, 15_000),
        'server did not close a connection that sent random bytes instead of TLS',
      );
    }
    // As bodies, with each content type, with and without credentials.
    for (let i = 0; i < 24; i++) {
      const body = bytes(r, 1 + Math.floor(r() * 8192));
      const ct = [
        'application/json',
        'application/x-www-form-urlencoded',
        'text/plain',
        'application/json; charset=utf-8',
      ][i % 4]!;
      const res = await raw(
        h,
        i % 3 === 0 ? 'PUT' : 'POST',
        i % 3 === 0 ? '/nodes/pve/network/vmbr0' : '/nodes/pve/network',
        { body, auth: i % 2 ? 'none' : 'token', headers: { 'Content-Type': ct } },
      );
      assert.ok(res.status >= 400 && res.status < 500, `${ct}: ${res.status} ${res.text}`);
    }
    await alive(h);
    await nothingStaged(h, live);
  });

  test('truncated, malformed chunked and lying Content-Length bodies', async () => {
    const auth = `Authorization: PVEAPIToken=${h.tokenId}=${h.token}\r\n`;
    const head = (extra: string) =>
      `POST /api2/json/nodes/pve/network HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n${extra}`;
    const cases = [
      `${head(`${auth}Content-Length: 5000\r\n\r\n`)}iface=vmbr9&type=bridge`,
      `${head('Content-Length: 5000\r\n\r\n')}iface=vmbr9&type=bridge`,
      `${head(`${auth}Transfer-Encoding: chunked\r\n\r\n`)}5\r\niface\r\n`,
      `${head(`${auth}Transfer-Encoding: chunked\r\n\r\n`)}zz\r\nbad\r\n0\r\n\r\n`,
      `${head(`${auth}Transfer-Encoding: chunked\r\n\r\n`)}ffffffffffffffff\r\nx\r\n`,
      `${head(`${auth}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`)}abc`,
      `${head(`${auth}Content-Length: -1\r\n\r\n`)}`,
      `${head(`${auth}Content-Length: 1\r\nContent-Length: 2\r\n\r\n`)}ab`,
      `${head(`${auth}Content-Length: 99999999999999999999\r\n\r\n`)}a`,
      `POST /api2/json/nodes/pve/network HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 22\r\n`,
      `GET /api2/json/version HTTP/1.1\r\nHost: x\r\n${auth}`,
      `GET /api2/json/version HTTP/9.9\r\n\r\n`,
      `\r\n\r\n\r\n`,
    ];
    for (const c of cases) {
      const got = await tlsSend(h, c, { quietMs: 500 });
      assert.ok(got === '' || /^HTTP\/1\.1 (4\d\d|5\d\d)/.test(got), JSON.stringify(got.slice(0, 120)));
      assert.doesNotMatch(got, /^HTTP\/1\.1 500/);
    }
    await alive(h);
    await nothingStaged(h, live);
  });

  test('huge headers and many headers: 431 or 4xx, then the server still answers', async () => {
    const big = await tlsSend(
      h,
      `GET /api2/json/version HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`,
      { quietMs: 1000 },
    );
    assert.ok(big === '' || big.startsWith('HTTP/1.1 431'), big.slice(0, 80));
    const many = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const m = await tlsSend(h, `GET /api2/json/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${many}\r\n\r\n`, {
      quietMs: 1000,
    });
    assert.ok(m === '' || /^HTTP\/1\.1 4\d\d/.test(m), m.slice(0, 80));
    const cookie = await raw(h, 'GET', '/version', {
      auth: 'none',
      headers: { Cookie: `PVEAuthCookie=${'%ff'.repeat(1500)}`, Authorization: `PVEAPIToken=${'x'.repeat(6000)}` },
    });
    assert.equal(cookie.status, 401);
    await alive(h);
  });

  test('slow clients and unfinished TLS handshakes do not stop the server from answering', async () => {
    const idle: Socket[] = [];
    for (let i = 0; i < 16; i++) idle.push(await rawTcp(h, '127.0.0.2'));
    // Half a TLS ClientHello, then nothing.
    for (let i = 0; i < 4; i++) {
      const s = await rawTcp(h, '127.0.0.2');
      s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
      idle.push(s);
    }
    // TLS done, headers never finished.
    const slow = Array.from({ length: 4 }, () =>
      tlsSend(h, 'POST /api2/json/nodes/pve/network HTTP/1.1\r\nHost: x\r\nContent-Le', {
        quietMs: 300,
        localAddress: '127.0.0.2',
      }),
    );
    await alive(h);
    const r = await raw(h, 'GET', '/nodes/pve/network');
    assert.equal(r.status, 200);
    for (const s of idle) s.destroy();
    await Promise.all(slow);
    await alive(h);
  });

  test('template syntax in parameters (no credentials: any; with: every non-free-text field) is refused', async () => {
    const payloads = [
      "${__import__('os').system('touch /tmp/nodenet-mako')}",
      "<% import os; os.system('id') %>",
      '%if True:',
      '## x',
      'vmbr0\\',
      '${x}',
      'a\u2028b',
      'a\u0085b',
    ];
    const fields = [
      'iface',
      'bridge_ports',
      'cidr',
      'gateway',
      'cidr6',
      'gateway6',
      'mtu',
      'bond_mode',
      'slaves',
      'vlan-raw-device',
      'bridge_vids',
      'digest',
      'type',
    ];
    for (const p of payloads) {
      for (const f of fields) {
        const body = form({ iface: 'vmbr9', type: 'bridge', [f]: p });
        const u = await raw(h, 'POST', '/nodes/pve/network', { auth: 'none', body });
        assert.equal(u.status, 401);
        const a = await raw(h, 'POST', '/nodes/pve/network', { body });
        assert.equal(a.status, 400, `${f}=${p}: ${a.text}`);
        const json = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', {
          body: JSON.stringify({ type: 'bridge', [f]: p }),
          headers: { 'Content-Type': 'application/json' },
        });
        assert.equal(json.status, 400, `PUT ${f}=${p}: ${json.text}`);
      }
      const u = await raw(h, 'POST', '/nodes/pve/network', {
        auth: 'none',
        body: form({ iface: 'vmbr9', type: 'bridge', comments: p }),
      });
      assert.equal(u.status, 401);
      const path = await raw(h, 'GET', `/nodes/pve/network/${encodeURIComponent(p)}`);
      assert.equal(path.status, 400, path.text);
    }
    await alive(h);
    await nothingStaged(h, live);
  });

  test('__proto__, constructor, toString as parameter names are refused at the field, never merged', async () => {
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      const variants: [string, string, string, Record<string, string>][] = [
        ['POST', '/nodes/pve/network', `iface=vmbr9&type=bridge&${key}=x`, {}],
        ['POST', '/nodes/pve/network', `iface=vmbr9&type=bridge&${key}=x&${key}=y`, {}],
        ['POST', `/nodes/pve/network?${key}=x`, 'iface=vmbr9&type=bridge', {}],
        ['PUT', '/nodes/pve/network/vmbr0', `type=bridge&${key}=x`, {}],
        [
          'POST',
          '/nodes/pve/network',
          `{"iface":"vmbr9","type":"bridge","${key}":"x"}`,
          { 'Content-Type': 'application/json' },
        ],
        [
          'POST',
          '/nodes/pve/network',
          `{"iface":"vmbr9","type":"bridge","${key}":{"bridge_ports":"eno1"}}`,
          { 'Content-Type': 'application/json' },
        ],
        ['POST', '/nodes/pve/network/setup/bridged', `bridge=vmbr9&${key}=x`, {}],
        ['POST', '/access/ticket', `username=root@pam&password=x&${key}=x`, {}],
      ];
      for (const [m, p, body, headers] of variants) {
        const r = await raw(h, m, p, { body, headers, auth: p === '/access/ticket' ? 'none' : 'token' });
        assert.equal(r.status, 400, `${m} ${p} ${body}: ${r.status} ${r.text}`);
        assert.ok(
          r.json && Object.hasOwn(r.json.errors ?? {}, key),
          `${m} ${p} ${body}: no error at '${key}': ${r.text}`,
        );
        // An unknown name, or (JSON) a nested value refused at the same field.
        assert.match(r.json.errors[key], /property is not defined in schema|got an object/);
      }
    }
    assert.equal(({} as Record<string, unknown>).bridge_ports, undefined, 'Object.prototype was polluted');
    // The CLI refuses them as unknown options too.
    const root = h.root;
    for (const key of ['__proto__', 'constructor', 'toString']) {
      let err = '';
      const code = await main(['--root', root, 'create', 'vmbr9', '--type', 'bridge', `--${key}`, 'x'], {
        out: () => undefined,
        err: (s) => (err += s),
        tty: false,
      });
      assert.equal(code, 2, err);
      assert.match(err, new RegExp(`unknown option --${key}`));
    }
    await alive(h);
    await nothingStaged(h, live);
  });
});

describe('errors inside the server', () => {
  test('a handler that throws or rejects with anything answers 500 and the server goes on', async () => {
    class Broken extends NetworkCore {
      override async check(): Promise<never> {
        throw new TypeError("Cannot read properties of null (reading 'x')");
      }
      override list(): never {
        throw 'a string';
      }
    }
    const h = await startServer('03-bridged-default.interfaces', { server: {} });
    const broken = await startServer('03-bridged-default.interfaces', {
      server: { core: new Broken({ root: h.root }) },
    });
    try {
      for (const p of ['/nodes/pve/network/check', '/nodes/pve/network']) {
        const r = await raw(broken, 'GET', p);
        assert.equal(r.status, 500, r.text);
        assert.equal(r.json.message, 'internal error\n');
      }
      await alive(broken);
    } finally {
      await broken.close();
      await h.close();
    }
  });

  test('serve: an unhandled rejection or exception is logged, the process stays up', () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const script = `
      import { guardProcess } from ${JSON.stringify(join(here, '../../src/api/server.ts'))};
      const lines = [];
      guardProcess((level, msg, f) => lines.push(level + ' ' + msg + ' ' + JSON.stringify(f)));
      Promise.reject(new Error('boom-rejection'));
      setTimeout(() => { throw new Error('boom-exception'); }, 10);
      setTimeout(() => { process.stdout.write(lines.join('\\n') + '\\nstill-up\\n'); }, 200);
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /error unhandled rejection .*boom-rejection/);
    assert.match(r.stdout, /error uncaught exception .*boom-exception/);
    assert.match(r.stdout, /still-up/);
  });
});

describe('connections: TLS handshake timeout and caps', () => {
  test('a connection that never finishes the TLS handshake is closed by the server', async () => {
    const h = await startServer('03-bridged-default.interfaces', { server: { handshakeTimeoutMs: 300 } });
    try {
      const s = await rawTcp(h, '127.0.0.1');
      const t = await rawTcp(h, '127.0.0.1');
      t.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
      // Bounded wait (Node's default would hold them 120 s).
      assert.ok(
        await within(Promise.all([s.closedByPeer, t.closedByPeer]), 20_000),
        'half-open TLS connections were not closed',
      );
      await alive(h);
    } finally {
      await h.close();
    }
  });

  test('connections per source and in total are capped; other sources still get in', async () => {
    const h = await startServer('03-bridged-default.interfaces', {
      server: { maxConnections: 20, maxConnectionsPerSource: 6, handshakeTimeoutMs: 60_000 },
    });
    const open: (Socket & { closedByPeer: Promise<void> })[] = [];
    try {
      for (let i = 0; i < 10; i++) open.push(await rawTcp(h, '127.0.0.3'));
      // 4 over the per-source cap are closed by the server.
      const closed = async (list: typeof open, n: number) => {
        let count = 0;
        await new Promise<void>((r) => {
          if (n === 0) r();
          for (const s of list)
            void s.closedByPeer.then(() => {
              if (++count === n) r();
            });
        });
      };
      assert.ok(await within(closed(open, 4), 15_000), 'connections over the per-source cap stayed open');
      await alive(h);
      // Fill the total: 6 from each of three more sources (6 + 18 > 20).
      const more: typeof open = [];
      for (const src of ['127.0.0.4', '127.0.0.5', '127.0.0.6'])
        for (let i = 0; i < 6; i++) more.push(await rawTcp(h, src));
      open.push(...more);
      assert.ok(await within(closed(more, 4), 15_000), 'connections over the total cap stayed open');
      for (const s of open) s.destroy();
      await Promise.all(open.map((s) => s.closedByPeer));
      // The server counted the closed ones down again.
      for (let i = 0; i < 5; i++) open.push(await rawTcp(h, '127.0.0.3'));
      await alive(h);
      const r = await raw(h, 'GET', '/nodes/pve/network');
      assert.equal(r.status, 200);
    } finally {
      for (const s of open) s.destroy();
      await h.close();
    }
  });
});

/** Log in from a given loopback source address. */
function loginFrom(h: Harness, user: string, password: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = form({ username: user, password });
    const req = request(
      {
        host: h.host,
        port: h.port,
        method: 'POST',
        path: '/api2/json/access/ticket',
        localAddress,
        rejectUnauthorized: false,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': String(body.length),
          Connection: 'close',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('login brute force', () => {
  let h: Harness;
  before(async () => {
    // 64 connections per source: the 50 parallel guesses below come from one address and must
    // all reach the login limiter at once (the connection cap is tested above).
    h = await startServer('03-bridged-default.interfaces', {
      server: { loginLimit: { max: 5, windowMs: 60_000, userMax: 8 }, maxConnectionsPerSource: 64 },
    });
    for (const u of ['ops@pve', 'dev@pve', 'eve@pve']) await h.srv.auth.addUser(u, PASSWORD);
  });
  after(() => h.close());

  test('50 parallel guesses: at most the limit are checked, the rest are 429', async () => {
    const all = await Promise.all(
      Array.from({ length: 50 }, (_, i) => loginFrom(h, 'root@pam', `wrong-${i}`, '127.0.2.1')),
    );
    const checked = all.filter((s) => s === 401).length;
    assert.ok(checked <= 5, `${checked} of 50 parallel guesses were checked: ${all.join(' ')}`);
    assert.equal(all.filter((s) => s === 429).length, 50 - checked);
  });

  test("another account's successful login does not reset the source's counter", async () => {
    const src = '127.0.2.2';
    const got: number[] = [];
    for (let i = 0; i < 4; i++) got.push(await loginFrom(h, 'ops@pve', 'wrong', src));
    got.push(await loginFrom(h, 'eve@pve', PASSWORD, src));
    for (let i = 0; i < 4; i++) got.push(await loginFrom(h, 'ops@pve', 'wrong', src));
    assert.equal(got[4], 200, got.join(' '));
    assert.ok(got.slice(5).includes(429), `the source was never limited: ${got.join(' ')}`);
  });

  test('guesses for one user from many sources are limited per user', async () => {
    const got: number[] = [];
    for (let i = 1; i <= 14; i++) got.push(await loginFrom(h, 'dev@pve', 'wrong', `127.0.3.${i}`));
    assert.ok(got.filter((s) => s === 401).length <= 8, got.join(' '));
    assert.equal(got[got.length - 1], 429, got.join(' '));
    // Other users from fresh sources are not affected.
    assert.equal(await loginFrom(h, 'eve@pve', PASSWORD, '127.0.3.100'), 200);
  });

  test('a source is an IPv4 address (also IPv4-mapped) or an IPv6 /64', () => {
    assert.equal(auth.sourceKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(auth.sourceKey('192.0.2.7'), '192.0.2.7');
    assert.equal(auth.sourceKey('2001:db8:1:2:3:4:5:6'), auth.sourceKey('2001:db8:1:2::9'));
    assert.notEqual(auth.sourceKey('2001:db8:1:2::9'), auth.sourceKey('2001:db8:1:3::9'));
  });

  test('backoff: each new block of the same key is longer (unit, explicit clock)', () => {
    const l = new auth.LoginLimiter(3, 60_000, 100);
    let now = 1_000_000;
    const attempts = (n: number) => {
      for (let i = 0; i < n; i++) {
        const a = l.attempt('s', 'u', now);
        if (a.ok) a.fail();
      }
    };
    attempts(3);
    const first = l.attempt('s', 'u', now);
    assert.equal(first.ok, false);
    const wait1 = first.ok ? 0 : first.retryAfterMs;
    now += wait1 + 1;
    attempts(3);
    const second = l.attempt('s', 'u', now);
    assert.equal(second.ok, false);
    assert.ok(!second.ok && second.retryAfterMs > wait1, `${wait1} then ${second.ok ? 0 : second.retryAfterMs}`);
    // A success releases only its own attempt: the other user's failures stay counted.
    const m = new auth.LoginLimiter(3, 60_000, 100);
    for (let i = 0; i < 2; i++) {
      const a = m.attempt('s', 'victim', 0);
      if (a.ok) a.fail();
    }
    const mine = m.attempt('s', 'attacker', 0);
    assert.ok(mine.ok);
    if (mine.ok) mine.succeed();
    const a3 = m.attempt('s', 'victim', 0);
    assert.ok(a3.ok);
    if (a3.ok) a3.fail();
    assert.equal(m.attempt('s', 'victim', 0).ok, false);
  });
});

describe('audit log', () => {
  let h: Harness;
  const auditFile = () => join(h.root, 'var/lib/nodenet/audit.log');
  before(async () => {
    h = await startServer('03-bridged-default.interfaces', { server: { auditMaxBytes: 32 * 1024 } });
  });
  after(() => h.close());

  test('unauthenticated requests are not audited (no parameters reach the disk)', async () => {
    const body = form({ iface: 'vmbr9', type: 'bridge', comments: 'U'.repeat(60 * 1024) });
    for (let i = 0; i < 20; i++)
      assert.equal((await raw(h, 'POST', '/nodes/pve/network', { auth: 'none', body })).status, 401);
    for (let i = 0; i < 5; i++)
      assert.equal((await raw(h, 'PUT', '/nodes/pve/network', { auth: 'none', body: 'x=1' })).status, 401);
    await h.srv.audit.flush();
    const text = await fs.readFile(auditFile(), 'utf8').catch(() => '');
    assert.doesNotMatch(text, /UUUU/);
    assert.ok(text.length < 1024, `audit.log grew to ${text.length} bytes from unauthenticated requests`);
  });

  test('a failed login is audited without its parameters', async () => {
    assert.equal(
      (
        await raw(h, 'POST', '/access/ticket', {
          auth: 'none',
          body: form({ username: 'root@pam', password: 'guess-PW-123', realm: 'pve' }),
        })
      ).status,
      401,
    );
    await h.srv.audit.flush();
    const text = await fs.readFile(auditFile(), 'utf8');
    const entries = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const e = entries.find((x) => x.path === '/api2/json/access/ticket' && x.status === 401);
    assert.ok(e, text);
    assert.equal(e.user, 'root@pam');
    assert.equal(e.params, undefined);
    assert.doesNotMatch(text, /guess-PW|realm/);
  });

  test('authenticated entries are capped and the file rotates', async () => {
    const body = form({
      iface: 'vmbr9',
      type: 'bridge',
      ...Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`bogus${i}`, 'B'.repeat(1200)])),
    });
    for (let i = 0; i < 80; i++) assert.equal((await raw(h, 'POST', '/nodes/pve/network', { body })).status, 400);
    await h.srv.audit.flush();
    const cur = await fs.readFile(auditFile(), 'utf8');
    const old = await fs.readFile(`${auditFile()}.1`, 'utf8');
    for (const line of [...cur.trim().split('\n'), ...old.trim().split('\n')]) {
      assert.ok(Buffer.byteLength(line) <= 4096, `entry of ${Buffer.byteLength(line)} bytes`);
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e.status === 400) assert.equal(e.user, h.tokenId);
    }
    assert.ok(Buffer.byteLength(cur) <= 32 * 1024 + 4096, `audit.log is ${cur.length} bytes`);
    await assert.rejects(fs.access(`${auditFile()}.3`));
    const st = await fs.stat(auditFile());
    assert.equal(st.mode & 0o777, 0o600);
    await alive(h);
  });
});
