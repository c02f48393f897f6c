/**
 * The rollout coordinator: every `nodenet serve --etcd` campaigns (etcd3's election recipe under
 * /nodenet/v1/election/coordinator/); only the leader advances rollouts. Every write it makes
 * (records, and the requests it sends to agents) is a txn that also requires its campaign key
 * to exist, so a deposed leader's late write fails (fencing). It keeps nothing but the records:
 * a new leader resumes a rollout from them alone (docs/fleet.md "Rollouts under faults").
 *
 * Per node: stage (through the node's own routes), then, in the canary wave and the waves after
 * it, apply with a confirm window naming the staged digest (a second apply of the same change is
 * refused by the node), wait for the task, check (verify, probes), confirm. A node that fails
 * its checks is rolled back at once; one that goes offline or does not confirm is rolled back
 * by its own guard when its window ends. At `max-failures` the rollout halts; with
 * `on-failure=rollback` the confirmed nodes are rolled back, last first.
 */
import type { Campaign, Etcd3 } from 'etcd3';
import { NodenetError, isNodenetError } from '../errors.ts';
import type { Method } from '../api/routes.ts';
import { etcdMessage, keys } from './etcd.ts';
import { callNode, wireToResult } from './rpc.ts';
import { eventSeq, getRollout, render } from './rollout.ts';
import type { NodeRecord, Rollout, RolloutState, RolloutView } from './rollout.ts';

export interface CoordinatorOptions {
  client: Etcd3;
  /** This API server's name (recorded as the campaign's value and in events). */
  self: string;
  /** The campaign lease's TTL in seconds (default 5): how long a dead leader blocks a successor. */
  ttlSeconds?: number;
  /** How often the leader looks for work (default 500 ms). */
  pollMs?: number;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

class Deposed extends Error {
  constructor() {
    super('no longer the rollout coordinator');
  }
}

const ACTIVE: readonly RolloutState[] = ['staging', 'running', 'rolling-back'];

export class Coordinator {
  private readonly o: CoordinatorOptions;
  private campaign: Campaign | undefined;
  private fence: string | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly drivers = new Map<string, Promise<void>>();

  constructor(o: CoordinatorOptions) {
    this.o = o;
  }

  /** Whether this server leads now (its campaign key is what its writes require). */
  get leading(): boolean {
    return this.fence !== undefined;
  }

