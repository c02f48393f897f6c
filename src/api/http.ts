/**
 * Wire helpers for the Proxmox-VE-compatible API: the envelope, the byte-exact Content-Type,
 * reason phrases, request body parsing (form and JSON), and the answer of an error (its
 * status from the code table of src/errors.ts; research/clients.md §2).
 */
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, NodenetError, isNodenetError, paramError } from '../errors.ts';

/** Byte-exact: npm proxmox-api throws on any other spelling (`application/json; charset=utf-8`). */
export const JSON_CONTENT_TYPE = 'application/json;charset=UTF-8';

/**
 * An error as the API sends it: status, message (first line = reason phrase), per-field errors,
 * headers and top-level extras, or PVE's empty body. Made from a {@link NodenetError} by
 * {@link toWireError} with the code table of src/errors.ts.
 */
export interface WireError {
  readonly status: number;
  readonly message: string;
  readonly errors: Record<string, string> | undefined;
  /** PVE answers auth failures with an empty body and no Content-Type. */
  readonly emptyBody: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly extra: Record<string, unknown>;
}

/** The answer to an error that is not a NodenetError: never leak internals (paths, stack); the log has them. */
export function internalError(): WireError {
  return { status: 500, message: 'internal error', errors: undefined, emptyBody: false, headers: {}, extra: {} };
}

/** Turn anything thrown by a handler into its answer (unknown errors become a generic 500). */
export function toWireError(e: unknown): WireError {
  if (!isNodenetError(e)) return internalError();
  const info = ERROR_CODES[e.code];
  const extra: Record<string, unknown> = e.diagnostics ? { diagnostics: e.diagnostics } : {};
  const headers = { ...info.headers, ...e.headers };
  if (info.paramShaped) {
    const errors = e.errors && Object.keys(e.errors).length ? e.errors : { iface: e.message };
    return {
      status: info.status,
      message: 'Parameter verification failed.',
      errors,
      emptyBody: e.emptyBody,
      headers,
      extra,
    };
  }
  return { status: info.status, message: e.message, errors: e.errors, emptyBody: e.emptyBody, headers, extra };
}

/**
 * The HTTP reason phrase for a message: its first line, restricted to printable ASCII
 * (Node refuses other bytes in a status line; `…` becomes `...`).
 */
export function reasonPhrase(message: string): string {
  const first = message.split('\n')[0] ?? '';
  const ascii = first
    .replace(/\u2026/g, '...')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  return (ascii || 'error').slice(0, 200);
}

function baseHeaders(): Record<string, string> {
  return {
    'Cache-Control': 'max-age=0',
    Pragma: 'no-cache',
    Expires: new Date().toUTCString(),
    Server: 'nodenet',
  };
}

/** Send a success envelope `{"data": ...}` plus optional top-level extras (`changes`, `digest`, `total`). */
export function sendData(
  res: ServerResponse,
  data: unknown,
  extra: Record<string, unknown> = {},
  headers: Record<string, string | string[]> = {},
  raw?: Buffer,
  acceptEncoding?: string,
): void {
  let body = raw ?? Buffer.from(JSON.stringify({ data: data ?? null, ...extra }), 'utf8');
  const enc: Record<string, string> = {};
  // As PVE: bodies over 1 KiB are gzip-compressed when the client accepts it (proxmoxer sends
  // `gzip, deflate`). A 4094-interface list shrinks from ~700 KiB to ~50 KiB.
  if (body.length > 1024 && acceptEncoding !== undefined && /\bgzip\b/.test(acceptEncoding)) {
    body = gzipped(body);
    enc['Content-Encoding'] = 'gzip';
    enc.Vary = 'Accept-Encoding';
  }
  res.writeHead(200, 'OK', {
    ...baseHeaders(),
    ...headers,
    ...enc,
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': String(body.length),
  });
  res.end(body);
}

/** Compressed bodies of cached (reused) buffers: the list cache hands out the same Buffer. */
const gzCache = new WeakMap<Buffer, Buffer>();

