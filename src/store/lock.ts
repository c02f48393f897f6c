import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { NodenetError } from '../errors.ts';

/** How long a writer waits for the lock: PVE uses 10 s for the same file lock. */
export const LOCK_TIMEOUT_MS = 10_000;
/** Poll interval while waiting; short, because critical sections are a few milliseconds. */
const POLL_MS = 5;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Run `fn` holding the cross-process lock at `path` (a directory created with mkdir, which
 * is atomic; the owner's pid inside lets a later process break the lock of a dead owner).
 * @throws NodenetError('LOCKED') after `timeoutMs`
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = LOCK_TIMEOUT_MS, what = 'the configuration'): Promise<T> {
  await fs.mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  const owner = join(path, 'pid');
  for (;;) {
    try {
      await fs.mkdir(path);
      await fs.writeFile(owner, `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await fs.readFile(owner, 'utf8').catch(() => '')).trim());
      if (pid > 0 && !alive(pid)) {
        // The owner died holding the lock: break it. Rename first so two breakers cannot both win.
        const stale = `${path}.stale-${process.pid}`;
        await fs.rename(path, stale).then(() => fs.rm(stale, { recursive: true, force: true }), () => undefined);
        continue;
      }
      if (Date.now() > deadline)
        throw new NodenetError('LOCKED', `${what} is locked by another nodenet process${pid > 0 ? ` (pid ${pid})` : ''}; try again in a moment`);
      await new Promise((r) => setTimeout(r, POLL_MS + Math.random() * POLL_MS));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(path, { recursive: true, force: true });
  }
}