  start(): void {
    this.run();
    this.timer = setInterval(() => void this.tick(), this.o.pollMs ?? 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.fence = undefined;
    await Promise.allSettled([...this.drivers.values()]);
    await this.campaign?.resign().catch(() => undefined);
  }

  private run(): void {
    if (this.stopped) return;
    const { client, self, log } = this.o;
    const election = client.namespace(keys.electionNs).election(keys.election, this.o.ttlSeconds ?? 5);
    const c = election.campaign(self);
    this.campaign = c;
    c.on('elected', () => {
      void c.getCampaignKey().then(
        (k) => {
          if (this.campaign !== c || this.stopped) return;
          this.fence = k;
          log('info', 'rollout coordinator: elected', { key: k });
          void this.tick();
        },
        (e: unknown) => log('warn', 'rollout coordinator: no campaign key', { error: etcdMessage(e) }),
      );
    });
    c.on('error', (e: Error) => {
      if (this.campaign !== c) return;
      if (this.fence) log('warn', 'rollout coordinator: lost the lead', { error: etcdMessage(e) });
      this.fence = undefined;
      this.campaign = undefined;
      if (!this.stopped) setTimeout(() => this.run(), 1000).unref();
    });
  }

  /** Our campaign key is gone: stop leading, and campaign again (resigning what is left of it). */
  private depose(): void {
    if (!this.fence) return;
    this.fence = undefined;
    const c = this.campaign;
    this.campaign = undefined;
    void c?.resign().catch(() => undefined);
    if (!this.stopped) setTimeout(() => this.run(), 1000).unref();
  }

  /** The leader: a driver for every rollout that has work (an active state or a request). */
  private async tick(): Promise<void> {
    if (!this.fence || this.stopped) return;
    let kvs: Record<string, string>;
    try {
      kvs = await this.o.client.getAll().prefix(keys.rollouts).strings();
    } catch {
      return;
    }
    for (const [k, v] of Object.entries(kvs)) {
      const m = /^\/nodenet\/v1\/rollouts\/([^/]+)$/.exec(k);
      if (!m || this.drivers.has(m[1]!)) continue;
      let r: Rollout;
      try {
        r = JSON.parse(v) as Rollout;
      } catch {
        continue;
      }
      const hasRequest = kvs[keys.rolloutRequest(r.id)] !== undefined;
      if (!ACTIVE.includes(r.state) && !hasRequest) continue;
      const d = this.drive(r.id).finally(() => this.drivers.delete(r.id));
      this.drivers.set(r.id, d);
    }
  }

  private async drive(id: string): Promise<void> {
    const { log } = this.o;
    for (let errors = 0; this.fence && !this.stopped;) {
      try {
        const view = await getRollout(this.o.client, id);
        if (!(await this.step(view))) return;
        errors = 0;
      } catch (e) {
        if (e instanceof Deposed || isFenced(e) || !this.fence) {
          this.depose();
          log('warn', 'rollout coordinator: deposed; leaving the rollout to the next leader', { id });
          return;
        }
        errors++;
        log('warn', 'rollout step failed; retrying', { id, error: etcdMessage(e), errors });
        await sleep(Math.min(5000, 250 * 2 ** Math.min(errors, 5)));
      }
    }
  }

  /** One step of a rollout; false when nothing is left to do. */
  private async step(v: RolloutView): Promise<boolean> {
    const applying = v.nodes.some((n) => n.state === 'applying');
    if (v.request && !applying) return this.onRequest(v);
    switch (v.state) {
      case 'staging':
        return this.stageNext(v);
      case 'running':
        return this.runWave(v);
      case 'rolling-back':
        return this.rollBackNext(v);
      case 'staged':
      case 'halted':
      case 'rolled-back':
      case 'done':
      case 'failed':
        return false;
    }
  }

  // ------------------------------------------------------------------ writes (all fenced)

  private async commit(puts: [string, unknown][], deletes: string[] = []): Promise<void> {
    const fence = this.fence;
    if (!fence) throw new Deposed();
    const { client } = this.o;
    // One `then` with every operation (etcd3's builder keeps only the last `then`'s list).
    const ops = [
      ...puts.map(([k, v]) => client.put(k).value(JSON.stringify(v))),
      ...deletes.map((k) => client.delete().key(k)),
    ];
    const r = await client
      .if(fence, 'Create', '>', 0)
      .then(...ops)
      .commit();
    if (!r.succeeded) {
      this.depose();
      throw new Deposed();
    }
  }

  private event(v: Rollout, msg: string, node?: string, user?: string): [string, unknown] {
    return [
      keys.rolloutEvent(v.id, eventSeq()),
      { ts: new Date().toISOString(), user: user ?? v.user, ...(node ? { node } : {}), msg, by: this.o.self },
    ];
  }

  private async setNode(v: Rollout, rec: NodeRecord, msg?: string): Promise<void> {
    const next = { ...rec, updated: new Date().toISOString() };
    await this.commit([[keys.rolloutNode(v.id, rec.node), next], ...(msg ? [this.event(v, msg, rec.node)] : [])]);
  }

  private async setState(
    v: Rollout,
    state: RolloutState,
    msg: string,
    o: { reason?: string; user?: string; clearRequest?: boolean } = {},
  ): Promise<void> {
    const { nodes: _n, events: _e, request: _r, ...base } = v as RolloutView;
    const next: Rollout = {
      ...base,
      state,
      updated: new Date().toISOString(),
      ...(o.reason ? { reason: o.reason } : {}),
    };
    await this.commit(
      [[keys.rollout(v.id), next], this.event(v, msg, undefined, o.user)],
      o.clearRequest ? [keys.rolloutRequest(v.id)] : [],
    );
    this.o.log('info', 'rollout', { id: v.id, state, msg });
  }

  // ------------------------------------------------------------------ calls to the nodes

  private async call(
    v: Rollout,
    node: string,
    method: Method,
    route: string,
    params: Record<string, string> = {},
    path: Record<string, string> = {},
    timeoutMs = 30_000,
  ): Promise<{ data: unknown; extra: Record<string, unknown> }> {
    const fence = this.fence;
    if (!fence) throw new Deposed();
    const w = await callNode(
      this.o.client,
      node,
      {
        method,
        route,
        path: { ...path, node },
        params,
        principal: { id: v.user, user: v.user, kind: 'ticket', privs: ['Sys.Audit', 'Sys.Modify'] },
        source: `rollout ${v.id}`,
        local: '-',
        from: this.o.self,
      },
      { timeoutMs, fence },
    );
    const r = wireToResult(w);
    if (r.body) {
      const env = JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
      const { data, ...extra } = env;
      return { data, extra };
    }
    return { data: r.data, extra: r.extra ?? {} };
  }

  private async waitTask(v: Rollout, node: string, upid: string, ms: number): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = await this.call(v, node, 'GET', '/nodes/{node}/tasks/{upid}/status', {}, { upid });
      const d = s.data as { status?: string; exitstatus?: string };
      if (d.status === 'stopped') return d.exitstatus ?? 'unknown';
      if (Date.now() > end) throw new NodenetError('NODE_OFFLINE', `task ${upid} did not end in time`);
      await sleep(300);
    }
  }

