/**
 * The API's ApplyService over the real apply pipeline (src/apply/pipeline.ts), for every
 * backend: `none` (the file is made live, nothing reloaded), `netns` (the demo and tests) and
 * `ifupdown2` (the host). The confirm window's guard is the pipeline's detached process, so it
 * survives a crash of the server.
 */
import type { Backend } from '../apply/backend.ts';
import { readJournal } from '../apply/guard.ts';
import { listHistory, readApplied, readPrevious, type HistoryMeta } from '../apply/history.ts';
import { unifiedDiff } from '../interfaces/diff.ts';
import type { Connection } from '../apply/lockout.ts';
import { applyStaged, confirmApply, rollbackPending, rollbackTo, verifyLive, type ApplyResult } from '../apply/pipeline.ts';
import { NodenetError } from '../errors.ts';
import { pathsFor } from '../store/paths.ts';
import type { ApplyOptions, ApplyService, ConfirmResult, HistoryEntry, VerifyResult } from './apply-service.ts';

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
    const r = await applyStaged({
      root: this.root,
      backend: this.be,
      user: opts.user,
      log,
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

  async rollback(opts: { n?: number; user: string }, log: (line: string) => void): Promise<void> {
    try {
      await this.rollbackOnce(opts, log);
    } finally {
      this.liveChanged();
    }
  }

  private async rollbackOnce(opts: { n?: number; user: string }, log: (line: string) => void): Promise<void> {
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
    const diffs = await Promise.all(
      list.map(async (m) => {
        const [a, b] = await Promise.all([readPrevious(varLib, m.id), readApplied(varLib, m.id)]);
        return a !== null && b !== null ? unifiedDiff(a, b, 'before', 'applied') : undefined;
      }),
    );
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
    }));
  }

  async verify(): Promise<VerifyResult> {
    const r = await verifyLive({ root: this.root, backend: this.be });
    return {
      ok: r.ok,
      backend: this.be.kind,
      drift: r.differences.map((d) => `${d.severity}: ${d.message}`),
      ...(this.be.kind === 'none' ? { note: 'backend none: nothing runs, so there is no kernel state to compare' } : {}),
    };
  }
}

/** Turn a non-committed outcome into a task error (the task's exitstatus is not OK). */
function outcome(r: ApplyResult, log: (line: string) => void, window?: number): void {
  const o = r.entry.outcome;
  if (o === 'committed') return;
  if (o === 'pending-confirm') {
    log(`confirm within ${window ?? '?'} s (POST .../network/confirm), or the previous configuration comes back`);
    return;
  }
  throw new NodenetError('APPLY_FAILED', `${o}: ${r.entry.detail ?? 'see the task log'}`);
}
