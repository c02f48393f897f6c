/**
 * The one error type of nodenet's effectful code (design.md convention 3): {@link NodenetError}
 * with a closed union of codes, and ONE table ({@link ERROR_CODES}) saying what each code
 * becomes at the edges: the HTTP status of the API and the exit code of the CLI.
 * Pure layers (interfaces, model, validate, setup) report Diagnostics instead of throwing.
 * Only the CLI top level and the API error handler turn these into output.
 */
import type { Diagnostic } from './interfaces/diagnostic.ts';

/** Stable string codes; {@link ERROR_CODES} maps each to an HTTP status and an exit code. */
export type ErrorCode =
  | 'USAGE' // bad command line, parameter or request (malformed body, path escape)
  | 'PARAM' // a parameter failed its check ("Parameter verification failed.")
  | 'NOT_FOUND' // a history entry (or task) that does not exist (HTTP 400 as PVE does)
  | 'INVALID' // the change would introduce validation errors (diagnostics attached)
  | 'STALE' // digest mismatch
  | 'LIVE_CHANGED' // live file edited by hand while changes are staged
  | 'LOCKED' // another writer/apply holds the lock
  | 'APPLY_FAILED' // reload or verification failed (rolled back)
  | 'LOCKOUT' // the change touches the caller's own connection and needs a confirm window
  | 'NO_CHANGES' // nothing staged (or awaiting confirmation) where something was needed
  | 'IO' // file system trouble
  | 'BACKEND' // a backend prerequisite is missing (ifupdown2 not installed, not root) or failed
  | 'AUTH' // authentication failure (no ticket, bad ticket, CSRF token or password)
  | 'FORBIDDEN' // permission check failed
  | 'RATE_LIMITED' // too many login attempts
  | 'TOO_LARGE' // request body over the limit
  | 'UNSUPPORTED_TYPE' // request body of a content type the API does not read
  | 'NOT_IMPLEMENTED' // no such API path or method (PVE answers 501)
  | 'NO_FILE' // no such static file of the web UI
  | 'NODE_OFFLINE' // fleet: the node's agent is not alive, or did not answer in time
  | 'FLEET_UNAVAILABLE' // fleet: etcd is not reachable (no quorum)
  | 'INTERNAL';

/** What a code becomes at the edges. */
export interface CodeInfo {
  /** The HTTP status of the API's answer. */
  status: number;
  /** The exit code of the CLI: 1 refused (or found errors), 2 usage, I/O or environment trouble. */
  exit: 1 | 2;
  /**
   * Answered as PVE answers a failed parameter check: message `Parameter verification failed.`
   * and per-field `errors` (the error's message under `iface` when it names no field).
   */
  paramShaped?: boolean;
  /** Headers every answer with this code carries. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * The one mapping of codes to HTTP status and CLI exit code (docs/api.md "Error codes").
 * Total by its type: a code without a row, or a row without a code, is a compile error.
 */
export const ERROR_CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  USAGE: { status: 400, exit: 2 },
  PARAM: { status: 400, exit: 1, paramShaped: true },
  NOT_FOUND: { status: 400, exit: 1, paramShaped: true },
  INVALID: { status: 400, exit: 1, paramShaped: true },
  STALE: { status: 409, exit: 1 },
  LIVE_CHANGED: { status: 409, exit: 1 },
  // A lock held past the timeout means the server is busy, not that the request is wrong.
  LOCKED: { status: 503, exit: 1, headers: { 'Retry-After': '1' } },
  APPLY_FAILED: { status: 500, exit: 1 },
  // Refused until the caller asks for a confirm window: a request to change, not a conflict.
  LOCKOUT: { status: 400, exit: 1 },
  NO_CHANGES: { status: 400, exit: 1 },
  IO: { status: 500, exit: 2 },
  BACKEND: { status: 500, exit: 2 },
  AUTH: { status: 401, exit: 1 },
  FORBIDDEN: { status: 403, exit: 1 },
  RATE_LIMITED: { status: 429, exit: 1 },
  // The client is told to go: the rest of its body is not read.
  TOO_LARGE: { status: 413, exit: 2, headers: { Connection: 'close' } },
  UNSUPPORTED_TYPE: { status: 415, exit: 2 },
  NOT_IMPLEMENTED: { status: 501, exit: 2 },
  NO_FILE: { status: 404, exit: 2 },
  // As pveproxy when it cannot reach the node a request is proxied to.
  NODE_OFFLINE: { status: 595, exit: 1 },
  FLEET_UNAVAILABLE: { status: 503, exit: 2, headers: { 'Retry-After': '2' } },
  INTERNAL: { status: 500, exit: 2 },
};

export interface NodenetErrorOptions {
  /** Per-parameter messages, PVE style: {"bridge_ports": "eno1 is already used on interface 'vmbr0'."} */
  errors?: Record<string, string>;
  diagnostics?: Diagnostic[];
  cause?: unknown;
  /** The interface this error says does not exist (see {@link noSuchInterface}). */
  missing?: string;
  /** Extra headers of the API answer (e.g. the seconds of `Retry-After`). */
  headers?: Record<string, string>;
  /** The API answers with an empty body and no Content-Type (PVE's authentication failures). */
  emptyBody?: boolean;
}

export class NodenetError extends Error {
  readonly code: ErrorCode;
  /** Per-parameter messages, PVE style: {"bridge_ports": "eno1 is already used on interface 'vmbr0'."} */
  readonly errors: Record<string, string> | undefined;
  readonly diagnostics: Diagnostic[] | undefined;
  /** The name of the interface that does not exist, when that is what this error says. */
  readonly missing: string | undefined;
  /** Extra headers of the API answer, next to the code's own. */
  readonly headers: Readonly<Record<string, string>>;
  /** The API answers with an empty body (PVE's 401s). */
  readonly emptyBody: boolean;

  constructor(code: ErrorCode, message: string, opts: NodenetErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'NodenetError';
    this.code = code;
    this.errors = opts.errors;
    this.diagnostics = opts.diagnostics;
    this.missing = opts.missing;
    this.headers = opts.headers ?? {};
    this.emptyBody = opts.emptyBody ?? false;
  }
}

/** A parameter error in the PVE shape: one or more fields with a message each. */
export function paramError(errors: Record<string, string>): NodenetError {
  return new NodenetError('PARAM', 'Parameter verification failed.', { errors });
}

/** PVE's answer for an interface that does not exist (a PARAM error on `iface`, typed by `missing`). */
export function noSuchInterface(name: string): NodenetError {
  const errors = { iface: 'interface does not exist' };
  return new NodenetError('PARAM', 'Parameter verification failed.', { errors, missing: name });
}

export function isNodenetError(e: unknown): e is NodenetError {
  return e instanceof NodenetError;
}

/**
 * The CLI's exit code for an error of this code. A code from outside (a `nodenet serve` of
 * another version answering on the local socket) that is not in the table is a refusal: 1.
 */
export function exitCodeOf(code: ErrorCode): 1 | 2 {
  const info: CodeInfo | undefined = Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code] : undefined;
  return info?.exit ?? 1;
}
