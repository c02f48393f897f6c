/** Structured JSON logs (stderr) and the audit log of every change (JSON lines, who/what/where). */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger: one JSON object per line. */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** syslog(3) priorities of the levels, for journald's `<N>` line prefixes (sd-daemon(3)). */
export const SYSLOG_PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/**
 * Logger writing JSON lines to a stream (default stderr). `syslogPrefix`: start each line with
 * `<N>` (its syslog priority), which journald strips and records as the line's priority.
 */
export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l), min: LogLevel = 'info', opts: { syslogPrefix?: boolean } = {}): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return (level, msg, fields = {}) => {
    if (order[level] < order[min]) return;
    write(`${opts.syslogPrefix ? `<${SYSLOG_PRIORITY[level]}>` : ''}${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = () => undefined;

/** Parameter names whose values never reach a log. */
const SECRET_KEYS = new Set(['password', 'new-password', 'ticket', 'csrfpreventiontoken', 'value', 'secret', 'tfa-challenge', 'otp']);

/** A copy of request params with secrets replaced by `***`. */
export function redact(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = SECRET_KEYS.has(k.toLowerCase()) ? '***' : v;
  return out;
}

export interface AuditEntry {
  user: string;
  source: string;
  method: string;
  path: string;
  params: Record<string, unknown>;
  status: number;
  result: string;
}

/** Appends audit entries to a JSON-lines file (mode 0600), in order. */
export class AuditLog {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  write(e: AuditEntry): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...e, params: redact(e.params) })}\n`;
    this.chain = this.chain
      .then(async () => {
        await fs.mkdir(dirname(this.file), { recursive: true });
        await fs.appendFile(this.file, line, { mode: 0o600 });
      })
      .catch(this.onError);
  }

  /** Resolves when everything written so far is on disk. */
  flush(): Promise<void> {
    return this.chain;
  }
}
