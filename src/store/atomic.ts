import { randomBytes } from 'node:crypto';
import { promises as fs, type BigIntStats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decodeBytes, encodeText } from '../interfaces/bytes.ts';

/** The permissions a written file gets: a mode, and an owner when it must keep one. */
export interface FileMode {
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * Write a file atomically: temp file in the same directory, fsync, rename over the target,
 * fsync the directory. A reader sees the old or the new content, never a torn file, and a
 * crash leaves at most a stray `.name.tmp-*` file. A string is written with
 * {@link encodeText}, so bytes that were not UTF-8 when read are written back as they were.
 * The file gets exactly `mode` (the umask does not apply) and, when given, the owner.
 * @returns the written file's stat (taken before the rename)
 */
export async function atomicWrite(
  path: string,
  content: string | Buffer,
  mode: number | FileMode = 0o644,
): Promise<BigIntStats> {
  const perm = typeof mode === 'number' ? { mode } : mode;
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fh = await fs.open(tmp, 'wx', perm.mode);
  let st: BigIntStats;
  try {
    // Before any byte is written: a 0600 file's content is never readable under another mode.
    await fh.chmod(perm.mode);
    if (perm.uid !== undefined && perm.gid !== undefined) await keepOwner(fh, perm.uid, perm.gid);
    await fh.writeFile(typeof content === 'string' ? encodeText(content) : content);
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

/** chown; a process that may not give a file away (not root) keeps its own ownership. */
async function keepOwner(fh: fs.FileHandle, uid: number, gid: number): Promise<void> {
  try {
    await fh.chown(uid, gid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  }
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

/**
 * Read a file as text ({@link decodeBytes}: UTF-8, any other byte kept exactly), or null when
 * it does not exist.
 */
export async function readOptional(path: string): Promise<string | null> {
  try {
    return decodeBytes(await fs.readFile(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** The mode and owner of an existing file, or undefined when it does not exist. */
export async function modeOf(path: string): Promise<FileMode | undefined> {
  try {
    const st = await fs.stat(path);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Gives an existing file `perm`'s mode and (when set, and allowed) owner. */
export async function keepMode(path: string, perm: FileMode): Promise<void> {
  const fh = await fs.open(path, 'r');
  try {
    await fh.chmod(perm.mode);
    if (perm.uid !== undefined && perm.gid !== undefined) await keepOwner(fh, perm.uid, perm.gid);
  } finally {
    await fh.close();
  }
}
