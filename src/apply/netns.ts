/**
 * The `netns` backend's sandbox: a persistent network namespace per `--root DIR`, with veth
 * "NICs" whose other ends sit (up) in a peer namespace, and a private mount namespace per command
 * in which the real ifupdown2 sees DIR's `etc/network` as `/etc/network`.
 *
 * Layout on disk (all under DIR, never the host's /etc or /run):
 *   DIR/var/lib/nodenet/netns/ifupdown2/    our ifupdown2.conf + addons.conf (state_dir=/run/network/)
 *   DIR/var/lib/nodenet/netns/run-network/  becomes /run/network: ifupdown2's lock and saved state,
 *                                           kept between commands so a reload can down removed ifaces
 *   DIR/var/lib/nodenet/netns/mnt/          an empty mount point for each command's scratch tmpfs
 *
 * Why these mechanics (../shared/research/ifupdown2.md §1.1, §5.7):
 * - `ip netns exec` (not nsenter) so /sys is remounted for the namespace; otherwise ifupdown2
 *   reads and writes the host's /sys/class/net.
 * - `ifreload` has no `-i FILE`; it always reads /etc/network/interfaces, so /etc/network must be
 *   private. This host has no /etc/network to mount over, hence a copy-on-write overlay on /etc.
 * - `/run/network/.lock` is hard-coded, so /run is a private tmpfs with only /run/network bound in.
 */
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodenetError } from '../errors.ts';
import type { Ifupdown2Install } from './ifupdown2.ts';
import { createRunner, runChecked, type RunOptions, type RunResult, type Runner } from './runner.ts';

/** Linux interface names: at most 15 bytes, no `/`, whitespace or `:` (IFNAMSIZ 16 with NUL). */
const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** How long destroy() waits for killed processes to leave a namespace; SIGKILL takes ms. */
const DRAIN_TIMEOUT_MS = 5_000;
/** Poll interval while draining: short, the wait is normally one or two rounds. */
const DRAIN_POLL_MS = 50;

/**
 * The end of both mount setups below: /etc/network (on an overlay of /etc when the host has
 * none) and /run from the scratch tmpfs, our commands first on PATH, then the command.
 */
const MOUNT_TAIL = `if [ ! -d /etc/network ]; then
  mount -t overlay -o "lowerdir=/etc,upperdir=$s/up,workdir=$s/wk" nodenet-etc /etc
  mkdir /etc/network
fi
mount --rbind "$s/etcnet" /etc/network
mount --rbind "$s/run" /run
PATH="$bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
exec "$@"
`;

/**
 * The mount setup run inside `ip netns exec NS unshare -m --propagation private`. It is a fixed
 * script; everything variable comes in as positional parameters, never spliced into the text.
 *   $1 DIR/etc/network   $2 our ifupdown2 conf dir   $3 persistent run-network dir
 *   $4 scratch mount point   $5 dir to put first on PATH   $6... the command
 * Sources are bound into a scratch tmpfs first, so they stay reachable even when the root lies
 * under /etc or /run, which the later mounts hide. `set -e`: if any mount fails the command
 * must not run (it would otherwise see the host's /etc/network or /run/network).
 */
const INNER_SCRIPT = `set -eu
etcnet=$1 conf=$2 persist=$3 s=$4 bin=$5
shift 5
mount -t tmpfs -o mode=0755 nodenet-scratch "$s"
mkdir "$s/etcnet" "$s/run" "$s/run/network" "$s/up" "$s/wk"
for src in "$etcnet"/* "$etcnet"/.[!.]*; do
  [ -e "$src" ] || continue
  name=\${src##*/}
  [ "$name" != ifupdown2 ] || continue
  if [ -d "$src" ]; then mkdir "$s/etcnet/$name"; else : >"$s/etcnet/$name"; fi
  mount --bind "$src" "$s/etcnet/$name"
done
mkdir "$s/etcnet/ifupdown2"
mount --bind "$conf" "$s/etcnet/ifupdown2"
mount --bind "$persist" "$s/run/network"
${MOUNT_TAIL}`;

