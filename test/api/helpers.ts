/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON answers and the dynamic client proxy */
/**
 * Shared setup for the API tests: a real HTTPS server on 127.0.0.1 (port 0) over a temp root
 * holding a copy of a corpus file, with a user, an admin token and a read-only token.
 */
import { promises as fs } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { createServer } from '../../src/api/server.ts';
import type { NodenetServer, ServerOptions } from '../../src/api/server.ts';
import { ensureTls } from '../../src/api/tls.ts';

export const CORPUS = fileURLToPath(new URL('../fixtures/corpus/', import.meta.url));
export const NODE = 'pve';
export const PASSWORD = 'secret-pw-1';

export interface Harness {
  root: string;
  /** The address the server listens on (127.0.0.1 unless asked otherwise). */
  host: string;
  port: number;
  base: string;
  srv: NodenetServer;
  /** Admin token `root@pam!ci`. */
  tokenId: string;
  token: string;
  /** Privilege-separated (read-only) token `root@pam!ro`. */
  roToken: string;
  /** Read-only user `audit@pve` (same password). */
  interfaces: () => Promise<string>;
  staged: () => Promise<string | null>;
  close(): Promise<void>;
}

let tlsDir: string | undefined;

/** Start a server on a fresh root with `corpus` (a file in test/fixtures/corpus) as the live file. */
export async function startServer(
  corpus = '03-bridged-default.interfaces',
  opts: {
    failDelayMs?: number;
    bodyLimit?: number;
    loginLimit?: { max: number; windowMs: number };
    host?: string;
    text?: string;
    server?: Partial<ServerOptions>;
  } = {},
): Promise<Harness> {
  const root = await fs.mkdtemp(join(tmpdir(), 'nodenet-api-'));
  await fs.mkdir(join(root, 'etc/network'), { recursive: true });
  if (opts.text !== undefined) await fs.writeFile(join(root, 'etc/network/interfaces'), opts.text);
  else await fs.copyFile(join(CORPUS, corpus), join(root, 'etc/network/interfaces'));
  const host = opts.host ?? '127.0.0.1';
  // One certificate per test process (openssl takes a few ms; no need to repeat it).
  tlsDir ??= await fs.mkdtemp(join(tmpdir(), 'nodenet-tls-'));
  const tls = await ensureTls(tlsDir);
  const srv = createServer({
    root,
    node: NODE,
    tls: { key: tls.key, cert: tls.cert },
    failDelayMs: opts.failDelayMs ?? 20,
    ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}),
    ...(opts.loginLimit ? { loginLimit: opts.loginLimit } : {}),
    ...opts.server,
  });
  await srv.auth.addUser('root@pam', PASSWORD);
  await srv.auth.addUser('audit@pve', PASSWORD, 'audit');
  const t = await srv.auth.addToken('root@pam', 'ci', false);
  const ro = await srv.auth.addToken('root@pam', 'ro', true);
  const addr = await srv.listen(0, host);
  return {
    root,
    host,
    port: addr.port,
    base: `https://${host}:${addr.port}/api2/json`,
    srv,
    tokenId: t['full-tokenid'],
    token: t.value,
    roToken: ro.value,
    interfaces: () => fs.readFile(join(root, 'etc/network/interfaces'), 'utf8'),
    staged: () => fs.readFile(join(root, 'etc/network/interfaces.new'), 'utf8').catch(() => null),
    async close() {
      await srv.close(2000);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * A raw HTTPS request (node:https, so the path is sent exactly as given: no URL normalisation
 * of `..` or `%2e%2e`).
 */
export function raw(
  h: Harness,
  method: string,
  path: string,
  opts: {
    body?: string | Buffer;
    headers?: Record<string, string>;
    auth?: 'token' | 'ro' | 'none' | { ticket: string; csrf?: string };
  } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth ?? 'token';
  if (auth === 'token') headers.Authorization = `PVEAPIToken=${h.tokenId}=${h.token}`;
  else if (auth === 'ro') headers.Authorization = `PVEAPIToken=root@pam!ro=${h.roToken}`;
  else if (typeof auth === 'object') {
    headers.Cookie = `PVEAuthCookie=${encodeURIComponent(auth.ticket)}`;
    if (auth.csrf) headers.CSRFPreventionToken = auth.csrf;
  }
  if (opts.body !== undefined) {
    headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
  }
  return new Promise((resolve, reject) => {
    const req = request(
      { host: h.host, port: h.port, method, path: `/api2/json${path}`, headers, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Form-encode params. */
export function form(p: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(p).map(([k, v]): [string, string] => [k, String(v)])).toString();
}

/** Log in and return ticket + CSRF token. */
export async function login(
  h: Harness,
  user = 'root@pam',
  password = PASSWORD,
): Promise<{ ticket: string; csrf: string }> {
  const r = await raw(h, 'POST', '/access/ticket', { body: form({ username: user, password }), auth: 'none' });
  assert.equal(r.status, 200, r.text);
  return { ticket: r.json.data.ticket, csrf: r.json.data.CSRFPreventionToken };
}

/**
 * Skip when a prerequisite is missing, naming it; under CI (`CI=true`) a missing
 * prerequisite is a failure instead.
 */
export function requirePrereq(t: TestContext, ok: boolean, what: string): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') assert.fail(`prerequisite missing: ${what}`);
  t.skip(`prerequisite missing: ${what}`);
  return false;
}
