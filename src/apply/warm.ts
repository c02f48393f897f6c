/**
 * A warm ifupdown2: one long-lived python process (libexec/ifupdown2-worker.py) that runs
 * ifupdown2 commands with ifupdown2's own daemon mode, so a command no longer starts by dumping
 * every link and address of the kernel into a fresh netlink cache (~75% of a one-interface
 * `ifup` on 1000 bridges). The worker's cache is filled once and kept in sync by ifupdown2's
 * netlink listener; before each command the worker waits until every kernel notification sent
 * before the request is in the cache (see the worker's header for what else it guards).
 *
 * Whenever the worker cannot run a command (does not start, dies, times out, refuses because
 * its cache may be stale) the command runs cold, as its own process, and one `nodenet:` line in
 * the command's output says so. One command at a time. The worker exits when its stdin closes:
 * on {@link WarmIfupdown2.close} or when this node process exits (it holds no reference on the
 * event loop while idle, so a CLI exits normally).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodenetError } from '../errors.ts';
import type { Ifupdown2Command } from './ifupdown2.ts';
import { DEFAULT_TIMEOUT_MS, type RunOptions, type RunResult } from './runner.ts';

/** The worker script, found from src/apply/ (tsx) and dist/apply/ (built) alike. */
export function workerScriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'libexec', 'ifupdown2-worker.py');
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'libexec', 'ifupdown2-worker.py');
    dir = up;
  }
}

/** Options for {@link WarmIfupdown2}. */
export interface WarmOptions {
  /** The command line that starts the worker (called at each start). */
  command: () => Promise<{ cmd: string; args: string[] }>;
  /** Bound on one command. Default: the runner's (10 min). */
  timeoutMs?: number;
  /** Bound on the worker's start (imports + netlink cache fill: ~0.7 s on 1000 bridges). Default 2 min. */
  startTimeoutMs?: number;
  /** After this many failed starts in a row every command runs cold. Default 3. */
  maxStartFailures?: number;
  /** How long close() waits for the worker to exit by itself before SIGKILL. Default 2 s. */
  closeGraceMs?: number;
  /**
   * Whether stopping a worker that exited by itself also SIGKILLs what is left of its process
   * group (post-up daemons the commands started). Default true (a sandbox's leftovers go with
   * it). The host backend says false: a daemon a post-up line started on the host outlives the
   * worker, as it outlives a cold ifupdown2 process. A hung worker's group is always killed (as
   * the runner kills a timed-out command's group).
   */
  killGroupOnStop?: boolean;
}

/** Counters, for tests and the benchmark. */
export interface WarmStats {
  /** Commands the worker ran. */
  warm: number;
  /** Commands that ran cold instead. */
  cold: number;
  /** Worker processes started (successfully or not). */
  starts: number;
  /** The last successful start's duration as the worker measured it (imports + cache fill). */
  lastStartMs?: number;
}

/** After the worker exits, how long to wait for the rest of its output. */
const EXIT_DRAIN_MS = 200;

type Reply = { kind: 'done'; code: number; lines: string[] } | { kind: 'refused'; why: string; fatal: boolean };

/** The worker's introspection (see the worker's header): for tests. */
export interface WorkerStatus {
  commands: number;
  resets: Record<string, number>;
  rebound: string[];
  leaks: string[];
  /** Link dumps the worker made to replace cache entries the kernel never confirmed. */
  redumps?: number;
  /** Requests on known links after which the worker waited for the kernel's notification. */
  settled?: number;
}

/** The worker process and its protocol. */
class WorkerProcess {
  readonly child: ChildProcess;
  private out = '';
  private err = '';
  /** The last lines the worker printed on stderr outside a command (start failures). */
  private readonly recent: string[] = [];
  private exitInfo: string | undefined;
  private readonly exited: Promise<void>;
  private onMessage: ((m: Record<string, unknown>) => void) | undefined;
  private onGone: ((why: string) => void) | undefined;
  /** Where the current command's lines go. */
  private onLine: RunOptions['onLine'];
  private nextId = 1;
  startMs: number | undefined;

  private readonly killGroupOnStop: boolean;

