/**
 * The API server factory. `createServer` builds the request handler and an (unlistening)
 * Node server; `listen` and `close` are separate so tests decide when and where it listens.
 * The parts live beside it: who is asking (authn.ts), what a request does (dispatch.ts, the
 * route table in routes.ts and routes/), and the listening server (lifecycle.ts).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { version as packageVersion } from '../version.ts';
import { createBackend } from '../apply/backend.ts';
import { NetworkCore } from '../core/network.ts';
import type { SysctlRunner } from '../setup/ipv6.ts';
import { ApplyService } from '../apply/service.ts';
import { AuthStore, LoginLimiter } from './auth.ts';
import { createAuthenticator, createLogin } from './authn.ts';
import { createDispatcher } from './dispatch.ts';
import type { RemoteNodes } from './dispatch.ts';
import { createLifecycle } from './lifecycle.ts';
import { AuditLog, silentLogger } from './logging.ts';
import type { Logger } from './logging.ts';
import { openapi } from './openapi.ts';
import { PipelineApplyService } from './pipeline-service.ts';
import type { Deps } from './routes.ts';
import { SerialQueue } from './serial.ts';
import { defaultUiRoots, staticHandler } from './static.ts';
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
  /** Fleet mode (`serve --etcd`): `/nodes` and every node's requests are answered by the fleet. */
  remote?: RemoteNodes;
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
  /** What the routes use (the fleet's agent runs routes with them, without listening). */
  deps: Deps;
  /** Listen; resolves with the bound address (port 0 = any free port). */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stop accepting, finish in-flight requests and running tasks (up to `graceMs`), close. */
  close(graceMs?: number): Promise<void>;
}

/**
 * For the daemon (`nodenet serve`): an unhandled rejection or uncaught exception anywhere is
 * logged and the process goes on (requests in flight are answered by the handler's own 500
 * path); it never ends the process.
 */
export function guardProcess(log: Logger): void {
  process.on('unhandledRejection', (e: unknown) =>
    log('error', 'unhandled rejection', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
  process.on('uncaughtException', (e: Error) => log('error', 'uncaught exception', { error: e.stack ?? e.message }));
}

/** Build the server (not listening): the parts (auth, dispatch, lifecycle) wired together. */
export function createServer(opts: ServerOptions): NodenetServer {
  const core = opts.core ?? new NetworkCore({ root: opts.root });
  const apply = new PipelineApplyService(
    opts.apply ?? new ApplyService({ root: opts.root, backend: createBackend('none', { root: opts.root }), core }),
  );
  const auth = new AuthStore(opts.root);
  const tasks = new TaskManager(opts.root, opts.node);
  const log = opts.logger ?? silentLogger;
  const audit = new AuditLog(
    join(opts.root, 'var/lib/nodenet/audit.log'),
    (e) => log('error', 'audit log write failed', { error: String(e) }),
    opts.auditMaxBytes !== undefined ? { maxBytes: opts.auditMaxBytes } : {},
  );
  const loginMax = opts.loginLimit?.max ?? 10;
  const limiter = new LoginLimiter(
    loginMax,
    opts.loginLimit?.windowMs ?? 60_000,
    opts.loginLimit?.userMax ?? 2 * loginMax,
  );
  const failDelay = opts.failDelayMs ?? 3000;
  const writes = new SerialQueue();
  const version = opts.version ?? packageVersion('0.0.0');

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
    serial: (fn) => writes.run(fn),
    openapi: () => openapi(version),
    login: createLogin(auth, limiter, failDelay),
  };
  const serveUi = opts.ui === false ? undefined : staticHandler(opts.ui ?? defaultUiRoots());
  const handler = createDispatcher({
    deps,
    node: opts.node,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    authenticate: createAuthenticator(auth, failDelay),
    log,
    audit,
    ...(serveUi ? { serveUi } : {}),
    ...(opts.remote ? { remote: opts.remote } : {}),
  });
  const life = createLifecycle(opts, handler, log);

  return {
    server: life.server,
    handler,
    tasks,
    auth,
    core,
    audit,
    deps,
    listen: (port, host) => life.listen(port, host),
    close: (graceMs = 10_000) =>
      life.close(
        graceMs,
        () => tasks.idle(),
        () => audit.flush(),
      ),
  };
}