/**
 * The mount setup for a long-lived process (the warm ifupdown2 worker), same parameters as
 * {@link INNER_SCRIPT}. Binding each entry of DIR/etc/network (as INNER_SCRIPT does) pins the
 * inode each name had at start, so a file renamed into place later (the apply's swap) would
 * never be seen. Here DIR/etc/network and our ifupdown2 conf are bound whole at
 * /run/nodenet/etc-network and /run/nodenet/ifupdown2, and /etc/network is an empty tmpfs
 * directory that the process fills with symlinks into them (and refreshes before each command).
 */
const LIVE_SCRIPT = `set -eu
etcnet=$1 conf=$2 persist=$3 s=$4 bin=$5
shift 5
mount -t tmpfs -o mode=0755 nodenet-scratch "$s"
mkdir "$s/etcnet" "$s/run" "$s/run/network" "$s/run/nodenet" "$s/run/nodenet/etc-network" "$s/run/nodenet/ifupdown2" "$s/up" "$s/wk"
if [ -d "$etcnet" ]; then mount --bind "$etcnet" "$s/run/nodenet/etc-network"; fi
mount --bind "$conf" "$s/run/nodenet/ifupdown2"
mount --bind "$persist" "$s/run/network"
${MOUNT_TAIL}`;

/** Where {@link LIVE_SCRIPT} makes the live configuration visible inside the sandbox. */
export const LIVE_PATHS = {
  /** DIR/etc/network, bound whole. */
  etcNetwork: '/run/nodenet/etc-network',
  /** Our ifupdown2.conf + addons.conf directory. */
  conf: '/run/nodenet/ifupdown2',
  /** The directory to fill with symlinks to the two above. */
  dst: '/etc/network',
} as const;

/** Names of a root's two namespaces. */
export interface SandboxNames {
  /** The namespace where ifupdown2 runs and the NICs live: `nodenet-<8 hex>`. */
  ns: string;
  /** The namespace holding the other ends of the veth NICs: `nodenet-<8 hex>-peer`. */
  peer: string;
}

/**
 * Namespace names for a root: a hash of its realpath, so `--root ./x` and `--root /abs/x` share
 * one sandbox, and two roots never do.
 */
export function sandboxNames(root: string): SandboxNames {
  let real: string;
  try {
    real = realpathSync(root);
  } catch (e) {
    throw new NodenetError('IO', `root directory ${root} does not exist`, { cause: e });
  }
  const hex = createHash('sha256').update(real).digest('hex').slice(0, 8);
  return { ns: `nodenet-${hex}`, peer: `nodenet-${hex}-peer` };
}

/** Options for {@link NetnsSandbox}. */
export interface SandboxOptions {
  /** The `--root` directory whose `etc/network` ifupdown2 will see. */
  root: string;
  /** The ifupdown2 to run inside (normally the unpacked copy). Only destroy() works without. */
  install?: Ifupdown2Install;
  run?: Runner;
}

/**
 * One root's sandbox. Creating the object does nothing; {@link NetnsSandbox.ensure} makes the
 * namespaces, {@link NetnsSandbox.destroy} removes them with everything inside.
 */
export class NetnsSandbox {
  readonly root: string;
  readonly names: SandboxNames;
  private readonly maybeInstall: Ifupdown2Install | undefined;
  /** DIR/var/lib/nodenet/netns: the sandbox's own files. */
  readonly stateDir: string;
  private readonly run: Runner;

  constructor(opts: SandboxOptions) {
    this.root = realpathSync(opts.root);
    this.names = sandboxNames(this.root);
    this.maybeInstall = opts.install;
    this.run = opts.run ?? createRunner();
    this.stateDir = join(this.root, 'var', 'lib', 'nodenet', 'netns');
  }

  /** The ifupdown2 run inside. */
  get install(): Ifupdown2Install {
    if (this.maybeInstall === undefined) throw new NodenetError('INTERNAL', 'sandbox created without ifupdown2');
    return this.maybeInstall;
  }

  /** Namespace name, e.g. `nodenet-1a2b3c4d`. */
  get name(): string {
    return this.names.ns;
  }

  /** Whether the main namespace exists now. */
  async exists(): Promise<boolean> {
    return (await this.listNamespaces()).has(this.names.ns);
  }

  /**
   * The sandbox's NICs: the names of the veth ends its peer namespace holds (one per NIC), or
   * null when the namespaces do not exist yet. Validation checks ports against these, as it
   * checks them against /sys/class/net on the host.
   */
  async nics(): Promise<string[] | null> {
    const have = await this.listNamespaces();
    if (!have.has(this.names.ns) || !have.has(this.names.peer)) return null;
    return (await this.linkNames(this.names.peer)).filter((n) => n !== 'lo').sort();
  }

