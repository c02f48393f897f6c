/**
 * The API server factory. `createServer` builds the request handler and an (unlistening)
 * Node server; `listen` and `close` are separate so tests decide when and where it listens.
 */
import type { SysctlRunner } from '../setup/ipv6.ts';
import { defaultUiRoots, staticHandler } from './static.ts';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetworkCore } from '../core/network.ts';
import { checkParams } from '../model/params.ts';
import { createBackend } from '../apply/backend.ts';
import { ApplyService } from '../apply/service.ts';
import { PipelineApplyService } from './pipeline-service.ts';
import { AuthStore, LoginLimiter, USERID_RE, sourceKey } from './auth.ts';
import type { Principal } from './auth.ts';
import { ApiError, emptyParams, paramFail, parseBody, parseForm, readBody, sendData, sendError, toApiError } from './http.ts';
import type { Params } from './http.ts';
import { AuditLog, silentLogger } from './logging.ts';
import type { Logger } from './logging.ts';
import { PATH_PARAMS, matchRoute } from './routes.ts';
import type { Deps } from './routes.ts';
import { TaskManager } from './tasks.ts';

export interface ServerOptions {
  root: string;
  /** This node's name (the hostname's first label, or `--node`); `localhost` is accepted too. */
  node: string;
  core?: NetworkCore;
  /** The apply service (src/apply/service.ts); defaults to the `none` backend over `core`. */
  apply?: ApplyService;
  /** TLS key and certificate (PEM); `false` serves plain HTTP (tests, behind a proxy). */
  tls: { key: Buffer | string; cert: Buffer | string } | false;
  /** Largest request body in bytes (default 64 KiB: an interface's parameters are a few hundred bytes). */
  bodyLimit?: number;
  /** Delay before answering a failed login or bad credentials (default 3000 ms, as PVE). */
  failDelayMs?: number;
  /**
   * Login attempts allowed per source address (default 10) and per user name (default twice
   * that) within the window (default 1 minute), counted before the password check; each new
   * block of the same source or user lasts twice as long (up to 1 hour).
   */
  loginLimit?: { max: number; windowMs: number; userMax?: number };
  /** Whole-request timeout (default 30 s) and header timeout (default 10 s). */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** TLS handshake timeout (default 10 s, as the header timeout; Node's own default is 120 s). */
  handshakeTimeoutMs?: number;
  /** Concurrent connections in total (default 256) and per source address or IPv6 /64 (default 32). */
  maxConnections?: number;
  maxConnectionsPerSource?: number;
  /** audit.log is rotated past this size (default 10 MiB; two old files are kept). */
  auditMaxBytes?: number;
  logger?: Logger;
  version?: string;
  /** Runs sysctl where the backend's kernel is (the IPV6 switch's `now`); absent for `none`. */
  sysctl?: SysctlRunner;
  /** Refreshes link state and returns its stamp (see BackendLinkInfo). */
  linkState?: () => Promise<string>;
  /** The web UI's static files (paths outside /api2); default: {@link defaultUiRoots}; `false`: none. */
  ui?: readonly string[] | false;
}

export interface NodenetServer {
  server: Server;
  /** The request handler, usable without listening. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  tasks: TaskManager;
  auth: AuthStore;
  core: NetworkCore;
  audit: AuditLog;
  /** Listen; resolves with the bound address (port 0 = any free port). */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stop accepting, finish in-flight requests and running tasks (up to `graceMs`), close. */
  close(graceMs?: number): Promise<void>;
}

function packageVersion(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const p of [join(here, '../../package.json'), join(here, '../package.json')]) {
    try {
      return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
    } catch {
      continue;
    }
  }
  return '0.0.0';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the request log and the audit log learn about a request while it is handled. */
interface RequestInfo {
  user: string;
  /** Audited parameters; undefined for logins (never recorded). */
  params: Params | undefined;
  audit: boolean;
  source: string;
  local: string;
}

/**
 * For the daemon (`nodenet serve`): an unhandled rejection or uncaught exception anywhere is
 * logged and the process goes on (requests in flight are answered by the handler's own 500
 * path); it never ends the process.
 */
export function guardProcess(log: Logger): void {
  process.on('unhandledRejection', (e: unknown) => log('error', 'unhandled rejection', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) }));
  process.on('uncaughtException', (e: Error) => log('error', 'uncaught exception', { error: e.stack ?? e.message }));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    }
  }
  return undefined;
}

