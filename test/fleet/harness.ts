/**
 * The fleet tests' world: real etcd members (Debian's `etcd`, started here on free loopback
 * ports with temp data dirs, `--pre-vote`), real `nodenet agent` and `nodenet serve --etcd`
 * processes (bin/nodenet over dist/: `npm run build` first), each on its own temp root.
 * Everything started is stopped by PID in `close()`, and temp dirs are removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const ETCD = '/usr/bin/etcd';
const BIN = join(REPO, 'bin/nodenet');

/** Skip (or, under CI=true, fail) when etcd or dist/ is missing, naming what is missing. */
export function requireFleet(t: TestContext): boolean {
  const missing: string[] = [];
  if (!existsSync(ETCD)) missing.push('etcd (apt-get install etcd-server)');
  if (!existsSync(join(REPO, 'dist/cli/main.js'))) missing.push('dist/ (npm run build)');
  if (!missing.length) return true;
  if (process.env.CI === 'true') assert.fail(`prerequisite missing: ${missing.join(', ')}`);
  t.skip(`prerequisite missing: ${missing.join(', ')}`);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value (or throw after `ms`, naming `what`). */
export async function until<T>(
  what: string,
  fn: () => Promise<T> | T,
  ms = 20_000,
  every = 100,
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(every);
  }
}

export interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  proc: ChildProcess | undefined;
  /** SIGKILL (a crash). */
  kill(): void;
  /** SIGSTOP / SIGCONT (a hang, a partition as the others see it). */
  pause(): void;
  resume(): void;
  /** Start again with its data (after kill). */
  restart(): void;
}

