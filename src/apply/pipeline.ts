/**
 * The safe apply pipeline (issue 4): one apply at a time → validate → refuse a hand-edited live
 * file → record history (previous file + running state) → make the new file live atomically →
 * reload → verify → confirm window (journal + detached guard) or commit.
 *
 * `rollback` and the guard's automatic rollback go through the same lock, history, swap, reload
 * and verification.
 *
 * These are the effects; callers go through service.ts (the decisions shared by the CLI and the
 * API). The lock is apply-lock.ts, the settling and verification after a reload settle.ts; the
 * pure parts are plan.ts (what to reload), lockout.ts (the lock-out rule) and models.ts.
 */
import { promises as fs } from 'node:fs';
import { NetworkCore } from '../core/network.ts';
import { NodenetError } from '../errors.ts';
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { hasErrors } from '../interfaces/diagnostic.ts';
import { atomicRemove, atomicWrite, fsyncDir, keepMode, readOptional } from '../store/atomic.ts';
import { pathsFor } from '../store/paths.ts';
import { ConfigStore, liveMode, sha256 } from '../store/store.ts';
import { readSourced } from '../store/sources.ts';
import { refuseIfPending, withApplyLock } from './apply-lock.ts';
import type { Backend, ReloadPlan, ReloadResult } from './backend.ts';
import {
  bootId,
  guardAlive,
  journalExpired,
  readJournal,
  removeJournal,
  spawnGuard,
  writeJournal,
  type PendingJournal,
} from './guard.ts';
import {
  createEntry,
  listHistory,
  readMeta,
  readPrevious,
  readStateBefore,
  setOutcome,
  type HistoryMeta,
} from './history.ts';
import { lockoutRisk, lockoutRule, type Connection } from './lockout.ts';
import { modelOf, nicsOf } from './models.ts';
import { hookChanged, planApply, recordAppliedSources, restrictModel, scopeOf, type ReloadMode } from './plan.ts';
import { repairLowMtu, replugGuests, settleAndVerify, type Log } from './settle.ts';
import { verifyState, type VerifyResult } from './verify.ts';

export { changedInterfaces, hookChanged, hooksOf, needsDownFirst, planReload } from './plan.ts';
export { modelOf, nicsOf } from './models.ts';
export { judgeVerify, verifyLive, type JudgedVerify, type Log } from './settle.ts';

/**
 * A NetworkCore per root for callers that pass none (the guard, tests): it knows no NICs or
 * link state of a host. Callers that edit pass their own ({@link ApplyOptions.core}), so what is
 * applied is validated against the same host as the edit was.
 */
const cores = new Map<string, NetworkCore>();
function coreFor(o: { root: string; core?: NetworkCore | undefined }): NetworkCore {
  if (o.core !== undefined) return o.core;
  let c = cores.get(o.root);
  if (c === undefined) {
    c = new NetworkCore({ root: o.root });
    cores.set(o.root, c);
  }
  return c;
}

// ---------------------------------------------------------------- lock-out pre-check

/** A lock-out decision made before the apply (to refuse it before a task starts), for one pair of texts. */
export interface LockoutChecked {
  /** Digest of the live and the target text it was decided for. */
  pair: string;
  risk: string | null;
}

function pairOf(live: string, target: string): string {
  return sha256(`${sha256(live)} ${sha256(target)}`);
}

/** The lock-out risk of applying what is staged now (the live file when nothing is), not yet judged. */
export async function stagedLockoutRisk(o: {
  root: string;
  core?: NetworkCore;
  connection: Connection;
}): Promise<LockoutChecked> {
  const snap = await coreFor(o).store.read();
  const target = snap.staged ?? snap.live;
  return { pair: pairOf(snap.live, target), risk: lockoutRisk(modelOf(snap.live), modelOf(target), o.connection) };
}

/**
 * Decides the lock-out rule ({@link lockoutRule}) for applying what is staged now. The apply
 * given the result does not decide it again when it applies the same texts; when the files
 * changed in between, it decides afresh under the apply lock.
 */
