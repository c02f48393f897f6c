/**
 * Running external commands: the one place where nodenet's apply layer spawns processes.
 *
 * Everything effectful in `src/apply/` takes a {@link Runner} so that unit tests can inject the
 * recording fake and the sandbox can wrap the real one. Commands are always an executable plus an
 * argument array (never a shell string built from input).
 */
import { spawn } from 'node:child_process';
import { NodenetError } from '../errors.ts';

/** Options for one command. */
export interface RunOptions {
  /** Written to the command's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string;
  /** Kill the command (and its process group) after this many ms; the promise then rejects. */
  timeoutMs?: number;
  /** Working directory (default: the parent's). */
  cwd?: string;
  /** Added to (overriding) the parent's environment. */
  env?: Record<string, string>;
  /** Called with each complete output line as it arrives (for live task logs). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** What a finished command produced. `code` is 128+signal when it was killed by a signal. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command. Resolves for every exit status (non-zero included); rejects only when the
 * command could not be started or ran past its timeout, always with a {@link NodenetError}.
 */
export type Runner = (cmd: string, args: string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * Default timeout: `ifreload -a` of 4094 bridges takes ~87 s here and removing 1000 takes ~62 s,
 * so 10 minutes only catches a command that hangs, never a slow but healthy reload.
 */
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Grace between SIGTERM and SIGKILL on timeout: long enough for ifupdown2 to drop its lock. */
const KILL_GRACE_MS = 2_000;

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };

function lineSplitter(stream: 'stdout' | 'stderr', onLine: RunOptions['onLine']) {
  let rest = '';
  return {
    push(chunk: string): void {
      if (onLine === undefined) return;
      rest += chunk;
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        onLine(rest.slice(0, nl), stream);
        rest = rest.slice(nl + 1);
        nl = rest.indexOf('\n');
      }
    },
    end(): void {
      if (onLine !== undefined && rest !== '') onLine(rest, stream);
      rest = '';
    },
  };
}

/**
 * The real runner over `child_process.spawn`. Each command runs in its own process group so a
 * timeout can kill what it started too (ifupdown2's post-up lines spawn shells).
 */
export function createRunner(defaults: { timeoutMs?: number } = {}): Runner {
  return (cmd, args, opts = {}) =>
    new Promise<RunResult>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const child = spawn(cmd, args, {
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        env: opts.env === undefined ? process.env : { ...process.env, ...opts.env },
        ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
        detached: true, // own process group: kill(-pid) reaches grandchildren on timeout
      });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let settled = false;
      const outLines = lineSplitter('stdout', opts.onLine);
      const errLines = lineSplitter('stderr', opts.onLine);
      child.stdout?.setEncoding('utf8');
      child.stderr?.setEncoding('utf8');
      child.stdout?.on('data', (c: string) => {
        stdout += c;
        outLines.push(c);
      });
      child.stderr?.on('data', (c: string) => {
        stderr += c;
        errLines.push(c);
      });
      const killGroup = (sig: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      };
      let killTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
      }, timeoutMs);
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const why = err.code === 'ENOENT' ? 'command not found' : err.message;
        reject(new NodenetError('BACKEND', `cannot run ${cmd}: ${why}`, { cause: err }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (killTimer !== undefined) clearTimeout(killTimer);
        outLines.end();
        errLines.end();
        if (settled) return;
        settled = true;
        if (timedOut) {
          reject(new NodenetError('BACKEND', `${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms`));
          return;
        }
        const c = code ?? 128 + (signal === null ? 0 : (SIGNALS[signal] ?? 0));
        resolve({ code: c, stdout, stderr });
      });
      if (opts.input !== undefined && child.stdin !== null) {
        child.stdin.on('error', () => {
          // EPIPE when the command does not read its input: its exit status tells the story
        });
        child.stdin.end(opts.input);
      }
    });
}

/** One call seen by the fake runner. */
export interface RecordedCall {
  cmd: string;
  args: string[];
  opts: RunOptions;
}

/** Answers a fake command: a result, a partial result (defaults code 0, empty output), or a throw. */
export type FakeHandler = (
  call: RecordedCall,
) => Partial<RunResult> | undefined | Promise<Partial<RunResult> | undefined>;

/** A Runner that records its calls, for unit tests. */
export interface FakeRunner extends Runner {
  readonly calls: RecordedCall[];
}

/**
 * A recording fake runner. `handler` decides each result (return `undefined` for "exit 0, no
 * output"; throw to simulate a spawn failure). Without a handler every command succeeds silently.
 * Lines of the result are fed to `opts.onLine` as the real runner would.
 */
export function createFakeRunner(handler: FakeHandler = () => undefined): FakeRunner {
  const calls: RecordedCall[] = [];
  const run = async (cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> => {
    const call: RecordedCall = { cmd, args: [...args], opts };
    calls.push(call);
    const r = (await handler(call)) ?? {};
    const result: RunResult = { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if (opts.onLine !== undefined) {
      for (const [stream, text] of [
        ['stdout', result.stdout],
        ['stderr', result.stderr],
      ] as const) {
        const lines = text.split('\n');
        if (lines.at(-1) === '') lines.pop();
        for (const l of lines) opts.onLine(l, stream);
      }
    }
    return result;
  };
  return Object.assign(run, { calls });
}

/**
 * Runs a command and returns its stdout, throwing a NodenetError (`code`, default BACKEND) with
 * the command's stderr when it exits non-zero. For commands whose failure is not a result.
 */
export async function runChecked(
  run: Runner,
  cmd: string,
  args: string[],
  opts: RunOptions & { code?: 'BACKEND' | 'IO' | 'INTERNAL' } = {},
): Promise<string> {
  const { code, ...runOpts } = opts;
  const r = await run(cmd, args, runOpts);
  if (r.code !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' / ');
    throw new NodenetError(
      code ?? 'BACKEND',
      `${[cmd, ...args].join(' ')} failed (exit ${r.code})${detail ? `: ${detail}` : ''}`,
    );
  }
  return r.stdout;
}
