/**
 * Backends: where and how a configuration is reloaded and the kernel state read back.
 *
 * - `ifupdown2`: the real host; only ever for `--root /`. Under `nodenet serve`, targeted
 *   reloads go through a warm ifupdown2 worker (warm.ts); a CLI's own apply stays cold.
 * - `netns`: a private network + mount namespace per root with the real ifupdown2 inside;
 *   targeted reloads (`ifup`/`ifdown`) go through a warm ifupdown2 worker (warm.ts).
 * - `none`: nothing is reloaded; for API tests.
 *
 * The apply pipeline (confirm window, history) builds on these; it decides *what* to reload.
 */
import { realpathSync } from 'node:fs';
import { NodenetError } from '../errors.ts';
import {
  SYSTEM_PYTHON,
  describeInstall,
  findHostIfupdown2,
  prepareUnpackedIfupdown2,
  type Ifupdown2Command,
  type Ifupdown2Install,
} from './ifupdown2.ts';
import { LIVE_PATHS, NetnsSandbox } from './netns.ts';
import { createRunner, type RunOptions, type RunResult, type Runner } from './runner.ts';
import { emptyKernelState, hostExec, readKernelState, type Exec, type KernelState } from './state.ts';
import { WarmIfupdown2, workerScriptPath } from './warm.ts';

export type BackendKind = 'ifupdown2' | 'netns' | 'none';

/**
 * What to reload: everything (`ifreload -a`), or only the named interfaces: `down` taken down,
 * `up` brought up with their lower devices (`ifup -w`), then `again` brought up alone (`ifup`,
 * no lower device touched: the repair of settle.ts repairLowMtu).
 */
export type ReloadPlan = { all: true } | { up: string[]; down: string[]; again?: string[] };

/** A warning or error ifupdown2 printed, attributed to its interface where it names one. */
export interface ReloadIssue {
  iface?: string;
  severity: 'error' | 'warning';
  message: string;
}

export interface ReloadResult {
  /** 0 when every command exited 0; else the first non-zero exit status. ifupdown2 applies the
   *  rest of the file even when it fails (research §5.4), so check `errors` and verify the state. */
  code: number;
  /** Every output line, plus one `$ command` line before each command. */
  log: string[];
  errors: ReloadIssue[];
}

export interface CheckResult {
  /** `ifquery --check -a` exit status: 0 when ifupdown2 finds the kernel matches the file. */
  code: number;
  ifaces: { name: string; status: string; config_status: Record<string, string> }[];
}

/** What the apply pipeline uses. */
export interface Backend {
  kind: BackendKind;
  /** One line for logs, e.g. `netns nodenet-1a2b3c4d (ifupdown2 3.0.0-1.1, unpacked)`. */
  describe(): Promise<string>;
  /** Makes the backend usable; for netns, creates the namespace and a veth per NIC name. */
  prepare(nics: string[]): Promise<void>;
  /** Applies the live file. Streams each output line to `log` as it comes. */
  reload(plan: ReloadPlan, log: (line: string) => void): Promise<ReloadResult>;
  /**
   * The normalised kernel state where this backend applies. With `scope`: only those interfaces
   * (and the links enslaved to them), their routes and the default routes (see readRawState).
   */
  readState(scope?: readonly string[]): Promise<KernelState>;
  /** `ifquery --check -a -o json`. */
  check(): Promise<CheckResult>;
  /** Runs a command where this backend applies (netns: inside the sandbox with its mounts). */
  exec(argv: string[]): Promise<RunResult>;
  /**
   * The NICs of the node this backend applies to, when it has a fixed set: the netns
   * sandbox's veth NICs once it exists (null before). Absent for the host (validation reads
   * /sys/class/net) and for none.
   */
  nics?(): Promise<string[] | null>;
  /**
   * Stops what the backend keeps running between applies (the warm ifupdown2 worker), for
   * `nodenet serve`'s shutdown. Absent when it keeps nothing.
   */
  close?(): Promise<void>;
}