  private async window(v: Rollout, node: string): Promise<{ id: number; phase: string } | null> {
    const p = await this.call(v, node, 'GET', '/nodes/{node}/network/pending');
    return ((p.data as { pending?: { id: number; phase: string } | null } | null)?.pending ?? null) || null;
  }

  // ------------------------------------------------------------------ staging

  private async stageNext(v: RolloutView): Promise<boolean> {
    const failed = v.nodes.find((n) => n.state === 'failed');
    if (failed) {
      await this.abortRest(v);
      await this.setState(v, 'failed', `staging failed on ${failed.node}: nothing was applied`, {
        reason: `staging failed on ${failed.node}: ${failed.error ?? ''}`,
      });
      return false;
    }
    const next = v.nodes.find((n) => n.state === 'pending');
    if (!next) {
      const start = v.spec.start;
      await this.setState(
        v,
        start ? 'running' : 'staged',
        start ? 'staged on every node; starting' : 'staged on every node; waiting for start',
      );
      return true;
    }
    await this.stageNode(v, next);
    return true;
  }

  private async stageNode(v: RolloutView, rec: NodeRecord): Promise<void> {
    const n = rec.node;
    let cleanDigest: string | undefined;
    try {
      const list = await this.call(v, n, 'GET', '/nodes/{node}/network');
      if (typeof list.extra.changes === 'string' && list.extra.changes !== '')
        return this.setNode(
          v,
          { ...rec, state: 'failed', error: 'the node already has staged changes' },
          'refused: the node already has staged changes',
        );
      cleanDigest = String(list.extra.digest ?? '');
      if (await this.window(v, n))
        return this.setNode(
          v,
          { ...rec, state: 'failed', error: 'an apply is running on the node' },
          'refused: an apply is running on the node',
        );
    } catch (e) {
      if (e instanceof Deposed || isFenced(e)) throw e;
      return this.setNode(v, { ...rec, state: 'failed', error: why(e) }, `staging failed: ${why(e)}`);
    }
    try {
      const r = render(v.spec, n);
      for (const op of r.ops ?? []) {
        if (op.method === 'POST')
          await this.call(v, n, 'POST', '/nodes/{node}/network', { iface: op.iface, ...op.params });
        else if (op.method === 'PUT')
          await this.call(v, n, 'PUT', '/nodes/{node}/network/{iface}', op.params, { iface: op.iface });
        else await this.call(v, n, 'DELETE', '/nodes/{node}/network/{iface}', {}, { iface: op.iface });
      }
      if (r.template !== undefined)
        await this.call(v, n, 'POST', '/nodes/{node}/network/stage', { content: r.template, digest: cleanDigest });
      if (r.setup) await this.call(v, n, 'POST', `/nodes/{node}/network/setup/${r.setup.mode}`, r.setup.params);
      const after = await this.call(v, n, 'GET', '/nodes/{node}/network');
      const changes = typeof after.extra.changes === 'string' ? after.extra.changes : '';
      const digest = String(after.extra.digest ?? '');
      if (changes === '')
        return this.setNode(v, { ...rec, state: 'confirmed', changes: '', digest }, 'nothing to change on this node');
      await this.setNode(v, { ...rec, state: 'staged', changes, digest }, 'staged');
    } catch (e) {
      if (e instanceof Deposed || isFenced(e)) throw e;
      // What this rollout staged there goes again (the node was clean before).
      await this.call(v, n, 'DELETE', '/nodes/{node}/network').catch(() => undefined);
      await this.setNode(v, { ...rec, state: 'failed', error: why(e) }, `staging failed: ${why(e)}`);
    }
  }

