/**
 * Disabling IPv6 the way the Proxmox VE docs recommend: a sysctl.d file rather than the kernel
 * command line (research proxmox.md §4, end). The pure part decides the file's text; the
 * effect part ({@link ipv6Apply}) writes it atomically and applies it only where that is safe.
 */
import { join } from 'node:path';
import { NodenetError } from '../errors.ts';
import { atomicRemove, atomicWrite, readOptional } from '../store/atomic.ts';
import { readSysctl } from '../store/host-files.ts';
import type { SysctlSetting } from '../validate/facts.ts';
import { ipv6DisabledBy, sysctlPath } from '../validate/facts.ts';

/** Relative to the root (contract.md §1). */
export const IPV6_FILE = 'etc/sysctl.d/disable-ipv6.conf';

export const IPV6_KEYS = ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6'] as const;

/** The file `ipv6 disable` writes: the two lines of the docs, with a comment saying who wrote it. */
export const IPV6_DISABLE_TEXT = `# Written by \`nodenet ipv6 disable\`; \`nodenet ipv6 enable\` removes this file.
net.ipv6.conf.all.disable_ipv6 = 1
net.ipv6.conf.default.disable_ipv6 = 1
`;

/** The sysctl settings a sysctl.d file holds (`key = value` lines; comments skipped). */
export function parseSysctl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    const m = /^-?([^=\s]+)\s*=\s*(.*)$/.exec(l);
    if (m) out[m[1]!.replace(/\//g, '.')] = m[2]!.trim();
  }
  return out;
}

/** Whether a file's text disables IPv6 on all and default interfaces. */
export function disablesIpv6(text: string | null): boolean {
  if (text === null) return false;
  const s = parseSysctl(text);
  return IPV6_KEYS.every((k) => s[k] === '1');
}

/** The file's next content for an action: a text to write, null to remove it, or unchanged. */
export function planIpv6(current: string | null, action: 'disable' | 'enable'): string | null {
  if (action === 'disable') return disablesIpv6(current) ? current : IPV6_DISABLE_TEXT;
  return null;
}

/** Runs a command where the setting applies (host sysctl, or inside the netns backend). */
export type SysctlRunner = (argv: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface Ipv6Outcome {
  file: string;
  changed: boolean;
  /** File content after the action (null: no file). */
  content: string | null;
  /** Whether the settings were applied to a running kernel, and the sentence saying so. */
  applied: boolean;
  message: string;
}

/**
 * Write or remove `ROOT/etc/sysctl.d/disable-ipv6.conf` (atomically) and, when `run` is given,
 * apply it: `sysctl -p FILE` for disable; for enable `sysctl -w KEY=0` for both keys (removing
 * the file alone changes nothing until reboot).
 */
export async function ipv6Apply(
  root: string,
  action: 'disable' | 'enable',
  run?: SysctlRunner,
  notAppliedWhy?: string,
): Promise<Ipv6Outcome> {
  const file = join(root, IPV6_FILE);
  const current = await readOptional(file);
  const next = planIpv6(current, action);
  let changed = false;
  if (next === null) changed = await atomicRemove(file);
  else if (next !== current) {
    await atomicWrite(file, next);
    changed = true;
  }
  if (!run) {
    return {
      file,
      changed,
      content: next,
      applied: false,
      message: notAppliedWhy ?? 'not applied to the running kernel (add --now); it takes effect at the next boot',
    };
  }
  const argv = action === 'disable' ? ['sysctl', '-p', file] : ['sysctl', '-w', ...IPV6_KEYS.map((k) => `${k}=0`)];
  const r = await run(argv);
  if (r.code !== 0)
    throw new NodenetError(
      'BACKEND',
      `${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
  return { file, changed, content: next, applied: true, message: `applied: ${argv.join(' ')}` };
}

/**
 * The staged IPv6 change, next to interfaces.new (sysctl never reads it): `disable` or `enable`.
 * The switch stages here like any other change; Save / Save and apply now make it (ipv6Apply)
 * and clear it, Revert clears it.
 */
export const IPV6_STAGED = 'etc/network/ipv6.new';

/** The staged action, or null when nothing is staged (or the file says something else). */
export async function ipv6Staged(root: string): Promise<'disable' | 'enable' | null> {
  const v = (await readOptional(join(root, IPV6_STAGED)))?.trim();
  return v === 'disable' || v === 'enable' ? v : null;
}

/** Stage an action; one that would not change the saved file clears the stage instead. */
export async function ipv6Stage(
  root: string,
  action: 'disable' | 'enable' | null,
): Promise<'disable' | 'enable' | null> {
  const current = await readOptional(join(root, IPV6_FILE));
  if (action === null || planIpv6(current, action) === current) {
    await atomicRemove(join(root, IPV6_STAGED));
    return null;
  }
  await atomicWrite(join(root, IPV6_STAGED), `${action}\n`);
  return action;
}

/** The running values of the two keys (null where unreadable). */
export async function ipv6Running(run: SysctlRunner): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  for (const k of IPV6_KEYS) {
    const r = await run(['sysctl', '-n', k]);
    out[k] = r.code === 0 ? r.stdout.trim() : null;
  }
  return out;
}

/** What every sysctl file applied at boot says about IPv6 (not only nodenet's own file). */
export interface Ipv6Boot {
  /** Every `…disable_ipv6` line, in the order applied at boot (a later one wins). */
  settings: SysctlSetting[];
  /** The line that disables IPv6 for new interfaces / all of them at boot, if any. */
  disabledBy?: SysctlSetting;
}

/** Read every sysctl file under `root` (sysctl.d dirs and /etc/sysctl.conf) for disable_ipv6. */
export async function ipv6Boot(root: string): Promise<Ipv6Boot> {
  const settings = (await readSysctl(root)).filter((x) => {
    const p = sysctlPath(x.key);
    return p.length === 5 && p[0] === 'net' && p[1] === 'ipv6' && p[2] === 'conf' && p[4] === 'disable_ipv6';
  });
  // A name no interface has: only all/default/glob lines decide.
  const by = ipv6DisabledBy({ sysctl: settings }, '\u0000');
  return { settings, ...(by ? { disabledBy: by } : {}) };
}