// ---------------------------------------------------------------- log attribution

/** Warnings every run prints that mean nothing for the result (research §5.6). */
export const HARMLESS_WARNINGS: readonly RegExp[] = [/^\/sbin\/brctl: missing\b/];

/** Linux interface names (IFNAMSIZ 16 with NUL); also excludes paths, prose and `-options`. */
const IFNAME = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]{0,14}$/;

/**
 * Picks ifupdown2's `warning:`/`error:` lines out of its output and attributes each to an
 * interface: `error: vmbr0: bridge port eno9 does not exist` → vmbr0,
 * `error: netlink: eno2.20: cannot create vlan ...` → eno2.20,
 * `error: /etc/network/interfaces: line11: iface vmbr1: unsupported ...` → vmbr1.
 * When `known` is given, only those names count as interfaces (so a prefix like `iptables:` is
 * not taken for one). Harmless warnings are dropped; `info:`/`debug:` lines are not issues.
 */
export function parseIfupdown2Log(lines: readonly string[], known?: ReadonlySet<string>): ReloadIssue[] {
  const issues: ReloadIssue[] = [];
  const isIface = (n: string): boolean => IFNAME.test(n) && (known === undefined || known.has(n));
  for (const line of lines) {
    const m = /^(error|warning): (.*)$/.exec(line.trimEnd());
    if (m === null) continue;
    const severity = m[1] === 'error' ? 'error' : 'warning';
    const body = m[2] ?? '';
    if (HARMLESS_WARNINGS.some((re) => re.test(body))) continue;
    const nl = /^netlink: ([^:\s]+): (.*)$/.exec(body);
    if (nl !== null && isIface(nl[1] ?? '')) {
      issues.push({ iface: nl[1] ?? '', severity, message: nl[2] ?? '' });
      continue;
    }
    const pre = /^([^:\s]+): (.*)$/.exec(body);
    if (pre !== null && isIface(pre[1] ?? '')) {
      issues.push({ iface: pre[1] ?? '', severity, message: pre[2] ?? '' });
      continue;
    }
    const st = /\biface ([^:\s]+):/.exec(body);
    if (st !== null && isIface(st[1] ?? '')) {
      issues.push({ iface: st[1] ?? '', severity, message: body });
      continue;
    }
    issues.push({ severity, message: body });
  }
  return issues;
}

// ---------------------------------------------------------------- shared ifupdown2 driving

/** Runs one ifupdown2 command where the backend applies. */
type RunIfupdown2 = (cmd: Ifupdown2Command, args: string[], opts: RunOptions) => Promise<RunResult>;

/**
 * The commands for a plan. Targeted: `ifdown` the removed interfaces first (ifdown reads their
 * old config from ifupdown2's saved state, so it works after the stanza left the file), then
 * `ifup` the new/changed ones, which reads the new file and records them in the saved state.
 */
export function reloadCommands(plan: ReloadPlan): [Ifupdown2Command, string[]][] {
  if ('all' in plan) return [['ifreload', ['-a']]];
  const cmds: [Ifupdown2Command, string[]][] = [];
  const again = plan.again ?? [];
  for (const n of [...plan.down, ...plan.up, ...again]) {
    if (!IFNAME.test(n)) throw new NodenetError('PARAM', `invalid interface name ${JSON.stringify(n)}`);
  }
  if (plan.down.length > 0) cmds.push(['ifdown', [...plan.down]]);
  // -w (--with-depends): also up the lower interfaces (bridge ports). Without it a port that is
  // new to the bridge stays admin-down, while `ifreload -a` brings it up (measured).
  if (plan.up.length > 0) cmds.push(['ifup', ['-w', ...plan.up]]);
  if (again.length > 0) cmds.push(['ifup', [...again]]);
  return cmds;
}

