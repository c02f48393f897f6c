/**
 * The apply lock: one apply, rollback or confirm at a time per root. It is a `store/lock.ts`
 * lock directory under var/lib/nodenet with an `info.json` saying who holds it, so a refused
 * caller is told what runs, by whom and since when.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { NodenetError } from '../errors.ts';
import { readOptional } from '../store/atomic.ts';
import { withLock } from '../store/lock.ts';
import { pathsFor } from '../store/paths.ts';
import type { PendingJournal } from './guard.ts';

function applyLockPath(root: string): string {
  return join(pathsFor(root).varLib, 'apply.lock');
}

interface RunningInfo {
  pid: number;
  user: string;
  what: string;
  since: string;
}

async function holder(path: string): Promise<RunningInfo | undefined> {
  const t = await readOptional(join(path, 'info.json')).catch(() => null);
  try {
    return t === null ? undefined : (JSON.parse(t) as RunningInfo);
  } catch {
    return undefined;
  }
}

/** Runs `fn` as the only apply/rollback/confirm. `waitMs` 0: refuse at once when one runs. */
export async function withApplyLock<T>(
  root: string,
  info: { user: string; what: string },
  waitMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const path = applyLockPath(root);
  // A LOCKED thrown before `fn` ran is the lock's own timeout; one from inside `fn` (a pending
  // confirm window) is the caller's and passes through unchanged.
  let entered = false;
  try {
    return await withLock(
      path,
      async () => {
        entered = true;
        const ri: RunningInfo = { pid: process.pid, since: new Date().toISOString(), ...info };
        await fs.writeFile(join(path, 'info.json'), JSON.stringify(ri));
        return fn();
      },
      waitMs,
      'apply',
    );
  } catch (e) {
    if (entered || !(e instanceof NodenetError) || e.code !== 'LOCKED') throw e;
    const ri = await holder(path);
    const who = ri === undefined ? e.message : `${ri.what} by ${ri.user} (pid ${ri.pid}, since ${ri.since})`;
    throw new NodenetError('LOCKED', `another apply is running: ${who}; wait for it to finish`);
  }
}

/** An open confirm window blocks every other apply until it is confirmed or rolled back. */
export function refuseIfPending(j: PendingJournal | null): void {
  if (j === null) return;
  throw new NodenetError(
    'LOCKED',
    `apply #${j.id} by ${j.user} awaits confirmation until ${new Date(j.deadline).toISOString()}; run \`nodenet confirm\` to keep it or \`nodenet rollback\` to undo it first`,
  );
}