  /** The link names of one of the sandbox's namespaces (the peer holds only the NICs' ends). */
  private async linkNames(ns: string): Promise<string[]> {
    const out = await runChecked(this.run, 'ip', ['-n', ns, '-j', 'link', 'show']);
    const links = JSON.parse(out || '[]') as { ifname?: string }[];
    return links.map((l) => l.ifname ?? '').filter((n) => n !== '');
  }

  private async listNamespaces(): Promise<Set<string>> {
    const out = await runChecked(this.run, 'ip', ['netns', 'list']);
    // lines look like "nodenet-1a2b3c4d (id: 0)" or just the name
    return new Set(
      out
        .split('\n')
        .map((l) => l.split(' ')[0] ?? '')
        .filter((n) => n !== ''),
    );
  }

  /**
   * Makes sure both namespaces, the sandbox's files and a veth NIC per name exist (idempotent:
   * only what is missing is created; NICs are never removed). A NIC's peer end is set up so the
   * NIC gets carrier once ifupdown2 brings it up. On failure, namespaces created by this call are
   * removed again.
   */
  async ensure(nics: readonly string[] = []): Promise<void> {
    for (const n of nics) {
      if (!IFNAME_RE.test(n)) throw new NodenetError('PARAM', `invalid NIC name ${JSON.stringify(n)}`);
    }
    const have = await this.listNamespaces();
    const created: string[] = [];
    try {
      for (const ns of [this.names.ns, this.names.peer]) {
        if (have.has(ns)) continue;
        const r = await this.run('ip', ['netns', 'add', ns]);
        // "File exists": a concurrent ensure() won the race; that is fine.
        if (r.code !== 0 && !/exists/i.test(r.stderr)) {
          throw new NodenetError('BACKEND', `ip netns add ${ns} failed: ${r.stderr.trim()}`);
        }
        if (r.code === 0) created.push(ns);
      }
      if (created.includes(this.names.ns)) {
        // A fresh namespace (first use, or after a reboot removed the old one): saved ifupdown2
        // state from an earlier namespace would describe interfaces that no longer exist.
        await rm(join(this.stateDir, 'run-network'), { recursive: true, force: true });
      }
      await this.writeFiles();
      for (const nic of nics) {
        // one look-up per NIC, not a dump of every link (thousands of bridges on a big node)
        const present = (await this.run('ip', ['-n', this.names.ns, 'link', 'show', 'dev', nic])).code === 0;
        if (!present) {
          await runChecked(this.run, 'ip', [
            'link',
            'add',
            nic,
            'netns',
            this.names.ns,
            'type',
            'veth',
            'peer',
            'name',
            nic,
            'netns',
            this.names.peer,
          ]);
        }
        await runChecked(this.run, 'ip', ['-n', this.names.peer, 'link', 'set', nic, 'up']);
      }
    } catch (e) {
      for (const ns of created) await this.removeNamespace(ns).catch(() => undefined);
      throw e;
    }
  }

  /** The sandbox's ifupdown2 config: the package's, with state under /run/network as on PVE. */
  private async writeFiles(): Promise<void> {
    const confDir = join(this.stateDir, 'ifupdown2');
    await mkdir(join(confDir, 'policy.d'), { recursive: true });
    await mkdir(join(this.stateDir, 'run-network'), { recursive: true });
    await mkdir(join(this.stateDir, 'mnt'), { recursive: true });
    const pkgConf = await readFile(join(this.install.confDir, 'ifupdown2.conf'), 'utf8');
    const conf = setConf(setConf(pkgConf, 'state_dir', '/run/network/'), 'multiple_vlan_aware_bridge_support', '1');
    await writeIfChanged(join(confDir, 'ifupdown2.conf'), conf);
    await writeIfChanged(
      join(confDir, 'addons.conf'),
      await readFile(join(this.install.confDir, 'addons.conf'), 'utf8'),
    );
  }

