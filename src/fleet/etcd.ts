/**
 * The fleet's store: etcd (v3 API, Debian `etcd-server`; the npm client `etcd3`). This module
 * owns the connection settings and the key layout (docs/fleet.md "Keys"); nothing else in
 * nodenet names a key. Every value is a small JSON document.
 *
 *   /nodenet/v1/nodes/{node}/info          registry entry, written by the agent (durable)
 *   /nodenet/v1/nodes/{node}/alive         liveness, bound to the agent's lease (TTL, default 10 s)
 *   /nodenet/v1/nodes/{node}/state         the agent's last published view: interfaces, digest,
 *                                          pending change, drift, last applies (durable)
 *   /nodenet/v1/summary/{node}             the part of `state` GET /nodes shows (digest, pending,
 *                                          counts): a few hundred bytes, so listing the fleet
 *                                          never reads every node's interfaces
 *   /nodenet/v1/nodes/{node}/rpc/{id}      a request for the agent (bound to the caller's lease)
 *   /nodenet/v1/nodes/{node}/result/{id}   the agent's answer to it (bound to the agent's lease)
 *   /nodenet/v1/rollouts/{id}              a rollout: spec, state, user, created (rollout.ts)
 *   /nodenet/v1/rollouts/{id}/nodes/{node} one node's part in it: state, staged diff, task, error
 *   /nodenet/v1/rollouts/{id}/events/{seq} what happened, who and when (seq sorts by time)
 *   /nodenet/v1/rollouts/{id}/request      an admin's start/halt/rollback, for the coordinator
 *   /nodenet/v1/election/coordinator/...   the rollout coordinator's election (etcd3's recipe)
 *
 * The `etcd3` module is imported on demand: single-node nodenet never loads gRPC.
 */
import { NodenetError } from '../errors.ts';
import type { Etcd3, IOptions } from 'etcd3';

export const PREFIX = '/nodenet/v1/';

export const keys = {
  nodes: `${PREFIX}nodes/`,
  node: (n: string) => `${PREFIX}nodes/${n}/`,
  info: (n: string) => `${PREFIX}nodes/${n}/info`,
  alive: (n: string) => `${PREFIX}nodes/${n}/alive`,
  state: (n: string) => `${PREFIX}nodes/${n}/state`,
  summaries: `${PREFIX}summary/`,
  summary: (n: string) => `${PREFIX}summary/${n}`,
  rpcDir: (n: string) => `${PREFIX}nodes/${n}/rpc/`,
  rpc: (n: string, id: string) => `${PREFIX}nodes/${n}/rpc/${id}`,
  resultDir: (n: string) => `${PREFIX}nodes/${n}/result/`,
  result: (n: string, id: string) => `${PREFIX}nodes/${n}/result/${id}`,
  rollouts: `${PREFIX}rollouts/`,
  rollout: (id: string) => `${PREFIX}rollouts/${id}`,
  rolloutDir: (id: string) => `${PREFIX}rollouts/${id}/`,
  rolloutNode: (id: string, n: string) => `${PREFIX}rollouts/${id}/nodes/${n}`,
  rolloutEvent: (id: string, seq: string) => `${PREFIX}rollouts/${id}/events/${seq}`,
  rolloutRequest: (id: string) => `${PREFIX}rollouts/${id}/request`,
  /** The election's namespace (below it, etcd3 writes `election/{name}/{lease}`). */
  electionNs: PREFIX,
  election: 'coordinator',
};

/** A node name as the API accepts it (PVE's `pve-node` format): also safe inside a key. */
export const NODE_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/**
 * Parse `--etcd`: comma-separated endpoints, each `http://HOST:PORT`, `https://HOST:PORT` or
 * `unix:///ABS/PATH` (etcd's `unix://` listener). Refuses anything else with the offending entry.
 */
export function parseEndpoints(v: string): string[] {
  const out: string[] = [];
  for (const raw of v.split(',')) {
    const e = raw.trim();
    if (e === '') continue;
    if (/^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\/?$/.test(e)) out.push(e.replace(/\/$/, ''));
    else if (/^unix:\/\/\/[^\0\n]+$/.test(e)) out.push(`unix://${e.slice('unix://'.length)}`);
    else
      throw new NodenetError(
        'USAGE',
        `--etcd wants endpoints like http://127.0.0.1:2379 or unix:///run/etcd.sock (comma-separated), not '${e}'`,
      );
  }
  if (!out.length) throw new NodenetError('USAGE', '--etcd wants at least one endpoint');
  return out;
}

export interface EtcdOptions {
  /** Per-call deadline (default 2000 ms): a dead leader stalls a call ~7 s without one (fleet.md §3.3). */
  callTimeoutMs?: number;
}

/** A client for the endpoints; calls fail after the deadline instead of hanging on a lost quorum. */
export async function connect(endpoints: readonly string[], opts: EtcdOptions = {}): Promise<Etcd3> {
  const { Etcd3: Client } = await import('etcd3');
  const deadline = opts.callTimeoutMs ?? 2000;
  const o: IOptions = {
    hosts: [...endpoints],
    dialTimeout: 2000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadline }),
  };
  return new Client(o);
}

/** Parse a stored JSON value; null for an absent key or a value that is not JSON. */
export function parseJson<T>(v: string | null | undefined): T | null {
  if (v === null || v === undefined) return null;
  try {
    return JSON.parse(v) as T;
  } catch {
    return null;
  }
}

/** The message of an etcd failure, for logs and answers. */
export function etcdMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.slice(0, 300);
}

/** An error for an unreachable etcd (the API answers 503: "cluster not quorate", as pmxcfs read-only). */
export function etcdDown(e: unknown): NodenetError {
  return new NodenetError('FLEET_UNAVAILABLE', `etcd is not reachable: ${etcdMessage(e)}`, { cause: e });
}
