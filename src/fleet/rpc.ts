/**
 * Requests to a node's agent through etcd: the fleet's form of pveproxy's `proxyto => 'node'`.
 * The API server that received a request (and authenticated it, and checked the caller's
 * privilege and parameters, as pveproxy does before proxying) writes it under the node's
 * `rpc/` prefix, bound to its own lease, but only while the node's `alive` key exists (one
 * transaction). The agent runs it with the same route handler a single node runs and writes the
 * answer under `result/`, bound to its lease. The caller waits for the answer (a watch set up
 * before the request is written), then deletes both keys.
 */
import { randomUUID } from 'node:crypto';
import type { Etcd3, Lease } from 'etcd3';
import type { ErrorCode } from '../errors.ts';
import { ERROR_CODES, NodenetError, isNodenetError } from '../errors.ts';
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import type { Method, Result } from '../api/routes.ts';
import type { Params } from '../api/http.ts';
import { etcdDown, keys, parseJson } from './etcd.ts';

/** The caller as the API server authenticated it (privileges already checked there too). */
export interface RpcPrincipal {
  id: string;
  user: string;
  kind: 'ticket' | 'token';
  privs: string[];
}

export interface RpcRequest {
  id: string;
  method: Method;
  /** The route's path pattern (`/nodes/{node}/network/{iface}`). */
  route: string;
  /** Path parameters (`node`, `iface`, `upid`). */
  path: Record<string, string>;
  params: Params;
  principal: RpcPrincipal | null;
  /** The client's address and the address it reached, as the API server saw them. */
  source: string;
  local: string;
  /** Which API server sent it (for the agent's log). */
  from: string;
  /** Epoch ms after which the agent must not start it (the caller has given up). */
  deadline: number;
}

export interface RpcError {
  code: ErrorCode;
  message: string;
  errors?: Record<string, string>;
  diagnostics?: Diagnostic[];
  missing?: string;
  headers?: Record<string, string>;
}

export type RpcResult =
  | { ok: true; data: unknown; extra?: Record<string, unknown>; headers?: Record<string, string> }
  | { ok: false; error: RpcError };

/** A handler's Result as stored in etcd (a pre-serialised body becomes its data and extra again). */
export function resultToWire(r: Result): RpcResult {
  if (r.body) {
    const env = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
    const { data, ...extra } = env;
    return { ok: true, data, extra, ...(r.headers ? { headers: r.headers } : {}) };
  }
  return {
    ok: true,
    data: r.data,
    ...(r.extra ? { extra: r.extra } : {}),
    ...(r.headers ? { headers: r.headers } : {}),
  };
}

/** An error thrown by a handler, as stored in etcd (anything but a NodenetError is an internal error). */
export function errorToWire(e: unknown): RpcResult {
  if (!isNodenetError(e)) return { ok: false, error: { code: 'INTERNAL', message: 'internal error' } };
  return {
    ok: false,
    error: {
      code: e.code,
      message: e.message,
      ...(e.errors ? { errors: e.errors } : {}),
      ...(e.diagnostics ? { diagnostics: e.diagnostics } : {}),
      ...(e.missing !== undefined ? { missing: e.missing } : {}),
      ...(Object.keys(e.headers).length ? { headers: { ...e.headers } } : {}),
    },
  };
}

/** The answer as the API server sends it on: a Result, or the agent's error thrown again. */
export function wireToResult(w: RpcResult): Result {
  if (!w.ok) {
    const e = w.error;
    // An agent of another version may send a code this server does not know: an internal error.
    const code: ErrorCode = Object.hasOwn(ERROR_CODES, e.code) ? e.code : 'INTERNAL';
    throw new NodenetError(code, String(e.message), {
      ...(e.errors ? { errors: e.errors } : {}),
      ...(e.diagnostics ? { diagnostics: e.diagnostics } : {}),
      ...(e.missing !== undefined ? { missing: e.missing } : {}),
      ...(e.headers ? { headers: e.headers } : {}),
    });
  }
  return { data: w.data, ...(w.extra ? { extra: w.extra } : {}), ...(w.headers ? { headers: w.headers } : {}) };
}

export interface CallOptions {
  /** How long to wait for the agent's answer (default 30 s). */
  timeoutMs?: number;
  /** The caller's lease: its requests vanish with it when the caller dies. */
  lease?: Lease;
  /** A key that must exist for the request to be written (the rollout coordinator's campaign key: fencing). */
  fence?: string;
}

/**
 * Send a request to `node`'s agent and wait for its answer. NODE_OFFLINE when the node's agent
 * is not alive or does not answer in time; FLEET_UNAVAILABLE when etcd cannot be reached.
 */
export async function callNode(
  client: Etcd3,
  node: string,
  req: Omit<RpcRequest, 'id' | 'deadline'>,
  opts: CallOptions = {},
): Promise<RpcResult> {
  const id = randomUUID();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const full: RpcRequest = { ...req, id, deadline: Date.now() + timeoutMs };
  const resultKey = keys.result(node, id);
  let watcher: Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    let settle!: (r: RpcResult | null) => void;
    const answer = new Promise<RpcResult | null>((resolve) => (settle = resolve));
    try {
      watcher = await client.watch().key(resultKey).create();
    } catch (e) {
      throw etcdDown(e);
    }
    watcher.on('put', (kv) => settle(parseJson<RpcResult>(kv.value.toString('utf8'))));
    const put = opts.lease ? opts.lease.put(keys.rpc(node, id)) : client.put(keys.rpc(node, id));
    let sent: boolean;
    let fenced = false;
    try {
      let cmp = client.if(keys.alive(node), 'Create', '>', 0);
      if (opts.fence !== undefined) cmp = cmp.and(opts.fence, 'Create', '>', 0);
      const r = await cmp.then(put.value(JSON.stringify(full))).commit();
      sent = r.succeeded;
      fenced = !sent && opts.fence !== undefined && (await client.get(opts.fence).string()) === null;
    } catch (e) {
      throw etcdDown(e);
    }
    if (fenced)
      throw new NodenetError('FLEET_UNAVAILABLE', 'this rollout coordinator is no longer the leader (fenced)');
    if (!sent) throw offline(node, 'its agent is not running (no alive key)');
    timer = setTimeout(() => settle(null), timeoutMs);
    // The answer may have landed before the watch saw it (a reconnect): look once too.
    void client
      .get(resultKey)
      .string()
      .then((v) => v !== null && settle(parseJson<RpcResult>(v)))
      .catch(() => undefined);
    const r = await answer;
    if (r === null) throw offline(node, `its agent did not answer within ${Math.round(timeoutMs / 1000)} s`);
    return r;
  } finally {
    if (timer) clearTimeout(timer);
    await watcher?.cancel().catch(() => undefined);
    await client
      .delete()
      .key(keys.rpc(node, id))
      .exec()
      .catch(() => undefined);
    await client
      .delete()
      .key(resultKey)
      .exec()
      .catch(() => undefined);
  }
}

export function offline(node: string, why: string): NodenetError {
  return new NodenetError('NODE_OFFLINE', `node '${node}' is offline: ${why}`);
}