  /**
   * Runs argv inside the namespace AND a private mount namespace where /etc/network is DIR's
   * (plus our ifupdown2 conf), /run is private with a persistent /run/network, and the
   * ifupdown2 commands are first on PATH. Call {@link ensure} first.
   */
  exec(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) throw new NodenetError('INTERNAL', 'exec: empty argv');
    return this.run('ip', this.mountedArgs(INNER_SCRIPT, argv), opts);
  }

  /** `ip` arguments that run argv in the namespace under a mount setup script (its parameters: see INNER_SCRIPT). */
  private mountedArgs(script: string, argv: readonly string[]): string[] {
    return [
      'netns',
      'exec',
      this.names.ns,
      'unshare',
      '-m',
      '--propagation',
      'private',
      '/bin/sh',
      '-c',
      script,
      'nodenet-sandbox',
      join(this.root, 'etc', 'network'),
      join(this.stateDir, 'ifupdown2'),
      join(this.stateDir, 'run-network'),
      join(this.stateDir, 'mnt'),
      this.install.binDir,
      ...argv,
    ];
  }

  /**
   * The command line ({@link exec}'s, for a process the caller spawns and keeps): argv runs in
   * the namespace with the same private /run and ifupdown2 conf, but /etc/network starts as an
   * empty writable directory and DIR/etc/network and the conf are reachable live at
   * {@link LIVE_PATHS} (see LIVE_SCRIPT). For the warm ifupdown2 worker. Call ensure() first.
   */
  liveCommand(argv: readonly string[]): { cmd: string; args: string[] } {
    if (argv.length === 0) throw new NodenetError('INTERNAL', 'liveCommand: empty argv');
    return { cmd: 'ip', args: this.mountedArgs(LIVE_SCRIPT, argv) };
  }

  /**
   * Runs argv in the network namespace only (host mounts, read-only use intended): `ip`,
   * `bridge`, `iptables-save`, `sysctl`, `ip addr del` for drift tests. Cheaper than exec().
   */
  execNet(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) throw new NodenetError('INTERNAL', 'execNet: empty argv');
    return this.run('ip', ['netns', 'exec', this.names.ns, ...argv], opts);
  }

  /** Runs argv in the peer ("wire") namespace, e.g. to take a NIC's carrier away. */
  execPeer(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    if (argv.length === 0) throw new NodenetError('INTERNAL', 'execPeer: empty argv');
    return this.run('ip', ['netns', 'exec', this.names.peer, ...argv], opts);
  }

  /**
   * Removes both namespaces and everything in them: processes still running inside (ours:
   * post-up daemons, dhclient) are killed first so no namespace outlives its name, then the
   * sandbox's files under DIR/var/lib/nodenet/netns. Idempotent.
   */
  async destroy(): Promise<void> {
    const have = await this.listNamespaces();
    const errors: string[] = [];
    for (const ns of [this.names.ns, this.names.peer]) {
      if (!have.has(ns)) continue;
      try {
        await this.removeNamespace(ns);
      } catch (e) {
        errors.push(String(e));
      }
    }
    await rm(this.stateDir, { recursive: true, force: true });
    if (errors.length > 0) throw new NodenetError('BACKEND', `netns destroy: ${errors.join('; ')}`);
  }

  private async removeNamespace(ns: string): Promise<void> {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    for (;;) {
      const r = await this.run('ip', ['netns', 'pids', ns]);
      const pids = r.stdout
        .split(/\s+/)
        .filter((p) => /^\d+$/.test(p))
        .map(Number);
      if (pids.length === 0) break;
      if (Date.now() > deadline) {
        throw new NodenetError('BACKEND', `processes ${pids.join(' ')} do not leave namespace ${ns}`);
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      await new Promise((res) => setTimeout(res, DRAIN_POLL_MS));
    }
    const r = await this.run('ip', ['netns', 'del', ns]);
    if (r.code !== 0 && !/No such file/i.test(r.stderr)) {
      throw new NodenetError('BACKEND', `ip netns del ${ns} failed: ${r.stderr.trim()}`);
    }
  }
}

/** Sets `key=value` in an ifupdown2.conf text, replacing the key's line or appending one. */
function setConf(text: string, key: string, value: string): string {
  const re = new RegExp(`^${key}=.*$`, 'm');
  return re.test(text) ? text.replace(re, `${key}=${value}`) : `${text.replace(/\n?$/, '\n')}${key}=${value}\n`;
}

async function writeIfChanged(path: string, content: string): Promise<void> {
  if (existsSync(path) && (await readFile(path, 'utf8')) === content) return;
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}
