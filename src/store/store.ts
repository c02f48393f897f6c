/**
 * The staged-config store: the live file, `interfaces.new`, digests, one lock, atomic writes.
 * Editing never touches the live file; only apply and rollback do (apply/ layer).
 */
import { createHash } from 'node:crypto';
import { promises as fs, type BigIntStats } from 'node:fs';
import { NodenetError } from '../errors.ts';
import { encodeText } from '../interfaces/bytes.ts';
import { atomicRemove, atomicWrite, modeOf, readOptional, type FileMode } from './atomic.ts';
import { withLock } from './lock.ts';
import type { Paths } from './paths.ts';
import { pathsFor } from './paths.ts';

/** sha256 of a text's bytes as written ({@link encodeText}: bytes that were not UTF-8 count as themselves). */
export function sha256(text: string): string {
  return createHash('sha256').update(encodeText(text)).digest('hex');
}

/** A file's identity for the read cache: inode, size, change and modification time. */
function fileId(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.ctimeNs}:${st.mtimeNs}`;
}

export interface Snapshot {
  live: string;
  /** The staged text, or null when nothing is staged. */
  staged: string | null;
  /** What edits apply to: staged if present, else live. */
  pending: string;
  /** sha256 of `pending`: the digest clients send back. */
  digest: string;
  liveDigest: string;
  /**
   * Set when the live file was edited by hand after the staged change was made
   * (the staged file was based on another live text).
   */
  liveChangedSinceStaging: boolean;
}

interface StagedMeta {
  /** Digest of the live file the staged change was made against. */
  base: string;
}

/** The mode and owner files that become (or were) the live file get: the live file's, else 0644. */
export async function liveMode(path: string): Promise<FileMode> {
  return (await modeOf(path)) ?? { mode: 0o644 };
}

export class ConfigStore {
  readonly paths: Paths;

  constructor(root: string) {
    this.paths = pathsFor(root);
  }

  /**
   * Read live and staged files. A missing live file reads as empty (a fresh root).
   * Files whose identity (inode, size, change time in ns) is unchanged since the last read are
   * not read and hashed again: the API reads the state on every request, and hashing a
   * 4094-interface file costs about a millisecond. Every write here is a rename (new inode),
   * and a hand edit changes the change time.
   */
  async read(): Promise<Snapshot> {
    const [live, staged, metaText] = await Promise.all([
      this.cachedRead(this.paths.interfaces),
      this.cachedRead(this.paths.staged),
      this.cachedRead(this.paths.stagedMeta),
    ]);
    const liveText = live ?? '';
    const pending = staged ?? liveText;
    const liveDigest = this.digestOf(liveText);
    let changed = false;
    if (staged !== null && metaText) {
      try {
        const meta = JSON.parse(metaText) as StagedMeta;
        changed = typeof meta.base === 'string' && meta.base !== liveDigest;
      } catch {
        changed = false;
      }
    }
    return {
      live: liveText,
      staged,
      pending,
      digest: this.digestOf(pending),
      liveDigest,
      liveChangedSinceStaging: changed,
    };
  }

  private files = new Map<string, { id: string; text: string }>();
  private digests = new Map<string, string>();

  private async cachedRead(path: string): Promise<string | null> {
    let st: BigIntStats;
    try {
      st = await fs.stat(path, { bigint: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.files.delete(path);
        return null;
      }
      throw e;
    }
    const id = fileId(st);
    const hit = this.files.get(path);
    if (hit && hit.id === id) return hit.text;
    const text = await readOptional(path);
    if (text === null) this.files.delete(path);
    else this.files.set(path, { id, text });
    return text;
  }

  /** sha256 of a text, remembered for the last few texts (live and staged). */
  private digestOf(text: string): string {
    const hit = this.digests.get(text);
    if (hit) return hit;
    const d = sha256(text);
    if (this.digests.size >= 4) this.digests.delete(this.digests.keys().next().value!);
    this.digests.set(text, d);
    return d;
  }

  /**
   * Under the lock: read, check the expected digest, compute the new pending text, stage it.
   * A no-op stages nothing; a result equal to the live file removes `interfaces.new`.
   * @returns the snapshot after the write and whether anything changed
   * @throws NodenetError('STALE') when `expectedDigest` does not match
   */
  async update(
    fn: (snap: Snapshot) => string | Promise<string>,
    expectedDigest?: string,
  ): Promise<{ before: Snapshot; after: Snapshot; changed: boolean }> {
    return withLock(this.paths.lock, async () => {
      const before = await this.read();
      if (expectedDigest !== undefined && expectedDigest !== before.digest) {
        throw new NodenetError(
          'STALE',
          `the configuration was changed by someone else since you read it (digest ${expectedDigest.slice(0, 12)}… is now ${before.digest.slice(0, 12)}…); reload and retry`,
          { errors: { digest: 'detected modified configuration - file changed by other user? Try again.' } },
        );
      }
      const next = await fn(before);
      if (next === before.pending) return { before, after: before, changed: false };
      await this.stage(next, before);
      return { before, after: await this.read(), changed: true };
    });
  }

  private async stage(next: string, before: Snapshot): Promise<void> {
    if (next === before.live) {
      await atomicRemove(this.paths.staged);
      await atomicRemove(this.paths.stagedMeta);
      return;
    }
    // Keep the original base when a change is already staged, so a later hand edit of the
    // live file is still detected.
    let base = before.liveDigest;
    const oldMeta = before.staged !== null ? await readOptional(this.paths.stagedMeta) : null;
    try {
      if (oldMeta) base = (JSON.parse(oldMeta) as StagedMeta).base ?? base;
    } catch {
      // unreadable meta: start over from the current live file
    }
    const meta = `${JSON.stringify({ base } satisfies StagedMeta)}\n`;
    // Already staged on the same base (every edit after the first): the meta file stays as is.
    if (oldMeta !== meta) await atomicWrite(this.paths.stagedMeta, meta);
    // interfaces.new gets the live file's mode and owner: it becomes the live file on apply.
    const perm = await liveMode(this.paths.interfaces);
    await this.remember(this.paths.staged, next, await atomicWrite(this.paths.staged, next, perm));
  }

  /**
   * Records a file this store just wrote, so that the read after the write need not read it
   * again: only when the file now at `path` is still the one written (same inode, size and
   * modification time), so a hand edit racing the write is read, never masked.
   */
  private async remember(path: string, text: string, written: BigIntStats): Promise<void> {
    const st = await fs.stat(path, { bigint: true });
    if (st.ino === written.ino && st.size === written.size && st.mtimeNs === written.mtimeNs)
      this.files.set(path, { id: fileId(st), text });
  }

  /** Drop the staged change. Returns whether something was staged. */
  async revert(): Promise<boolean> {
    return withLock(this.paths.lock, async () => {
      const had = await atomicRemove(this.paths.staged);
      await atomicRemove(this.paths.stagedMeta);
      return had;
    });
  }

  /** Run `fn` under the store's lock (apply and rollback take it while they swap files). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.paths.lock, fn);
  }
}
