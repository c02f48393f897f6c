/**
 * The apply pipeline's answers as they go over the wire (GET /nodes/{node}/network/pending),
 * shared by the server and the web UI. Type-only and self-contained on purpose: scripts/gen-web.mjs
 * copies this file to web/src/generated/wire.ts, and a unit test checks the copy is current.
 */

/** An open confirm window (GET .../network/pending). */
export interface PendingWindow {
  /** History entry id (the `#N` of the CLI, the task log and the UI). */
  id: number;
  /** Epoch milliseconds of the deadline, and the seconds left when answered (clock-skew safe). */
  deadline: number;
  left: number;
  user: string;
  /** `applying` while the apply task still runs, `waiting` once it waits for Keep. */
  phase: 'applying' | 'waiting';
  changed: string[];
}

/** The newest history entry, so a page can announce how a window ended. */
export interface LastOutcome {
  id: number;
  action: string;
  outcome: string;
  detail?: string;
  when: string;
  changed: string[];
  /** A rolled-back apply whose file can be staged again (POST .../network/restage). */
  restorable: boolean;
}

/** The answer of GET .../network/pending: the open window, if any, and the newest entry. */
export interface PendingState {
  pending: PendingWindow | null;
  last: LastOutcome | null;
}