export interface Proc {
  proc: ChildProcess;
  /** stdout + stderr so far. */
  log(): string;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export interface Fleet {
  dir: string;
  members: Member[];
  endpoints: string;
  client: Etcd3;
  /** A node agent on a fresh root whose live file is `text` (backend `none` unless asked). */
  agent(
    node: string,
    text: string,
    opts?: { ttl?: number; backend?: string; root?: string; env?: NodeJS.ProcessEnv },
  ): Promise<Proc & { root: string }>;
  /** `nodenet serve --etcd` on a fresh root with user admin@pve / PASSWORD; resolves when it listens. */
  server(
    name: string,
    opts?: { env?: NodeJS.ProcessEnv },
  ): Promise<Proc & { root: string; base: string; port: number }>;
  close(): Promise<void>;
}

export const PASSWORD = 'fleet-pw-1';

/** Start `n` etcd members (1 or 3) and wait until the cluster answers. */
export async function startFleet(n: 1 | 3 = 1): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'nodenet-fleet-'));
  const procs: Proc[] = [];
  const ports = await Promise.all(Array.from({ length: n * 2 }, () => freePort()));
  const members: Member[] = [];
  const cluster = Array.from({ length: n }, (_, i) => `m${i + 1}=http://127.0.0.1:${ports[n + i]}`).join(',');
  for (let i = 0; i < n; i++) {
    const name = `m${i + 1}`;
    const clientUrl = `http://127.0.0.1:${ports[i]}`;
    const peerUrl = `http://127.0.0.1:${ports[n + i]}`;
    const data = join(dir, name);
    const args = (state: 'new' | 'existing') => [
      '--name',
      name,
      '--data-dir',
      data,
      '--pre-vote=true',
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--listen-metrics-urls',
      'http://127.0.0.1:0',
      '--initial-cluster',
      cluster,
      '--initial-cluster-state',
      state,
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
    ];
    const m: Member = {
      name,
      clientUrl,
      peerUrl,
      proc: undefined,
      kill: () => m.proc?.kill('SIGKILL'),
      pause: () => m.proc?.kill('SIGSTOP'),
      resume: () => m.proc?.kill('SIGCONT'),
      restart: () => {
        m.proc = spawn(ETCD, args('existing'), { stdio: ['ignore', 'ignore', 'ignore'] });
      },
    };
    m.proc = spawn(ETCD, args('new'), { stdio: ['ignore', 'ignore', 'ignore'] });
    members.push(m);
  }
  const endpoints = members.map((m) => m.clientUrl).join(',');
  const client = new Etcd3({ hosts: members.map((m) => m.clientUrl), dialTimeout: 2000 });
  try {
    await until('etcd to answer', async () => (await client.put('/nodenet-test/ping').value('1'), true), 30_000, 200);
  } catch (e) {
    // Nothing else holds the members yet: stop them here, or they outlive the caller.
    client.close();
    for (const m of members) m.kill();
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const start = (argv: string[], env: NodeJS.ProcessEnv = {}): Proc => {
    const proc = spawn(process.execPath, [BIN, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODENET_WARM: '0', ...env },
    });
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    const p: Proc = {
      proc,
      log: () => out,
      kill: (s = 'SIGKILL') => void proc.kill(s),
      exited,
      stop: async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      },
    };
    procs.push(p);
    return p;
  };

  return {
    dir,
    members,
    endpoints,
    client,
    async agent(node, text, opts = {}) {
      const root = opts.root ?? join(dir, `root-${node}`);
      mkdirSync(join(root, 'etc/network'), { recursive: true });
      if (!existsSync(join(root, 'etc/network/interfaces'))) writeFileSync(join(root, 'etc/network/interfaces'), text);
      const p = start(
        [
          '--root',
          root,
          '--node',
          node,
          '--backend',
          opts.backend ?? 'none',
          'agent',
          '--etcd',
          endpoints,
          '--ttl',
          String(opts.ttl ?? 3),
        ],
        opts.env,
      );
      await until(
        `agent ${node} to run`,
        () => p.log().includes('"agent running"') || p.proc.exitCode !== null,
        30_000,
      );
      assert.ok(p.proc.exitCode === null, `agent ${node} ended: ${p.log()}`);
      return { ...p, root };
    },
    async server(name, opts = {}) {
      const root = join(dir, `srv-${name}`);
      mkdirSync(root, { recursive: true });
      const u = spawnSync(process.execPath, [BIN, '--root', root, 'user', 'add', 'admin@pve', '--password-stdin'], {
        input: `${PASSWORD}\n`,
        encoding: 'utf8',
      });
      assert.equal(u.status, 0, u.stderr);
      const port = await freePort();
      const p = start(
        [
          '--root',
          root,
          '--node',
          name,
          'serve',
          '--listen',
          `127.0.0.1:${port}`,
          '--etcd',
          endpoints,
          '--fail-delay',
          '0',
        ],
        opts.env,
      );
      await until(
        `server ${name} to listen`,
        () => p.log().includes('"listening"') || p.proc.exitCode !== null,
        30_000,
      );
      assert.ok(p.proc.exitCode === null, `server ${name} ended: ${p.log()}`);
      return { ...p, root, port, base: `https://127.0.0.1:${port}/api2/json` };
    },
    async close() {
      await Promise.all(procs.map((p) => p.stop()));
      client.close();
      for (const m of members) {
        m.resume();
        m.kill();
      }
      await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal node file: lo and vmbr0 with `address`. */
export function nodeFile(addr: string): string {
  return `auto lo\niface lo inet loopback\n\nauto vmbr0\niface vmbr0 inet static\n\taddress ${addr}\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n`;
}

export function readLive(root: string): string {
  return readFileSync(join(root, 'etc/network/interfaces'), 'utf8');
}

export function readStaged(root: string): string | null {
  const p = join(root, 'etc/network/interfaces.new');
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

/** An API session (ticket + CSRF) as admin@pve against a fleet server. */
export async function login(base: string): Promise<{ ticket: string; csrf: string }> {
  const r = await api(base, 'POST', '/access/ticket', { username: 'admin@pve', password: PASSWORD });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const d = r.json.data as { ticket: string; CSRFPreventionToken: string };
  return { ticket: d.ticket, csrf: d.CSRFPreventionToken };
}

/** One API call (self-signed TLS accepted), form-encoded like proxmoxer. */
export async function api(
  base: string,
  method: string,
  path: string,
  params: Record<string, string | number> = {},
  auth?: { ticket: string; csrf: string },
): Promise<{ status: number; json: { data?: unknown; [k: string]: unknown }; headers: Headers }> {
  const { Agent, fetch } = await import('undici');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const headers: Record<string, string> = {};
  if (auth) {
    headers.Cookie = `PVEAuthCookie=${encodeURIComponent(auth.ticket)}`;
    headers.CSRFPreventionToken = auth.csrf;
  }
  const hasBody = method === 'POST' || method === 'PUT';
  if (hasBody) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  const url = `${base}${path}${!hasBody && qs ? `?${qs}` : ''}`;
  const r = await fetch(url, { method, headers, ...(hasBody ? { body: qs } : {}), dispatcher });
  const text = await r.text();
  await dispatcher.close();
  let json: { data?: unknown } = {};
  try {
    json = JSON.parse(text) as { data?: unknown };
  } catch {
    json = { data: null, raw: text } as { data: unknown };
  }
  return { status: r.status, json, headers: r.headers as unknown as Headers };
}
