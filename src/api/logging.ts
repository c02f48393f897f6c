/**
 * Structured JSON logs (stderr) and the audit log of every change (JSON lines, who/what/where).
 * Audit entries are bounded (values cut, at most {@link AUDIT_ENTRY_MAX_BYTES} per line) and the
 * file is rotated (`audit.log.1`, `audit.log.2`) past a size, so no client can fill the disk.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { SerialQueue } from './serial.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger: one JSON object per line. */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** syslog(3) priorities of the levels, for journald's `<N>` line prefixes (sd-daemon(3)). */
export const SYSLOG_PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/**
 * Logger writing JSON lines to a stream (default stderr). `syslogPrefix`: start each line with
 * `<N>` (its syslog priority), which journald strips and records as the line's priority.
 */
export function jsonLogger(
  write: (line: string) => void = (l) => process.stderr.write(l),
  min: LogLevel = 'info',
  opts: { syslogPrefix?: boolean } = {},
): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return (level, msg, fields = {}) => {
    if (order[level] < order[min]) return;
    write(
      `${opts.syslogPrefix ? `<${SYSLOG_PRIORITY[level]}>` : ''}${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`,
    );
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = () => undefined;

/** Parameter names whose values never reach a log. */
const SECRET_KEYS = new Set([
  'password',
  'new-password',
  'ticket',
  'csrfpreventiontoken',
  'value',
  'secret',
  'tfa-challenge',
  'otp',
]);

/** A copy of request params with secrets replaced by `***`. */
export function redact(params: Record<string, unknown>): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(params)) out[k] = SECRET_KEYS.has(k.toLowerCase()) ? '***' : v;
  return out;
}

export interface AuditEntry {
  user: string;
  source: string;
  method: string;
  path: string;
  /** Absent for logins: their parameters are never recorded. */
  params?: Record<string, unknown>;
  status: number;
  result: string;
}

/** Largest audit line in bytes; larger entries keep only their parameter names. */
export const AUDIT_ENTRY_MAX_BYTES = 4096;
/** Default size past which audit.log is rotated. */
export const AUDIT_MAX_BYTES = 10 * 1024 * 1024;
/** Rotated files kept (audit.log.1 … audit.log.N). */
const AUDIT_KEEP = 2;

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** A flat, bounded copy of parameters: strings cut to 256 characters, nothing nested is walked. */
function boundedParams(params: Record<string, unknown>): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  let n = 0;
  for (const [k, v] of Object.entries(redact(params))) {
    if (++n > 64) break;
    const one = (x: unknown): unknown =>
      typeof x === 'string'
        ? cut(x, 256)
        : typeof x === 'number' || typeof x === 'boolean' || x === null
          ? x
          : `[${typeof x}]`;
    out[cut(k, 64)] = Array.isArray(v) ? v.slice(0, 16).map((x) => (Array.isArray(x) ? '[array]' : one(x))) : one(v);
  }
  return out;
}

/** The JSON line of an entry, at most {@link AUDIT_ENTRY_MAX_BYTES} bytes. */
export function auditLine(e: AuditEntry, time = new Date()): string {
  const base = {
    time: time.toISOString(),
    user: cut(e.user, 128),
    source: cut(e.source, 64),
    method: cut(e.method, 16),
    path: cut(e.path, 512),
  };
  const tail = { status: e.status, result: cut(e.result, 256) };
  let line = JSON.stringify({ ...base, ...(e.params ? { params: boundedParams(e.params) } : {}), ...tail });
  if (Buffer.byteLength(line) > AUDIT_ENTRY_MAX_BYTES - 1 && e.params) {
    const names = cut(
      Object.keys(e.params)
        .slice(0, 64)
        .map((k) => cut(k, 64))
        .join(','),
      1024,
    );
    line = JSON.stringify({ ...base, params: { '(cut)': names }, ...tail });
  }
  return `${line}\n`;
}

/** Appends audit entries to a JSON-lines file (mode 0600), in order, rotating it past `maxBytes`. */
export class AuditLog {
  private readonly queue = new SerialQueue();
  private readonly maxBytes: number;

  constructor(
    readonly file: string,
    private readonly onError: (e: unknown) => void = () => undefined,
    opts: { maxBytes?: number } = {},
  ) {
    this.maxBytes = opts.maxBytes ?? AUDIT_MAX_BYTES;
  }

  write(e: AuditEntry): void {
    let line: string;
    try {
      line = auditLine(e);
    } catch (err) {
      this.onError(err);
      return;
    }
    this.queue
      .run(async () => {
        await fs.mkdir(dirname(this.file), { recursive: true });
        const size = await fs.stat(this.file).then(
          (st) => st.size,
          () => 0,
        );
        if (size > 0 && size + Buffer.byteLength(line) > this.maxBytes) await this.rotate();
        await fs.appendFile(this.file, line, { mode: 0o600 });
      })
      .catch(this.onError);
  }

  /** audit.log.1 → .2 (the oldest goes), audit.log → .1. */
  private async rotate(): Promise<void> {
    for (let i = AUDIT_KEEP; i >= 1; i--) {
      const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
      await fs.rename(from, `${this.file}.${i}`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  /** Resolves when everything written so far is on disk. */
  flush(): Promise<void> {
    return this.queue.idle();
  }
}