async function runReload(runIf: RunIfupdown2, plan: ReloadPlan, log: (line: string) => void): Promise<ReloadResult> {
  const lines: string[] = [];
  let code = 0;
  const emit = (l: string): void => {
    lines.push(l);
    log(l);
  };
  for (const [cmd, args] of reloadCommands(plan)) {
    emit(`$ ${[cmd, ...args].join(' ')}`);
    const r = await runIf(cmd, args, { onLine: emit });
    if (r.code !== 0 && code === 0) code = r.code;
  }
  return { code, log: lines, errors: parseIfupdown2Log(lines) };
}

async function runCheck(runIf: RunIfupdown2): Promise<CheckResult> {
  const r = await runIf('ifquery', ['--check', '-a', '-o', 'json'], {});
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout);
  } catch (e) {
    throw new NodenetError('BACKEND', `ifquery --check printed invalid JSON (exit ${r.code}): ${r.stderr.trim()}`, {
      cause: e,
    });
  }
  const ifaces = (Array.isArray(parsed) ? parsed : []).map((x) => {
    const o = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
    const cs = (
      typeof o['config_status'] === 'object' && o['config_status'] !== null ? o['config_status'] : {}
    ) as Record<string, unknown>;
    return {
      name: String(o['name'] ?? ''),
      status: String(o['status'] ?? ''),
      config_status: Object.fromEntries(Object.entries(cs).map(([k, v]) => [k, String(v)])),
    };
  });
  return { code: r.code, ifaces };
}

// ---------------------------------------------------------------- ifupdown2 (host)

/** The host backend, with its warm worker reachable for `nodenet serve` and tests. */
export interface Ifupdown2Backend extends Backend {
  kind: 'ifupdown2';
  /** The warm ifupdown2 worker targeted reloads go through; undefined unless created with `warm: true`. */
  warm(): Promise<WarmIfupdown2 | undefined>;
  close(): Promise<void>;
}

/**
 * The real host's ifupdown2. Refuses any root but `/`: nodenet never reloads the host's network
 * for a configuration that is not the host's.
 *
 * Cold by default: every command runs as its own process (a CLI makes one apply; a worker
 * would pay its start for nothing). With `warm: true` (`nodenet serve`, unless NODENET_WARM=0)
 * targeted reloads (`ifup`/`ifdown`) go through a warm ifupdown2 worker (warm.ts) that keeps
 * the host's netlink cache between applies, with the netns backend's guards: whatever the
 * worker cannot vouch for runs cold, said in the task log. `ifreload -a` and `ifquery` always
 * run cold. The worker starts at the first targeted reload (or its start()) and stops on close().
 */
export function createIfupdown2Backend(opts: { root?: string; run?: Runner; warm?: boolean } = {}): Ifupdown2Backend {
  const root = opts.root ?? '/';
  if (realpathSync(root) !== '/') {
    throw new NodenetError(
      'USAGE',
      `the ifupdown2 backend reloads the host's network and only works with --root / (got ${root}); use --backend netns`,
    );
  }
  const run = opts.run ?? createRunner();
  let install: Ifupdown2Install | undefined;
  const getInstall = async (): Promise<Ifupdown2Install> => (install ??= await findHostIfupdown2(run));
  let warm: WarmIfupdown2 | undefined;
  const getWarm = (i: Ifupdown2Install): WarmIfupdown2 | undefined => {
    if (opts.warm !== true) return undefined;
    warm ??= new WarmIfupdown2({
      command: () => Promise.resolve({ cmd: SYSTEM_PYTHON, args: [workerScriptPath(), i.shareDir] }),
      killGroupOnStop: false,
    });
    return warm;
  };
  const runIf: RunIfupdown2 = async (cmd, args, o) => {
    const i = await getInstall();
    const cold = (): Promise<RunResult> => run(i.commands[cmd], args, o);
    const w = cmd === 'ifup' || cmd === 'ifdown' ? getWarm(i) : undefined;
    return w === undefined ? cold() : w.run(cmd, args, o, cold);
  };
  const exec: Exec = hostExec(run);
  return {
    kind: 'ifupdown2',
    describe: async () => {
      const d = `host (${describeInstall(await getInstall())}`;
      if (warm === undefined) return `${d})`;
      const st = warm.stats;
      const failed = warm.lastStartError === undefined ? '' : `, last failed start: ${warm.lastStartError}`;
      return `${d}; warm worker: ${st.warm} command(s) warm, ${st.cold} cold, ${st.starts} start(s)${failed})`;
    },
    prepare: async () => {
      await getInstall();
    },
    reload: (plan, log) => runReload(runIf, plan, log),
    readState: async (scope) => (await readKernelState(exec, {}, scope)).state,
    check: () => runCheck(runIf),
    exec: (argv) => exec(argv),
    warm: async () => (opts.warm === true ? getWarm(await getInstall()) : undefined),
    close: async () => {
      const w = warm;
      warm = undefined;
      await w?.close(true);
    },
  };
}