export async function precheckLockout(o: {
  root: string;
  core?: NetworkCore;
  connection: Connection;
  confirmTimeout?: number;
}): Promise<LockoutChecked> {
  const c = await stagedLockoutRisk(o);
  return { pair: c.pair, risk: lockoutRule(c.risk, o.confirmTimeout) };
}

// ---------------------------------------------------------------- apply

export interface ApplyOptions {
  root: string;
  backend: Backend;
  /** Seconds; when set, the apply is rolled back unless confirmed within them. */
  confirmTimeout?: number;
  user: string;
  log: Log;
  /** Apply even though the live file was edited by hand since staging. */
  force?: boolean;
  /** `targeted` (default): only what changed, see {@link planReload}; `all`: `ifreload -a`. */
  reload?: ReloadMode;
  /**
   * The admin's own connection (API socket, SSH_CONNECTION). A change that touches it is
   * refused without a confirm window.
   */
  connection?: Connection;
  /** The lock-out rule as {@link precheckLockout} decided it for `connection` (not decided twice). */
  lockoutChecked?: LockoutChecked;
  /** The caller's core (its NICs and link state): what is applied is validated as it was edited. */
  core?: NetworkCore;
  /** Starts the guard (default: a detached process); tests replace it. */
  startGuard?: (root: string, j: PendingJournal) => number | undefined;
}

export interface ApplyResult {
  entry: HistoryMeta;
  reload: ReloadResult;
  verify: VerifyResult;
  /** Set when a confirm window is open. */
  journal?: PendingJournal;
  diagnostics: Diagnostic[];
}

interface Target {
  text: string;
  action: 'apply' | 'rollback';
  rollbackOf?: number;
  /** For apply: the staged file is renamed over the live one. */
  fromStaged: boolean;
}

