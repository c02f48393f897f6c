/**
 * Shared setup for the netns integration tests: prerequisite checks (skip locally, fail in CI),
 * temp roots with an inline interfaces file, and leak checks.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultIfupdown2CacheDir } from '../../src/apply/ifupdown2.ts';

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What is missing to run real ifupdown2 in a namespace; empty when everything is there. */
export function missingPrerequisites(extra: string[] = []): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (run as uid 0)');
  for (const cmd of ['ip', 'bridge', 'unshare', 'mount', ...extra])
    if (!onPath(cmd)) missing.push(`the ${cmd} command`);
  if (!existsSync('/usr/bin/python3')) missing.push('/usr/bin/python3');
  const cached = existsSync(join(defaultIfupdown2CacheDir(), 'unpacked', 'VERSION'));
  const debInCache =
    existsSync(defaultIfupdown2CacheDir()) &&
    readdirSync(defaultIfupdown2CacheDir()).some((f) => /^ifupdown2_.*\.deb$/.test(f));
  if (!cached && !(onPath('dpkg-deb') && (debInCache || onPath('apt-get')))) {
    missing.push('ifupdown2 (apt-get download + dpkg-deb, or a cached copy in .cache/ifupdown2)');
  }
  return missing;
}

/**
 * The `skip` option for a describe(): false when prerequisites are met; a message naming what is
 * missing otherwise. In CI (`CI=true`) a missing prerequisite is a failure, not a skip.
 */
export function skipUnlessReady(extra: string[] = []): false | string {
  const missing = missingPrerequisites(extra);
  if (missing.length === 0) return false;
  const msg = `netns tests need: ${missing.join(', ')}`;
  if (process.env['CI'] === 'true') throw new Error(`${msg} (CI=true: missing prerequisites fail)`);
  return msg;
}

/** A temp root with `etc/network/interfaces` holding `text`; remove it with {@link removeRoot}. */
export function makeRoot(text: string): string {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-netns-test-'));
  mkdirSync(join(root, 'etc', 'network', 'interfaces.d'), { recursive: true });
  writeInterfaces(root, text);
  return root;
}

export function writeInterfaces(root: string, text: string): void {
  writeFileSync(join(root, 'etc', 'network', 'interfaces'), text);
}

export function removeRoot(root: string | undefined): void {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
}

/** Names from `ip netns list`. */
export function namespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

/** The inode identifying a named namespace (`net:[INODE]` in /proc/PID/ns/net). */
export function namespaceInode(name: string): number {
  return statSync(`/run/netns/${name}`).ino;
}

/** PIDs of processes whose network namespace has inode `ino`. */
export function processesInNamespace(ino: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/net`) === `net:[${ino}]`) pids.push(Number(d));
    } catch {
      // exited, or a kernel thread
    }
  }
  return pids;
}

/** Host mount table lines mentioning `needle`. */
export function hostMountsMentioning(needle: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes(needle));
}

/** `auto lo` + `iface lo inet loopback`, as every file starts. */
export const LO = 'auto lo\niface lo inet loopback\n\n';

/** The bridged LAN file of the seed: vmbr0 on eno1 with address and gateway. */
export function bridgedFile(address = '192.168.100.2/24', extra = ''): string {
  return (
    LO +
    'iface eno1 inet manual\n\n' +
    'auto vmbr0\niface vmbr0 inet static\n' +
    `\taddress ${address}\n\tgateway 192.168.100.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n${extra}\n`
  );
}

/** The NAT stanza (PVE docs' example, with the idempotent -C || -A form so reloads add no duplicates). */
export const NAT_STANZA =
  'auto vmbr1\niface vmbr1 inet static\n\taddress 10.10.10.1/24\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n' +
  '\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward\n' +
  "\tpost-up iptables -t nat -C POSTROUTING -s '10.10.10.0/24' -o vmbr0 -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o vmbr0 -j MASQUERADE\n" +
  "\tpost-down iptables -t nat -D POSTROUTING -s '10.10.10.0/24' -o vmbr0 -j MASQUERADE\n\n";
