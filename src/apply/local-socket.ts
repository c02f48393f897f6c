/**
 * CLI applies through `nodenet serve`: the server keeps its backend (and the warm ifupdown2
 * worker with its netlink cache) between applies, a CLI process cannot. The server listens on a
 * Unix socket only root can reach, `var/lib/nodenet/serve/apply.sock` under its root (the
 * directory is made 0700 and the socket 0600, both owned by the server's user); `nodenet apply`
 * sends its request there and streams the apply's log back, or applies in its own process
 * (cold) when no server answers, the socket's owner or mode is not its own user's and private,
 * or the server runs another backend.
 *
 * Protocol: newline-delimited JSON, one request per connection.
 *   client → {"op":"apply","version":1,"backend":KIND,"user":...,"confirmTimeout"?,"force"?,"reload"?,"connection"?}
 *   server → {"accepted":true} {"log":LINE}* then
 *            {"result":ApplyResult} | {"error":{code,message,errors?,diagnostics?}}
 *          | {"refused":WHY} (nothing was done: the client applies cold)
 */
import { promises as fs } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { isReloadMode, type ReloadMode } from './plan.ts';
import { NodenetError, type ErrorCode } from '../errors.ts';
import { pathsFor } from '../store/paths.ts';
import type { Backend, BackendKind } from './backend.ts';
import type { Connection } from './lockout.ts';
import type { ApplyResult } from './pipeline.ts';
import { CONFIRM_TIMEOUT } from './confirm-timeout.ts';
import { ApplyService } from './service.ts';
import type { Log } from './settle.ts';

/** Unix socket paths are limited to 107 bytes (sun_path); longer roots get no socket. */
const SUN_PATH_MAX = 107;
/** A request line larger than this is refused (it is a few hundred bytes). */
const MAX_REQUEST = 64 * 1024;

export function applySocketPath(root: string): string {
  return join(pathsFor(root).varLib, 'serve', 'apply.sock');
}

interface ApplyRequest {
  op: 'apply';
  version: 1;
  backend: BackendKind;
  user: string;
  confirmTimeout?: number;
  force?: boolean;
  reload?: ReloadMode;
  connection?: Connection;
}

function uid(): number {
  return process.getuid?.() ?? -1;
}

/** Whether `dir` is ours and private (0700-ish: no group/other bits). */
async function privateDir(dir: string): Promise<string | undefined> {
  const st = await fs.lstat(dir);
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (st.uid !== uid()) return `${dir} is owned by uid ${st.uid}, not ${uid()}`;
  if ((st.mode & 0o077) !== 0) return `${dir} has mode ${(st.mode & 0o777).toString(8)}, not private`;
  return undefined;
}

export interface ApplySocketServer {
  path: string;
  close(): Promise<void>;
}

/**
 * Listens for CLI applies on {@link applySocketPath}. Returns undefined (and says why through
 * `log`) when it cannot: path too long, the directory not private, another server answering.
 */
export async function serveApplySocket(o: {
  root: string;
  backend: Backend;
  /** The server's apply service (its core, its live-state views); default: one over `backend`. */
  service?: ApplyService;
  log?: (msg: string) => void;
}): Promise<ApplySocketServer | undefined> {
  const path = applySocketPath(o.root);
  const dir = join(path, '..');
  const say = o.log ?? (() => undefined);
  if (Buffer.byteLength(path) > SUN_PATH_MAX) {
    say(`no apply socket: ${path} is longer than a Unix socket path may be`);
    return undefined;
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const bad = await privateDir(dir);
  if (bad !== undefined) {
    say(`no apply socket: ${bad}`);
    return undefined;
  }
  // a socket left by a server that died is removed; one that answers belongs to a running server
  if (await answers(path)) {
    say(`no apply socket: another nodenet serve answers on ${path}`);
    return undefined;
  }
  await fs.rm(path, { force: true });
  const service = o.service ?? new ApplyService({ root: o.root, backend: o.backend });
  const server: Server = createServer((sock) => void handle(sock, service));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fs.chmod(path, 0o600);
  return {
    path,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(path, { force: true });
    },
  };
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function send(sock: Socket, msg: unknown): void {
  if (!sock.destroyed) sock.write(`${JSON.stringify(msg)}\n`);
}

function errorOf(e: unknown): {
  code: ErrorCode;
  message: string;
  errors?: Record<string, string>;
  diagnostics?: unknown;
} {
  if (e instanceof NodenetError) {
    return {
      code: e.code,
      message: e.message,
      ...(e.errors ? { errors: e.errors } : {}),
      ...(e.diagnostics ? { diagnostics: e.diagnostics } : {}),
    };
  }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

async function readRequest(sock: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        sock.off('data', onData);
        resolve(buf.slice(0, nl));
      } else if (buf.length > MAX_REQUEST) {
        sock.off('data', onData);
        reject(new Error('request too large'));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.once('end', () => reject(new Error('no request')));
  });
}