async function applyTarget(
  o: ApplyOptions,
  pick: (root: string) => Promise<{ target: Target; diagnostics: Diagnostic[] }>,
): Promise<ApplyResult> {
  const { root, backend, log } = o;
  const paths = pathsFor(root);
  const store = new ConfigStore(root);
  return withApplyLock(root, { user: o.user, what: 'apply' }, 0, async () => {
    refuseIfPending(await readJournal(root));
    const { target, diagnostics } = await pick(root);
    const snap = await store.read();
    const before = modelOf(snap.live);
    const after = modelOf(target.text);
    // the whole configuration: the main file and what its source lines include (plan.ts)
    const planned = await planApply({
      paths,
      beforeText: snap.live,
      before,
      afterText: target.text,
      after,
      ...(o.reload === undefined ? {} : { mode: o.reload }),
    });
    const changed = planned.changed;
    if (o.connection) {
      const checked = o.lockoutChecked?.pair === pairOf(snap.live, target.text) ? o.lockoutChecked : undefined;
      const risk =
        checked !== undefined ? checked.risk : lockoutRule(lockoutRisk(before, after, o.connection), o.confirmTimeout);
      if (risk) log(`lock-out warning: ${risk}; the confirm window protects you`);
    }
    log(`changed interfaces: ${changed.length ? changed.join(' ') : '(none)'}`);
    for (const l of planned.notes) log(l);
    log(`backend: ${await backend.describe()}`);
    // A backend with a fixed set of NICs (the netns sandbox once made) gets no card for a name
    // only the new file uses: a typo in a port stays a missing port, as on real hardware, and
    // verify reports it. The first apply makes the sandbox with the NICs both files name.
    const fixed = (await backend.nics?.()) ?? null;
    // NICs, state and verification over the whole configuration: the main file and its sourced
    // files (an interface in interfaces.d/ is brought up, and can be broken, as any other)
    await backend.prepare(fixed === null ? nicsOf(planned.before, planned.after) : nicsOf(planned.before));
    // a targeted reload reads (and records) the state of what it touches only
    const scope = scopeOf(planned.plan, planned.before, planned.after);
    const stateBefore = await backend.readState(scope);
    // drift already there before this apply: reported after it, never blamed on it
    const verifyBefore =
      backend.kind === 'none'
        ? undefined
        : verifyState(scope === undefined ? planned.before : restrictModel(planned.before, scope), stateBefore);
    // The live file's mode and owner (a 0600 file stays 0600): for the history copies and the swap.
    const perm = await liveMode(paths.interfaces);
    const entry = await createEntry(paths.varLib, {
      mode: perm,
      action: target.action,
      ...(target.rollbackOf === undefined ? {} : { rollbackOf: target.rollbackOf }),
      user: o.user,
      previous: snap.live,
      applied: target.text,
      digestBefore: snap.liveDigest,
      digestAfter: sha256(target.text),
      changed,
      ...(planned.sourced.length
        ? { sources: Object.fromEntries(planned.sourced.map((f) => [f.name, sha256(f.text)])) }
        : {}),
      stateBefore,
    });
    log(`history: recorded entry #${entry.id} (previous file and running state)`);
    // the confirm-window journal exists before the file changes: a crash from here on is rolled back
    let journal: PendingJournal | undefined;
    if (o.confirmTimeout !== undefined) {
      journal = {
        id: entry.id,
        deadline: Date.now() + o.confirmTimeout * 1000,
        previousDigest: snap.liveDigest,
        appliedDigest: entry.digestAfter,
        backend: backend.kind,
        user: o.user,
        bootId: bootId(),
      };
      await writeJournal(root, journal);
    }
    await store.locked(async () => {
      if (target.fromStaged) {
        const now = await readOptional(paths.staged);
        if (now !== target.text)
          throw new NodenetError('STALE', 'the staged file changed during apply; run apply again');
        await keepMode(paths.staged, perm);
        await fs.rename(paths.staged, paths.interfaces);
        await fsyncDir(paths.etcNetwork);
        await atomicRemove(paths.stagedMeta);
      } else {
        await atomicWrite(paths.interfaces, target.text, perm);
      }
    });
    log(
      `live: ${target.fromStaged ? 'interfaces.new renamed over interfaces' : 'interfaces written'} (${entry.digestAfter.slice(0, 12)}…)`,
    );
    if (journal !== undefined) {
      // the guard starts before the reload, so a hang or kill during the reload is covered too
      const pid = (o.startGuard ?? ((r, j) => spawnGuard(r, j.backend, j.id)))(root, journal);
      if (pid !== undefined) journal = { ...journal, guardPid: pid };
      await writeJournal(root, journal);
      log(
        `confirm window: ${o.confirmTimeout} s (until ${new Date(journal.deadline).toISOString()}), guard pid ${pid ?? '?'}`,
      );
    }
    const plan: ReloadPlan = planned.plan;
    log(
      'all' in plan
        ? `reload: all interfaces (${planned.reason ?? 'asked for'})`
        : `reload: targeted: down ${plan.down.join(' ') || '(none)'}, up ${plan.up.join(' ') || '(none)'}`,
    );
    if ('all' in plan) {
      const hooks = hookChanged(planned.before, planned.after);
      if (hooks.length) {
        log(`reload: ${hooks.join(' ')} changed hook lines or bond mode: taking them down with the old config first`);
        await backend.reload({ up: [], down: hooks }, (l) => log(`  ${l}`));
      }
    }
    const reload = await backend.reload(plan, (l) => log(`  ${l}`));
    await recordAppliedSources(paths.varLib, planned.sourced);
    for (const e of reload.errors)
      log(`reload ${e.severity}${e.iface === undefined ? '' : ` (${e.iface})`}: ${e.message}`);
    log(`reload: exit ${reload.code}`);
    const replugged = await replugGuests(backend, stateBefore, planned.after, log, scope);
    const settled = await repairLowMtu(backend, planned.after, log, scope, replugged);
    const verify = await settleAndVerify(backend, planned.after, log, {
      scope,
      first: settled,
      before: verifyBefore,
      changed,
    });
    const crit = verify.caused.map((d) => d.message);
    const failed = verify.caused.length > 0;
    if (journal !== undefined) {
      if (failed) {
        log('verification failed inside the confirm window: rolling back now');
        await rollbackLocked({ root, backend, log, reason: `verification failed: ${crit.join('; ')}`, journal });
        const m = (await readMeta(paths.varLib, entry.id)) ?? entry;
        return { entry: m, reload, verify, diagnostics };
      }
      await setOutcome(paths.varLib, entry.id, 'pending-confirm');
      log(`waiting for \`nodenet confirm\` within ${o.confirmTimeout} s`);
      const m = (await readMeta(paths.varLib, entry.id)) ?? entry;
      return { entry: m, reload, verify, journal, diagnostics };
    }
    await setOutcome(paths.varLib, entry.id, !failed ? 'committed' : 'failed', !failed ? undefined : crit.join('; '));
    log(
      !failed
        ? `committed entry #${entry.id}`
        : `entry #${entry.id} failed verification; the new file stays live (use a confirm window to roll back automatically)`,
    );
    const m = (await readMeta(paths.varLib, entry.id)) ?? entry;
    return { entry: m, reload, verify, diagnostics };
  });
}

