/**
 * The one small error hierarchy of nodenet's effectful code (design.md convention 3).
 * Pure layers (interfaces, model, validate, setup) report Diagnostics instead of throwing.
 * Only the CLI top level and the API error handler turn these into output.
 */
import type { Diagnostic } from './interfaces/diagnostic.ts';

/** Stable string codes; the CLI maps them to exit codes, the API to HTTP statuses. */
export type ErrorCode =
  | 'USAGE' // bad command line or parameter (CLI exit 2, HTTP 400)
  | 'PARAM' // a parameter failed its format check (HTTP 400 "Parameter verification failed.")
  | 'NOT_FOUND' // interface does not exist (HTTP 400 as PVE does)
  | 'EXISTS' // interface already exists (HTTP 400)
  | 'INVALID' // the change would introduce validation errors (HTTP 400, diagnostics attached)
  | 'STALE' // digest mismatch (HTTP 409)
  | 'LIVE_CHANGED' // live file edited by hand while changes are staged (HTTP 409)
  | 'LOCKED' // another writer/apply holds the lock (HTTP 409 / 503)
  | 'APPLY_FAILED' // reload or verification failed (rolled back)
  | 'LOCKOUT' // the change touches the caller's own connection and needs a confirm window
  | 'NO_CHANGES' // nothing staged where something was needed
  | 'IO' // file system trouble (CLI exit 2, HTTP 500)
  | 'BACKEND' // a backend prerequisite is missing (ifupdown2 not installed, not root)
  | 'AUTH' // authentication failure (HTTP 401)
  | 'FORBIDDEN' // permission check failed (HTTP 403)
  | 'INTERNAL';

export class NodenetError extends Error {
  readonly code: ErrorCode;
  /** Per-parameter messages, PVE style: {"bridge_ports": "eno1 is already used on interface 'vmbr0'."} */
  readonly errors: Record<string, string> | undefined;
  readonly diagnostics: Diagnostic[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { errors?: Record<string, string>; diagnostics?: Diagnostic[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NodenetError';
    this.code = code;
    this.errors = opts.errors;
    this.diagnostics = opts.diagnostics;
  }
}

/** A parameter error in the PVE shape: one or more fields with a message each. */
export function paramError(errors: Record<string, string>): NodenetError {
  return new NodenetError('PARAM', 'Parameter verification failed.', { errors });
}

export function isNodenetError(e: unknown): e is NodenetError {
  return e instanceof NodenetError;
}
