/**
 * The kernel tier's harness: boots a full Debian kernel under QEMU (TCG, no
 * /dev/kvm needed) with the host's `/` shared read-only under a tmpfs overlay,
 * applies interfaces files with the real ifupdown2 inside it, runs optional
 * scripts, and reads the kernel state back.
 *
 * One boot runs several steps in order (each a reload on top of the previous
 * one): booting costs ~4-8 s, every Python start under TCG ~0.5-2 s, so group
 * files per boot.  Host side: prepare.sh (fetch + cache), this file (boot,
 * collect); guest side: initrd-init.sh (/init), guest.sh (the steps).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root on the host; the guest sees it at the same path. */
export const REPO_ROOT = resolve(HERE, '../..');
/** Cache of the unpacked kernel, initrd and ifupdown2 (git-ignored). */
export const CACHE_DIR = process.env['KT_CACHE'] ?? join(REPO_ROOT, '.cache/kernel');

/**
 * Per-boot limit.  A warm boot with three files takes ~45 s on an idle
 * 2-core machine; TCG slows down 2-4x when other jobs share the cores, so
 * the limit is generous.  Override with KT_TIMEOUT (seconds).
 */
export const BOOT_TIMEOUT_MS = Number(process.env['KT_TIMEOUT'] ?? 240) * 1000;

/** Fake NICs created in every guest (veths with their peers up in a "wire" netns). */
export const DEFAULT_NICS = ['eno1', 'eno2', 'eno3', 'eno4', 'eno5', 'eno6'] as const;

/** One step of a guest run. */
export interface GuestStep {
  /** A label for messages and results. */
  name?: string;
  /**
   * The new /etc/network: a string is the `interfaces` file; an object maps
   * paths relative to /etc/network (`interfaces`, `interfaces.d/x`) to
   * contents.  Omitted: /etc/network stays as the previous step left it.
   */
  files?: string | Record<string, string>;
  /** Run `ifreload -a` (or these arguments) after placing the files; default: true when `files` is given. */
  ifreload?: boolean | string;
  /**
   * Bash code run after the reload, as root, in the scratch dir.  Its
   * environment has KT_REPO (the repository's path, also the guest's), KT_SCRATCH
   * (a writable tmpfs), KT_OUT (this step's result dir: files dropped there show up
   * in `extra`), KT_STEP; PATH has ifup/ifdown/ifquery/ifreload and /usr/bin/node.
   */
  script?: string;
  /** Run `ifquery --check -a -o json` (after the script); default true. */
  check?: boolean;
  /** Dump the kernel state (ip, bridge, /proc/net/bonding); default true. */
  dump?: boolean;
}

export interface GuestRunOptions {
  /** The steps, in order; or use `files` (+ `script` run after each). */
  steps?: GuestStep[];
  /** Shorthand: one step per interfaces file. */
  files?: string[];
  /** Shorthand: bash code run after each of `files`. */
  script?: string;
  /** Names of the fake NICs. */
  nics?: readonly string[];
  /** The repository path passed to the guest; default: this checkout. */
  repo?: string;
  /** Per-boot limit in ms; default BOOT_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** What one step left behind, read back from the guest's kernel. */
export interface StepResult {
  index: number;
  name: string;
  ifreload?: { rc: number; log: string };
  script?: { rc: number; stdout: string; stderr: string };
  /** `ifquery --check -a -o json`: rc 0 means the kernel matches the file. */
  check?: { rc: number; json: CheckEntry[] | null; raw: string; stderr: string };
  /** `ip -j -d link` */
  link: IpLink[];
  /** `ip -j addr` */
  addr: IpAddr[];
  /** `ip -j route` */
  route: Record<string, unknown>[];
  /** `bridge -j vlan show` */
  vlan: BridgeVlanPort[];
  /** Text of /proc/net/bonding/<bond>, by bond name. */
  bonding: Record<string, string>;
  /** Other files the step's script wrote to $KT_OUT. */
  extra: Record<string, string>;
  /** Guest seconds spent on the step. */
  seconds: number;
}

export interface GuestRunResult {
  kernel: string;
  steps: StepResult[];
  /** Host wall time of the boot, seconds. */
  seconds: number;
  console: string;
  guestLog: string;
}

export interface CheckEntry {
  name: string;
  status?: string;
  config?: Record<string, unknown>;
  config_status?: Record<string, string>;
  [key: string]: unknown;
}

export interface IpLink {
  ifname: string;
  ifindex: number;
  link?: string;
  master?: string;
  flags: string[];
  operstate?: string;
  address?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: Record<string, unknown>;
    info_slave_kind?: string;
    info_slave_data?: Record<string, unknown>;
  };
  [key: string]: unknown;
}

export interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; [key: string]: unknown }[];
  [key: string]: unknown;
}

export interface BridgeVlanPort {
  ifname: string;
  vlans: { vlan: number; vlanEnd?: number; flags?: string[] }[];
}

/** A guest that did not boot, timed out, or did not finish its steps. */
export class GuestError extends Error {
  override name = 'GuestError';
  /** The steps that did finish before the guest stopped. */
  readonly steps: StepResult[];
  constructor(message: string, steps: StepResult[] = []) {
    super(message);
    this.steps = steps;
  }
}

const inCI = (): boolean => /^(1|true|yes)$/i.test(process.env['CI'] ?? '');

function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '/usr/bin:/bin').split(':').some((d) => d !== '' && existsSync(join(d, cmd)));
}

/** What the host lacks for the tier (empty: it can run). */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!onPath('qemu-system-x86_64')) missing.push('qemu-system-x86_64 (apt-get install qemu-system-x86)');
  if (!onPath('busybox')) missing.push('busybox (apt-get install busybox-static)');
  if (!existsSync('/usr/bin/python3')) missing.push('/usr/bin/python3 (ifupdown2 runs on it)');
  for (const c of ['ip', 'bridge', 'flock', 'timeout']) if (!onPath(c)) missing.push(c);
  const cached = existsSync(CACHE_DIR) && readdirSync(CACHE_DIR).some((f) => f.startsWith('linux-'));
  if (!cached && !(onPath('apt-get') && onPath('dpkg-deb')))
    missing.push('apt-get + dpkg-deb (to fetch the kernel and ifupdown2)');
  // QEMU itself runs unprivileged, but the guest reads the host's / with the
  // rights of the QEMU process; as non-root, root-only parts are unreadable.
  if (process.getuid?.() !== 0) missing.push("root (the guest reads the host / with QEMU's rights)");
  return missing;
}

/**
 * For `describe(name, { skip: kernelTierSkip() }, ...)`: a reason to skip
 * when prerequisites are missing outside CI; false otherwise.  Under CI=true it
 * never skips: runInGuest then fails with the same list.
 */
export function kernelTierSkip(): string | false {
  if (process.env['KT_SKIP'] && !inCI()) return `KT_SKIP is set`;
  const missing = missingPrerequisites();
  if (missing.length === 0 || inCI()) return false;
  return `kernel tier needs: ${missing.join(', ')}`;
}

interface Prepared {
  kernel: string;
  initrd: string;
  ifupdown2: string;
  kver: string;
}

let prepared: Promise<Prepared> | undefined;

/** Fetches/unpacks/caches the kernel, initrd and ifupdown2 once per process (prepare.sh). */
export function prepare(): Promise<Prepared> {
  prepared ??= new Promise<Prepared>((ok, fail) => {
    execFile(
      'bash',
      [join(HERE, 'prepare.sh'), CACHE_DIR, join(HERE, 'initrd-init.sh')],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
      (err, stdout, stderr) => {
        if (err) {
          fail(new GuestError(`kernel tier: prepare.sh failed (${err.message.split('\n')[0]})\n${stderr}`));
          return;
        }
        const kv = Object.fromEntries(
          stdout
            .split('\n')
            .filter((l) => l.includes('='))
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        const { KERNEL, INITRD, IFUPDOWN2, KVER } = kv;
        if (!KERNEL || !INITRD || !IFUPDOWN2 || !KVER) {
          fail(new GuestError(`kernel tier: prepare.sh gave no paths:\n${stdout}\n${stderr}`));
          return;
        }
        ok({ kernel: KERNEL, initrd: INITRD, ifupdown2: IFUPDOWN2, kver: KVER });
      },
    );
  });
  return prepared;
}

// QEMU children still running, killed if this process exits early.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(c: ChildProcess): void {
  live.add(c);
  c.once('exit', () => live.delete(c));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const p of live) p.kill('SIGKILL');
      process.exit(130);
    });
  }
}

