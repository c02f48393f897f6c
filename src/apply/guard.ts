/**
 * The confirm window's journal and its guard.
 *
 * `var/lib/nodenet/pending-apply.json` exists while an apply awaits `nodenet confirm`. A detached
 * guard process (this file run as a script: `node guard.js ROOT BACKEND ID`) sleeps until the
 * deadline and then, unless the journal is gone, rolls back through the same backend. It is a
 * separate process, so it survives `kill -9` of the CLI. If the guard dies too (or the node
 * reboots), `nodenet rollback --if-unconfirmed` (systemd/nodenet-rollback.service at boot) rolls
 * back a journal whose guard is gone or whose deadline passed.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atomicRemove, atomicWrite, readOptional } from '../store/atomic.ts';
import { pathsFor } from '../store/paths.ts';
import type { BackendKind } from './backend.ts';

export interface PendingJournal {
  /** The history entry awaiting confirmation. */
  id: number;
  /** Epoch milliseconds after which the previous file is restored. */
  deadline: number;
  previousDigest: string;
  appliedDigest: string;
  backend: BackendKind;
  user: string;
  /** The guard's pid once started. */
  guardPid?: number;
  /** /proc/sys/kernel/random/boot_id when the window opened: another boot means the guard is gone. */
  bootId: string;
}

export function journalPath(root: string): string {
  return join(pathsFor(root).varLib, 'pending-apply.json');
}

export function guardLogPath(root: string): string {
  return join(pathsFor(root).varLib, 'guard.log');
}

export async function readJournal(root: string): Promise<PendingJournal | null> {
  const t = await readOptional(journalPath(root));
  if (t === null) return null;
  try {
    return JSON.parse(t) as PendingJournal;
  } catch {
    return null;
  }
}

export async function writeJournal(root: string, j: PendingJournal): Promise<void> {
  await atomicWrite(journalPath(root), `${JSON.stringify(j, null, 1)}\n`);
}

export async function removeJournal(root: string): Promise<boolean> {
  return atomicRemove(journalPath(root));
}

export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Whether `pid` is alive and is a nodenet guard (not a recycled pid). */
export function guardAlive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /guard\.(?:ts|js)/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** Whether the journal's window is over: deadline passed, other boot, or the guard is gone. */
export function journalExpired(j: PendingJournal, now = Date.now()): boolean {
  return now >= j.deadline || j.bootId !== bootId() || !guardAlive(j.guardPid);
}

export function guardLog(root: string, line: string): void {
  try {
    appendFileSync(guardLogPath(root), `${new Date().toISOString()} [${process.pid}] ${line}\n`);
  } catch {
    // nowhere to log: the var/lib directory is gone
  }
}

/**
 * The guard script: this file, or — when this module is bundled into another file (the
 * package's dist/cli/main.js) — the bundled guard beside it, dist/apply/guard.js, so that the
 * guard's command line names guard.js ({@link guardAlive}).
 */
export function guardScript(self: string = fileURLToPath(import.meta.url)): string {
  return /[\\/]guard\.(?:ts|js)$/.test(self) ? self : join(dirname(self), '..', 'apply', 'guard.js');
}

const SELF = guardScript();

/** Starts the detached guard for journal entry `id`; returns its pid. */
export function spawnGuard(root: string, backend: BackendKind, id: number): number | undefined {
  const child = spawn(process.execPath, [...loaderArgs(), SELF, root, backend, String(id)], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid;
}

/** The loader flags of this process (tsx when run from source), without -e code, --test, ... */
export function loaderArgs(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (/^(?:--import|--require|-r|--loader|--experimental-loader)=/.test(a)) out.push(a);
    else if (/^(?:--import|--require|-r|--loader|--experimental-loader)$/.test(a) && i + 1 < argv.length)
      out.push(a, argv[++i] ?? '');
  }
  return out;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** The guard's body: wait for the deadline or the journal to go, then roll back. */
export async function runGuard(root: string, backendKind: BackendKind, id: number): Promise<void> {
  guardLog(root, `guard for entry ${id} started (backend ${backendKind})`);
  for (;;) {
    const j = await readJournal(root);
    if (j === null || j.id !== id) {
      guardLog(root, `entry ${id} confirmed or handled elsewhere; guard exits`);
      return;
    }
    const left = j.deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(left, 250));
  }
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const { rollbackPending } = (await import(`./pipeline.${ext}`)) as typeof import('./pipeline.ts');
  const { createBackend } = (await import(`./backend.${ext}`)) as typeof import('./backend.ts');
  const backend = createBackend(backendKind, { root });
  const done = await rollbackPending({
    root,
    backend,
    reason: 'not confirmed before the deadline',
    onlyId: id,
    log: (l) => guardLog(root, l),
  });
  guardLog(root, done ? `entry ${id} rolled back` : `entry ${id}: nothing to roll back`);
}

if (process.argv[1] === SELF) {
  const [root, kind, id] = process.argv.slice(2);
  if (root === undefined || kind === undefined || id === undefined) {
    process.stderr.write('usage: guard ROOT BACKEND ID\n');
    process.exit(2);
  }
  runGuard(root, kind as BackendKind, Number(id)).catch((e: unknown) => {
    guardLog(root, `guard failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  });
}
