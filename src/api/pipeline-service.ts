/**
 * The API's ApplyService over the real apply pipeline (src/apply/pipeline.ts), for every
 * backend: `none` (the file is made live, nothing reloaded), `netns` (the demo and tests) and
 * `ifupdown2` (the host). The confirm window's guard is the pipeline's detached process, so it
 * survives a crash of the server.
 */
import type { Backend } from '../apply/backend.ts';
import { readJournal } from '../apply/guard.ts';
import { listHistory, readApplied, readMeta, readPrevious, type HistoryMeta } from '../apply/history.ts';
import { unifiedDiff } from '../interfaces/diff.ts';
import type { Connection } from '../apply/lockout.ts';
import { applyStaged, confirmApply, rollbackPending, rollbackTo, verifyLive, type ApplyResult } from '../apply/pipeline.ts';
import { NodenetError } from '../errors.ts';
import { pathsFor } from '../store/paths.ts';
import { ConfigStore } from '../store/store.ts';
import type { ApplyOptions, ApplyService, ConfirmResult, HistoryEntry, LastOutcome, PendingWindow, VerifyResult } from './apply-service.ts';

export class PipelineApplyService implements ApplyService {
  readonly backend: string;

  /**
   * @param liveChanged called when an apply or rollback has ended (whatever its outcome), so
   * that views of the live state read the kernel afresh instead of a reading from before it
   */
  constructor(
    private readonly root: string,
    private readonly be: Backend,
    private readonly liveChanged: () => void = () => undefined,
  ) {
    this.backend = be.kind;
  }

  async apply(opts: ApplyOptions & { connection?: Connection }, log: (line: string) => void): Promise<void> {
    try {
      await this.applyOnce(opts, log);
    } finally {
      this.liveChanged();
    }
  }

  private async applyOnce(opts: ApplyOptions & { connection?: Connection }, log: (line: string) => void): Promise<void> {
    // the task log is read in the web UI: there the window ends with its Keep button
    const forUi = (l: string): void => log(l.replace(/^waiting for `nodenet confirm` within (\d+) s$/, 'waiting for you to press Keep within $1 s'));
    const r = await applyStaged({
      root: this.root,
      backend: this.be,
      user: opts.user,
      log: forUi,
      ...(opts.confirmTimeout !== undefined && opts.confirmTimeout > 0 ? { confirmTimeout: opts.confirmTimeout } : {}),
      ...(opts.connection ? { connection: opts.connection } : {}),
    });
    outcome(r, log, opts.confirmTimeout);
  }

  async confirm(opts: { user: string }): Promise<ConfirmResult> {
    try {
      const m = await confirmApply({ root: this.root, user: opts.user });
      return { confirmed: true, message: `kept history entry #${m.id}` };
    } catch (e) {
      if (e instanceof NodenetError && e.code === 'NO_CHANGES') return { confirmed: false, message: e.message };
      throw e;
    }
  }

  async rollback(opts: { n?: number; id?: number; user: string }, log: (line: string) => void): Promise<void> {
    try {
      await this.rollbackOnce(opts, log);
    } finally {
      this.liveChanged();
    }
  }

  private async rollbackOnce(opts: { n?: number; id?: number; user: string }, log: (line: string) => void): Promise<void> {
    if (opts.id !== undefined) {
      outcome(await rollbackTo({ root: this.root, backend: this.be, user: opts.user, log, id: opts.id }), log);
      return;
    }
    if (opts.n === undefined && (await readJournal(this.root)) !== null) {
      await rollbackPending({ root: this.root, backend: this.be, log, reason: `rolled back by ${opts.user}` });
      return;
    }
    const list = await listHistory(pathsFor(this.root).varLib);
    const n = opts.n ?? 1;
    const meta = list[list.length - n];
    if (meta === undefined) throw new NodenetError('NOT_FOUND', `no history entry ${n} (there are ${list.length})`, { errors: { n: `no history entry ${n}` } });
    outcome(await rollbackTo({ root: this.root, backend: this.be, user: opts.user, log, id: meta.id }), log);
  }