  /** Pending and staged nodes become `aborted`; what this rollout staged on them is dropped. */
  private async abortRest(v: RolloutView, user?: string): Promise<void> {
    for (const rec of v.nodes) {
      if (rec.state !== 'pending' && rec.state !== 'staged') continue;
      let note = '';
      if (rec.state === 'staged') {
        try {
          const list = await this.call(v, rec.node, 'GET', '/nodes/{node}/network');
          if (String(list.extra.digest ?? '') === rec.digest) {
            await this.call(v, rec.node, 'DELETE', '/nodes/{node}/network');
            note = '; its staged change was dropped';
          } else note = '; its staged file changed since staging: left as it is';
        } catch (e) {
          if (e instanceof Deposed || isFenced(e)) throw e;
          note = `; could not drop its staged change: ${why(e)}`;
        }
      }
      await this.commit([
        [keys.rolloutNode(v.id, rec.node), { ...rec, state: 'aborted', updated: new Date().toISOString() }],
        this.event(v, `aborted${note}`, rec.node, user),
      ]);
    }
  }

  // ------------------------------------------------------------------ requests

  private async onRequest(v: RolloutView): Promise<boolean> {
    const q = v.request!;
    const by = `${q.action} by ${q.user}`;
    if (q.action === 'start' && v.state === 'staged') {
      await this.setState(v, 'running', `started by ${q.user}`, { user: q.user, clearRequest: true });
      return true;
    }
    if (q.action === 'halt' && ['staging', 'staged', 'running'].includes(v.state)) {
      await this.abortRest(v, q.user);
      await this.setState(v, 'halted', `halted by ${q.user}`, { reason: by, user: q.user, clearRequest: true });
      return false;
    }
    if (q.action === 'rollback' && !['rolling-back', 'rolled-back'].includes(v.state)) {
      await this.abortRest(v, q.user);
      await this.setState(v, 'rolling-back', `rollback asked by ${q.user}`, {
        reason: by,
        user: q.user,
        clearRequest: true,
      });
      return true;
    }
    await this.commit(
      [this.event(v, `ignored ${by}: the rollout is ${v.state}`, undefined, q.user)],
      [keys.rolloutRequest(v.id)],
    );
    return true;
  }

  // ------------------------------------------------------------------ waves

  /** The waves: the canary nodes, then groups of at most max-unavailable, in the order given. */
  static waves(nodes: readonly string[], canary: number, maxUnavailable: number): string[][] {
    const out: string[][] = [];
    const c = Math.min(canary, nodes.length);
    if (c > 0) out.push(nodes.slice(0, c));
    for (let i = c; i < nodes.length; i += maxUnavailable) out.push(nodes.slice(i, i + maxUnavailable));
    return out;
  }