function gzipped(body: Buffer): Buffer {
  const hit = gzCache.get(body);
  if (hit) return hit;
  // Level 1: most of the size gain at a fraction of the CPU of the default level.
  const out = gzipSync(body, { level: 1 });
  gzCache.set(body, out);
  return out;
}

/** Send an error: reason phrase = first line of the message; body `{"data":null,"errors":…,"message":"…\n"}`. */
export function sendError(res: ServerResponse, err: WireError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...baseHeaders(), ...err.headers };
  if (err.emptyBody) {
    res.writeHead(err.status, reasonPhrase(err.message), { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }
  const message = err.message.endsWith('\n') ? err.message : `${err.message}\n`;
  const payload: Record<string, unknown> = { data: null };
  if (err.errors && Object.keys(err.errors).length) payload.errors = err.errors;
  payload.message = message;
  Object.assign(payload, err.extra);
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  res.writeHead(err.status, reasonPhrase(err.message), {
    ...headers,
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': String(body.length),
  });
  res.end(body);
}

/**
 * Request parameters: strings, or arrays for repeated form keys; JSON bodies keep their
 * (scalar) types. Null-prototype maps: `__proto__`, `constructor` or `toString` are keys like
 * any other (refused by validation as unknown), never merged into or read from a prototype.
 */
export type Params = Record<string, unknown>;

/** An empty null-prototype params map. */
export function emptyParams(): Params {
  return Object.create(null) as Params;
}

/** Parse `a=1&b=2&b=3` into params; repeated keys become arrays (PVE joins them for list formats). */
export function parseForm(text: string): Params {
  const out = emptyParams();
  for (const [k, v] of new URLSearchParams(text)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/**
 * Read a request body up to `limit` bytes.
 * @throws NodenetError TOO_LARGE (413) when larger: reading stops (the stream is paused, not destroyed, so the
 *   413 still reaches the client; the caller then closes the connection), USAGE (400) when the client
 *   goes away before the body is complete
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit)
    return Promise.reject(new NodenetError('TOO_LARGE', 'request entity too large'));
  if (req.complete && req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stop();
        req.pause();
        reject(new NodenetError('TOO_LARGE', 'request entity too large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    const onError = () => {
      stop();
      reject(new NodenetError('USAGE', 'request body incomplete'));
    };
    const onClose = () => {
      stop();
      reject(new NodenetError('USAGE', 'request body incomplete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** A parameter value as requests may carry it: a scalar, or a flat list of scalars. */
function flatValue(v: unknown): boolean {
  const scalar = (x: unknown) => x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean';
  return scalar(v) || (Array.isArray(v) && v.length <= 4096 && v.every(scalar));
}

/**
 * Parse a POST/PUT body: JSON when the Content-Type says so, else form-urlencoded (PVE
 * assumes form data when no Content-Type is given).
 */
export function parseBody(contentType: string | undefined, body: Buffer): Params {
  if (!body.length) return emptyParams();
  const text = body.toString('utf8');
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct === 'application/json') {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new NodenetError('USAGE', 'invalid JSON in request body');
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new NodenetError('USAGE', 'JSON request body must be an object');
    // Parameters are scalars or flat lists: nested values are refused here, at their field,
    // so nothing later (validation, String(), the audit log) walks an attacker's nesting depth.
    const out = emptyParams();
    const errors: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (flatValue(x)) out[k] = x;
      else errors[k.slice(0, 64)] = `type check failed - got ${Array.isArray(x) ? 'a nested list' : 'an object'}`;
    }
    if (Object.keys(errors).length) throw paramError(errors);
    return out;
  }
  if (ct === '' || ct === 'application/x-www-form-urlencoded') return parseForm(text);
  throw new NodenetError('UNSUPPORTED_TYPE', `unsupported content type '${ct.replace(/[^\x20-\x7e]/g, '?')}'`);
}
