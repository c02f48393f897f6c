/**
 * The node agent (`nodenet agent --etcd URLS --node NAME`): one per node. It
 *   - registers the node (`info`) and keeps it alive with a lease-bound `alive` key (a killed
 *     agent's node shows offline once the lease's TTL runs out);
 *   - publishes its view (`state`: the interfaces in Proxmox VE's shape, the digest, whether
 *     changes are staged, drift of the kernel, the last applies) at start, after every change
 *     and every `resyncMs`, so API servers can show a node that is down;
 *   - runs the requests API servers send it (rpc.ts) with the same route handlers and the same
 *     apply service (confirm window and guard included) as `nodenet serve` on one node.
 * etcd failures never end it: the lease is granted again when lost, the watch is made again
 * after an error, and a periodic listing catches requests a silent watch missed.
 */
import { hostname } from 'node:os';
import type { Etcd3, Lease } from 'etcd3';
import { NodenetError, paramError } from '../errors.ts';
import { checkParams } from '../model/params.ts';
import type { Principal, Privilege } from '../api/auth.ts';
import { ROUTES } from '../api/routes.ts';
import type { Deps, Route } from '../api/routes.ts';
import { etcdMessage, keys, parseJson } from './etcd.ts';
import { errorToWire, resultToWire } from './rpc.ts';
import type { RpcRequest, RpcResult } from './rpc.ts';

export interface AgentOptions {
  client: Etcd3;
  /** The node's routes' dependencies (built as `serve` builds them). */
  deps: Deps;
  node: string;
  version: string;
  backend: string;
  root: string;
  /** Lease TTL in seconds (default 10): a dead agent's node is offline after at most this. */
  ttlSeconds?: number;
  /** Publish the state again this often (default 15 s). */
  resyncMs?: number;
  /**
   * List the pending requests this often (default 2 s), besides the watch: a watch on a member
   * that hangs neither delivers nor fails (etcd 3.4 has no `require leader` for the client), so
   * the listing — a read with a deadline, which fails over — bounds how late a request is taken.
   */
  pollMs?: number;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

/** What GET /nodes shows of a node's state, published beside it under `summary/{node}`. */
export interface NodeSummary {
  version: string;
  backend: string;
  digest: string;
  pending: boolean;
  /** Number of interfaces in the pending configuration. */
  interfaces: number;
  updated: string;
  /** When this agent process went alive (ISO): the node's uptime in GET /nodes. */
  since?: string;
}

/** What the agent publishes under `state` (docs/fleet.md). */
export interface NodeState {
  node: string;
  version: string;
  backend: string;
  /** Digest of the pending configuration (what a write must name to not overwrite another's). */
  digest: string;
  /** The interfaces, as GET /nodes/{node}/network answers. */
  interfaces: unknown[];
  /** Whether changes are staged (interfaces.new differs from the live file). */
  pending: boolean;
  /** The staged change as a unified diff (empty when nothing is staged). */
  changes: string;
  /** The open confirm window of an apply, if any, and the newest history entry (GET .../network/pending). */
  window: unknown;
  last: unknown;
  /** When this view was taken (ISO). */
  updated: string;
}

const SYSTEM: Principal = {
  id: 'nodenet-agent@localhost',
  user: 'nodenet-agent@localhost',
  kind: 'token',
  privs: new Set<Privilege>(['Sys.Audit', 'Sys.Modify']),
};

export class Agent {
  private readonly o: AgentOptions;
  private lease: Lease | undefined;
  private watcher: { cancel(): Promise<void> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private realiving = false;
  private lostAgain = false;
  private stopped = false;
  /** Requests started (by id), so a listing and the watch never run one twice. */
  private readonly seen = new Map<string, number>();
  private lastState = '';
  /** When this agent started (its node's uptime). */
  private readonly since = new Date().toISOString();
  private queue: Promise<void> = Promise.resolve();
  private followUps: NodeJS.Timeout[] = [];

  constructor(o: AgentOptions) {
    this.o = o;
  }

  /** Register, go alive, publish, and start taking requests. Resolves once alive (retries until etcd answers). */
  async start(): Promise<void> {
    const { client, node } = this.o;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await client.put(keys.info(node)).value(
          JSON.stringify({
            node,
            hostname: hostname(),
            version: this.o.version,
            backend: this.o.backend,
            root: this.o.root,
            registered: new Date().toISOString(),
          }),
        );
        await this.goAlive();
        break;
      } catch (e) {
        this.o.log('warn', 'etcd not reachable; retrying', { error: etcdMessage(e), attempt });
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }
    await this.publish().catch((e: unknown) => this.o.log('warn', 'could not publish state', { error: String(e) }));
    await this.watch().catch((e: unknown) => this.o.log('warn', 'watch failed', { error: etcdMessage(e) }));
    this.timer = setInterval(() => void this.resync(), this.o.resyncMs ?? 15_000);
    this.timer.unref();
    this.poller = setInterval(() => void this.poll(), this.o.pollMs ?? 2000);
    this.poller.unref();
  }

