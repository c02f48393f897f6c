import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { NodenetError } from '../errors.ts';

/** How long a writer waits for the lock: PVE uses 10 s for the same file lock. */
export const LOCK_TIMEOUT_MS = 10_000;
/** Poll interval while waiting; short, because critical sections are a few milliseconds. */
const POLL_MS = 5;
/**
 * A lock directory without a pid file older than this is stale: its owner was killed between
 * `mkdir` and the pid write (microseconds apart), so no live owner is that slow.
 */
export const NO_PID_STALE_MS = 5_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Break a stale lock. Rename first so two breakers cannot both win; if what was renamed is no
 * longer the directory judged stale (another breaker was faster and a new owner has taken the
 * lock since), it is put back.
 */
async function breakStale(path: string, ino: number): Promise<void> {
  const stale = `${path}.stale-${process.pid}`;
  if (
    !(await fs.rename(path, stale).then(
      () => true,
      () => false,
    ))
  )
    return;
  const st = await fs.stat(stale).catch(() => null);
  if (st && st.ino !== ino) {
    await fs.rename(stale, path).catch(() => undefined);
    return;
  }
  await fs.rm(stale, { recursive: true, force: true });
}

/**
 * Run `fn` holding the cross-process lock at `path` (a directory created with mkdir, which
 * is atomic; the owner's pid inside lets a later process break the lock of a dead owner, and
 * a directory left without a pid for {@link NO_PID_STALE_MS} is broken by its age). The pid
 * file is created exclusively, so if a breaker took a fresh directory for stale, whoever
 * writes the pid first owns the lock and the other tries again.
 * @throws NodenetError('LOCKED') after `timeoutMs`
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = LOCK_TIMEOUT_MS,
  what = 'the configuration',
): Promise<T> {
  await fs.mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  const owner = join(path, 'pid');
  for (;;) {
    try {
      await fs.mkdir(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = await fs.stat(path).catch(() => null);
      const pid = Number((await fs.readFile(owner, 'utf8').catch(() => '')).trim());
      // The owner died holding the lock, or was killed before it wrote its pid: break it.
      if (st && ((pid > 0 && !alive(pid)) || (!(pid > 0) && Date.now() - st.mtimeMs > NO_PID_STALE_MS))) {
        await breakStale(path, st.ino);
        continue;
      }
      if (Date.now() > deadline)
        throw new NodenetError(
          'LOCKED',
          `${what} is locked by another nodenet process${pid > 0 ? ` (pid ${pid})` : ''}; try again in a moment`,
        );
      await new Promise((r) => setTimeout(r, POLL_MS + Math.random() * POLL_MS));
      continue;
    }
    try {
      await fs.writeFile(owner, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      // Our directory was broken as stale before the pid was in it (ENOENT), or its new owner
      // wrote its pid first (EEXIST): not ours, try again.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EEXIST') throw e;
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(path, { recursive: true, force: true });
  }
}