  async history(): Promise<HistoryEntry[]> {
    const varLib = pathsFor(this.root).varLib;
    const list = (await listHistory(varLib)).reverse();
    // What each apply changed, as a unified diff (previous file → the file it made live).
    const live = (await new ConfigStore(this.root).read()).live;
    const texts = await Promise.all(list.map((m) => Promise.all([readPrevious(varLib, m.id), readApplied(varLib, m.id)])));
    const diffs = texts.map(([a, b]) => (a !== null && b !== null ? unifiedDiff(a, b, 'before', 'applied') : undefined));
    // what "roll back #id" (restore the file live before it) would change in the live file now
    const restore = texts.map(([a]) => (a !== null ? unifiedDiff(live, a, 'interfaces (live)', `before #id`) : undefined));
    return list.map((m: HistoryMeta, i) => ({
      n: i + 1,
      id: m.id,
      time: m.when,
      user: m.user,
      digest: m.digestAfter,
      action: m.action,
      outcome: m.outcome,
      changed: m.changed,
      summary: `${m.action}${m.rollbackOf !== undefined ? ` of #${m.rollbackOf}` : ''}: ${m.changed.length ? m.changed.join(' ') : 'no interface changed'} (${m.outcome})`,
      ...(m.detail !== undefined ? { detail: m.detail } : {}),
      ...(diffs[i] !== undefined ? { diff: diffs[i] } : {}),
      ...(restore[i] !== undefined ? { rollbackDiff: restore[i]!.replace('before #id', `before #${m.id}`) } : {}),
    }));
  }

  async pending(): Promise<{ pending: PendingWindow | null; last: LastOutcome | null }> {
    const varLib = pathsFor(this.root).varLib;
    const j = await readJournal(this.root);
    let pending: PendingWindow | null = null;
    if (j !== null) {
      const m = await readMeta(varLib, j.id);
      pending = {
        id: j.id,
        deadline: j.deadline,
        left: Math.max(0, Math.ceil((j.deadline - Date.now()) / 1000)),
        user: j.user,
        phase: m?.outcome === 'pending-confirm' ? 'waiting' : 'applying',
        changed: m?.changed ?? [],
      };
    }
    const list = await listHistory(varLib);
    const m = list[list.length - 1];
    let last: LastOutcome | null = null;
    if (m !== undefined) {
      const snap = await new ConfigStore(this.root).read();
      const applied = m.outcome === 'rolled-back' ? await readApplied(varLib, m.id) : null;
      last = {
        id: m.id,
        action: m.action,
        outcome: m.outcome,
        ...(m.detail !== undefined ? { detail: m.detail } : {}),
        when: m.updated ?? m.when,
        changed: m.changed,
        // offered back while nothing else is staged and the file is not live already
        restorable: applied !== null && snap.staged === null && applied !== snap.live,
      };
    }
    return { pending, last };
  }

  async restage(id: number): Promise<{ changes: string }> {
    const varLib = pathsFor(this.root).varLib;
    const text = await readApplied(varLib, id);
    if (text === null) throw new NodenetError('NOT_FOUND', `history entry #${id} has no saved file`, { errors: { id: `no history entry #${id}` } });
    const store = new ConfigStore(this.root);
    const { after } = await store.update((snap) => {
      if (snap.staged !== null && snap.staged !== text) throw new NodenetError('STALE', 'other changes are staged; apply or revert them first');
      return text;
    });
    return { changes: unifiedDiff(after.live, after.pending, 'interfaces', 'interfaces.new') };
  }

  async verify(): Promise<VerifyResult> {
    const r = await verifyLive({ root: this.root, backend: this.be });
    return {
      ok: r.ok,
      backend: this.be.kind,
      drift: r.differences.map((d) => `${d.severity}: ${d.message}`),
      differences: r.differences.map((d) => ({ ...(d.iface === undefined ? {} : { iface: d.iface }), severity: d.severity, message: d.message })),
      ...(this.be.kind === 'none' ? { note: 'backend none: nothing runs, so there is no kernel state to compare' } : {}),
    };
  }
}

/** Turn a non-committed outcome into a task error (the task's exitstatus is not OK). */
function outcome(r: ApplyResult, log: (line: string) => void, window?: number): void {
  const o = r.entry.outcome;
  if (o === 'committed') return;
  if (o === 'pending-confirm') {
    log(`confirm window open: press Keep within ${window ?? '?'} s, or the previous configuration comes back by itself`);
    return;
  }
  throw new NodenetError('APPLY_FAILED', `${o}: ${r.entry.detail ?? 'see the task log'}`);
}