  /** Stop taking requests, go offline at once (the lease is revoked), finish what runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.poller) clearInterval(this.poller);
    for (const t of this.followUps) clearTimeout(t);
    await bounded(this.watcher?.cancel(), 2000);
    await this.queue;
    await this.lease?.revoke().catch(() => undefined);
  }

  private async goAlive(): Promise<void> {
    const { client, node } = this.o;
    const lease = client.lease(this.o.ttlSeconds ?? 10);
    // Only the lease in use goes alive again when lost. A lease whose grant failed reports 'lost'
    // too: answering that started one more loop per failed attempt, and during an outage the
    // loops multiplied (hundreds in one CI log, each making leases and watches), and the agent
    // did not answer the first request after quorum came back.
    lease.on('lost', (e: Error) => {
      if (this.stopped || this.lease !== lease) return;
      this.o.log('warn', 'lease lost; going alive again', { error: etcdMessage(e) });
      void this.realive();
    });
    try {
      await lease
        .put(keys.alive(node))
        .value(JSON.stringify({ pid: process.pid, version: this.o.version, since: new Date().toISOString() }));
    } catch (e) {
      lease.release(); // no keep-alive for a lease that is not used
      throw e;
    }
    const old = this.lease;
    this.lease = lease;
    if (old !== undefined && old !== lease) old.release();
  }

  /** One loop at a time; a loss while it runs (of the lease it just made) runs it once more. */
  private async realive(): Promise<void> {
    if (this.realiving) {
      this.lostAgain = true;
      return;
    }
    this.realiving = true;
    try {
      do {
        this.lostAgain = false;
        await this.realiveLoop();
      } while (this.lostAgain && !this.stopped);
    } finally {
      this.realiving = false;
    }
  }

  private async realiveLoop(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.goAlive();
        // A lost lease often means a lost watch too (fleet.md §3.4: no `hasleader` on watches);
        // if the watch cannot be made now, the poll takes the requests and tries it again.
        await this.watch().catch((e: unknown) => this.o.log('warn', 'watch failed', { error: etcdMessage(e) }));
        return;
      } catch (e) {
        this.o.log('warn', 'etcd not reachable; retrying', { error: etcdMessage(e), attempt });
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }
  }

  /** List the pending requests, then watch for new ones from the listing's revision. */
  private async watch(): Promise<void> {
    const { client, node } = this.o;
    // Cancelling a watch waits for the member's answer, which a member that hangs never sends.
    const old = this.watcher;
    this.watcher = undefined;
    await bounded(old?.cancel(), 2000);
    const res = await client.getAll().prefix(keys.rpcDir(node)).exec();
    for (const kv of res.kvs) this.take(kv.value.toString('utf8'));
    const rev = String(BigInt(res.header.revision) + 1n);
    // A stream has no deadline: a member that hangs would hold this forever (the poll covers).
    const creating = client.watch().prefix(keys.rpcDir(node)).startRevision(rev).create();
    const w = await Promise.race([creating, sleep(5000).then(() => null)]);
    if (w === null) {
      void creating.then((late) => late.cancel()).catch(() => undefined);
      throw new Error('the watch was not created within 5 s');
    }
    w.on('put', (kv) => this.take(kv.value.toString('utf8')));
    w.on('error', (e: Error) => {
      if (this.stopped || this.watcher !== w) return;
      this.o.log('warn', 'watch failed; listing again', { error: etcdMessage(e) });
      setTimeout(() => void this.watch().catch(() => undefined), 500).unref();
    });
    this.watcher = w;
  }

