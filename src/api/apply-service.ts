/**
 * What the API needs from the apply pipeline (src/apply/), injected into the server factory,
 * and a built-in implementation for the `none` backend until the real pipeline is wired in.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { NetworkCore } from '../core/network.ts';
import { NodenetError } from '../errors.ts';
import { unifiedDiff } from '../interfaces/diff.ts';
import { atomicRemove, atomicWrite, readOptional } from '../store/atomic.ts';

export interface ApplyOptions {
  /** Seconds to wait for `confirm` before rolling back by itself; absent = no confirm window. */
  confirmTimeout?: number;
  /** Who asked (`user@realm` or a token id), for the history and logs. */
  user: string;
  /** Where from (the client address). */
  source: string;
}

export interface HistoryEntry {
  /** 1 = the most recent applied config. */
  n: number;
  time: string;
  user: string;
  digest: string;
  summary: string;
}

export interface VerifyResult {
  ok: boolean;
  backend: string;
  /** Human-readable differences between the kernel and the live file. */
  drift: string[];
  note?: string;
}

export interface ConfirmResult {
  /** Whether a confirm window was open (and is now closed). */
  confirmed: boolean;
  message: string;
}

/**
 * The apply pipeline as the API sees it. `apply` and `rollback` run inside a task: they
 * stream lines to `log` and resolve when done (reject = task error).
 */
export interface ApplyService {
  /** Backend name for messages (`none`, `netns`, `ifupdown2`). */
  readonly backend: string;
  apply(opts: ApplyOptions, log: (line: string) => void): Promise<void>;
  confirm(opts: { user: string; source: string }): Promise<ConfirmResult>;
  /** Go back to history entry `n` (default 1 = the config before the current one). */
  rollback(opts: { n?: number; user: string; source: string }, log: (line: string) => void): Promise<void>;
  history(): Promise<HistoryEntry[]>;
  verify(): Promise<VerifyResult>;
}

interface StoredEntry extends HistoryEntry {
  file: string;
}

function summarize(before: string, after: string): string {
  const d = unifiedDiff(before, after)
    .split('\n')
    .filter((l) => /^[+-](?![+-]{2})/.test(l));
  const added = d.filter((l) => l.startsWith('+')).length;
  const removed = d.length - added;
  return `+${added} -${removed} lines`;
}

/**
 * The `none` backend: nothing is reloaded. Apply makes the staged file live (atomic rename
 * under the store lock) after a validation check; history lives in
 * ROOT/var/lib/nodenet/api-none-history/. The confirm window is an in-process timer only
 * (the real pipeline's guard survives crashes; this one does not).
 */
export class NoneApplyService implements ApplyService {
  readonly backend = 'none';
  private readonly dir: string;
  private window: { timer: NodeJS.Timeout; previous: string; deadline: number } | undefined;

  constructor(private readonly core: NetworkCore) {
    this.dir = join(core.store.paths.varLib, 'api-none-history');
  }

  private async entries(): Promise<StoredEntry[]> {
    const text = await readOptional(join(this.dir, 'index.json'));
    return text ? (JSON.parse(text) as StoredEntry[]) : [];
  }