  constructor(cmd: string, args: string[], killGroupOnStop = true) {
    this.killGroupOnStop = killGroupOnStop;
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdin?.on('error', () => {
      // EPIPE after the worker died: its exit tells the story
    });
    this.child.stdout?.on('data', (c: string) => {
      this.out += c;
      let nl = this.out.indexOf('\n');
      while (nl >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.message(line);
        nl = this.out.indexOf('\n');
      }
    });
    this.child.stderr?.on('data', (c: string) => {
      this.err += c;
      let nl = this.err.indexOf('\n');
      while (nl >= 0) {
        this.stderrLine(this.err.slice(0, nl));
        this.err = this.err.slice(nl + 1);
        nl = this.err.indexOf('\n');
      }
    });
    this.exited = new Promise((resolve) => {
      const gone = (why: string): void => {
        if (this.exitInfo !== undefined) return;
        this.exitInfo = why;
        const tail = this.recent.slice(-3).join(' / ');
        this.onGone?.(tail === '' ? why : `${why}: ${tail}`);
        resolve();
      };
      // 'exit' can come before the last output is read: wait for both pipes to end (the
      // protocol pipe is the worker's alone; stderr may be held by a post-up daemon, hence the
      // bound) so a final reply or error message is not lost.
      const ends = [this.child.stdout, this.child.stderr].map(
        (s) => new Promise<void>((r) => (s === null ? r() : s.once('close', () => r()))),
      );
      this.child.on('error', (e) => gone(`cannot start: ${e.message}`));
      this.child.on('exit', (code, signal) => {
        const why = signal !== null ? `killed by ${signal}` : `exited with status ${code ?? '?'}`;
        const bound = new Promise<void>((r) => setTimeout(r, EXIT_DRAIN_MS).unref());
        void Promise.race([Promise.all(ends), bound]).then(() => gone(why));
      });
    });
    this.setBusy(true);
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  private message(line: string): void {
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      this.stderrLine(`(unparsable reply) ${line}`);
      return;
    }
    if (typeof m === 'object' && m !== null) this.onMessage?.(m as Record<string, unknown>);
  }

  private stderrLine(line: string): void {
    if (this.onLine !== undefined) {
      this.onLine(line, 'stderr');
      return;
    }
    this.recent.push(line);
    if (this.recent.length > 20) this.recent.shift();
  }

  /** Holds the event loop only while the worker starts or runs a command. */
  setBusy(busy: boolean): void {
    const handles: unknown[] = [this.child, this.child.stdin, this.child.stdout, this.child.stderr];
    for (const h of handles) {
      const r = h as { ref?: () => void; unref?: () => void } | null;
      if (busy) r?.ref?.();
      else r?.unref?.();
    }
  }

  /** Resolves once the worker reports ready; rejects with why it did not. */
  ready(timeoutMs: number): Promise<void> {
    return this.exchange(
      timeoutMs,
      (m, ok) => {
        if (m['ready'] === true) {
          if (typeof m['start_ms'] === 'number') this.startMs = m['start_ms'];
          ok(undefined);
        }
      },
      'start',
    );
  }

  /** The worker's status reply. */
  status(timeoutMs: number): Promise<WorkerStatus> {
    const id = this.nextId++;
    const p = this.exchange<WorkerStatus>(
      timeoutMs,
      (m, ok, fail) => {
        const st = m['status'];
        if (m['id'] === id && typeof st === 'object' && st !== null) ok(st as WorkerStatus);
        else fail(`unexpected reply ${JSON.stringify(m)}`);
      },
      'status',
    );
    this.child.stdin?.write(`${JSON.stringify({ id, status: true })}\n`);
    return p;
  }

  /** Runs one command; rejects when the worker dies, times out or breaks the protocol. */
  request(argv: string[], onLine: RunOptions['onLine'], timeoutMs: number): Promise<Reply> {
    const id = this.nextId++;
    const lines: string[] = [];
    this.onLine = (l, s) => {
      lines.push(l);
      onLine?.(l, s);
    };
    const p = this.exchange<Reply>(
      timeoutMs,
      (m, ok, fail) => {
        if (m['id'] !== id) return fail(`reply for another command: ${JSON.stringify(m)}`);
        if (typeof m['line'] === 'string') {
          this.onLine?.(m['line'], 'stderr');
        } else if (m['done'] === true && typeof m['code'] === 'number') {
          ok({ kind: 'done', code: m['code'], lines });
        } else if (typeof m['refused'] === 'string') {
          ok({ kind: 'refused', why: m['refused'], fatal: m['fatal'] === true });
        } else {
          fail(`unexpected reply ${JSON.stringify(m)}`);
        }
      },
      argv.join(' '),
    );
    this.child.stdin?.write(`${JSON.stringify({ id, argv })}\n`);
    return p.finally(() => {
      this.onLine = undefined;
    });
  }

  private exchange<T>(
    timeoutMs: number,
    handle: (m: Record<string, unknown>, ok: (v: T) => void, fail: (why: string) => void) => void,
    what: string,
  ): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`worker ${this.exitInfo ?? 'gone'}`));
    this.setBusy(true);
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.onMessage = undefined;
        this.onGone = undefined;
        this.setBusy(false);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.onGone = (why) => {
        done();
        reject(new Error(`worker ${why}`));
      };
      this.onMessage = (m) =>
        handle(
          m,
          (v) => {
            done();
            resolve(v);
          },
          (why) => {
            done();
            reject(new Error(why));
          },
        );
    });
  }

  /** Closes stdin (the worker exits between commands), then SIGKILLs its group after graceMs. */
  async stop(graceMs: number): Promise<void> {
    this.setBusy(true);
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
    if ((await Promise.race([this.exited.then(() => 'exited' as const), graceOver])) === 'late') this.kill();
    clearTimeout(timer);
    await this.exited;
    if (this.killGroupOnStop) this.killGroup(); // its children (post-up daemons) share the process group
    this.setBusy(false);
  }

  /** SIGKILL for the worker and its process group. */
  kill(): void {
    this.killGroup();
    this.child.kill('SIGKILL');
  }

  private killGroup(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // group already gone
    }
  }
}

