/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON answers and the dynamic client proxy */
/**
 * API load benchmark (run by hand: `node --import tsx bench/api-load.ts [--seconds 20]`).
 *
 * 1. GET list of a generated 4094-interface config, 50 concurrent clients: p50/p99.
 * 2. 50 concurrent writers using digests for a fixed time: every 200 must be in the final file,
 *    every conflict a clean 409, no torn file seen by a concurrent disk reader, server up.
 * 3. Single-interface PUTs on the 4094-interface file (comments, cidr, mtu): medians.
 *
 * The server runs in a child process (this file with `--server ROOT`), over HTTPS with a token.
 */
import { fork } from 'node:child_process';
/** The V8 flags bin/nodenet runs with (see its first line): measure the server as it runs. */
const NODE_FLAGS = ['--max-semi-space-size=64'];
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const argv = process.argv.slice(2);

function bridges(n: number): string {
  let s =
    '# generated for bench/api-load.ts\nauto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n';
  for (let i = 1; i < n; i++)
    s += `\nauto vmbr${i}\niface vmbr${i} inet manual\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n`;
  return s;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function startServer(
  text: string,
): Promise<{ root: string; base: string; auth: string; stop: () => Promise<void> }> {
  const root = await fs.mkdtemp(join(tmpdir(), 'nodenet-bench-'));
  await fs.mkdir(join(root, 'etc/network'), { recursive: true });
  await fs.writeFile(join(root, 'etc/network/interfaces'), text);
  const child = fork(fileURLToPath(import.meta.url), ['--server', root], {
    execArgv: ['--import', 'tsx', ...NODE_FLAGS],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  process.on('exit', () => child.kill('SIGKILL'));
  const { port, token } = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number; token: string }));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return {
    root,
    base: `https://127.0.0.1:${port}/api2/json/nodes/pve`,
    auth: `PVEAPIToken=${token}`,
    async stop() {
      const alive = child.exitCode === null;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      if (!alive) throw new Error('server had died');
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

const dispatcher = new Agent({ connect: { rejectUnauthorized: false }, connections: 64, pipelining: 1 });

async function call(
  s: { base: string; auth: string },
  method: string,
  path: string,
  body?: Record<string, string>,
  parse = true,
  gzip = false,
): Promise<{ status: number; json: any; ms: number }> {
  const t0 = performance.now();
  const r = await request(`${s.base}${path}`, {
    method: method as 'GET',
    dispatcher,
    headers: {
      authorization: s.auth,
      ...(gzip ? { 'accept-encoding': 'gzip, deflate' } : {}),
      ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(body ? { body: new URLSearchParams(body).toString() } : {}),
  });
  if (!parse) {
    // Consume the body without parsing: measures the server, not the client's JSON.parse.
    for await (const _chunk of r.body) void _chunk;
    return { status: r.statusCode, json: null, ms: performance.now() - t0 };
  }
  const text = await r.body.text();
  return { status: r.statusCode, json: text ? JSON.parse(text) : null, ms: performance.now() - t0 };
}

async function main(): Promise<void> {
  const seconds = Number(argv[argv.indexOf('--seconds') + 1]) || 20;
  const rows: [string, string][] = [];

  // 1. GET list, 4094 interfaces, 50 clients.
  {
    console.error('phase 1: GET list (4094 interfaces), 50 clients, 10 s');
    const s = await startServer(bridges(4094));
    const first = await call(s, 'GET', '/network');
    if (first.status !== 200 || first.json.data.length < 4094)
      throw new Error(`list: ${first.status} ${first.json?.data?.length}`);
    const bytes = JSON.stringify(first.json).length;
    // As proxmoxer does (Accept-Encoding: gzip, deflate), and without compression.
    for (const gzip of [true, false]) {
      const lat: number[] = [];
      const end = Date.now() + 10_000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (Date.now() < end) {
            const r = await call(s, 'GET', '/network', undefined, false, gzip);
            if (r.status !== 200) throw new Error(`list status ${r.status}`);
            lat.push(r.ms);
          }
        }),
      );
      const wall = (performance.now() - t0) / 1000;
      rows.push([
        `GET list, 4094 interfaces, 50 clients, 10 s, ${gzip ? 'gzip (as proxmoxer asks)' : 'uncompressed'}`,
        `${lat.length} requests, ${(lat.length / wall).toFixed(0)} req/s, p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms (${(bytes / 1024).toFixed(0)} KiB JSON)`,
      ]);
    }

    // 3. Single-interface PUT on the 4094-interface file (sequential). The first request after
    // start parses the whole file; every later one re-parses and re-models only the stanzas
    // around its change. Three kinds of change, each on other interfaces.
    console.error('phase 3: single-interface PUT on the 4094-interface file');
    const kinds: [string, (i: number) => Record<string, string>][] = [
      ['comments', (i) => ({ type: 'bridge', comments: `bench ${i}` })],
      ['cidr (a new subnet)', (i) => ({ type: 'bridge', cidr: `172.${16 + (i >> 8)}.${i & 255}.1/24` })],
      ['mtu', (i) => ({ type: 'bridge', mtu: String(1400 + (i % 100)) })],
    ];
    const firstPut = await call(s, 'PUT', '/network/vmbr4000', { type: 'bridge', comments: 'first' });
    if (firstPut.status !== 200) throw new Error(`put ${firstPut.status} ${JSON.stringify(firstPut.json)}`);
    rows.push([
      'single-interface PUT, 4094-interface file: the first after start (whole file parsed)',
      `${firstPut.ms.toFixed(1)} ms`,
    ]);
    const all: number[] = [];
    for (const [k, [kind, body]] of kinds.entries()) {
      const put: number[] = [];
      for (let n = 0; n < 100; n++) {
        const i = 1 + k * 1300 + n * 13;
        const r = await call(s, 'PUT', `/network/vmbr${i}`, body(i));
        if (r.status !== 200) throw new Error(`put ${kind} ${r.status} ${JSON.stringify(r.json)}`);
        put.push(r.ms);
      }
      all.push(...put);
      rows.push([
        `single-interface PUT, 4094-interface file, ${kind}, sequential ×100`,
        `median ${pct(put, 50).toFixed(1)} ms, p90 ${pct(put, 90).toFixed(1)} ms, p99 ${pct(put, 99).toFixed(1)} ms`,
      ]);
    }
    // Creating and deleting shift interface priorities: the model is rebuilt in full (reusing
    // the unchanged interfaces' objects); reported apart from the PUTs.
    const cd: number[] = [];
    for (let n = 0; n < 50; n++) {
      const c = await call(s, 'POST', '/network', { iface: `vmbr${5000 + n}`, type: 'bridge', autostart: '1' });
      if (c.status !== 200) throw new Error(`create ${c.status} ${JSON.stringify(c.json)}`);
      const d = await call(s, 'DELETE', `/network/vmbr${5000 + n}`);
      if (d.status !== 200) throw new Error(`delete ${d.status} ${JSON.stringify(d.json)}`);
      cd.push(c.ms, d.ms);
    }
    rows.push([
      'single-interface POST (create) and DELETE, 4094-interface file, ×50 each',
      `median ${pct(cd, 50).toFixed(1)} ms, p90 ${pct(cd, 90).toFixed(1)} ms, p99 ${pct(cd, 99).toFixed(1)} ms`,
    ]);
    rows.push([
      'single-interface PUT, all three kinds, ×300',
      `**median ${pct(all, 50).toFixed(1)} ms**, p90 ${pct(all, 90).toFixed(1)} ms, p99 ${pct(all, 99).toFixed(1)} ms`,
    ]);
    await s.stop();
  }

  // 2. 50 concurrent writers with digests.
  {
    console.error(`phase 2: 50 writers with digests, ${seconds} s`);
    const s = await startServer(bridges(100));
    const staged = join(s.root, 'etc/network/interfaces.new');
    const acked = new Set<string>();
    const knownDigests = new Set<string>();
    const seenOnDisk = new Set<string>();
    let ok = 0;
    let conflicts = 0;
    let other = 0;
    const otherSamples: string[] = [];
    const end = Date.now() + seconds * 1000;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const t = await fs.readFile(staged, 'utf8').catch(() => null);
        if (t !== null) seenOnDisk.add(createHash('sha256').update(t).digest('hex'));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const lat: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, w) => {
        let n = 0;
        while (Date.now() < end) {
          const g = await call(s, 'GET', '/network/vmbr0');
          const name = `w${w}x${n}`;
          const r = await call(s, 'POST', '/network', {
            iface: name,
            type: 'bridge',
            bridge_ports: '',
            digest: g.json.digest,
          });
          lat.push(r.ms);
          if (r.status === 200) {
            ok++;
            n++;
            acked.add(name);
            knownDigests.add(r.json.digest);
          } else if (r.status === 409 && /reload and retry/.test(r.json?.message ?? '')) conflicts++;
          else {
            other++;
            if (otherSamples.length < 3) otherSamples.push(`${r.status} ${JSON.stringify(r.json)}`);
          }
        }
      }),
    );
    reading = false;
    await reader;
    const final = await fs.readFile(staged, 'utf8');
    const missing = [...acked].filter((name) => !new RegExp(`^iface ${name} inet`, 'm').test(final));
    const torn = [...seenOnDisk].filter((d) => !knownDigests.has(d));
    const up = (await call(s, 'GET', '/network')).status === 200;
    rows.push([
      `50 writers with digests, ${seconds} s (POST create, 100-interface start)`,
      `${ok} × 200, ${conflicts} × 409, ${other} other; lost updates ${missing.length}; torn/unknown files seen ${torn.length} of ${seenOnDisk.size} reads; write p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms; server up: ${up ? 'yes' : 'NO'}`,
    ]);
    if (otherSamples.length) console.error('unexpected answers:', otherSamples);
    await s.stop();
  }

  console.log(`| benchmark | result |\n|---|---|\n${rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n')}`);
  await dispatcher.close();
}

if (argv[0] === '--server') {
  // Child: serve ROOT on a free port, report the port to the parent.
  const root = argv[1]!;
  const { createServer } = await import('../src/api/server.ts');
  const { ensureTls } = await import('../src/api/tls.ts');
  const tls = await ensureTls(root);
  // 50 clients from one address: above the default per-source connection cap (32).
  const srv = createServer({
    root,
    node: 'pve',
    tls: { key: tls.key, cert: tls.cert },
    failDelayMs: 0,
    maxConnectionsPerSource: 128,
  });
  const token = await srv.auth.addToken((await srv.auth.addUser('bench@pve', 'bench-pw'), 'bench@pve'), 'load', false);
  const addr = await srv.listen(0, '127.0.0.1');
  process.send!({ port: addr.port, token: `${token['full-tokenid']}=${token.value}` });
  process.on('SIGTERM', () => void srv.close(2000).then(() => process.exit(0)));
} else {
  await main();
}
