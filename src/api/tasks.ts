/**
 * Worker tasks with PVE UPIDs: apply and rollback run as tasks whose status and log clients
 * poll (`GET /nodes/{node}/tasks/{upid}/status|log`). Logs are persisted under
 * ROOT/var/lib/nodenet/tasks/ so they survive a restart of the server.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, readOptional } from '../store/atomic.ts';

export interface TaskStatus {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  status: 'running' | 'stopped';
  /** Present when stopped: `OK` or the error text. */
  exitstatus?: string;
  endtime?: number;
}

export interface TaskLogLine {
  n: number;
  t: string;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** This process's start time in clock ticks since boot (field 22 of /proc/self/stat), as PVE's pstart. */
function processStart(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[19]) || 0;
  } catch {
    return 0;
  }
}

interface RunningTask {
  status: TaskStatus;
  lines: string[];
  done: Promise<void>;
  /** Serialises appends to the log file. */
  writing: Promise<void>;
}

/** Parse a UPID into its fields; null when malformed. */
export function parseUpid(
  upid: string,
): { node: string; pid: number; pstart: number; starttime: number; type: string; id: string; user: string } | null {
  const m = /^UPID:([a-zA-Z0-9-]+):([0-9A-F]{8}):([0-9A-F]{8}):([0-9A-F]{8}):([a-z0-9]+):([^:\s]*):([^:\s]+):$/.exec(
    upid,
  );
  if (!m) return null;
  return {
    node: m[1]!,
    pid: parseInt(m[2]!, 16),
    pstart: parseInt(m[3]!, 16),
    starttime: parseInt(m[4]!, 16),
    type: m[5]!,
    id: m[6]!,
    user: m[7]!,
  };
}

/** Runs tasks in this process and keeps their status and log (memory + disk). */
export class TaskManager {
  readonly dir: string;
  private readonly tasks = new Map<string, RunningTask>();
  private readonly pstart = processStart();
  private lastStart = 0;

  constructor(
    root: string,
    readonly node: string,
  ) {
    this.dir = join(root, 'var/lib/nodenet/tasks');
  }

  private file(upid: string, ext: string): string {
    // Never use the UPID (client input) as a path: hash it.
    return join(this.dir, `${createHash('sha256').update(upid).digest('hex').slice(0, 32)}.${ext}`);
  }

  /**
   * Start a task. `fn` gets a log function; its resolution is `OK`, a rejection the error text.
   * @returns the UPID, at once (the task runs in the background)
   */
  async start(
    type: string,
    id: string,
    user: string,
    fn: (log: (line: string) => void) => Promise<void>,
  ): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true });
    // UPIDs must be unique; tasks started in the same second get the next second's stamp.
    const starttime = Math.max(Math.floor(Date.now() / 1000), this.lastStart + 1);
    this.lastStart = starttime;
    const upid = `UPID:${this.node}:${hex8(process.pid)}:${hex8(this.pstart)}:${hex8(starttime)}:${type}:${id}:${user}:`;
    const status: TaskStatus = {
      upid,
      node: this.node,
      pid: process.pid,
      pstart: this.pstart,
      starttime,
      type,
      id,
      user,
      status: 'running',
    };
    const task: RunningTask = { status, lines: [], done: Promise.resolve(), writing: Promise.resolve() };
    this.tasks.set(upid, task);
    await atomicWrite(this.file(upid, 'json'), JSON.stringify(status));
    await fs.writeFile(this.file(upid, 'log'), '');
    const log = (line: string) => {
      for (const l of line.split('\n')) {
        task.lines.push(l);
        const text = `${l}\n`;
        task.writing = task.writing.then(() => fs.appendFile(this.file(upid, 'log'), text)).catch(() => undefined);
      }
    };
    task.done = (async () => {
      let exit = 'OK';
      try {
        await fn(log);
        log('TASK OK');
      } catch (e) {
        exit = (e instanceof Error ? e.message : String(e)).split('\n')[0] || 'unknown error';
        log(`TASK ERROR: ${exit}`);
      }
      status.status = 'stopped';
      status.exitstatus = exit;
      status.endtime = Math.floor(Date.now() / 1000);
      await task.writing;
      await atomicWrite(this.file(upid, 'json'), JSON.stringify(status)).catch(() => undefined);
    })();
    return upid;
  }

  /** Status of a task (running or finished, this process or an earlier one), or null. */
  async status(upid: string): Promise<TaskStatus | null> {
    const t = this.tasks.get(upid);
    if (t) return { ...t.status };
    const text = await readOptional(this.file(upid, 'json'));
    if (!text) return null;
    const s = JSON.parse(text) as TaskStatus;
    if (s.upid !== upid) return null;
    // A task that was running when an earlier server process died never finished.
    if (s.status === 'running') return { ...s, status: 'stopped', exitstatus: 'unexpected status' };
    return s;
  }

  /** Log lines `[start, start+limit)` and the total count, or null when the task is unknown. */
  async log(upid: string, start = 0, limit = 50): Promise<{ lines: TaskLogLine[]; total: number } | null> {
    let lines: string[];
    const t = this.tasks.get(upid);
    if (t) lines = t.lines;
    else {
      if (!(await this.status(upid))) return null;
      const text = (await readOptional(this.file(upid, 'log'))) ?? '';
      lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
    }
    const slice = lines.slice(start, start + limit).map((l, i) => ({ n: start + i + 1, t: l }));
    return { lines: slice, total: lines.length };
  }

  /** Tasks of this process, newest first. */
  list(): TaskStatus[] {
    return [...this.tasks.values()].map((t) => ({ ...t.status })).reverse();
  }

  /** Wait for every task of this process to finish (graceful shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.done));
  }

  /** Whether any task is still running. */
  busy(): boolean {
    return [...this.tasks.values()].some((t) => t.status.status === 'running');
  }
}
