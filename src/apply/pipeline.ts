/**
 * The safe apply pipeline (issue 4): one apply at a time → validate → refuse a hand-edited live
 * file → record history (previous file + running state) → make the new file live atomically →
 * reload → verify → confirm window (journal + detached guard) or commit.
 *
 * `rollback` and the guard's automatic rollback go through the same lock, history, swap, reload
 * and verification.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { NetworkCore } from '../core/network.ts';
import { NodenetError } from '../errors.ts';
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { hasErrors } from '../interfaces/diagnostic.ts';
import { parse } from '../interfaces/parser.ts';
import { PHYSICAL_NIC_RE, buildModel } from '../model/build.ts';
import { guestPortsToReplug } from './guests.ts';
import { lockoutRisk, type Connection } from './lockout.ts';
import type { Iface, Model } from '../model/types.ts';
import { atomicRemove, atomicWrite, fsyncDir, readOptional } from '../store/atomic.ts';
import { withLock } from '../store/lock.ts';
import { pathsFor } from '../store/paths.ts';
import { ConfigStore, sha256 } from '../store/store.ts';
import type { Backend, ReloadPlan, ReloadResult } from './backend.ts';
import type { KernelState } from './state.ts';
import { bootId, guardAlive, journalExpired, readJournal, removeJournal, spawnGuard, writeJournal, type PendingJournal } from './guard.ts';
import { createEntry, listHistory, readMeta, readPrevious, readStateBefore, setOutcome, type HistoryMeta } from './history.ts';
import { verifyState, type VerifyDifference, type VerifyResult } from './verify.ts';

export type Log = (line: string) => void;

export function modelOf(text: string): Model {
  return buildModel(parse(text, 'interfaces'));
}

/** Physical NIC names a config mentions (the netns backend makes a veth for each). */
export function nicsOf(...models: Model[]): string[] {
  const out = new Set<string>();
  for (const m of models) {
    for (const i of m.ifaces.values()) {
      if (PHYSICAL_NIC_RE.test(i.name)) out.add(i.name);
      for (const p of [...(i.bridge?.ports ?? []), ...(i.bond?.slaves ?? [])]) if (PHYSICAL_NIC_RE.test(p)) out.add(p);
      if (i.vlan?.rawDevice !== undefined && PHYSICAL_NIC_RE.test(i.vlan.rawDevice)) out.add(i.vlan.rawDevice);
    }
  }
  return [...out].sort();
}

function ifaceKey(m: Model, name: string): string | undefined {
  const i = m.ifaces.get(name);
  if (i === undefined) return m.autoOnly.has(name) ? 'auto-only' : undefined;
  return JSON.stringify([i.kind, i.autostart, i.hotplug, i.classes, i.stanzas.map((s) => [s.family, s.method]), i.options.map((o) => [o.key, o.value])]);
}

/** Interfaces added, removed or changed between two files, sorted. */
export function changedInterfaces(before: Model, after: Model): string[] {
  const names = new Set([...before.ifaces.keys(), ...after.ifaces.keys(), ...before.autoOnly.keys(), ...after.autoOnly.keys()]);
  return [...names].filter((n) => ifaceKey(before, n) !== ifaceKey(after, n)).sort();
}

// ---------------------------------------------------------------- the apply lock

function applyLockPath(root: string): string {
  return join(pathsFor(root).varLib, 'apply.lock');
}

interface RunningInfo {
  pid: number;
  user: string;
  what: string;
  since: string;
}

/** Runs `fn` as the only apply/rollback/confirm. `waitMs` 0: refuse at once when one runs. */
async function withApplyLock<T>(root: string, info: { user: string; what: string }, waitMs: number, fn: () => Promise<T>): Promise<T> {
  const path = applyLockPath(root);
  try {
    return await withLock(
      path,
      async () => {
        const ri: RunningInfo = { pid: process.pid, since: new Date().toISOString(), ...info };
        await fs.writeFile(join(path, 'info.json'), JSON.stringify(ri));
        return fn();
      },
      waitMs,
      'apply',
    );
  } catch (e) {
    // only the lock's own timeout; a LOCKED from inside fn (a pending confirm window) passes through
    if (e instanceof NodenetError && e.code === 'LOCKED' && e.message.includes('locked by another nodenet process')) {
      const t = await readOptional(join(path, 'info.json')).catch(() => null);
      let ri: RunningInfo | undefined;
      try {
        ri = t === null ? undefined : (JSON.parse(t) as RunningInfo);
      } catch {
        ri = undefined;
      }
      const who = ri === undefined ? e.message : `${ri.what} by ${ri.user} (pid ${ri.pid}, since ${ri.since})`;
      throw new NodenetError('LOCKED', `another apply is running: ${who}; wait for it to finish`);
    }
    throw e;
  }
}

