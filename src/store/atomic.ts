import { randomBytes } from 'node:crypto';
import { promises as fs, type BigIntStats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Write a file atomically: temp file in the same directory, fsync, rename over the target,
 * fsync the directory. A reader sees the old or the new content, never a torn file, and a
 * crash leaves at most a stray `.name.tmp-*` file.
 * @returns the written file's stat (taken before the rename)
 */
export async function atomicWrite(path: string, content: string | Buffer, mode = 0o644): Promise<BigIntStats> {
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await fs.open(tmp, 'wx', mode);
  let st: BigIntStats;
  try {
    await fh.writeFile(content);
    await fh.sync();
    st = await fh.stat({ bigint: true });
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
  return st;
}

/** Remove a file and fsync its directory; missing files are fine. */
export async function atomicRemove(path: string): Promise<boolean> {
  try {
    await fs.unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  await fsyncDir(dirname(path));
  return true;
}

export async function fsyncDir(dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    await dh.close();
  }
}

/** Read a file as UTF-8, or null when it does not exist. */
export async function readOptional(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