  /**
   * List the requests: take the ones the watch missed (then make the watch again: it is behind),
   * and delete what callers left behind — requests a minute past their deadline (the caller
   * died before its cleanup; the minute allows for clocks that differ) and answers whose
   * request is gone (the caller has read or abandoned them).
   */
  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    const { client, node } = this.o;
    try {
      // Answers first: one listed here whose request is gone below was read or abandoned (an
      // answer is written only while its request exists, and callers delete the request first).
      const results = await client.getAll().prefix(keys.resultDir(node)).keys();
      const reqs = await client.getAll().prefix(keys.rpcDir(node)).strings();
      const ids = new Set<string>();
      let missed = 0;
      for (const [k, v] of Object.entries(reqs)) {
        const req = parseJson<RpcRequest>(v);
        const id = k.slice(keys.rpcDir(node).length);
        ids.add(id);
        if (!req || typeof req.deadline !== 'number' || req.deadline < Date.now() - 60_000) {
          await client.delete().key(k).exec();
          continue;
        }
        if (this.take(v)) missed++;
      }
      for (const k of results) {
        if (!ids.has(k.slice(keys.resultDir(node).length))) await client.delete().key(k).exec();
      }
      if (missed) {
        this.o.log('warn', 'the watch missed requests; watching again', { missed });
        await this.watch();
      }
    } catch (e) {
      this.o.log('warn', 'listing requests failed', { error: etcdMessage(e) });
    } finally {
      this.polling = false;
    }
  }

  private async resync(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.publish();
    } catch (e) {
      this.o.log('warn', 'resync failed', { error: etcdMessage(e) });
    }
  }

  /** Queue a request unless it was taken before or its caller gave up; true when queued. */
  private take(raw: string): boolean {
    const req = parseJson<RpcRequest>(raw);
    if (!req || typeof req.id !== 'string' || this.seen.has(req.id)) return false;
    this.seen.set(req.id, Date.now());
    if (this.seen.size > 10_000) for (const k of [...this.seen.keys()].slice(0, 5000)) this.seen.delete(k);
    if (typeof req.deadline !== 'number' || req.deadline < Date.now()) return false; // the caller has given up
    // One at a time: staged writes are serialised anyway, and order is what admins expect.
    this.queue = this.queue.then(() => this.run(req));
    return true;
  }

  private async run(req: RpcRequest): Promise<void> {
    const { client, node, log } = this.o;
    const started = Date.now();
    const result = await this.execute(req).then(resultToWire, errorToWire);
    const value = JSON.stringify(result);
    try {
      const put = this.lease ? this.lease.put(keys.result(node, req.id)) : client.put(keys.result(node, req.id));
      await put.value(value);
    } catch (e) {
      // The lease may be lost or being granted again: the answer must still reach the caller
      // (who deletes it; poll() deletes it if the caller died).
      log('warn', 'could not write an answer with the lease; writing it without', {
        id: req.id,
        error: etcdMessage(e),
      });
      // etcd may be electing a leader (quorum just back): try again until the caller gives up
      for (let attempt = 1; ; attempt++) {
        try {
          await client.put(keys.result(node, req.id)).value(value);
          break;
        } catch (e2) {
          if (this.stopped || Date.now() > req.deadline) {
            log('error', 'could not write an answer', { id: req.id, attempts: attempt, error: etcdMessage(e2) });
            break;
          }
          await sleep(500);
        }
      }
    }
    log('info', 'request', {
      method: req.method,
      route: req.route,
      user: req.principal?.id ?? '-',
      from: req.from,
      ok: result.ok,
      ms: Date.now() - started,
    });
    if (req.method !== 'GET') {
      await this.publish().catch(() => undefined);
      this.followUp();
    }
  }

  /**
   * A write may start a task that changes the node later (an apply opens its confirm window
   * after the request answered, the guard rolls back at the deadline): publish again 1, 2, 4, 8,
   * 16 s and (for the window's deadline) 32 and 64 s later. Without this the published view
   * lagged up to `resyncMs` behind — e.g. never showing an open window of a node that died in it.
   */
  private followUp(): void {
    for (const t of this.followUps) clearTimeout(t);
    this.followUps = [1, 2, 4, 8, 16, 32, 64].map((s) => {
      const t = setTimeout(() => {
        if (!this.stopped) void this.publish().catch(() => undefined);
      }, s * 1000);
      t.unref();
      return t;
    });
  }

  /** Run a request as `nodenet serve` would on this node, checking again what the API server checked. */
  private async execute(req: RpcRequest): Promise<import('../api/routes.ts').Result> {
    const route = ROUTES.find((r) => r.method === req.method && r.path === req.route);
    if (!route) throw new NodenetError('NOT_IMPLEMENTED', `Method '${req.method} ${req.route}' not implemented`);
    const principal = toPrincipal(req);
    if (route.perm !== null && !principal?.privs.has(route.perm))
      throw new NodenetError('FORBIDDEN', `Permission check failed (/nodes/${this.o.node}, ${route.perm})`);
    const path = { ...req.path };
    if (path.node !== undefined) path.node = this.o.node;
    const params = req.params ?? {};
    if (route.validate !== false) {
      const { errors } = checkParams(params, route.params);
      if (Object.keys(errors).length) throw paramError(errors);
    }
    return route.handler(
      { path, params, principal, source: String(req.source ?? '-'), local: String(req.local ?? '-') },
      this.o.deps,
    );
  }

  /** Publish the node's view if it changed. */
  async publish(): Promise<void> {
    const state = await this.view();
    const text = JSON.stringify({ ...state, updated: '' });
    if (text === this.lastState) return;
    const summary: NodeSummary = {
      version: state.version,
      backend: state.backend,
      digest: state.digest,
      pending: state.pending,
      interfaces: state.interfaces.length,
      updated: state.updated,
      since: this.since,
    };
    await this.o.client.put(keys.state(this.o.node)).value(JSON.stringify(state));
    await this.o.client.put(keys.summary(this.o.node)).value(JSON.stringify(summary));
    this.lastState = text;
  }

  private async view(): Promise<NodeState> {
    const list = route('GET', '/nodes/{node}/network');
    const r = resultToWire(
      await list.handler(
        { path: { node: this.o.node }, params: {}, principal: SYSTEM, source: '-', local: '-' },
        this.o.deps,
      ),
    );
    const pending = route('GET', '/nodes/{node}/network/pending');
    const p = resultToWire(
      await pending.handler(
        { path: { node: this.o.node }, params: {}, principal: SYSTEM, source: '-', local: '-' },
        this.o.deps,
      ),
    );
    const digest = r.ok && typeof r.extra?.digest === 'string' ? r.extra.digest : '';
    const changes = r.ok && typeof r.extra?.changes === 'string' ? r.extra.changes : '';
    return {
      node: this.o.node,
      version: this.o.version,
      backend: this.o.backend,
      digest,
      interfaces: r.ok && Array.isArray(r.data) ? r.data : [],
      pending: changes !== '',
      changes,
      window: (p.ok && (p.data as { pending?: unknown } | null)?.pending) || null,
      last: (p.ok && (p.data as { last?: unknown } | null)?.last) || null,
      updated: new Date().toISOString(),
    };
  }
}

function route(method: string, path: string): Route {
  const r = ROUTES.find((x) => x.method === method && x.path === path);
  if (!r) throw new Error(`no route ${method} ${path}`);
  return r;
}

function toPrincipal(req: RpcRequest): Principal | null {
  const p = req.principal;
  if (!p || typeof p.id !== 'string') return null;
  const privs = new Set<Privilege>(
    (Array.isArray(p.privs) ? p.privs : []).filter((x): x is Privilege => x === 'Sys.Audit' || x === 'Sys.Modify'),
  );
  return { id: p.id, user: String(p.user), kind: p.kind === 'ticket' ? 'ticket' : 'token', privs };
}

/** Wait for `p` at most `ms` (its failure ignored). */
async function bounded(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return;
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export type { RpcResult };
