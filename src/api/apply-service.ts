/**
 * What the API's routes need from the apply service (src/apply/service.ts), as tasks and JSON
 * views. The adapter over the one service is pipeline-service.ts; the decisions (confirm-timeout,
 * lock-out, which entry a rollback means) are the service's, not the API's.
 */
import type { ReloadMode } from '../apply/plan.ts';
import type { Connection } from '../apply/lockout.ts';
import type { LockoutChecked } from '../apply/pipeline.ts';
import type { ConfirmResult, HistoryEntry, LastOutcome, PendingWindow, VerifyView } from '../apply/service.ts';

export type { ConfirmResult, HistoryEntry, LastOutcome, PendingWindow } from '../apply/service.ts';
export type VerifyResult = VerifyView;

export interface ApplyOptions {
  /** Seconds to wait for `confirm` before rolling back by itself; absent or 0 = no confirm window. */
  confirmTimeout?: number;
  /** Who asked (`user@realm` or a token id), for the history and logs. */
  user: string;
  /** Where from (the client address). */
  source: string;
  /** The connection the request came on (the lock-out rule). */
  connection?: Connection;
  /** The lock-out rule as {@link ApplyService.precheck} decided it (not decided again). */
  checked?: LockoutChecked;
  /** `all`: `ifreload -a` whatever changed. */
  reload?: ReloadMode;
}

/**
 * The apply service as the API sees it. `apply` and `rollback` run inside a task: they
 * stream lines to `log` and resolve when done (reject = task error).
 */
export interface ApplyService {
  /** Backend name for messages (`none`, `netns`, `ifupdown2`). */
  readonly backend: string;
  /** The lock-out risk of applying what is staged, for this connection (null: none). */
  lockout(connection: Connection): Promise<string | null>;
  /** Refuses (HTTP 400, `errors['confirm-timeout']`) an apply that needs a window it was not given. */
  precheck(opts: ApplyOptions): Promise<LockoutChecked | undefined>;
  apply(opts: ApplyOptions, log: (line: string) => void): Promise<void>;
  confirm(opts: { user: string; source: string }): Promise<ConfirmResult>;
  /** Roll back: to entry `id`, to position `n` (1 = newest), or the pending apply (see resolveRollbackTarget). */
  rollback(opts: { n?: number; id?: number; user: string; source: string }, log: (line: string) => void): Promise<void>;
  history(): Promise<HistoryEntry[]>;
  verify(): Promise<VerifyResult>;
  /** The open confirm window, if any, and the newest history entry. */
  pending(): Promise<{ pending: PendingWindow | null; last: LastOutcome | null }>;
  /** Stages the file history entry `id` made live (a rolled-back change, offered back). */
  restage(id: number): Promise<{ changes: string }>;
}
