/**
 * What the API needs from the apply pipeline (src/apply/), injected into the server factory.
 * The implementation over the real pipeline is pipeline-service.ts.
 */
import type { LastOutcome, PendingWindow } from '../model/wire.ts';

export interface ApplyOptions {
  /** Seconds to wait for `confirm` before rolling back by itself; absent = no confirm window. */
  confirmTimeout?: number;
  /** Who asked (`user@realm` or a token id), for the history and logs. */
  user: string;
  /** Where from (the client address). */
  source: string;
  /** The connection the request came on (lock-out check inside the pipeline). */
  connection?: { local: string; remote: string };
}

export interface HistoryEntry {
  /** 1 = the most recent applied config. */
  n: number;
  /** The pipeline's entry id (stable; `n` shifts as entries are added). */
  id?: number;
  time: string;
  user: string;
  digest: string;
  summary: string;
  action?: string;
  outcome?: string;
  changed?: string[];
  detail?: string;
  /** Unified diff of what the apply changed (previous file → applied file). */
  diff?: string;
  /** Unified diff of what rolling back this entry (restoring the file live before it) changes now. */
  rollbackDiff?: string;
}

export interface VerifyResult {
  ok: boolean;
  backend: string;
  /** Human-readable differences between the kernel and the live file. */
  drift: string[];
  /** The same differences with the interface each names (the UI's drift panel). */
  differences?: { iface?: string; severity: string; message: string }[];
  note?: string;
}

export interface ConfirmResult {
  /** Whether a confirm window was open (and is now closed). */
  confirmed: boolean;
  message: string;
}

/** The wire types of GET .../network/pending are shared with the web UI (src/model/wire.ts). */
export type { LastOutcome, PendingWindow };

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
  rollback(opts: { n?: number; id?: number; user: string; source: string }, log: (line: string) => void): Promise<void>;
  history(): Promise<HistoryEntry[]>;
  verify(): Promise<VerifyResult>;
  /** The open confirm window, if any, and the newest history entry. */
  pending(): Promise<{ pending: PendingWindow | null; last: LastOutcome | null }>;
  /** Stages the file history entry `id` made live (a rolled-back change, offered back). */
  restage(id: number): Promise<{ changes: string }>;
}

