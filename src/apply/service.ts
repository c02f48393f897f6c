/**
 * The one apply service: what the CLI (`nodenet apply|confirm|rollback|verify`), the REST API
 * (through the thin adapter src/api/pipeline-service.ts) and `nodenet serve` call. The decisions
 * every caller shares are made here once:
 *
 * - the confirm-timeout spec ({@link CONFIRM_TIMEOUT}: 0 to 86400 s, 0 or absent = no window),
 * - the lock-out pre-check ({@link ApplyService.precheck}, decided once per pair of texts; the
 *   rule itself is lockout.ts {@link lockoutRule}),
 * - which entry "roll back" means ({@link resolveRollbackTarget}: an entry id everywhere; the
 *   API's `n` is a position, newest first),
 * - confirm, the pending window, restaging a rolled-back file, and verify.
 *
 * It validates with the caller's NetworkCore, so an apply sees the host (NICs, link state) the
 * edit saw. The effects (lock, history, swap, reload, verify, rollback) are pipeline.ts's.
 */
import type { LastOutcome, PendingWindow } from '../model/wire.ts';
import type { NetworkCore } from '../core/network.ts';
import { NodenetError } from '../errors.ts';
import { unifiedDiff } from '../interfaces/diff.ts';
import { pathsFor } from '../store/paths.ts';
import { ConfigStore } from '../store/store.ts';
import type { Backend } from './backend.ts';
import { readJournal, type PendingJournal } from './guard.ts';
import { listHistory, readApplied, readMeta, readPrevious, type HistoryMeta } from './history.ts';
import type { Connection } from './lockout.ts';
import type { ReloadMode } from './plan.ts';
import {
  applyStaged,
  confirmApply,
  precheckLockout,
  rollbackPending,
  rollbackTo,
  stagedLockoutRisk,
  type ApplyResult,
  type LockoutChecked,
} from './pipeline.ts';
import { confirmWindow } from './confirm-timeout.ts';
import { verifyLive, type Log } from './settle.ts';

export { CONFIRM_TIMEOUT, confirmWindow, parseConfirmTimeout } from './confirm-timeout.ts';

// ---------------------------------------------------------------- which entry "roll back" means

/** What to roll back: the pending (unconfirmed) apply, or to the file live before entry `id`. */
export type RollbackTarget = { pending: true } | { pending: false; id: number };

/**
 * `id`: the history entry id (the `#N` of `nodenet history`, the task log, the UI). `n`: a
 * position, 1 = the newest entry (the API's older parameter). Neither: the pending apply when a
 * confirm window is open, else the newest entry. `list` is oldest first, as listHistory gives it.
 */
export function resolveRollbackTarget(
  list: readonly HistoryMeta[],
  pending: boolean,
  want: { n?: number; id?: number },
): RollbackTarget {
  if (want.id !== undefined) {
    if (!list.some((m) => m.id === want.id))
      throw new NodenetError('NOT_FOUND', `no history entry #${want.id}`, {
        errors: { id: `no history entry #${want.id}` },
      });
    return { pending: false, id: want.id };
  }
  if (want.n === undefined) {
    if (pending) return { pending: true };
    const newest = list[list.length - 1];
    if (newest === undefined) throw new NodenetError('NOT_FOUND', 'the history is empty: nothing to roll back');
    return { pending: false, id: newest.id };
  }
  const meta = list[list.length - want.n];
  if (meta === undefined || want.n < 1) {
    throw new NodenetError('NOT_FOUND', `no history entry ${want.n} (there are ${list.length})`, {
      errors: { n: `no history entry ${want.n}` },
    });
  }
  return { pending: false, id: meta.id };
}

// ---------------------------------------------------------------- views

export interface HistoryEntry {
  /** 1 = the most recent applied config. */
  n: number;
  /** The pipeline's entry id (stable; `n` shifts as entries are added). */
  id?: number;
  time: string;
  user: string;
  digest: string;
  summary: string;
  action?: string;
  outcome?: string;
  changed?: string[];
  detail?: string;
  /** Unified diff of what the apply changed (previous file → applied file). */
  diff?: string;
  /** Unified diff of what rolling back this entry (restoring the file live before it) changes now. */
  rollbackDiff?: string;
}