const sh = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

function tail(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readJson<T>(path: string, fallback: T): T {
  const text = readText(path);
  if (text === undefined || text.trim() === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function normaliseSteps(opts: GuestRunOptions): GuestStep[] {
  const steps = [...(opts.steps ?? [])];
  for (const [i, f] of (opts.files ?? []).entries()) {
    steps.push({ name: `file ${i + 1}`, files: f, ...(opts.script === undefined ? {} : { script: opts.script }) });
  }
  if (steps.length === 0) throw new Error('runInGuest: no steps');
  return steps;
}

/**
 * Boots one guest and runs the steps in order.  Resolves with one result per
 * step; rejects with a GuestError holding the console and guest-log tails when
 * the guest does not boot, times out (QEMU is then killed), or does not finish
 * every step.  The host keeps nothing: the work dir is removed (KT_KEEP=1
 * keeps it for debugging).
 */
export async function runInGuest(opts: GuestRunOptions): Promise<GuestRunResult> {
  const missing = missingPrerequisites();
  if (missing.length > 0) throw new GuestError(`kernel tier cannot run; missing: ${missing.join(', ')}`);
  const steps = normaliseSteps(opts);
  const p = await prepare();
  const w = await mkdtemp(join(tmpdir(), 'nodenet-kt-'));
  try {
    for (const [i, s] of steps.entries()) {
      const d = join(w, 'steps', String(100 + i));
      await mkdir(d, { recursive: true });
      if (s.files !== undefined) {
        const files = typeof s.files === 'string' ? { interfaces: s.files } : s.files;
        for (const [rel, content] of Object.entries(files)) {
          if (rel.startsWith('/') || rel.split('/').includes('..')) throw new Error(`bad path ${rel}`);
          await mkdir(dirname(join(d, 'etc', rel)), { recursive: true });
          await writeFile(join(d, 'etc', rel), content);
        }
      }
      const reload = s.ifreload ?? s.files !== undefined;
      if (reload !== false) await writeFile(join(d, 'ifreload'), reload === true ? '-a' : reload);
      if (s.script !== undefined) await writeFile(join(d, 'script'), s.script);
      if (s.check !== false) await writeFile(join(d, 'check'), '');
      if (s.dump !== false) await writeFile(join(d, 'dump'), '');
    }
    const repo = opts.repo ?? REPO_ROOT;
    const nics = opts.nics ?? DEFAULT_NICS;
    await writeFile(
      join(w, 'config'),
      `KT_REPO=${sh(repo)}\nKT_IFU=${sh(p.ifupdown2)}\nKT_NICS=${sh(nics.join(' '))}\n`,
    );
    await writeFile(join(w, 'boot'), `exec /bin/bash ${sh(join(HERE, 'guest.sh'))}\n`);

    const timeoutMs = opts.timeoutMs ?? BOOT_TIMEOUT_MS;
    const t0 = performance.now();
    const outcome = await boot(p, w, timeoutMs);
    const seconds = (performance.now() - t0) / 1000;
    const consoleText = readText(join(w, 'console.log')) ?? '';
    const guestLog = readText(join(w, 'guest.log')) ?? '';
    const results: StepResult[] = [];
    for (const [i, s] of steps.entries()) {
      const o = join(w, 'out', String(100 + i));
      if (!existsSync(join(o, 'done'))) break;
      results.push(readStep(o, i, s.name ?? `step ${i + 1}`));
    }
    if (results.length !== steps.length) {
      const why = outcome.timedOut
        ? `timed out after ${timeoutMs / 1000} s (QEMU killed)`
        : `QEMU exited (${outcome.how})`;
      throw new GuestError(
        `kernel tier: guest ${why} after ${results.length} of ${steps.length} steps ` +
          `(${seconds.toFixed(1)} s)\n--- console tail ---\n${tail(consoleText, 40)}` +
          `\n--- guest log tail ---\n${tail(guestLog, 40)}\n${outcome.stderr ? `--- qemu stderr ---\n${tail(outcome.stderr, 20)}` : ''}`,
        results,
      );
    }
    return {
      kernel: (readText(join(w, 'kernel')) ?? '').trim(),
      steps: results,
      seconds,
      console: consoleText,
      guestLog,
    };
  } finally {
    if (process.env['KT_KEEP']) process.stderr.write(`kernel tier: kept ${w}\n`);
    else await rm(w, { recursive: true, force: true });
  }
}

function boot(p: Prepared, w: string, timeoutMs: number): Promise<{ timedOut: boolean; how: string; stderr: string }> {
  const secs = Math.ceil(timeoutMs / 1000);
  // `timeout` is a second guard: should this process die without running its
  // exit hook (SIGKILL), QEMU still ends within the limit.
  const args = [
    '-k',
    '5',
    String(secs + 10),
    'qemu-system-x86_64',
    '-accel',
    'tcg',
    '-m',
    process.env['KT_MEM'] ?? '1024',
    // one vCPU: on 2 host cores a second one competes with QEMU's 9p I/O thread
    '-smp',
    process.env['KT_SMP'] ?? '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-monitor',
    'none',
    '-no-reboot',
    '-serial',
    `file:${join(w, 'console.log')}`,
    '-kernel',
    p.kernel,
    '-initrd',
    p.initrd,
    '-append',
    'console=ttyS0 panic=-1 quiet mitigations=off cryptomgr.notests tsc=reliable no_timer_check',
    // multidevs=remap: the host's / spans several devices (inode clashes otherwise)
    '-virtfs',
    'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs',
    `local,path=${w},mount_tag=work,security_model=none`,
  ];
  return new Promise((ok) => {
    const child = spawn('timeout', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    trackChild(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM'); // timeout(1) passes it on to QEMU
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      ok({ timedOut, how: `spawn failed: ${e.message}`, stderr });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      ok({ timedOut: timedOut || code === 124, how: signal ? `signal ${signal}` : `exit code ${code}`, stderr });
    });
  });
}

function readStep(o: string, index: number, name: string): StepResult {
  const r: StepResult = {
    index,
    name,
    link: readJson<IpLink[]>(join(o, 'link.json'), []),
    addr: readJson<IpAddr[]>(join(o, 'addr.json'), []),
    route: readJson<Record<string, unknown>[]>(join(o, 'route.json'), []),
    vlan: readJson<BridgeVlanPort[]>(join(o, 'vlan.json'), []),
    bonding: {},
    extra: {},
    seconds: Number(readText(join(o, 'seconds')) ?? 'NaN'),
  };
  const rc = (f: string): number => Number((readText(join(o, f)) ?? 'NaN').trim());
  if (existsSync(join(o, 'ifreload.rc')))
    r.ifreload = { rc: rc('ifreload.rc'), log: readText(join(o, 'ifreload.log')) ?? '' };
  if (existsSync(join(o, 'script.rc'))) {
    r.script = {
      rc: rc('script.rc'),
      stdout: readText(join(o, 'script.out')) ?? '',
      stderr: readText(join(o, 'script.err')) ?? '',
    };
  }
  if (existsSync(join(o, 'check.rc'))) {
    r.check = {
      rc: rc('check.rc'),
      json: readJson<CheckEntry[] | null>(join(o, 'check.json'), null),
      raw: readText(join(o, 'check.json')) ?? '',
      stderr: readText(join(o, 'check.err')) ?? '',
    };
  }
  if (existsSync(join(o, 'bonding'))) {
    for (const b of readdirSync(join(o, 'bonding'))) r.bonding[b] = readText(join(o, 'bonding', b)) ?? '';
  }
  const known = new Set([
    'done',
    'seconds',
    'ifreload.rc',
    'ifreload.log',
    'script.rc',
    'script.out',
    'script.err',
    'check.rc',
    'check.json',
    'check.err',
    'link.json',
    'addr.json',
    'route.json',
    'vlan.json',
    'bonding',
  ]);
  for (const f of readdirSync(o)) if (!known.has(f)) r.extra[f] = readText(join(o, f)) ?? '';
  return r;
}