  /** Record `text` (the config being replaced) in the history. */
  private async record(text: string, after: string, user: string): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const digest = createHash('sha256').update(text).digest('hex');
    const file = `${Date.now()}-${digest.slice(0, 12)}.interfaces`;
    await atomicWrite(join(this.dir, file), text);
    const list = await this.entries();
    list.unshift({ n: 0, time: new Date().toISOString(), user, digest, summary: `replaced by a change of ${summarize(text, after)}`, file });
    // Keep the last 50 configs.
    for (const old of list.splice(50)) await fs.rm(join(this.dir, old.file), { force: true });
    await atomicWrite(join(this.dir, 'index.json'), JSON.stringify(list.map((e, i) => ({ ...e, n: i + 1 }))));
  }

  async apply(opts: ApplyOptions, log: (line: string) => void): Promise<void> {
    const store = this.core.store;
    log(`backend: none (the file is made live; nothing is reloaded)`);
    const snap = await store.read();
    if (snap.staged === null) {
      log('no changes staged: the live configuration stays as it is');
      return;
    }
    if (snap.liveChangedSinceStaging) throw new NodenetError('LIVE_CHANGED', 'the live file was edited by hand after the changes were staged; revert or re-stage first');
    const diags = await this.core.check();
    const errors = diags.filter((d) => d.severity === 'error');
    for (const d of diags) if (d.severity !== 'info') log(`${d.severity}: ${d.iface ? `${d.iface}: ` : ''}${d.message}`);
    if (errors.length) throw new NodenetError('INVALID', `the staged configuration has ${errors.length} error(s): ${errors[0]!.message}`);
    const previous = await store.locked(async () => {
      const now = await store.read();
      if (now.staged === null || now.digest !== snap.digest) throw new NodenetError('STALE', 'the staged configuration changed while applying; reload and retry');
      await this.record(now.live, now.staged, opts.user);
      await fs.rename(store.paths.staged, store.paths.interfaces);
      await atomicRemove(store.paths.stagedMeta);
      return now.live;
    });
    log(`made etc/network/interfaces live (${summarize(previous, snap.staged)})`);
    if (opts.confirmTimeout !== undefined && opts.confirmTimeout > 0) {
      this.openWindow(previous, opts.confirmTimeout, log);
      log(`confirm within ${opts.confirmTimeout} s (POST .../network/confirm), or the previous configuration comes back`);
    }
  }

  private openWindow(previous: string, seconds: number, log: (line: string) => void): void {
    if (this.window) clearTimeout(this.window.timer);
    const timer = setTimeout(() => {
      this.window = undefined;
      void this.core.store
        .locked(async () => {
          await atomicWrite(this.core.store.paths.interfaces, previous);
        })
        .then(
          () => log('not confirmed in time: the previous configuration was restored'),
          (e: unknown) => log(`rollback after the confirm timeout failed: ${String(e)}`),
        );
    }, seconds * 1000);
    timer.unref();
    this.window = { timer, previous, deadline: Date.now() + seconds * 1000 };
  }

  async confirm(): Promise<ConfirmResult> {
    if (!this.window) return { confirmed: false, message: 'nothing to confirm: no confirm window is open' };
    clearTimeout(this.window.timer);
    this.window = undefined;
    return { confirmed: true, message: 'confirmed: the applied configuration stays' };
  }

  async rollback(opts: { n?: number; user: string; source: string }, log: (line: string) => void): Promise<void> {
    const n = opts.n ?? 1;
    const list = await this.entries();
    const e = list.find((x) => x.n === n);
    if (!e) throw new NodenetError('NOT_FOUND', `no history entry ${n} (there are ${list.length})`, { errors: { n: `no history entry ${n}` } });
    const text = await fs.readFile(join(this.dir, e.file), 'utf8');
    if (this.window) {
      clearTimeout(this.window.timer);
      this.window = undefined;
    }
    await this.core.store.locked(async () => {
      const live = (await readOptional(this.core.store.paths.interfaces)) ?? '';
      await this.record(live, text, opts.user);
      await atomicWrite(this.core.store.paths.interfaces, text);
      await atomicRemove(this.core.store.paths.staged);
      await atomicRemove(this.core.store.paths.stagedMeta);
    });
    log(`backend: none; restored history entry ${n} (${e.time}, digest ${e.digest.slice(0, 12)})`);
  }

  async history(): Promise<HistoryEntry[]> {
    return (await this.entries()).map(({ file: _file, ...rest }) => rest);
  }

  async verify(): Promise<VerifyResult> {
    return { ok: true, backend: 'none', drift: [], note: 'backend none: there is no kernel state to compare with' };
  }
}