// ---------------------------------------------------------------- netns

/** The netns backend, with its sandbox reachable for tests and `nodenet netns destroy`. */
export interface NetnsBackend extends Backend {
  kind: 'netns';
  /** The sandbox (available after prepare()). */
  sandbox(): Promise<NetnsSandbox>;
  /** Runs argv in the network namespace only (no private mounts): `ip`, `bridge`, drift tests. */
  execNet(argv: string[]): Promise<RunResult>;
  /** Removes the namespaces and everything in them (and stops the warm worker first). */
  destroy(): Promise<void>;
  nics(): Promise<string[] | null>;
  /**
   * The warm ifupdown2 worker targeted reloads go through (undefined when created with
   * `warm: false`). It starts at the first targeted reload, or at its start().
   */
  warm(): Promise<WarmIfupdown2 | undefined>;
}

/**
 * Whether a warm worker is wanted: yes, unless NODENET_WARM=0. The netns backend's default;
 * `nodenet serve` passes it as `warm` for every backend (the host backend is cold by default).
 */
export function warmByDefault(): boolean {
  return process.env['NODENET_WARM'] !== '0';
}

/**
 * The sandboxed backend for `root`: real ifupdown2 (unpacked into the cache) in a namespace.
 * Nothing happens until prepare(). `ifup`/`ifdown` (targeted reloads) run in a warm ifupdown2
 * worker unless `warm: false`, NODENET_WARM=0 or a custom `run` is given (the worker does not
 * go through it); `ifreload -a` and `ifquery` always run cold.
 */
