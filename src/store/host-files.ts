/**
 * Reads the node's files that validation needs besides the interfaces file: every sysctl file
 * applied at boot and the corosync configuration, under the root. The meaning of their text is
 * decided by pure code (src/validate/facts.ts); this module only finds and reads the files.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { CorosyncAddress, HostFacts, SysctlSetting } from '../validate/facts.ts';
import { parseCorosync, parseSysctlFile } from '../validate/facts.ts';

/**
 * Where sysctl files are read from at boot, in precedence order (sysctl.d(5), systemd-sysctl
 * and procps `sysctl --system`): a file name in an earlier directory hides the same name in a
 * later one; the files run in lexical order of their names; /etc/sysctl.conf runs last.
 */
export const SYSCTL_DIRS = [
  'etc/sysctl.d',
  'run/sysctl.d',
  'usr/local/lib/sysctl.d',
  'usr/lib/sysctl.d',
  'lib/sysctl.d',
] as const;
export const SYSCTL_CONF = 'etc/sysctl.conf';

/** corosync.conf: the cluster file system's copy wins (Proxmox VE), else corosync's own. */
export const COROSYNC_FILES = ['etc/pve/corosync.conf', 'etc/corosync/corosync.conf'] as const;

async function readText(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** The sysctl files applied at boot under `root`, in the order they are applied (node paths). */
export async function sysctlFiles(root: string): Promise<string[]> {
  const byName = new Map<string, string>();
  for (const dir of SYSCTL_DIRS) {
    let names: string[];
    try {
      names = await fs.readdir(join(root, dir));
    } catch {
      continue;
    }
    for (const n of names) if (n.endsWith('.conf') && !byName.has(n)) byName.set(n, `/${dir}/${n}`);
  }
  const files = [...byName.keys()].sort().map((n) => byName.get(n)!);
  // Debian's /etc/sysctl.d/99-sysctl.conf is a symlink to ../sysctl.conf: read that file once.
  if (
    !files.includes(`/etc/sysctl.d/99-sysctl.conf`) ||
    !(await sameFile(join(root, 'etc/sysctl.d/99-sysctl.conf'), join(root, SYSCTL_CONF)))
  )
    files.push(`/${SYSCTL_CONF}`);
  return files;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([fs.stat(a), fs.stat(b)]);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/** Every sysctl setting applied at boot under `root`, in order. */
export async function readSysctl(root: string): Promise<SysctlSetting[]> {
  const out: SysctlSetting[] = [];
  for (const f of await sysctlFiles(root)) {
    const text = await readText(join(root, f));
    if (text !== null) out.push(...parseSysctlFile(text, f));
  }
  return out;
}

/** The corosync link addresses under `root`, or undefined when there is no corosync.conf. */
export async function readCorosync(root: string): Promise<{ file: string; addrs: CorosyncAddress[] } | undefined> {
  for (const f of COROSYNC_FILES) {
    const text = await readText(join(root, f));
    if (text !== null) return { file: `/${f}`, addrs: parseCorosync(text, `/${f}`) };
  }
  return undefined;
}

/** Open vSwitch's command line tool: present when the package openvswitch-switch is installed. */
export const OVS_VSCTL = 'usr/bin/ovs-vsctl';

/** The facts validation uses (see HostFacts). */
export async function readHostFacts(root: string): Promise<HostFacts> {
  const [sysctl, corosync, ovsInstalled] = await Promise.all([
    readSysctl(root),
    readCorosync(root),
    fs.access(join(root, OVS_VSCTL)).then(
      () => true,
      () => false,
    ),
  ]);
  return { sysctl, ...(corosync ? { corosync } : {}), ovsInstalled };
}
