/**
 * The fleet side of the API (`nodenet serve --etcd URLS`): any number of API servers, each able
 * to answer for every node. `GET /nodes` lists the nodes registered in etcd with their liveness;
 * every `/nodes/{node}/...` request is checked here (authentication, privilege, parameters: in
 * dispatch.ts, as pveproxy checks before it proxies) and then run on that node by its agent
 * (rpc.ts). A node whose agent is down still answers reads of its interfaces from its last
 * published state (marked `stale`); changes to it are refused with 595, as pveproxy answers
 * for a node it cannot reach.
 */
import type { Etcd3 } from 'etcd3';
import { paramError } from '../errors.ts';
import { typeMatches } from '../core/network.ts';
import type { RemoteNodes } from '../api/dispatch.ts';
import type { RequestCtx, Result, Route } from '../api/routes.ts';
import { etcdDown, keys, parseJson } from './etcd.ts';
import type { NodeState, NodeSummary } from './agent.ts';
import { callNode, wireToResult } from './rpc.ts';
import { rolloutRoutes } from './routes.ts';

export interface FleetNode {
  node: string;
  status: 'online' | 'offline';
  type: 'node';
  id: string;
  level: string;
  /** Seconds since the agent went alive (online nodes). */
  uptime?: number;
  version?: string;
  backend?: string;
  digest?: string;
  /** Whether changes are staged on the node. */
  pending?: boolean;
  /** Number of interfaces in its pending configuration. */
  interfaces?: number;
  /** When its state was last published (ISO). */
  updated?: string;
}

export interface FleetApiOptions {
  client: Etcd3;
  /** This API server's name (`localhost` in a path means this node, as on Proxmox VE). */
  self: string;
  /** How long to wait for an agent's answer (default 30 s). */
  timeoutMs?: number;
}

export class FleetApi implements RemoteNodes {
  /** The fleet's own routes: /cluster/network/rollouts (routes.ts). */
  readonly routes: readonly Route[];

  constructor(private readonly o: FleetApiOptions) {
    this.routes = rolloutRoutes(o.client);
  }

  /** Every registered node with its liveness and the summary of its published state. */
  async nodes(): Promise<FleetNode[]> {
    // Two small reads, whatever the nodes' files: the key names under nodes/ (who is registered,
    // who is alive) and the summaries (with the agent's start, for the uptime).
    let names: string[];
    let summaries: Record<string, string>;
    try {
      [names, summaries] = await Promise.all([
        this.o.client.getAll().prefix(keys.nodes).keys(),
        this.o.client.getAll().prefix(keys.summaries).strings(),
      ]);
    } catch (e) {
      throw etcdDown(e);
    }
    const registered = new Set<string>();
    const alive = new Set(names.filter((k) => k.endsWith('/alive')));
    for (const k of names) {
      const m = /^\/nodenet\/v1\/nodes\/([^/]+)\/info$/.exec(k);
      if (m) registered.add(m[1]!);
    }
    const out: FleetNode[] = [];
    for (const node of [...registered].sort((a, b) => a.localeCompare(b))) {
      const online = alive.has(keys.alive(node));
      let sum = parseJson<NodeSummary>(summaries[keys.summary(node)]);
      if (!sum) {
        // An agent from before summaries: its full state, once.
        const st = parseJson<NodeState>(await this.get(keys.state(node)));
        if (st)
          sum = {
            version: st.version,
            backend: st.backend,
            digest: st.digest,
            pending: st.pending,
            interfaces: st.interfaces.length,
            updated: st.updated,
          };
      }
      const since = sum?.since ? Date.parse(sum.since) : NaN;
      out.push({
        node,
        status: online ? 'online' : 'offline',
        type: 'node',
        id: `node/${node}`,
        level: '',
        ...(online && Number.isFinite(since) ? { uptime: Math.max(0, Math.round((Date.now() - since) / 1000)) } : {}),
        ...(sum
          ? {
              version: sum.version,
              backend: sum.backend,
              digest: sum.digest,
              pending: sum.pending,
              interfaces: sum.interfaces,
              updated: sum.updated,
            }
          : {}),
      });
    }
    return out;
  }

  async handle(method: string, route: Route, ctx: RequestCtx): Promise<Result | undefined> {
    if (method === 'GET' && route.path === '/nodes') return { data: await this.nodes() };
    if (!route.path.startsWith('/nodes/{node}')) return undefined;
    const node = ctx.path.node === 'localhost' ? this.o.self : ctx.path.node!;
    const [info, aliveRaw] = await Promise.all([this.get(keys.info(node)), this.get(keys.alive(node))]);
    if (info === null) throw paramError({ node: `no such node '${node}' in the fleet` });
    if (method === 'GET' && route.path === '/nodes/{node}')
      return { data: [{ name: 'network' }, { name: 'tasks' }, { name: 'version' }] };
    // Only for a node that is down is its published state read (it holds all its interfaces).
    const stateRaw =
      aliveRaw === null && method === 'GET' && route.path === '/nodes/{node}/network'
        ? await this.get(keys.state(node))
        : null;
    if (stateRaw !== null) {
      // The node is down: its interfaces as it last published them, marked stale.
      const st = parseJson<NodeState>(stateRaw);
      if (st) {
        const type = typeof ctx.params.type === 'string' ? ctx.params.type : undefined;
        const data = type
          ? st.interfaces.filter((i) => typeMatches(type, String((i as { type?: string }).type)))
          : st.interfaces;
        return {
          data,
          extra: { digest: st.digest, ...(st.changes ? { changes: st.changes } : {}), stale: st.updated },
          headers: { 'X-Nodenet-Stale': st.updated },
        };
      }
    }
    const principal = ctx.principal
      ? { id: ctx.principal.id, user: ctx.principal.user, kind: ctx.principal.kind, privs: [...ctx.principal.privs] }
      : null;
    const w = await callNode(
      this.o.client,
      node,
      {
        method: method as 'GET',
        route: route.path,
        path: { ...ctx.path, node },
        params: ctx.params,
        principal,
        source: ctx.source,
        local: ctx.local,
        from: this.o.self,
      },
      { timeoutMs: this.o.timeoutMs ?? 30_000 },
    );
    return wireToResult(w);
  }

  private async get(key: string): Promise<string | null> {
    try {
      return await this.o.client.get(key).string();
    } catch (e) {
      throw etcdDown(e);
    }
  }
}