/** Build the server (not listening). */
export function createServer(opts: ServerOptions): NodenetServer {
  const core = opts.core ?? new NetworkCore({ root: opts.root });
  const apply = new PipelineApplyService(opts.apply ?? new ApplyService({ root: opts.root, backend: createBackend('none', { root: opts.root }), core }));
  const auth = new AuthStore(opts.root);
  const tasks = new TaskManager(opts.root, opts.node);
  const log = opts.logger ?? silentLogger;
  const audit = new AuditLog(join(opts.root, 'var/lib/nodenet/audit.log'), (e) => log('error', 'audit log write failed', { error: String(e) }), opts.auditMaxBytes !== undefined ? { maxBytes: opts.auditMaxBytes } : {});
  const loginMax = opts.loginLimit?.max ?? 10;
  const limiter = new LoginLimiter(loginMax, opts.loginLimit?.windowMs ?? 60_000, opts.loginLimit?.userMax ?? 2 * loginMax);
  const failDelay = opts.failDelayMs ?? 3000;
  const bodyLimit = opts.bodyLimit ?? 64 * 1024;
  const version = opts.version ?? packageVersion();
  let queue: Promise<unknown> = Promise.resolve();

  const deps: Deps = {
    core,
    apply,
    tasks,
    auth,
    node: opts.node,
    version,
    ...(opts.sysctl ? { sysctl: opts.sysctl } : {}),
    ...(opts.linkState ? { linkState: opts.linkState } : {}),
    listCache: new Map(),
    serial<T>(fn: () => Promise<T>): Promise<T> {
      const run = queue.then(fn, fn);
      queue = run.catch(() => undefined);
      return run;
    },
    async login(params, source) {
      const { values, errors } = checkParams(params, [
        { name: 'username', type: 'string', maxLength: 64, description: '' },
        { name: 'password', type: 'string', maxLength: 1024, description: '' },
        { name: 'realm', type: 'string', maxLength: 32, optional: true, description: '' },
        { name: 'new-format', type: 'boolean', optional: true, description: '' },
        { name: 'otp', type: 'string', maxLength: 64, optional: true, description: '' },
      ]);
      if (Object.keys(errors).length) throw paramFail(errors);
      let userid = values.username!;
      if (!userid.includes('@') && values.realm) userid = `${userid}@${values.realm}`;
      const password = values.password!;
      // Counted before the password is hashed: parallel guesses cannot all be checked.
      const attempt = limiter.attempt(source, userid);
      if (!attempt.ok) {
        await sleep(failDelay);
        throw new ApiError(429, 'too many login attempts; try again later', { headers: { 'Retry-After': String(Math.ceil(attempt.retryAfterMs / 1000)) } });
      }
      let principal: Principal | null = null;
      if (USERID_RE.test(userid) && values.otp === undefined) {
        if (password.startsWith('PVE:')) {
          const t = await auth.verifyTicket(password);
          if (t && t.principal.user === userid) principal = t.principal;
        } else principal = await auth.login(userid, password);
      }
      if (!principal) {
        attempt.fail();
        await sleep(failDelay);
        throw new ApiError(401, 'authentication failure');
      }
      attempt.succeed();
      const { ticket, csrf } = await auth.issueTicket(principal.user);
      const cap = principal.privs.has('Sys.Modify') ? { 'Sys.Audit': 1, 'Sys.Modify': 1 } : { 'Sys.Audit': 1 };
      return {
        data: { username: principal.user, ticket, CSRFPreventionToken: csrf, cap: { nodes: cap } },
        headers: { 'Set-Cookie': `PVEAuthCookie=${encodeURIComponent(ticket)}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=7200` },
      };
    },
  };

  /** Authenticate a request (ticket cookie or API token), or throw PVE's 401s. */
  async function authenticate(req: IncomingMessage, method: string): Promise<Principal> {
    const authz = req.headers.authorization ?? '';
    let ticket = cookieValue(req.headers.cookie, 'PVEAuthCookie');
    if (ticket === undefined) {
      const m = /(?:^|\s)PVEAuthCookie=([^\s;]+)/.exec(authz);
      if (m) ticket = decodeURIComponent(m[1]!);
    }
    if (ticket !== undefined) {
      const t = await auth.verifyTicket(ticket);
      if (!t) {
        await sleep(failDelay);
        throw new ApiError(401, 'invalid PVE ticket', { emptyBody: true });
      }
      if (method !== 'GET') {
        const csrf = req.headers.csrfpreventiontoken;
        const token = Array.isArray(csrf) ? csrf[0] : csrf;
        if (!token || !(await auth.verifyCsrf(token, t.principal.user, t.hex))) {
          throw new ApiError(401, 'Permission denied - invalid csrf token', { emptyBody: true });
        }
      }
      return t.principal;
    }
    const m = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/.exec(authz);
    if (m) {
      const p = await auth.verifyToken(m[1]!);
      if (!p) {
        await sleep(failDelay);
        throw new ApiError(401, 'Authentication failed!', { emptyBody: true });
      }
      return p;
    }
    throw new ApiError(401, 'No ticket', { emptyBody: true });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, info: RequestInfo): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    // The raw path, not WHATWG-normalised: `..` and `%2e%2e` must reach validation as they are
    // (and fail it), never be resolved into another route.
    let target = req.url ?? '/';
    if (!target.startsWith('/')) target = /^https?:\/\/[^/]*(\/.*)?$/i.exec(target)?.[1] ?? '/';
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const search = q < 0 ? '' : target.slice(q + 1);
    const prefix = '/api2/json';
    if (rawPath !== prefix && !rawPath.startsWith(`${prefix}/`)) throw new ApiError(501, 'no such uri');
    const rawSegs = rawPath.slice(prefix.length).split('/').filter((s, i) => i > 0 || s !== '');
    if (rawSegs.length && rawSegs[rawSegs.length - 1] === '') rawSegs.pop();
    const segs: string[] = [];
    for (const s of rawSegs) {
      try {
        segs.push(decodeURIComponent(s));
      } catch {
        throw new ApiError(400, 'malformed URI escape in path');
      }
    }
    const apiPath = `/${segs.join('/')}`;
    if (method !== 'GET' && method !== 'POST' && method !== 'PUT' && method !== 'DELETE') throw new ApiError(501, `Method '${method}' not implemented`);

    // Body first (bounded), so that size limits apply before anything else.
    const body = await readBody(req, bodyLimit);
    if ((method === 'GET' || method === 'DELETE') && body.length > 0) throw new ApiError(501, `Unexpected content for method '${method}'`);

    const match = matchRoute(method, segs);
    if (!match.route) throw new ApiError(501, `Method '${method} ${apiPath.replace(/[^\x20-\x7e]/g, '?')}' not implemented`);
    const { route, path } = match;

    const params: Params = method === 'POST' || method === 'PUT' ? parseBody(req.headers['content-type'], body) : emptyParams();
    for (const [k, v] of Object.entries(parseForm(search))) params[k] = v;
    info.params = { ...path, ...params };

    // Audited: what an authenticated principal does (not its reads), and logins (without
    // their parameters). Nothing an unauthenticated client sends reaches the disk.
    let principal: Principal | null = null;
    if (route.perm !== null) {
      principal = await authenticate(req, method);
      info.user = principal.id;
      info.audit = method !== 'GET';
    } else if (route.path === '/access/ticket' && method === 'POST') {
      info.user = typeof params.username === 'string' ? params.username.slice(0, 64) : '-';
      info.audit = true;
      info.params = undefined;
    }

    // Path parameters: format, duplicates in the body/query, and the node name.
    const pathErrors: Record<string, string> = {};
    for (const [k, v] of Object.entries(path)) {
      const spec = PATH_PARAMS[k];
      if (spec) Object.assign(pathErrors, checkParams({ [k]: v }, [spec]).errors);
      if (params[k] !== undefined) {
        if (String(params[k]) !== v) pathErrors[k] = 'duplicate parameter (already defined in URI) with conflicting values!';
        delete params[k];
      }
    }
    if (Object.keys(pathErrors).length) throw paramFail(pathErrors);
    if (path.node !== undefined && path.node !== opts.node && path.node !== 'localhost') {
      throw paramFail({ node: `no such node '${path.node}': this server manages node '${opts.node}' (or use 'localhost')` });
    }
    if (route.perm !== null && principal && !principal.privs.has(route.perm)) {
      throw new ApiError(403, `Permission check failed (/nodes/${opts.node}, ${route.perm})`);
    }
    if (route.validate !== false) {
      const { errors } = checkParams(params, route.params);
      if (Object.keys(errors).length) throw paramFail(errors);
    }
    const r = await route.handler({ path, params, principal, source: info.source, local: info.local }, deps);
    sendData(res, r.data, r.extra ?? {}, r.headers ?? {}, r.body, req.headers['accept-encoding'] as string | undefined);
  }

  const serveUi = opts.ui === false ? undefined : staticHandler(opts.ui ?? defaultUiRoots());
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    // The socket as it is now: after a 413 `req.socket` may already be gone (issue 12).
    const socket = req.socket as Socket | null;
    const source = socket?.remoteAddress ?? '-';
    const info: RequestInfo = { user: '-', params: {}, audit: false, source, local: socket?.localAddress ?? '-' };
    const done = (status: number, result: string) => {
      // Logging and auditing never throw into the caller (a throw here was an unhandled rejection).
      try {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const path = (req.url ?? '').split('?')[0]!.slice(0, 512);
        log(status >= 500 ? 'error' : 'info', 'request', { method: req.method, path, status, ms: Math.round(ms * 10) / 10, user: info.user, source });
        if (info.audit) audit.write({ user: info.user, source, method: req.method ?? '-', path, ...(info.params ? { params: info.params } : {}), status, result });
      } catch (e) {
        log('error', 'request log failed', { error: e instanceof Error ? e.message : String(e) });
      }
    };
    const fail = (e: unknown) => {
      try {
        const err = toApiError(e);
        if (err.status === 500) log('error', 'handler error', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        sendError(res, err);
        if (err.status === 413) socket?.destroySoon();
        done(err.status, err.message.split('\n')[0]!);
      } catch (e2) {
        log('error', 'error handling failed', { error: e2 instanceof Error ? (e2.stack ?? e2.message) : String(e2) });
        res.destroy();
      }
    };
    const rawUrl = req.url ?? '/';
    if (serveUi && !rawUrl.startsWith('/api2/') && rawUrl !== '/api2') {
      serveUi(req, res).then(
        (served) => {
          if (served) return done(200, 'static');
          sendError(res, new ApiError(404, 'no such file'));
          done(404, 'no such file');
        },
        (e: unknown) => {
          log('error', 'static file error', { error: e instanceof Error ? e.message : String(e) });
          sendError(res, new ApiError(500, 'internal error'));
          done(500, 'static error');
        },
      );
      return;
    }
    handle(req, res, info).then(() => done(200, 'ok'), fail);
  };
  /** Anything thrown synchronously is answered with 500 as well. */
  const guarded = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handler(req, res);
    } catch (e) {
      log('error', 'handler error', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      try {
        sendError(res, new ApiError(500, 'internal error'));
      } catch {
        res.destroy();
      }
    }
  };

  const server: Server =
    opts.tls === false
      ? createHttpServer(guarded)
      : createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000 }, guarded);
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
  server.headersTimeout = opts.headersTimeoutMs ?? 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  // Connection caps: Node drops connections over maxConnections itself; per source here.
  server.maxConnections = opts.maxConnections ?? 256;
  const perSourceMax = opts.maxConnectionsPerSource ?? 32;
  const perSource = new Map<string, number>();
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    const key = sourceKey(s.remoteAddress ?? '-');
    const n = perSource.get(key) ?? 0;
    if (n >= perSourceMax) {
      log('warn', 'connection refused: too many connections from this source', { source: s.remoteAddress, max: perSourceMax });
      s.destroy();
      return;
    }
    perSource.set(key, n + 1);
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      const left = (perSource.get(key) ?? 1) - 1;
      if (left > 0) perSource.set(key, left);
      else perSource.delete(key);
    });
  });
  server.on('drop', (d?: { remoteAddress?: string }) => log('warn', 'connection refused: too many connections', { source: d?.remoteAddress, max: server.maxConnections }));
  server.on('tlsClientError', (err: Error) => log('debug', 'TLS handshake failed', { error: err.message }));

  return {
    server,
    handler: guarded,
    tasks,
    auth,
    core,
    audit,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
      await Promise.race([tasks.idle(), deadline]);
      if ((await Promise.race([closed.then(() => 'closed' as const), deadline])) === 'timeout') for (const s of sockets) s.destroy();
      await closed;
      clearTimeout(timer);
      await audit.flush();
    },
  };
}