/** Makes the staged file live (see the module comment). */
export async function applyStaged(o: ApplyOptions): Promise<ApplyResult> {
  return applyTarget(o, async () => {
    const core = coreFor(o);
    const snap = await core.store.read();
    if (snap.staged === null) {
      // nothing staged: reload the live file and verify it (repairs drift)
      o.log('nothing staged: re-applying the live file');
      const diagnostics = await core.diagnose(snap.live, 'interfaces');
      if (hasErrors(diagnostics))
        throw new NodenetError('INVALID', 'the live configuration has errors; apply refused', { diagnostics });
      return { target: { text: snap.live, action: 'apply', fromStaged: false }, diagnostics };
    }
    o.log('validate: checking the staged file');
    const diagnostics = await core.diagnose(snap.staged, 'interfaces.new');
    if (hasErrors(diagnostics)) {
      throw new NodenetError('INVALID', 'the staged configuration has errors; apply refused', { diagnostics });
    }
    if (snap.liveChangedSinceStaging && o.force !== true) {
      throw new NodenetError(
        'LIVE_CHANGED',
        'the live file etc/network/interfaces was edited by hand after the changes were staged; review `nodenet diff`, then `nodenet revert` or apply with --force',
      );
    }
    return { target: { text: snap.staged, action: 'apply', fromStaged: true }, diagnostics };
  });
}

/** Restores the file that was live before history entry `id` (default: the latest) as a new apply. */
export async function rollbackTo(o: ApplyOptions & { id?: number }): Promise<ApplyResult> {
  return applyTarget(o, async (root) => {
    const varLib = pathsFor(root).varLib;
    const list = await listHistory(varLib);
    const meta = o.id === undefined ? list[list.length - 1] : list.find((m) => m.id === o.id);
    if (meta === undefined)
      throw new NodenetError(
        'NOT_FOUND',
        o.id === undefined ? 'the history is empty: nothing to roll back' : `no history entry #${o.id}`,
      );
    const text = await readPrevious(varLib, meta.id);
    if (text === null) throw new NodenetError('IO', `history entry #${meta.id} has no saved file`);
    const diagnostics = await coreFor(o).diagnose(text, 'interfaces');
    o.log(`rollback: restoring the file live before entry #${meta.id} (${meta.digestBefore.slice(0, 12)}…)`);
    return { target: { text, action: 'rollback', rollbackOf: meta.id, fromStaged: false }, diagnostics };
  });
}

// ---------------------------------------------------------------- confirm window end