  private async runWave(v: RolloutView): Promise<boolean> {
    const s = v.spec;
    const byNode = new Map(v.nodes.map((n) => [n.node, n]));
    const failed = v.nodes.filter((n) => n.state === 'failed');
    const inFlight = v.nodes.filter((n) => n.state === 'applying');
    if (failed.length >= s['max-failures'] && !inFlight.length) {
      const reason = `${failed.length} node(s) failed: ${failed.map((n) => `${n.node} (${n.error ?? 'failed'})`).join(', ')}`;
      await this.abortRest(v);
      const back = s['on-failure'] === 'rollback' && v.nodes.some((n) => n.state === 'confirmed' && n.entry);
      await this.setState(v, back ? 'rolling-back' : 'halted', `halted: ${reason}`, { reason });
      return back;
    }
    const wave = Coordinator.waves(s.nodes, s.canary, s['max-unavailable']).find((w) =>
      w.some((n) => ['staged', 'applying'].includes(byNode.get(n)?.state ?? '')),
    );
    if (!wave) {
      await this.setState(v, 'done', 'done: every node confirmed');
      return false;
    }
    const todo = wave.map((n) => byNode.get(n)!).filter((r) => r.state === 'staged' || r.state === 'applying');
    const results = await Promise.allSettled(todo.map((r) => this.applyNode(v, r)));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    return true;
  }

  private async applyNode(v: RolloutView, rec0: NodeRecord): Promise<void> {
    const s = v.spec;
    const n = rec0.node;
    let rec = rec0;
    const fail = (error: string) => this.setNode(v, { ...rec, state: 'failed', error }, `failed: ${error}`);
    try {
      let entry: number | undefined = rec.entry;
      if (rec.state === 'applying') {
        // Resumed (a coordinator changed): find where the node is, never apply twice.
        const w = await this.window(v, n);
        if (w) entry = w.id;
        else {
          const list = await this.call(v, n, 'GET', '/nodes/{node}/network');
          if (!(String(list.extra.digest ?? '') === rec.digest && list.extra.changes)) {
            if (rec.upid) {
              const exit = await this.waitTask(v, n, rec.upid, 10_000).catch(() => 'unknown');
              if (exit !== 'OK') return await fail(`its apply ended: ${exit}`);
            }
            return await fail('no confirm window is open any more: it was not confirmed, so its guard rolled it back');
          }
          entry = undefined;
        }
      } else {
        rec = { ...rec, state: 'applying' };
        await this.setNode(v, rec, `applying (confirm window ${s['confirm-timeout']} s)`);
      }
      if (entry === undefined) {
        const ap = await this.call(v, n, 'PUT', '/nodes/{node}/network', {
          'confirm-timeout': String(s['confirm-timeout']),
          ...(rec.digest ? { digest: rec.digest } : {}),
        });
        const upid = String(ap.data);
        rec = { ...rec, upid };
        await this.setNode(v, rec);
        const exit = await this.waitTask(v, n, upid, s['confirm-timeout'] * 1000 + 120_000);
        if (exit !== 'OK') return await fail(`its apply failed: ${exit}`);
      }
      // The window: wait until the apply waits for Keep.
      for (;;) {
        const w = await this.window(v, n);
        if (!w) return await fail('its confirm window ended before it could be checked; its guard rolled it back');
        entry = w.id;
        if (w.phase !== 'applying') break;
        await sleep(300);
      }
      rec = { ...rec, entry };
      await this.setNode(v, rec);
      const problems = await this.checks(v, n);
      if (problems.length) {
        const what = problems.join('; ');
        let how = 'rolled back';
        try {
          // No parameter: undo the open confirm window (only while it is still this apply's).
          const w = await this.window(v, n);
          if (w?.id === entry) {
            const rb = await this.call(v, n, 'POST', '/nodes/{node}/network/rollback');
            const exit = await this.waitTask(v, n, String(rb.data), 120_000);
            if (exit !== 'OK') how = `rollback task: ${exit}; its guard rolls it back at the end of the window`;
          } else how = 'its confirm window had already ended: its guard rolled it back';
        } catch (e) {
          if (e instanceof Deposed || isFenced(e)) throw e;
          how = `not confirmed (${why(e)}); its guard rolls it back at the end of the window`;
        }
        return await fail(`checks failed: ${what}; ${how}`);
      }
      const c = await this.call(v, n, 'POST', '/nodes/{node}/network/confirm');
      const ok = (c.data as { confirmed?: number } | null)?.confirmed === 1;
      if (!ok) return await fail(`not confirmed: ${String((c.data as { message?: string } | null)?.message ?? '')}`);
      await this.setNode(v, { ...rec, state: 'confirmed' }, 'checked and confirmed');
    } catch (e) {
      if (e instanceof Deposed || isFenced(e)) throw e;
      if (isNodenetError(e) && e.code === 'FLEET_UNAVAILABLE') throw e; // etcd trouble: try again later
      await fail(
        isNodenetError(e) && e.code === 'NODE_OFFLINE'
          ? `${e.message}; its guard rolls it back at the end of its confirm window`
          : why(e),
      );
    }
  }