export interface VerifyView {
  ok: boolean;
  backend: string;
  /** Human-readable differences between the kernel and the live file. */
  drift: string[];
  /** The same differences with the interface each names (the UI's drift panel). */
  differences?: { iface?: string; severity: string; message: string }[];
  note?: string;
}

export interface ConfirmResult {
  /** Whether a confirm window was open (and is now closed). */
  confirmed: boolean;
  message: string;
  entry?: HistoryMeta;
}

/** The wire types of GET .../network/pending, shared with the web UI (src/model/wire.ts). */
export type { LastOutcome, PendingWindow } from '../model/wire.ts';

// ---------------------------------------------------------------- the service

export interface ApplyRequest {
  user: string;
  /** Seconds (see {@link CONFIRM_TIMEOUT}); absent or 0 = no confirm window. */
  confirmTimeout?: number;
  /** Apply even though the live file was edited by hand since staging. */
  force?: boolean;
  /** `all`: `ifreload -a` whatever changed; absent or `targeted`: the planner decides. */
  reload?: ReloadMode;
  /** The caller's own connection: a change that touches it needs a confirm window. */
  connection?: Connection;
  /** What {@link ApplyService.precheck} decided for this request, when it was asked first. */
  checked?: LockoutChecked;
}

export type RollbackOutcome = { pending: true; rolledBack: boolean } | { pending: false; result: ApplyResult };

export interface ApplyServiceOptions {
  root: string;
  backend: Backend;
  /** The caller's core (NICs, link state); absent: a core for `root` that knows no host. */
  core?: NetworkCore;
  /** Called when an apply or rollback has ended, whatever its outcome (views read the kernel afresh). */
  liveChanged?: () => void;
  /** Starts the confirm window's guard (default: the detached process); tests replace it. */
  startGuard?: (root: string, j: PendingJournal) => number | undefined;
}

export class ApplyService {
  readonly root: string;
  readonly backend: Backend;
  private readonly core: NetworkCore | undefined;
  private readonly liveChanged: () => void;
  private readonly guard: { startGuard?: (root: string, j: PendingJournal) => number | undefined };

  constructor(o: ApplyServiceOptions) {
    this.root = o.root;
    this.backend = o.backend;
    this.core = o.core;
    this.liveChanged = o.liveChanged ?? (() => undefined);
    this.guard = o.startGuard === undefined ? {} : { startGuard: o.startGuard };
  }

  private get coreOpt(): { core?: NetworkCore } {
    return this.core === undefined ? {} : { core: this.core };
  }

  /** The lock-out risk of applying what is staged for `connection` (null: none), without refusing. */
  async lockout(connection: Connection): Promise<string | null> {
    return (await stagedLockoutRisk({ root: this.root, ...this.coreOpt, connection })).risk;
  }

  /**
   * The lock-out rule for an apply about to be asked for: throws LOCKOUT when it touches the
   * caller's connection without a window. Pass the result as `checked` to {@link apply}.
   */
  async precheck(r: ApplyRequest): Promise<LockoutChecked | undefined> {
    if (r.connection === undefined) return undefined;
    const window = confirmWindow(r.confirmTimeout);
    return precheckLockout({
      root: this.root,
      ...this.coreOpt,
      connection: r.connection,
      ...(window === undefined ? {} : { confirmTimeout: window }),
    });
  }

  /** Makes the staged file live (pipeline.ts applyStaged). */
  async apply(r: ApplyRequest, log: Log): Promise<ApplyResult> {
    const window = confirmWindow(r.confirmTimeout);
    try {
      return await applyStaged({
        root: this.root,
        backend: this.backend,
        ...this.coreOpt,
        ...this.guard,
        user: r.user,
        log,
        ...(window === undefined ? {} : { confirmTimeout: window }),
        ...(r.force === true ? { force: true } : {}),
        ...(r.reload === undefined ? {} : { reload: r.reload }),
        ...(r.connection === undefined ? {} : { connection: r.connection }),
        ...(r.checked === undefined ? {} : { lockoutChecked: r.checked }),
      });
    } finally {
      this.liveChanged();
    }
  }

  /** Keeps the pending apply; `confirmed: false` when no window was open. */
  async confirm(o: { user: string }): Promise<ConfirmResult> {
    try {
      const m = await confirmApply({ root: this.root, user: o.user });
      return { confirmed: true, message: `kept history entry #${m.id}`, entry: m };
    } catch (e) {
      if (e instanceof NodenetError && e.code === 'NO_CHANGES') return { confirmed: false, message: e.message };
      throw e;
    }
  }