export function createNetnsBackend(opts: {
  root: string;
  run?: Runner;
  cacheDir?: string;
  install?: Ifupdown2Install;
  warm?: boolean;
}): NetnsBackend {
  const run = opts.run ?? createRunner();
  let sb: NetnsSandbox | undefined;
  const getSandbox = async (): Promise<NetnsSandbox> => {
    if (sb !== undefined) return sb;
    const install =
      opts.install ??
      (await prepareUnpackedIfupdown2({ run, ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }) }));
    sb = new NetnsSandbox({ root: opts.root, install, run });
    return sb;
  };
  let prepared = false;
  const ready = async (): Promise<NetnsSandbox> => {
    const s = await getSandbox();
    if (!prepared) {
      await s.ensure([]);
      prepared = true;
    }
    return s;
  };
  // The worker is spawned directly, not through `run`: with an injected runner (tests) it is
  // off unless asked for.
  const useWarm = opts.warm ?? (opts.run === undefined && warmByDefault());
  let warm: WarmIfupdown2 | undefined;
  const getWarm = (s: NetnsSandbox): WarmIfupdown2 | undefined => {
    if (!useWarm) return undefined;
    warm ??= new WarmIfupdown2({
      command: () =>
        Promise.resolve(
          s.liveCommand([
            SYSTEM_PYTHON,
            workerScriptPath(),
            s.install.shareDir,
            '--etc-src',
            LIVE_PATHS.etcNetwork,
            '--etc-conf',
            LIVE_PATHS.conf,
            '--etc-dst',
            LIVE_PATHS.dst,
          ]),
        ),
    });
    return warm;
  };
  const runIf: RunIfupdown2 = async (cmd, args, o) => {
    const s = await ready();
    const cold = (): Promise<RunResult> => s.exec([cmd, ...args], o);
    const w = cmd === 'ifup' || cmd === 'ifdown' ? getWarm(s) : undefined;
    return w === undefined ? cold() : w.run(cmd, args, o, cold);
  };
  return {
    kind: 'netns',
    describe: async () => {
      const s = await getSandbox();
      return `netns ${s.name} (${describeInstall(s.install)})`;
    },
    prepare: async (nics) => {
      await (await getSandbox()).ensure(nics);
      prepared = true;
    },
    reload: (plan, log) => runReload(runIf, plan, log),
    readState: async (scope) => {
      const s = await ready();
      return (await readKernelState((argv) => s.execNet(argv), {}, scope)).state;
    },
    check: () => runCheck(runIf),
    exec: async (argv) => (await ready()).exec(argv),
    execNet: async (argv) => (await ready()).execNet(argv),
    sandbox: ready,
    // needs no ifupdown2: listing the sandbox's NICs must not download a copy
    nics: async () => (sb ?? new NetnsSandbox({ root: opts.root, run })).nics(),
    destroy: async () => {
      const w = warm;
      warm = undefined;
      await w?.close(true);
      // destroy needs no ifupdown2: do not download a copy just to remove the namespaces
      await (sb ?? new NetnsSandbox({ root: opts.root, run })).destroy();
      prepared = false;
    },
    warm: async () => getWarm(await ready()),
    close: async () => {
      const w = warm;
      warm = undefined;
      await w?.close(true);
    },
  };
}

// ---------------------------------------------------------------- none

/** Reloads nothing and succeeds; the kernel state is empty. For API tests. */
export function createNoneBackend(): Backend {
  return {
    kind: 'none',
    describe: () => Promise.resolve('none (the file is made live without reloading)'),
    prepare: () => Promise.resolve(),
    reload: (_plan, log) => {
      const line = 'backend none: not reloading';
      log(line);
      return Promise.resolve({ code: 0, log: [line], errors: [] });
    },
    readState: () => Promise.resolve(emptyKernelState()),
    check: () => Promise.resolve({ code: 0, ifaces: [] }),
    exec: (argv) =>
      Promise.reject(new NodenetError('BACKEND', `the none backend runs no commands (${argv.join(' ')})`)),
  };
}

/** Options for {@link createBackend}. */
export interface BackendOptions {
  root: string;
  run?: Runner;
  cacheDir?: string;
  /**
   * Targeted reloads through a warm ifupdown2 worker. netns: default yes, unless NODENET_WARM=0.
   * ifupdown2 (host): default no; `nodenet serve` asks for it (with {@link warmByDefault}).
   */
  warm?: boolean;
}

/** Picks a backend by name (the CLI's and API's `--backend`). */
export function createBackend(kind: BackendKind, opts: BackendOptions): Backend {
  const run = opts.run === undefined ? {} : { run: opts.run };
  switch (kind) {
    case 'ifupdown2':
      return createIfupdown2Backend({
        root: opts.root,
        ...run,
        ...(opts.warm === undefined ? {} : { warm: opts.warm }),
      });
    case 'netns':
      return createNetnsBackend({
        root: opts.root,
        ...run,
        ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
        ...(opts.warm === undefined ? {} : { warm: opts.warm }),
      });
    case 'none':
      return createNoneBackend();
  }
}