function refuseIfPending(j: PendingJournal | null): void {
  if (j === null) return;
  throw new NodenetError(
    'LOCKED',
    `apply #${j.id} by ${j.user} awaits confirmation until ${new Date(j.deadline).toISOString()}; run \`nodenet confirm\` to keep it or \`nodenet rollback\` to undo it first`,
  );
}

// ---------------------------------------------------------------- verification

/**
 * A verification judged by what the apply changed: a critical difference is the apply's own
 * (`caused`) unless it names an interface the apply did not change and the same difference was
 * there before the apply (`preexisting`: drift the apply found, reported but never a reason to
 * roll back or to call the apply failed).
 */
export interface JudgedVerify extends VerifyResult {
  caused: VerifyDifference[];
  preexisting: VerifyDifference[];
}

export function judgeVerify(r: VerifyResult, before: VerifyResult | undefined, changed: readonly string[]): JudgedVerify {
  const had = new Set((before?.differences ?? []).filter((d) => d.severity === 'critical').map((d) => d.message));
  const touched = new Set(changed);
  const caused: VerifyDifference[] = [];
  const preexisting: VerifyDifference[] = [];
  for (const d of r.differences) {
    if (d.severity !== 'critical') continue;
    if (had.has(d.message) && (d.iface === undefined || !touched.has(d.iface))) preexisting.push(d);
    else caused.push(d);
  }
  return { ...r, caused, preexisting };
}

async function settleAndVerify(backend: Backend, model: Model, log: Log, before?: VerifyResult, changed: readonly string[] = []): Promise<JudgedVerify> {
  if (backend.kind === 'none') {
    log('verify: skipped (backend none reloads nothing)');
    return { ok: true, differences: [], caused: [], preexisting: [] };
  }
  // linkwatch and DAD settle shortly after a reload (research §5.8): retry a critical result briefly
  let r = judgeVerify(verifyState(model, await backend.readState()), before, changed);
  for (let i = 0; i < 3 && r.caused.length > 0; i++) {
    await new Promise((res) => setTimeout(res, 500));
    r = judgeVerify(verifyState(model, await backend.readState()), before, changed);
  }
  const pre = new Set(r.preexisting);
  for (const d of r.differences) log(`verify: ${pre.has(d) ? 'drift from before this apply (not touched by it, not a reason to roll back)' : d.severity}: ${d.message}`);
  if (r.caused.length > 0) log(`verify: FAILED (${r.caused.length} critical caused by this apply)`);
  else if (r.preexisting.length > 0) log(`verify: ok for this apply; ${r.preexisting.length} difference(s) existed before it on interfaces it did not change (see \`nodenet verify\`)`);
  else log('verify: ok');
  return r;
}