  /** What is wrong on the node after its apply (empty: nothing). */
  private async checks(v: RolloutView, n: string): Promise<string[]> {
    const out: string[] = [];
    const vr = await this.call(v, n, 'GET', '/nodes/{node}/network/verify');
    const vd = vr.data as { ok?: number; drift?: string[] };
    if (vd.ok !== 1) out.push(`verify: ${(vd.drift ?? []).join(', ') || 'drift'}`);
    const probes = render(v.spec, n).probes;
    if (probes.length) {
      const pr = await this.call(v, n, 'GET', '/nodes/{node}/network/probe', { targets: probes.join(',') });
      const pd = pr.data as { ok?: number; results?: { target: string; ok: number; detail?: string }[] };
      for (const r of pd.results ?? []) if (r.ok !== 1) out.push(`probe ${r.target}: ${r.detail ?? 'unreachable'}`);
      if (pd.ok !== 1 && !out.length) out.push('probes failed');
    }
    return out;
  }

  // ------------------------------------------------------------------ fleet rollback

  private async rollBackNext(v: RolloutView): Promise<boolean> {
    const done = v.nodes.filter((n) => n.state === 'confirmed' && n.entry !== undefined && !n.error);
    const next = done[done.length - 1];
    if (!next) {
      const stuck = v.nodes.filter((n) => n.state === 'confirmed' && n.entry !== undefined && n.error);
      await this.setState(
        v,
        stuck.length ? 'failed' : 'rolled-back',
        stuck.length
          ? `rollback incomplete: ${stuck.map((n) => n.node).join(', ')} could not be rolled back`
          : 'rolled back',
        stuck.length ? { reason: `rollback incomplete on ${stuck.map((n) => n.node).join(', ')}` } : {},
      );
      return false;
    }
    try {
      const rb = await this.call(v, next.node, 'POST', '/nodes/{node}/network/rollback', { id: String(next.entry) });
      const upid = String(rb.data);
      const exit = await this.waitTask(v, next.node, upid, 120_000);
      if (exit !== 'OK') throw new NodenetError('APPLY_FAILED', `rollback task: ${exit}`);
      await this.setNode(v, { ...next, state: 'rolled-back', upid }, `rolled back (history entry #${next.entry})`);
    } catch (e) {
      if (e instanceof Deposed || isFenced(e)) throw e;
      if (isNodenetError(e) && e.code === 'FLEET_UNAVAILABLE') throw e;
      await this.setNode(v, { ...next, error: `rollback failed: ${why(e)}` }, `rollback failed: ${why(e)}`);
    }
    return true;
  }
}

function isFenced(e: unknown): boolean {
  return isNodenetError(e) && e.code === 'FLEET_UNAVAILABLE' && /fenced/.test(e.message);
}

function why(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