/** A warm ifupdown2 for one sandbox. See the module comment. */
export class WarmIfupdown2 {
  private readonly opts: WarmOptions;
  private worker: WorkerProcess | undefined;
  private starting: Promise<WorkerProcess | undefined> | undefined;
  private startFailures = 0;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  readonly stats: WarmStats = { warm: 0, cold: 0, starts: 0 };
  /** Why the last failed start failed (a start no command waited for is logged nowhere else). */
  lastStartError: string | undefined;

  constructor(opts: WarmOptions) {
    this.opts = opts;
  }

  /** The running worker's pid (for tests). */
  get pid(): number | undefined {
    return this.worker?.alive === true ? this.worker.child.pid : undefined;
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Starts the worker now rather than at the first command. True when it is ready. */
  start(): Promise<boolean> {
    return this.enqueue(async () => (await this.ensure()).worker !== undefined);
  }

  /**
   * Runs `cmd args` in the worker, or, when the worker cannot, `cold()` (after one `nodenet:`
   * line in the output saying why). Commands run one at a time, in call order.
   */
  run(cmd: Ifupdown2Command, args: string[], opts: RunOptions, cold: () => Promise<RunResult>): Promise<RunResult> {
    return this.enqueue(() => this.runNow(cmd, args, opts, cold));
  }

  /** The running worker's introspection, or undefined when none runs (for tests). */
  status(): Promise<WorkerStatus | undefined> {
    return this.enqueue(async () => (this.worker?.alive === true ? this.worker.status(this.timeoutMs) : undefined));
  }

  /** Stops the worker; later commands start a new one unless `final`. */
  close(final = false): Promise<void> {
    if (final) this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    return w === undefined ? Promise.resolve() : w.stop(this.opts.closeGraceMs ?? 2_000);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const p = this.queue.then(job, job);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async ensure(): Promise<{ worker?: WorkerProcess; why?: string }> {
    if (this.worker?.alive === true) return { worker: this.worker };
    this.worker = undefined;
    if (this.closed) return { why: 'closed' };
    const max = this.opts.maxStartFailures ?? 3;
    if (this.startFailures >= max) return { why: `disabled after ${max} failed starts` };
    this.stats.starts++;
    let w: WorkerProcess | undefined;
    try {
      const { cmd, args } = await this.opts.command();
      w = new WorkerProcess(cmd, args, this.opts.killGroupOnStop ?? true);
      await w.ready(this.opts.startTimeoutMs ?? 120_000);
      if (this.closed) {
        // close(true) came while it started: nobody will stop it later
        await w.stop(0);
        return { why: 'closed' };
      }
      this.worker = w;
      this.startFailures = 0;
      if (w.startMs !== undefined) this.stats.lastStartMs = w.startMs;
      return { worker: w };
    } catch (e) {
      this.startFailures++;
      w?.kill();
      this.lastStartError = e instanceof Error ? e.message : String(e);
      return { why: `could not start: ${this.lastStartError}` };
    }
  }

  private async runNow(
    cmd: Ifupdown2Command,
    args: string[],
    opts: RunOptions,
    cold: () => Promise<RunResult>,
  ): Promise<RunResult> {
    const shown = [cmd, ...args].join(' ');
    const fallback = async (why: string): Promise<RunResult> => {
      this.stats.cold++;
      opts.onLine?.(`nodenet: warm ifupdown2 worker ${why}; running \`${shown}\` as its own process`, 'stderr');
      return cold();
    };
    const { worker: w, why } = await this.ensure();
    if (w === undefined) return fallback(why ?? 'unavailable');
    let reply: Reply;
    try {
      reply = await w.request([cmd, ...args], opts.onLine, opts.timeoutMs ?? this.timeoutMs);
    } catch (e) {
      w.kill();
      if (this.worker === w) this.worker = undefined;
      const why = e instanceof Error ? e.message : String(e);
      // stopped by close(true) (the backend is being destroyed): nothing left to run it in
      if (this.closed) throw new NodenetError('BACKEND', `warm ifupdown2 worker stopped during \`${shown}\` (${why})`);
      return fallback(`failed (${why})`);
    }
    if (reply.kind === 'refused') {
      if (reply.fatal) {
        // it exits by itself; make sure
        void w.stop(this.opts.closeGraceMs ?? 2_000);
        if (this.worker === w) this.worker = undefined;
      }
      return fallback(`refused (${reply.why})`);
    }
    this.stats.warm++;
    return { code: reply.code, stdout: '', stderr: reply.lines.length === 0 ? '' : `${reply.lines.join('\n')}\n` };
  }
}