  /** Rolls back the target {@link resolveRollbackTarget} picks. */
  async rollback(
    o: { n?: number; id?: number; user: string; confirmTimeout?: number },
    log: Log,
  ): Promise<RollbackOutcome> {
    try {
      const list = await listHistory(pathsFor(this.root).varLib);
      const pending = (await readJournal(this.root)) !== null;
      const t = resolveRollbackTarget(list, pending, o);
      if (t.pending) {
        const rolledBack = await rollbackPending({
          root: this.root,
          backend: this.backend,
          log,
          reason: `rolled back by ${o.user}`,
          user: o.user,
        });
        return { pending: true, rolledBack };
      }
      const window = confirmWindow(o.confirmTimeout);
      const result = await rollbackTo({
        root: this.root,
        backend: this.backend,
        ...this.coreOpt,
        ...this.guard,
        user: o.user,
        log,
        id: t.id,
        ...(window === undefined ? {} : { confirmTimeout: window }),
      });
      return { pending: false, result };
    } finally {
      this.liveChanged();
    }
  }

  /**
   * The boot/recovery check and `rollback --if-unconfirmed`: rolls back the pending apply when
   * its window is over; `noReload` restores the file only.
   */
  async rollbackUnconfirmed(
    o: { user: string; ifExpired: boolean; noReload: boolean; reason?: string },
    log: Log,
  ): Promise<boolean> {
    try {
      return await rollbackPending({
        root: this.root,
        backend: this.backend,
        reason: o.reason ?? (o.ifExpired ? 'not confirmed (window over)' : `rolled back by ${o.user}`),
        log,
        ifExpired: o.ifExpired,
        noReload: o.noReload,
        user: o.user,
      });
    } finally {
      this.liveChanged();
    }
  }

  /** The history, newest first, with what each entry changed and what rolling it back would change now. */
  async history(): Promise<HistoryEntry[]> {
    const varLib = pathsFor(this.root).varLib;
    const list = (await listHistory(varLib)).reverse();
    // What each apply changed, as a unified diff (previous file → the file it made live).
    const live = (await new ConfigStore(this.root).read()).live;
    const texts = await Promise.all(
      list.map((m) => Promise.all([readPrevious(varLib, m.id), readApplied(varLib, m.id)])),
    );
    const diffs = texts.map(([a, b]) =>
      a !== null && b !== null ? unifiedDiff(a, b, 'before', 'applied') : undefined,
    );
    // what "roll back #id" (restore the file live before it) would change in the live file now
    const restore = texts.map(([a]) =>
      a !== null ? unifiedDiff(live, a, 'interfaces (live)', `before #id`) : undefined,
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
      ...(restore[i] !== undefined ? { rollbackDiff: restore[i]!.replace('before #id', `before #${m.id}`) } : {}),
    }));
  }

  /** The open confirm window, if any, and the newest history entry. */
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

  /** Stages the file history entry `id` made live (a rolled-back change, offered back). */
  async restage(id: number): Promise<{ changes: string }> {
    const varLib = pathsFor(this.root).varLib;
    const text = await readApplied(varLib, id);
    if (text === null)
      throw new NodenetError('NOT_FOUND', `history entry #${id} has no saved file`, {
        errors: { id: `no history entry #${id}` },
      });
    const store = new ConfigStore(this.root);
    const { after } = await store.update((snap) => {
      if (snap.staged !== null && snap.staged !== text)
        throw new NodenetError('STALE', 'other changes are staged; apply or revert them first');
      return text;
    });
    return { changes: unifiedDiff(after.live, after.pending, 'interfaces', 'interfaces.new') };
  }

  /** The kernel compared with the live file. */
  async verify(): Promise<VerifyView> {
    const be = this.backend;
    const r = await verifyLive({ root: this.root, backend: be });
    return {
      ok: r.ok,
      backend: be.kind,
      drift: r.differences.map((d) => `${d.severity}: ${d.message}`),
      differences: r.differences.map((d) => ({
        ...(d.iface === undefined ? {} : { iface: d.iface }),
        severity: d.severity,
        message: d.message,
      })),
      ...(be.kind === 'none' ? { note: 'backend none: nothing runs, so there is no kernel state to compare' } : {}),
    };
  }
}