/** Compares the kernel with the live file (`nodenet verify`). */
export async function verifyLive(opts: { root: string; backend: Backend; log?: Log }): Promise<VerifyResult> {
  if (opts.backend.kind === 'none') return { ok: true, differences: [] };
  const store = new ConfigStore(opts.root);
  const snap = await store.read();
  const model = modelOf(snap.live);
  await opts.backend.prepare(nicsOf(model));
  const r = verifyState(model, await opts.backend.readState());
  return r;
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
  reload?: 'targeted' | 'all';
  /**
   * The admin's own connection (API socket, SSH_CONNECTION). A change that touches it is
   * refused without a confirm window.
   */
  connection?: Connection;
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

async function applyTarget(o: ApplyOptions, pick: (root: string) => Promise<{ target: Target; diagnostics: Diagnostic[] }>): Promise<ApplyResult> {
  const { root, backend, log } = o;
  const paths = pathsFor(root);
  const store = new ConfigStore(root);
  return withApplyLock(root, { user: o.user, what: 'apply' }, 0, async () => {
    refuseIfPending(await readJournal(root));
    const { target, diagnostics } = await pick(root);
    const snap = await store.read();
    const before = modelOf(snap.live);
    const after = modelOf(target.text);
    const changed = changedInterfaces(before, after);
    if (o.connection) {
      const risk = lockoutRisk(before, after, o.connection);
      if (risk && o.confirmTimeout === undefined)
        throw new NodenetError('LOCKOUT', `${risk}; apply it with a confirm window (e.g. --confirm-timeout 120) so the node rolls back by itself if the connection is lost`, {
          errors: { 'confirm-timeout': risk },
        });
      if (risk) log(`lock-out warning: ${risk}; the confirm window protects you`);
    }
    log(`changed interfaces: ${changed.length ? changed.join(' ') : '(none)'}`);
    log(`backend: ${await backend.describe()}`);
    await backend.prepare(nicsOf(before, after));
    const stateBefore = await backend.readState();
    // drift already there before this apply: reported after it, never blamed on it
    const verifyBefore = backend.kind === 'none' ? undefined : verifyState(before, stateBefore);
    const entry = await createEntry(paths.varLib, {
      action: target.action,
      ...(target.rollbackOf === undefined ? {} : { rollbackOf: target.rollbackOf }),
      user: o.user,
      previous: snap.live,
      applied: target.text,
      digestBefore: snap.liveDigest,
      digestAfter: sha256(target.text),
      changed,
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
        if (now !== target.text) throw new NodenetError('STALE', 'the staged file changed during apply; run apply again');
        await fs.rename(paths.staged, paths.interfaces);
        await fsyncDir(paths.etcNetwork);
        await atomicRemove(paths.stagedMeta);
      } else {
        await atomicWrite(paths.interfaces, target.text);
      }
    });
    log(`live: ${target.fromStaged ? 'interfaces.new renamed over interfaces' : 'interfaces written'} (${entry.digestAfter.slice(0, 12)}…)`);
    if (journal !== undefined) {
      // the guard starts before the reload, so a hang or kill during the reload is covered too
      const pid = (o.startGuard ?? ((r, j) => spawnGuard(r, j.backend, j.id)))(root, journal);
      if (pid !== undefined) journal = { ...journal, guardPid: pid };
      await writeJournal(root, journal);
      log(`confirm window: ${o.confirmTimeout} s (until ${new Date(journal.deadline).toISOString()}), guard pid ${pid ?? '?'}`);
    }
    const plan: ReloadPlan = o.reload === 'all' ? { all: true } : planReload(before, after);
    log('all' in plan ? 'reload: all interfaces' : `reload: targeted: down ${plan.down.join(' ') || '(none)'}, up ${plan.up.join(' ') || '(none)'}`);
    if ('all' in plan) {
      const hooks = hookChanged(before, after);
      if (hooks.length) {
        log(`reload: ${hooks.join(' ')} changed hook lines or bond mode: taking them down with the old config first`);
        await backend.reload({ up: [], down: hooks }, (l) => log(`  ${l}`));
      }
    }
    const reload = await backend.reload(plan, (l) => log(`  ${l}`));
    for (const e of reload.errors) log(`reload ${e.severity}${e.iface === undefined ? '' : ` (${e.iface})`}: ${e.message}`);
    log(`reload: exit ${reload.code}`);
    await replugGuests(backend, stateBefore, after, log);
    const verify = await settleAndVerify(backend, after, log, verifyBefore, changed);
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
    log(!failed ? `committed entry #${entry.id}` : `entry #${entry.id} failed verification; the new file stays live (use a confirm window to roll back automatically)`);
    const m = (await readMeta(paths.varLib, entry.id)) ?? entry;
    return { entry: m, reload, verify, diagnostics };
  });
}

