/**
 * Facts about the node from files other than the interfaces file, for the rules that need
 * them: the sysctl settings applied at boot (is IPv6 disabled?) and the corosync links (which
 * network carries the cluster?). The store reads the files (src/store/host-files.ts); parsing
 * their text and deciding what they mean is pure, here.
 */
import { ipVersion } from '../model/ip.ts';

/** One `key = value` line of a sysctl file. */
export interface SysctlSetting {
  /** Path as the node sees it (`/etc/sysctl.d/90-noipv6.conf`). */
  file: string;
  line: number;
  /** As written (`net.ipv6.conf.all.disable_ipv6`, or with `/` separators). */
  key: string;
  value: string;
}

/** One corosync link address of a cluster node (`ringN_addr` / `linkN` of the nodelist). */
export interface CorosyncAddress {
  file: string;
  line: number;
  link: number;
  addr: string;
  /** The `name:` of the node entry, when given. */
  node?: string;
}

export interface HostFacts {
  /** Every sysctl setting in the order they are applied at boot (a later one wins). */
  sysctl?: readonly SysctlSetting[];
  /** The corosync configuration, when the node has one. */
  corosync?: { file: string; addrs: readonly CorosyncAddress[] };
  /** Whether Open vSwitch is installed (/usr/bin/ovs-vsctl, package openvswitch-switch). */
  ovsInstalled?: boolean;
}

/** The settings of one sysctl file (sysctl.d(5): `#`/`;` comments, `-` prefix, `/` or `.` separators). */
export function parseSysctlFile(text: string, file: string): SysctlSetting[] {
  const out: SysctlSetting[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k]!.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
    const m = /^-?([^=\s]+)\s*=\s*(.*)$/.exec(l);
    if (m) out.push({ file, line: k + 1, key: m[1]!, value: m[2]!.trim() });
  }
  return out;
}

/**
 * The components of a sysctl key: `net.ipv6.conf.eno1/100.disable_ipv6` and
 * `net/ipv6/conf/eno1.100/disable_ipv6` both give [net, ipv6, conf, eno1.100, disable_ipv6]
 * (sysctl.d(5): with `.` separators a `/` stands for a dot inside a component).
 */
export function sysctlPath(key: string): string[] {
  const first = /[./]/.exec(key)?.[0];
  if (first === '/') return key.split('/');
  return key.split('.').map((c) => c.replace(/\//g, '.'));
}

/**
 * The setting that decides whether IPv6 is disabled on interface `name` at boot, if it is
 * disabled: the last of `net.ipv6.conf.{NAME,all,default,*}.disable_ipv6` in boot order, when
 * its value is 1. (`default` covers interfaces made after sysctl runs — bridges, bonds, VLANs
 * are made by ifupdown2 later — `all` the ones that exist, a glob every one.)
 */
export function ipv6DisabledBy(facts: HostFacts | undefined, name: string): SysctlSetting | undefined {
  let last: SysctlSetting | undefined;
  for (const s of facts?.sysctl ?? []) {
    const p = sysctlPath(s.key);
    if (p.length !== 5 || p[0] !== 'net' || p[1] !== 'ipv6' || p[2] !== 'conf' || p[4] !== 'disable_ipv6') continue;
    const who = p[3]!;
    if (who === name || who === 'all' || who === 'default' || who === '*') last = s;
  }
  return last && last.value.trim() === '1' ? last : undefined;
}

/**
 * The link addresses of a corosync.conf: `ringN_addr: ADDR` (and `linkN_addr`) inside
 * `nodelist { node { … } }`, and the `bindnetaddr` of `totem { interface { … } }` (older
 * configurations). Host names are skipped (nothing to match a subnet against).
 */
export function parseCorosync(text: string, file: string): CorosyncAddress[] {
  const out: CorosyncAddress[] = [];
  const lines = text.split('\n');
  let node: { name?: string; start: number } | undefined;
  const pending: CorosyncAddress[] = [];
  let depth = 0;
  let nodeDepth = -1;
  // bindnetaddr lines, numbered after the whole block is read (ringnumber may follow them).
  const bind: CorosyncAddress[] = [];
  let ifaceLink = 0;
  let bindStart = 0;
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k]!.replace(/#.*$/, '').trim();
    if (/^node\s*\{$/.test(l)) {
      node = { start: k };
      nodeDepth = depth;
    }
    if (l.endsWith('{')) depth++;
    const m = /^(?:ring|link)(\d+)_addr\s*:\s*(\S+)$/.exec(l);
    if (m && ipVersion(m[2]!) !== null) pending.push({ file, line: k + 1, link: Number(m[1]), addr: m[2]! });
    // corosync 2 / udpu: `interface { ringnumber: N  bindnetaddr: NETWORK }` in totem.
    const rn = /^(?:ringnumber|linknumber)\s*:\s*(\d+)$/.exec(l);
    if (rn && !node) ifaceLink = Number(rn[1]);
    const bn = /^bindnetaddr\s*:\s*(\S+)$/.exec(l);
    if (bn && !node && ipVersion(bn[1]!) !== null) bind.push({ file, line: k + 1, link: 0, addr: bn[1]! });
    const n = /^name\s*:\s*(\S+)$/.exec(l);
    if (n && node) node.name = n[1]!;
    if (l === '}' || l.endsWith('}')) {
      depth--;
      for (const b of bind.slice(bindStart)) b.link = ifaceLink;
      bindStart = bind.length;
      ifaceLink = 0;
      if (node && depth === nodeDepth) {
        for (const a of pending) out.push(node.name !== undefined ? { ...a, node: node.name } : a);
        pending.length = 0;
        node = undefined;
      }
    }
  }
  out.push(...pending, ...bind);
  return out;
}