function parseRequest(line: string): ApplyRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  const r = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (r['op'] !== 'apply' || r['version'] !== 1) return 'unknown request';
  if (typeof r['user'] !== 'string' || !/^[^\s\p{Cc}]{1,128}$/u.test(r['user'])) return 'bad user';
  if (r['backend'] !== 'ifupdown2' && r['backend'] !== 'netns' && r['backend'] !== 'none') return 'bad backend';
  const t = r['confirmTimeout'];
  if (
    t !== undefined &&
    !(typeof t === 'number' && Number.isInteger(t) && t >= CONFIRM_TIMEOUT.minimum && t <= CONFIRM_TIMEOUT.maximum)
  )
    return 'bad confirmTimeout';
  if (r['force'] !== undefined && typeof r['force'] !== 'boolean') return 'bad force';
  if (r['reload'] !== undefined && !isReloadMode(r['reload'])) return 'bad reload';
  const c = r['connection'];
  if (c !== undefined) {
    const cc = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    if (typeof cc['local'] !== 'string' || typeof cc['remote'] !== 'string') return 'bad connection';
  }
  return r as unknown as ApplyRequest;
}

async function handle(sock: Socket, service: ApplyService): Promise<void> {
  const backend = service.backend;
  sock.on('error', () => undefined);
  let line: string;
  try {
    line = await readRequest(sock);
  } catch {
    sock.destroy();
    return;
  }
  const req = parseRequest(line);
  if (typeof req === 'string') {
    send(sock, { refused: req });
    sock.end();
    return;
  }
  if (req.backend !== backend.kind) {
    send(sock, { refused: `the server runs the ${backend.kind} backend, not ${req.backend}` });
    sock.end();
    return;
  }
  send(sock, { accepted: true });
  const log: Log = (l) => send(sock, { log: l });
  try {
    // the apply goes on when the client goes away: it cannot be stopped half-way
    const result = await service.apply(
      {
        user: req.user,
        ...(req.confirmTimeout === undefined ? {} : { confirmTimeout: req.confirmTimeout }),
        ...(req.force === true ? { force: true } : {}),
        ...(req.reload === undefined ? {} : { reload: req.reload }),
        ...(req.connection === undefined ? {} : { connection: req.connection }),
      },
      log,
    );
    send(sock, { result });
  } catch (e) {
    send(sock, { error: errorOf(e) });
  }
  sock.end();
}

/** What {@link applyViaServer} got: the server's result, or why the caller must apply itself. */
export type ViaServer = { result: ApplyResult } | { fallback: string };

/**
 * Asks the `nodenet serve` of `root` to apply. `fallback` (with the reason) when nothing was
 * done: no server, a socket that is not private to this user, another backend. Once the server
 * has accepted the request, its errors are thrown here (NodenetError with its code) and a lost
 * connection is an error too (the apply may have run: see `nodenet history`), never a fallback.
 */
export async function applyViaServer(
  o: {
    root: string;
    backend: BackendKind;
    user: string;
    confirmTimeout?: number;
    force?: boolean;
    reload?: ReloadMode;
    connection?: Connection;
  },
  log: Log,
): Promise<ViaServer> {
  const path = applySocketPath(o.root);
  try {
    const bad = await privateDir(join(path, '..'));
    if (bad !== undefined) return { fallback: `not using the apply socket: ${bad}` };
    const st = await fs.lstat(path);
    if (!st.isSocket() || st.uid !== uid())
      return { fallback: `not using the apply socket: ${path} is not a socket owned by uid ${uid()}` };
  } catch (e) {
    return { fallback: `no nodenet serve for this root (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
  const sock = createConnection(path);
  const connected = await new Promise<string | undefined>((resolve) => {
    sock.once('connect', () => resolve(undefined));
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  if (connected !== undefined) return { fallback: `no nodenet serve answers on ${path} (${connected})` };
  const req: ApplyRequest = {
    op: 'apply',
    version: 1,
    backend: o.backend,
    user: o.user,
    ...(o.confirmTimeout === undefined ? {} : { confirmTimeout: o.confirmTimeout }),
    ...(o.force === true ? { force: true } : {}),
    ...(o.reload === undefined ? {} : { reload: o.reload }),
    ...(o.connection === undefined ? {} : { connection: o.connection }),
  };
  sock.write(`${JSON.stringify(req)}\n`);
  let accepted = false;
  return new Promise<ViaServer>((resolve, reject) => {
    let buf = '';
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      sock.destroy();
      f();
    };
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m: Record<string, unknown>;
        try {
          m = JSON.parse(line) as Record<string, unknown>;
        } catch {
          finish(() => reject(new NodenetError('BACKEND', `nodenet serve sent an invalid line on ${path}`)));
          return;
        }
        if (typeof m['refused'] === 'string' && !accepted) {
          const why = m['refused'];
          finish(() => resolve({ fallback: `nodenet serve refused: ${why}` }));
          return;
        }
        if (!accepted) {
          accepted = true;
          log(`nodenet: applying through nodenet serve (${path})`);
        }
        if (typeof m['log'] === 'string') log(m['log']);
        else if (m['result'] !== undefined) {
          const result = m['result'] as ApplyResult;
          finish(() => resolve({ result }));
          return;
        } else if (m['error'] !== undefined) {
          const e = m['error'] as {
            code: ErrorCode;
            message: string;
            errors?: Record<string, string>;
            diagnostics?: ApplyResult['diagnostics'];
          };
          finish(() =>
            reject(
              new NodenetError(e.code, e.message, {
                ...(e.errors ? { errors: e.errors } : {}),
                ...(e.diagnostics ? { diagnostics: e.diagnostics } : {}),
              }),
            ),
          );
          return;
        }
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () =>
      finish(() =>
        accepted
          ? reject(
              new NodenetError(
                'BACKEND',
                `nodenet serve closed the connection during the apply; see \`nodenet history\` for its outcome`,
              ),
            )
          : resolve({ fallback: `nodenet serve closed the connection on ${path} before answering` }),
      ),
    );
  });
}