/** Plug guest ports (VM taps, container veths) back into the bridges a reload took them off. */
async function replugGuests(backend: Backend, before: KernelState, model: Model, log: Log): Promise<void> {
  if (backend.kind === 'none') return;
  const todo = guestPortsToReplug(before, await backend.readState(), model);
  for (const r of todo) {
    const res = await backend.exec(['ip', 'link', 'set', 'dev', r.port, 'master', r.bridge]);
    log(res.code === 0 ? `guests: plugged ${r.port} back into ${r.bridge} (the reload had detached it)` : `guests: could not plug ${r.port} back into ${r.bridge}: ${res.stderr.trim()}`);
  }
}

/** Makes the staged file live (see the module comment). */
export async function applyStaged(o: ApplyOptions): Promise<ApplyResult> {
  return applyTarget(o, async (root) => {
    const core = new NetworkCore({ root });
    const snap = await core.store.read();
    if (snap.staged === null) {
      // nothing staged: reload the live file and verify it (repairs drift)
      o.log('nothing staged: re-applying the live file');
      const diagnostics = await core.diagnose(snap.live, 'interfaces');
      if (hasErrors(diagnostics)) throw new NodenetError('INVALID', 'the live configuration has errors; apply refused', { diagnostics });
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
    if (meta === undefined) throw new NodenetError('NOT_FOUND', o.id === undefined ? 'the history is empty: nothing to roll back' : `no history entry #${o.id}`);
    const text = await readPrevious(varLib, meta.id);
    if (text === null) throw new NodenetError('IO', `history entry #${meta.id} has no saved file`);
    const diagnostics = await new NetworkCore({ root }).diagnose(text, 'interfaces');
    o.log(`rollback: restoring the file live before entry #${meta.id} (${meta.digestBefore.slice(0, 12)}…)`);
    return { target: { text, action: 'rollback', rollbackOf: meta.id, fromStaged: false }, diagnostics };
  });
}

// ---------------------------------------------------------------- confirm window end

async function rollbackLocked(o: { root: string; backend: Backend; log: Log; reason: string; journal: PendingJournal; noReload?: boolean }): Promise<void> {
  const { root, backend, log, journal } = o;
  const paths = pathsFor(root);
  const previous = await readPrevious(paths.varLib, journal.id);
  if (previous === null) throw new NodenetError('IO', `history entry #${journal.id} has no saved file; cannot roll back`);
  const current = (await readOptional(paths.interfaces)) ?? '';
  await backendPrepare(backend, current, previous);
  await new ConfigStore(root).locked(() => atomicWrite(paths.interfaces, previous));
  log(`rollback: restored the previous file (${sha256(previous).slice(0, 12)}…): ${o.reason}`);
  let detail = o.reason;
  if (o.noReload !== true) {
    const r = await backend.reload({ all: true }, (l) => log(`  ${l}`));
    log(`rollback reload: exit ${r.code}`);
    // what did not come up before the apply either is not blamed on the rollback
    const stateBefore = await readStateBefore(paths.varLib, journal.id).catch(() => null);
    const restored = modelOf(previous);
    const v = await settleAndVerify(backend, restored, log, stateBefore === null ? undefined : verifyState(restored, stateBefore));
    if (v.caused.length > 0) detail += ` (the restored file did not verify: ${v.caused.map((d) => d.message).join('; ')})`;
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
  return withApplyLock(o.root, { user: o.user ?? 'guard', what: 'rollback of an unconfirmed apply' }, 10 * 60_000, async () => {
    const j = await readJournal(o.root);
    if (j === null) return false;
    if (o.onlyId !== undefined && j.id !== o.onlyId) return false;
    if (o.ifExpired === true && !journalExpired(j)) return false;
    await rollbackLocked({ root: o.root, backend: o.backend, log: o.log, reason: o.reason, journal: j, ...(o.noReload === undefined ? {} : { noReload: o.noReload }) });
    return true;
  });
}

/** Keeps the pending apply: removes the journal and stops the guard. */
export async function confirmApply(o: { root: string; user: string }): Promise<HistoryMeta> {
  return withApplyLock(o.root, { user: o.user, what: 'confirm' }, 30_000, async () => {
    const j = await readJournal(o.root);
    if (j === null) throw new NodenetError('NO_CHANGES', 'no apply awaits confirmation (already confirmed, or rolled back: see `nodenet history`)');
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

// ---------------------------------------------------------------- targeted reload

function lowersOf(m: Model, name: string): string[] {
  const i = m.ifaces.get(name);
  if (i === undefined) return [];
  return [...(i.bridge?.ports ?? []), ...(i.bond?.slaves ?? []), ...(i.vlan?.rawDevice === undefined ? [] : [i.vlan.rawDevice])].filter((p) => p !== 'none');
}

/**
 * What to reload for a change from `before` to `after`: `ifdown` the removed interfaces, then
 * `ifup -w` the changed auto interfaces and every auto interface above a changed one (bridges on
 * a changed port, VLANs on a changed device). Falls back to `{all: true}` when a targeted reload
 * might not reach the same end state: nothing changed (a re-apply repairs drift everywhere),
 * `source` lines, loopback, `auto`-only lines, a kind change, an interface leaving `auto`, a
 * changed interface with no auto interface to bring it up, or more than half the interfaces.
 */
const HOOK_KEYS = new Set(['pre-up', 'up', 'post-up', 'pre-down', 'down', 'post-down']);

/** The hook lines of an interface, in order, as one comparable string. */
export function hooksOf(i: Iface): string {
  return i.options
    .filter((o) => HOOK_KEYS.has(o.key))
    .map((o) => `${o.key} ${o.value}`)
    .join('\n');
}

/**
 * Whether an interface must be taken down (with its old config) before it comes up again:
 * its hook lines changed (ifupdown2 would not run the old post-down lines), or its bond mode
 * or primary changed (the kernel refuses a mode change while a bond has slaves, and ifupdown2
 * then logs `[Errno 39] Directory not empty` and exits 0; a primary given with a mode change
 * is silently not applied either).
 */
export function needsDownFirst(b: Iface, a: Iface): boolean {
  if (hooksOf(b) !== hooksOf(a)) return true;
  if (b.bond && a.bond && ((b.bond.mode ?? b.bond.modeRaw) !== (a.bond.mode ?? a.bond.modeRaw) || b.bond.primary !== a.bond.primary)) return true;
  return false;
}

/** Auto interfaces (before) that need an ifdown with the old config first. */
export function hookChanged(before: Model, after: Model): string[] {
  const out: string[] = [];
  for (const [n, b] of before.ifaces) {
    const a = after.ifaces.get(n);
    if (a && b.autostart && needsDownFirst(b, a)) out.push(n);
  }
  return out.sort();
}

export function planReload(before: Model, after: Model): ReloadPlan {
  const all: ReloadPlan = { all: true };
  const changed = changedInterfaces(before, after);
  if (changed.length === 0) return all;
  if (before.sources.length > 0 || after.sources.length > 0) return all;
  if (changed.length * 2 > Math.max(before.ifaces.size, after.ifaces.size)) return all;
  const down: string[] = [];
  const up = new Set<string>();
  // uppers: who lists a name as its port/slave/raw device (in the new file)
  const uppers = new Map<string, string[]>();
  for (const n of after.ifaces.keys()) for (const l of lowersOf(after, n)) uppers.set(l, [...(uppers.get(l) ?? []), n]);
  for (const n of changed) {
    if (n === 'lo' || before.autoOnly.has(n) || after.autoOnly.has(n)) return all;
    const b = before.ifaces.get(n);
    const a = after.ifaces.get(n);
    if (a === undefined) {
      if (b?.autostart === true) down.push(n);
      continue;
    }
    if (b !== undefined && (b.kind !== a.kind || (b.autostart && !a.autostart))) return all;
    // Changed hook lines: take it down with the old config first, so its old post-down lines
    // remove what the old post-up lines added (ifupdown2 does not on a reload).
    if (b !== undefined && b.autostart && needsDownFirst(b, a)) down.push(n);
    // this interface (if auto) and every auto interface above it, transitively
    const seen = new Set<string>();
    const stack = [n];
    let reached = false;
    while (stack.length) {
      const x = stack.pop() ?? '';
      if (seen.has(x)) continue;
      seen.add(x);
      if (after.ifaces.get(x)?.autostart === true) {
        up.add(x);
        reached = true;
      }
      stack.push(...(uppers.get(x) ?? []));
    }
    if (!reached) return all;
  }
  return { up: [...up].sort(), down: down.sort() };
}