async function rollbackLocked(o: {
  root: string;
  backend: Backend;
  log: Log;
  reason: string;
  journal: PendingJournal;
  noReload?: boolean;
}): Promise<void> {
  const { root, backend, log, journal } = o;
  const paths = pathsFor(root);
  const previous = await readPrevious(paths.varLib, journal.id);
  if (previous === null)
    throw new NodenetError('IO', `history entry #${journal.id} has no saved file; cannot roll back`);
  const current = (await readOptional(paths.interfaces)) ?? '';
  await backendPrepare(backend, current, previous);
  await new ConfigStore(root).locked(async () =>
    atomicWrite(paths.interfaces, previous, await liveMode(paths.interfaces)),
  );
  log(`rollback: restored the previous file (${sha256(previous).slice(0, 12)}…): ${o.reason}`);
  let detail = o.reason;
  if (o.noReload !== true) {
    const r = await backend.reload({ all: true }, (l) => log(`  ${l}`));
    await recordAppliedSources(paths.varLib, await readSourced(paths, modelOf(previous).sources));
    log(`rollback reload: exit ${r.code}`);
    // what did not come up before the apply either is not blamed on the rollback
    const stateBefore = await readStateBefore(paths.varLib, journal.id).catch(() => null);
    const restored = modelOf(previous);
    const v = await settleAndVerify(backend, restored, log, {
      before: stateBefore === null ? undefined : verifyState(restored, stateBefore),
    });
    if (v.caused.length > 0)
      detail += ` (the restored file did not verify: ${v.caused.map((d) => d.message).join('; ')})`;
  } else {
    detail += ' (restored without reload)';
  }
  await setOutcome(paths.varLib, journal.id, 'rolled-back', detail);
  await removeJournal(root);
}

async function backendPrepare(backend: Backend, a: string, b: string): Promise<void> {
  await backend.prepare(nicsOf(modelOf(a), modelOf(b)));
}

/**
 * Rolls back the pending apply (the guard at the deadline, `rollback --if-unconfirmed`, a
 * failed verification). Returns false when nothing was pending (confirmed meanwhile).
 */
export async function rollbackPending(o: {
  root: string;
  backend: Backend;
  reason: string;
  log: Log;
  /** Only this entry (the guard's). */
  onlyId?: number;
  /** Only when the window is over (deadline passed, guard gone, other boot). */
  ifExpired?: boolean;
  /** Restore the file without reloading (at boot, before networking starts). */
  noReload?: boolean;
  user?: string;
}): Promise<boolean> {
  return withApplyLock(
    o.root,
    { user: o.user ?? 'guard', what: 'rollback of an unconfirmed apply' },
    10 * 60_000,
    async () => {
      const j = await readJournal(o.root);
      if (j === null) return false;
      if (o.onlyId !== undefined && j.id !== o.onlyId) return false;
      if (o.ifExpired === true && !journalExpired(j)) return false;
      await rollbackLocked({
        root: o.root,
        backend: o.backend,
        log: o.log,
        reason: o.reason,
        journal: j,
        ...(o.noReload === undefined ? {} : { noReload: o.noReload }),
      });
      return true;
    },
  );
}

/** Keeps the pending apply: removes the journal and stops the guard. */
export async function confirmApply(o: { root: string; user: string }): Promise<HistoryMeta> {
  return withApplyLock(o.root, { user: o.user, what: 'confirm' }, 30_000, async () => {
    const j = await readJournal(o.root);
    if (j === null)
      throw new NodenetError(
        'NO_CHANGES',
        'no apply awaits confirmation (already confirmed, or rolled back: see `nodenet history`)',
      );
    await removeJournal(o.root);
    const varLib = pathsFor(o.root).varLib;
    await setOutcome(varLib, j.id, 'committed', `confirmed by ${o.user}`);
    if (j.guardPid !== undefined) {
      try {
        // only when it still is the guard (pids are recycled)
        if (guardAlive(j.guardPid)) process.kill(j.guardPid, 'SIGTERM');
      } catch {
        // gone already; it would exit on its own when it sees no journal
      }
    }
    const m = await readMeta(varLib, j.id);
    if (m === null) throw new NodenetError('IO', `history entry #${j.id} is missing`);
    return m;
  });
}
