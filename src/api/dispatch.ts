/**
 * Dispatch: one request from its raw URL to a route's answer. The path is split and decoded,
 * the body read (bounded) and parsed, the caller authenticated (routes with a privilege), the
 * path parameters, node name, privilege and parameters checked, and the handler's result sent.
 * Anything thrown becomes its error answer (src/errors.ts's table); every request is logged,
 * and what an authenticated principal changes (and every login, without its parameters) is
 * audited. Paths outside /api2 go to the web UI's static files.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { NodenetError, paramError } from '../errors.ts';
import { checkParams } from '../model/params.ts';
import type { Principal } from './auth.ts';
import {
  emptyParams,
  internalError,
  parseBody,
  parseForm,
  readBody,
  sendData,
  sendError,
  toWireError,
} from './http.ts';
import type { Params } from './http.ts';
import type { AuditLog, Logger } from './logging.ts';
import { PATH_PARAMS, matchRoute } from './routes.ts';
import type { Deps, RequestCtx, Result, Route } from './routes.ts';

/**
 * The fleet (src/fleet/api.ts): answers `/nodes` and runs `/nodes/{node}/...` on the node's
 * agent, after this server checked the caller, the privilege and the parameters. Undefined =
 * answer here (login, version, the OpenAPI document).
 */
export interface RemoteNodes {
  /** Routes only the fleet has (after the table's; they run their own handlers with these deps). */
  routes?: readonly Route[];
  handle(method: string, route: Route, ctx: RequestCtx): Promise<Result | undefined>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface DispatchOptions {
  deps: Deps;
  /** This node's name; `localhost` is accepted too. */
  node: string;
  /** Largest request body in bytes. */
  bodyLimit: number;
  authenticate(req: IncomingMessage, method: string): Promise<Principal>;
  log: Logger;
  audit: AuditLog;
  /** Fleet mode (`serve --etcd`): every node's requests go to its agent. */
  remote?: RemoteNodes;
  /** Serves a static file of the web UI; resolves false when there is none. */
  serveUi?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/** What the request log and the audit log learn about a request while it is handled. */
interface RequestInfo {
  user: string;
  /** Audited parameters; undefined for logins (never recorded). */
  params: Params | undefined;
  audit: boolean;
  source: string;
  local: string;
}

/** The request handler (never throws: anything thrown synchronously is answered with 500 too). */
export function createDispatcher(opts: DispatchOptions): Handler {
  const { deps, log, audit, serveUi, bodyLimit, authenticate } = opts;

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
    if (rawPath !== prefix && !rawPath.startsWith(`${prefix}/`))
      throw new NodenetError('NOT_IMPLEMENTED', 'no such uri');
    const rawSegs = rawPath
      .slice(prefix.length)
      .split('/')
      .filter((s, i) => i > 0 || s !== '');
    if (rawSegs.length && rawSegs[rawSegs.length - 1] === '') rawSegs.pop();
    const segs: string[] = [];
    for (const s of rawSegs) {
      try {
        segs.push(decodeURIComponent(s));
      } catch {
        throw new NodenetError('USAGE', 'malformed URI escape in path');
      }
    }
    const apiPath = `/${segs.join('/')}`;
    if (method !== 'GET' && method !== 'POST' && method !== 'PUT' && method !== 'DELETE')
      throw new NodenetError('NOT_IMPLEMENTED', `Method '${method}' not implemented`);

    // Body first (bounded), so that size limits apply before anything else.
    const body = await readBody(req, bodyLimit);
    if ((method === 'GET' || method === 'DELETE') && body.length > 0)
      throw new NodenetError('NOT_IMPLEMENTED', `Unexpected content for method '${method}'`);

    const match = matchRoute(method, segs, opts.remote?.routes);
    if (!match.route)
      throw new NodenetError(
        'NOT_IMPLEMENTED',
        `Method '${method} ${apiPath.replace(/[^\x20-\x7e]/g, '?')}' not implemented`,
      );
    const { route, path } = match;

    const params: Params =
      method === 'POST' || method === 'PUT' ? parseBody(req.headers['content-type'], body) : emptyParams();
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
        if (String(params[k]) !== v)
          pathErrors[k] = 'duplicate parameter (already defined in URI) with conflicting values!';
        delete params[k];
      }
    }
    if (Object.keys(pathErrors).length) throw paramError(pathErrors);
    if (!opts.remote && path.node !== undefined && path.node !== opts.node && path.node !== 'localhost') {
      throw paramError({
        node: `no such node '${path.node}': this server manages node '${opts.node}' (or use 'localhost')`,
      });
    }
    if (route.perm !== null && principal && !principal.privs.has(route.perm)) {
      throw new NodenetError(
        'FORBIDDEN',
        `Permission check failed (/nodes/${opts.remote && path.node ? path.node : opts.node}, ${route.perm})`,
      );
    }
    if (route.validate !== false) {
      const { errors } = checkParams(params, route.params);
      if (Object.keys(errors).length) throw paramError(errors);
    }
    const ctx: RequestCtx = { path, params, principal, source: info.source, local: info.local };
    const r = (await opts.remote?.handle(method, route, ctx)) ?? (await route.handler(ctx, deps));
    sendData(res, r.data, r.extra ?? {}, r.headers ?? {}, r.body, req.headers['accept-encoding'] as string | undefined);
  }

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
        log(status >= 500 ? 'error' : 'info', 'request', {
          method: req.method,
          path,
          status,
          ms: Math.round(ms * 10) / 10,
          user: info.user,
          source,
        });
        if (info.audit)
          audit.write({
            user: info.user,
            source,
            method: req.method ?? '-',
            path,
            ...(info.params ? { params: info.params } : {}),
            status,
            result,
          });
      } catch (e) {
        log('error', 'request log failed', { error: e instanceof Error ? e.message : String(e) });
      }
    };
    const fail = (e: unknown) => {
      try {
        const err = toWireError(e);
        if (err.status === 500)
          log('error', 'handler error', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
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
          sendError(res, toWireError(new NodenetError('NO_FILE', 'no such file')));
          done(404, 'no such file');
        },
        (e: unknown) => {
          log('error', 'static file error', { error: e instanceof Error ? e.message : String(e) });
          sendError(res, internalError());
          done(500, 'static error');
        },
      );
      return;
    }
    handle(req, res, info).then(() => done(200, 'ok'), fail);
  };
  /** Anything thrown synchronously is answered with 500 as well. */
  return (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handler(req, res);
    } catch (e) {
      log('error', 'handler error', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      try {
        sendError(res, internalError());
      } catch {
        res.destroy();
      }
    }
  };
}
