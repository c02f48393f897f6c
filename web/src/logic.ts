/**
 * Pure helpers of the web UI (no DOM): what the grid shows, what depends on an interface, the
 * bond mode rules, VLAN names, and where the page's own address goes after an apply. Unit-tested
 * in Node (test/web/logic.test.ts).
 */
import { t, tOr } from './i18n.ts';
import type { Key } from './i18n/en.ts';

import { splitList as words } from './generated/param-options.ts';

/** Maps a diagnostic's file option (`bridge-ports`, `address`) to the dialog's parameter name: the server's table. */
export { fieldOf as optionToParam } from './generated/param-options.ts';

/** One interface as `GET /nodes/{node}/network` returns it (PVE's shape; extra keys kept). */
export interface Iface {
  iface: string;
  type: string;
  /** Set for interfaces of sourced files (interfaces.d): shown, never edited here. */
  source?: string;
  active?: number;
  autostart?: number;
  exists?: number;
  bridge_vlan_aware?: number;
  bridge_ports?: string;
  bridge_vids?: string;
  slaves?: string;
  bond_mode?: string;
  bond_xmit_hash_policy?: string;
  'bond-primary'?: string;
  'vlan-raw-device'?: string;
  'vlan-id'?: string;
  cidr?: string;
  cidr6?: string;
  /** The addresses after the first of each family (nodenet extension), space separated. */
  'cidr-extra'?: string;
  'cidr6-extra'?: string;
  address?: string;
  address6?: string;
  gateway?: string;
  gateway6?: string;
  mtu?: string;
  comments?: string;
  [k: string]: unknown;
}

/** Every address of an interface, first IPv4 ones then IPv6 ones (cidr, then cidr-extra). */
export function allCidrs(i: Iface): string[] {
  const out: string[] = [];
  for (const v of [i.cidr, i['cidr-extra'], i.cidr6, i['cidr6-extra']])
    if (v) out.push(...v.split(' ').filter(Boolean));
  return out;
}

export interface BondMode {
  value: string;
  label: string;
  /** Catalogue key of one plain sentence: what the mode does and what it needs. */
  explain: Key;
  hashPolicy: boolean;
  primary: boolean;
}

/** The 7 Linux bond modes; hash policy only where the kernel uses it, primary only for active-backup. */
export const BOND_MODES: readonly BondMode[] = [
  { value: 'balance-rr', label: 'balance-rr', explain: 'bond.balance-rr', hashPolicy: false, primary: false },
  { value: 'active-backup', label: 'active-backup', explain: 'bond.active-backup', hashPolicy: false, primary: true },
  { value: 'balance-xor', label: 'balance-xor', explain: 'bond.balance-xor', hashPolicy: true, primary: false },
  { value: 'broadcast', label: 'broadcast', explain: 'bond.broadcast', hashPolicy: false, primary: false },
  // i18n-ok: the mode names are the kernel's, shown as Proxmox VE shows them
  { value: '802.3ad', label: 'LACP (802.3ad)', explain: 'bond.802.3ad', hashPolicy: true, primary: false },
  { value: 'balance-tlb', label: 'balance-tlb', explain: 'bond.balance-tlb', hashPolicy: false, primary: false },
  { value: 'balance-alb', label: 'balance-alb', explain: 'bond.balance-alb', hashPolicy: false, primary: false },
];

/** The OVS bond modes Open vSwitch accepts, labelled as Proxmox VE's GUI labels them. */
export const OVS_BOND_MODES: readonly { value: string; label: string }[] = [
  { value: 'active-backup', label: 'active-backup' },
  { value: 'balance-slb', label: 'balance-slb' },
  // i18n-ok: the mode names are Open vSwitch's, shown as Proxmox VE shows them
  { value: 'lacp-balance-slb', label: 'LACP (balance-slb)' },
  // i18n-ok: the mode names are Open vSwitch's, shown as Proxmox VE shows them
  { value: 'lacp-balance-tcp', label: 'LACP (balance-tcp)' },
];

/** A bond mode as the grid shows it: the Linux or OVS mode's label, else the value as it is. */
export function bondModeLabel(i: Iface): string {
  const v = i.bond_mode;
  if (!v) return '';
  const modes = i.type === 'OVSBond' ? OVS_BOND_MODES : BOND_MODES;
  return modes.find((m) => m.value === v)?.label ?? v;
}

export const HASH_POLICIES = ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4'] as const;

export function bondMode(value: string | undefined): BondMode {
  return BOND_MODES.find((m) => m.value === value) ?? BOND_MODES[0]!;
}

/** Human name of a type, as PVE's grid shows it. */
export function typeLabel(t: string): string {
  return tOr(`type.${t}`, t);
}

/** The items of a ports/slaves list (`none` is no item): the server's splitter. */
export { words };

/** Ports/slaves column: bridge ports, bond slaves or OVS members. */
export function members(i: Iface): string {
  return String(i.bridge_ports ?? i.slaves ?? i.ovs_ports ?? i.ovs_bonds ?? '');
}

/** The hook lines (`post-up ...` etc.) of an interface, from the API's `options`/`options6`. */
function hookLines(i: Iface): string[] {
  const all = [...(Array.isArray(i.options) ? i.options : []), ...(Array.isArray(i.options6) ? i.options6 : [])].map(
    String,
  );
  return all.filter((l) => /^(pre-up|up|post-up|pre-down|down|post-down)\s/.test(l));
}

const escapeRe = (x: string): string => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What a hook line is, for people: a NAT rule, a port forward, a route, a firewall rule, a command. */
export function hookKind(line: string): string {
  if (/\biptables\b.*-t\s+nat\b.*\bDNAT\b/.test(line) || /\bnft\b.*\bdnat\b/.test(line)) return t('hook.forward');
  if (/\biptables\b.*-t\s+nat\b/.test(line) || /\bnft\b.*\b(masquerade|snat)\b/.test(line)) return t('hook.nat');
  if (/\bip\s+(-\d\s+)?route\b|\broute\s+add\b/.test(line)) return t('hook.route');
  if (/\b(ip6?tables|nft|ebtables)\b/.test(line)) return t('hook.firewall');
  return t('hook.command');
}

/** A hook line as people read it: the command after `post-up`, the `-C ... ||` check dropped, cut at 120 characters. */
export function shortHook(line: string): string {
  let c = line.replace(/^\S+\s+/, '');
  const alt = /^(.*?)\s*2>\/dev\/null\s*\|\|\s*(.*)$/.exec(c);
  if (alt && /\s-C\s/.test(alt[1]!)) c = alt[2]!;
  return c.length > 120 ? `${c.slice(0, 119)}…` : c;
}

/** The interfaces under `name` (its ports, slaves, raw device), transitively. */
function lowers(list: readonly Iface[], name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const i = list.find((x) => x.iface === name);
  if (!i) return [];
  const direct = [
    ...words(i.bridge_ports),
    ...words(i.slaves),
    ...(i['vlan-raw-device']
      ? [String(i['vlan-raw-device'])]
      : i.type === 'vlan' && vlanFromName(i.iface)?.raw
        ? [vlanFromName(i.iface)!.raw!]
        : []),
  ];
  return [...direct, ...direct.flatMap((d) => lowers(list, d, seen))];
}

/**
 * What depends on `name`, for the Remove dialog: bridges with it as a port, bonds with it as a
 * slave, VLANs on it; hook lines of any interface that name it (NAT rules, port forwards,
 * routes, firewall rules); the default gateway when it holds one; and the admin's own
 * connection when `host` (the address this page was reached on) is on it or on an interface
 * above it.
 */
export function dependents(list: readonly Iface[], name: string, host?: string): { iface: string; how: string }[] {
  const out: { iface: string; how: string }[] = [];
  const re = new RegExp(`(^|[^\\w.-])${escapeRe(name)}($|[^\\w.-])`);
  for (const i of list) {
    if (i.iface === name) {
      for (const g of [i.gateway, i.gateway6])
        if (g) out.push({ iface: name, how: t('dep.gateway', { gw: String(g), name }) });
      for (const l of hookLines(i))
        if (
          !/^(pre-down|down|post-down)\s/.test(l) &&
          /\b(iptables|nft|ip6tables|ip\s+(-\d\s+)?route|route\s+add)\b/.test(l)
        )
          out.push({ iface: name, how: t('dep.ownHook', { kind: hookKind(l), line: shortHook(l) }) });
      continue;
    }
    if (words(i.bridge_ports).includes(name)) out.push({ iface: i.iface, how: t('dep.port') });
    if (words(i.slaves).includes(name)) out.push({ iface: i.iface, how: t('dep.slave') });
    if (i['bond-primary'] === name) out.push({ iface: i.iface, how: t('dep.primary') });
    const raw = i['vlan-raw-device'] ?? (i.type === 'vlan' ? vlanFromName(i.iface)?.raw : undefined);
    if (raw === name) out.push({ iface: i.iface, how: t('dep.raw') });
    // the up lines say what is set up; their down lines only undo it
    for (const l of hookLines(i))
      if (re.test(l) && !/^(pre-down|down|post-down)\s/.test(l))
        out.push({ iface: i.iface, how: t('dep.hook', { kind: hookKind(l), name, line: shortHook(l) }) });
  }
  const h = host?.replace(/^\[|\]$/g, '');
  if (h) {
    const holder = list.find(
      (i) => addrOf(i.cidr) === h || addrOf(i.cidr6) === h || i.address === h || i.address6 === h,
    );
    if (holder && (holder.iface === name || lowers(list, holder.iface).includes(name)))
      out.push({
        iface: holder.iface,
        how: t('dep.conn', {
          host: h,
          via: holder.iface === name ? name : t('dep.runsOver', { holder: holder.iface, name }),
        }),
      });
  }
  return out;
}

/**
 * What a VLAN's name says (PVE's rules): `X.N` gives raw device X and tag N; `vlanN` gives the tag
 * only; other names say nothing.
 */
export function vlanFromName(name: string): { raw?: string; tag: number } | null {
  let m = /^(.+)\.(\d{1,4})$/.exec(name);
  if (m) {
    const tag = Number(m[2]);
    return tag >= 1 && tag <= 4094 ? { raw: m[1]!, tag } : null;
  }
  m = /^vlan(\d{1,4})$/.exec(name);
  if (m) {
    const tag = Number(m[1]);
    return tag >= 1 && tag <= 4094 ? { tag } : null;
  }
  return null;
}

/** First free `prefixN` (PVE tries N = 0..9999). */
export function freeName(list: readonly Iface[], prefix: string): string {
  const used = new Set(list.map((i) => i.iface));
  for (let n = 0; n < 10000; n++) if (!used.has(prefix + n)) return prefix + n;
  return prefix;
}

/** Client-side checks cheap enough to run as the user types; `null` = fine. */
export function checkField(name: string, value: string, type: string): string | null {
  const v = value.trim();
  if (!v) return null;
  switch (name) {
    case 'iface':
      if (type === 'bridge' && !/^[a-zA-Z][a-zA-Z0-9_]{0,9}$/.test(v)) return t('check.bridgeName');
      if ((type === 'bond' || type === 'OVSBond') && !/^bond\d{1,4}$/.test(v)) return t('check.bondName');
      if (v.length > 15) return t('check.nameLength');
      return null;
    case 'cidr': {
      const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(v);
      if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return t('check.cidr');
      return null;
    }
    case 'gateway':
      return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) && v.split('.').every((o) => Number(o) <= 255)
        ? null
        : t('check.gateway');
    case 'cidr6':
      return /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(v) && v.includes(':') && Number(v.split('/')[1]) <= 128
        ? null
        : t('check.cidr6');
    case 'gateway6':
      return /^[0-9a-fA-F:.]+$/.test(v) && v.includes(':') ? null : t('check.gateway6');
    case 'mtu': {
      const n = Number(v);
      return Number.isInteger(n) && n >= 1280 && n <= 65520 ? null : t('check.mtu');
    }
    case 'vlan-id':
    case 'ovs_tag': {
      const n = Number(v);
      return Number.isInteger(n) && n >= 1 && n <= 4094 ? null : t('check.vlanTag');
    }
    case 'bridge_vids':
      for (const part of v.split(/[\s,;]+/)) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!m) return t('check.vid', { part });
        const a = Number(m[1]);
        const b = m[2] !== undefined ? Number(m[2]) : a;
        if (a < 2 || b > 4094 || b < a) return t('check.vidRange');
      }
      return null;
    default:
      return null;
  }
}

export interface DiffLine {
  kind: 'add' | 'del' | 'hunk' | 'meta' | 'ctx';
  text: string;
}

/** Classifies the lines of a unified diff for colouring. */
export function diffLines(diff: string): DiffLine[] {
  return diff
    .split('\n')
    .filter((l, i, a) => l !== '' || i < a.length - 1)
    .map((text): DiffLine => {
      if (text.startsWith('+++') || text.startsWith('---')) return { kind: 'meta', text };
      if (text.startsWith('@@')) return { kind: 'hunk', text };
      if (text.startsWith('+')) return { kind: 'add', text };
      if (text.startsWith('-')) return { kind: 'del', text };
      return { kind: 'ctx', text };
    });
}

/** The address part of a CIDR (`192.0.2.5/24` → `192.0.2.5`). */
function addrOf(cidr: string | undefined): string | undefined {
  return cidr ? cidr.split('/')[0] : undefined;
}

/**
 * Where the page's address goes when the staged change is applied. `host` is
 * `location.hostname`; `diff` is the pending diff (live → staged); `staged` the staged list.
 * Returns null when the address is not touched (or the host is a name, not an address).
 */
export function addressMove(
  host: string,
  diff: string,
  staged: readonly Iface[],
): { from: string; iface: string; to: string | null; message: string } | null {
  const h = host.replace(/^\[|\]$/g, '');
  if (!/^[\d.]+$/.test(h) && !h.includes(':')) return null;
  if (staged.some((i) => addrOf(i.cidr) === h || addrOf(i.cidr6) === h || i.address === h || i.address6 === h))
    return null;
  // find the removed `address H` line and the stanza it was in
  let stanza = '';
  let found = false;
  for (const l of diff.split('\n')) {
    if (l.startsWith('---') || l.startsWith('+++')) continue;
    const body = l.slice(1);
    const st = /^\s*iface\s+(\S+)/.exec(body);
    if (st && !l.startsWith('+')) stanza = st[1]!;
    if (l.startsWith('-') && new RegExp(`^\\s*address\\s+${h.replace(/[.:]/g, '\\$&')}(/|\\s|$)`).test(body)) {
      found = true;
      break;
    }
  }
  if (!found) return null;
  const now = staged.find((i) => i.iface === stanza);
  const to = addrOf(now?.cidr) ?? addrOf(now?.cidr6) ?? null;
  const message = to
    ? t('move.to', { host: h, iface: stanza, to })
    : t('move.gone', { host: h, iface: stanza || t('move.anIface') });
  return { from: h, iface: stanza, to, message };
}

/** Sort key compare for the grid: numbers numerically, names naturally (eno2 < eno10). */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
}

/**
 * One verify difference as "the file says" / "the kernel has" (the drift panel). The messages
 * come from the server's verify; the patterns it does not know go whole into "the kernel has".
 */
export function splitDifference(message: string): { iface: string; file: string; kernel: string } {
  const m = /^([^:\s]+): (.*)$/.exec(message);
  const iface = m && !message.startsWith('sysctl ') ? m[1]! : '';
  const rest = m && iface ? m[2]! : message;
  let x: RegExpExecArray | null;
  if (rest === 'does not exist')
    return { iface, file: 'an interface that comes up at boot (auto)', kernel: 'no such interface' };
  if (rest === 'is down') return { iface, file: 'up (auto)', kernel: 'down' };
  if ((x = /^address (\S+) missing$/.exec(rest))) return { iface, file: `address ${x[1]}`, kernel: 'no such address' };
  if ((x = /^address (\S+) has no prefix in the file$/.exec(rest)))
    return { iface, file: `address ${x[1]} (no prefix)`, kernel: `address ${x[1]} with a prefix` };
  if ((x = /^address (\S+) is not in the file$/.exec(rest)))
    return { iface, file: '(no such address)', kernel: `address ${x[1]}` };
  if ((x = /^default route via (\S+) missing$/.exec(rest)))
    return { iface, file: `gateway ${x[1]}`, kernel: `no default route via ${x[1]}` };
  if ((x = /^port (\S+) does not exist$/.exec(rest)))
    return { iface, file: `port ${x[1]}`, kernel: `no interface ${x[1]}` };
  if ((x = /^(bridge port|bond slave|VLAN raw device) (\S+) does not exist in the kernel$/.exec(rest)))
    return { iface, file: `${x[1]} ${x[2]}`, kernel: `no interface ${x[2]}` };
  if ((x = /^port (\S+) is not enslaved$/.exec(rest)))
    return { iface, file: `port ${x[1]}`, kernel: `${x[1]} in no bridge or bond` };
  if ((x = /^port (\S+) is enslaved to (\S+)$/.exec(rest)))
    return { iface, file: `port ${x[1]}`, kernel: `${x[1]} is a port of ${x[2]}` };
  if ((x = /^(.+?) is (.+), the file says (.+)$/.exec(rest)))
    return { iface, file: `${x[1]} ${x[3]}`, kernel: `${x[1]} ${x[2]}` };
  if ((x = /^mtu (\d+), the file says (\d+)$/.exec(rest))) return { iface, file: `mtu ${x[2]}`, kernel: `mtu ${x[1]}` };
  if ((x = /^mtu (\d+), under IPv4's minimum of (\d+) \(the file sets none\)$/.exec(rest)))
    return { iface, file: `mtu ${x[2]} or more`, kernel: `mtu ${x[1]}` };
  if ((x = /^sysctl (\S+) is (\S+), the file's hook lines set (\S+)$/.exec(message)))
    return { iface: '', file: `sysctl ${x[1]} = ${x[3]}`, kernel: `${x[1]} = ${x[2]}` };
  if ((x = /^is not a (bond|VLAN device) in the kernel \(kind (.*)\)$/.exec(rest)))
    return { iface, file: `a ${x[1]}`, kernel: `kind ${x[2]}` };
  return { iface, file: '', kernel: rest };
}

function v4Range(cidr: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(cidr.trim());
  if (!m) return null;
  const ip = ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
  const p = m[5] === undefined ? 32 : Number(m[5]);
  const size = 2 ** (32 - p);
  const start = Math.floor(ip / size) * size;
  return [start, start + size - 1];
}

/** A private /24 for a new NAT network (host address .1) that no interface's address overlaps. */
export function freeSubnet(list: readonly Iface[]): string {
  const used = list
    .flatMap((i) => [i.cidr, i.address].filter((x): x is string => typeof x === 'string'))
    .map(v4Range)
    .filter((r): r is [number, number] => r !== null);
  for (let n = 10; n < 255; n++) {
    const c = `10.${n}.${n}.1/24`;
    const [a, b] = v4Range(c)!;
    if (!used.some(([x, y]) => x <= b && a <= y)) return c;
  }
  return '10.10.10.1/24';
}

// ---------------------------------------------------------------- topology layout

export interface TopoNode {
  id: string;
  /** The interface, or undefined for a drawn relation's end (the default gateway) and waypoints. */
  iface?: Iface;
  label: string;
  /** A guest port's bridge. */
  bridge?: string;
  /** guest: a VM's or container's port on a bridge (tap/veth/fwpr), from the kernel. */
  kind: 'iface' | 'gateway' | 'guest' | 'dummy';
  layer: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TopoEdge {
  from: string;
  to: string;
  /** member: port/slave/raw device; nat, forward, route: hook lines; gateway: the default route. */
  kind: 'member' | 'nat' | 'forward' | 'route' | 'gateway' | 'guest';
  label?: string;
  points: [number, number][];
}

export interface TopoLayout {
  nodes: TopoNode[];
  edges: TopoEdge[];
  width: number;
  height: number;
}

/**
 * A layered layout (Sugiyama style, our own): every interface sits one layer right of the
 * highest device under it (NICs left, then bonds, bridges, VLANs as the stacking says); NAT,
 * port-forward and route relations from hook lines and the default gateway are edges too, to the
 * right of the interface they go out through. An edge longer than one layer gets a waypoint in
 * each layer it passes, which takes a row like a box, so no line crosses a box; the order in each
 * layer comes from barycentre sweeps, keeping the order with the fewest crossings.
 */
export function layoutTopology(
  list: readonly Iface[],
  opts: { w?: number; h?: number; gapX?: number; gapY?: number } = {},
): TopoLayout {
  const W = opts.w ?? 180,
    H = opts.h ?? 26,
    GX = opts.gapX ?? 70,
    GY = opts.gapY ?? 14,
    GW = Math.round(W * 0.6);
  const shown = list.filter((i) =>
    ['eth', 'bond', 'bridge', 'vlan', 'OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort'].includes(i.type),
  );
  const byName = new Map(shown.map((i) => [i.iface, i]));
  // relations: [lower, upper, kind, label]
  const rel: [string, string, TopoEdge['kind'], string | undefined][] = [];
  for (const i of shown) {
    for (const p of [...words(i.bridge_ports), ...words(i.slaves), ...words(i.ovs_ports as string | undefined)])
      if (byName.has(p)) rel.push([p, i.iface, 'member', undefined]);
    const raw = i['vlan-raw-device'] ?? (i.type === 'vlan' ? vlanFromName(i.iface)?.raw : undefined);
    if (i.type === 'vlan' && raw && byName.has(raw)) rel.push([raw, i.iface, 'member', undefined]);
  }
  // hook lines of X naming Y: X's guests go out through Y (NAT, forwards) or X routes via Y
  for (const i of shown) {
    const lines = [...(Array.isArray(i.options) ? i.options : []), ...(Array.isArray(i.options6) ? i.options6 : [])]
      .map(String)
      .filter((l) => /^(pre-up|up|post-up)\s/.test(l));
    const seen = new Set<string>();
    for (const l of lines) {
      const k = hookKind(l);
      const kind: TopoEdge['kind'] | null =
        k === 'NAT rule' ? 'nat' : k.startsWith('port forward') ? 'forward' : k === 'route' ? 'route' : null;
      if (!kind) continue;
      for (const o of shown) {
        if (o.iface === i.iface || seen.has(`${kind}:${o.iface}`)) continue;
        if (new RegExp(`(^|[^\\w.-])${o.iface.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w.-])`).test(l)) {
          seen.add(`${kind}:${o.iface}`);
          rel.push([o.iface, i.iface, kind, kind === 'nat' ? 'NAT' : kind === 'forward' ? 'port forward' : 'route']);
        }
      }
    }
  }
  const gateways = shown.filter((i) => i.gateway || i.gateway6);
  // layers: longest path from the bottom, at least 1 for anything but a NIC
  const lowersOf = new Map<string, string[]>();
  for (const [lo, up] of rel) lowersOf.set(up, [...(lowersOf.get(up) ?? []), lo]);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const layerOf = (n: string): number => {
    const have = layer.get(n);
    if (have !== undefined) return have;
    if (visiting.has(n)) return 0; // a cycle (a broken file): cut it
    visiting.add(n);
    const i = byName.get(n)!;
    let l = i.type === 'eth' ? 0 : 1;
    for (const lo of lowersOf.get(n) ?? []) l = Math.max(l, layerOf(lo) + 1);
    visiting.delete(n);
    layer.set(n, l);
    return l;
  };
  for (const i of shown) layerOf(i.iface);
  const nodes = new Map<string, TopoNode>();
  const mk = (id: string, kind: TopoNode['kind'], l: number, label: string, iface?: Iface): TopoNode => {
    const n: TopoNode = {
      id,
      kind,
      layer: l,
      label,
      x: 0,
      y: 0,
      w: kind === 'dummy' ? 0 : kind === 'guest' ? GW : W,
      h: H,
      ...(iface ? { iface } : {}),
    };
    nodes.set(id, n);
    return n;
  };
  for (const i of shown) mk(i.iface, 'iface', layer.get(i.iface)!, `${i.iface}${i.cidr ? `  ${i.cidr}` : ''}`, i);
  const all: [string, string, TopoEdge['kind'], string | undefined][] = [...rel];
  for (const g of gateways) {
    const id = `gw:${g.iface}`;
    mk(id, 'gateway', layer.get(g.iface)! + 1, t('topo.gwNode', { gw: String(g.gateway ?? g.gateway6) }));
    all.push([g.iface, id, 'gateway', 'default route']);
  }
  // guests' ports the kernel has on a bridge: small nodes right of their bridge
  for (const b of shown) {
    if (b.type !== 'bridge') continue;
    for (const p of words(b.guest_ports as string | undefined)) {
      if (nodes.has(`guest:${p}`) || byName.has(p)) continue;
      const n = mk(`guest:${p}`, 'guest', layer.get(b.iface)! + 1, p);
      n.bridge = b.iface;
      all.push([b.iface, n.id, 'guest', undefined]);
    }
  }
  // split long edges into one-layer segments through waypoints
  const segs: [string, string][] = [];
  const chains: { from: string; to: string; kind: TopoEdge['kind']; label?: string; via: string[] }[] = [];
  all.forEach(([lo, up, kind, label], k) => {
    let a = nodes.get(lo)!,
      b = nodes.get(up)!;
    if (a.layer > b.layer) [a, b] = [b, a];
    if (a.layer === b.layer) {
      b.layer += 1;
    } // same layer (a relation between peers): push the upper right
    const via: string[] = [];
    let prev = a.id;
    for (let l = a.layer + 1; l < b.layer; l++) {
      const d = mk(`dummy:${k}:${l}`, 'dummy', l, '');
      via.push(d.id);
      segs.push([prev, d.id]);
      prev = d.id;
    }
    segs.push([prev, b.id]);
    chains.push({ from: a.id, to: b.id, kind, ...(label ? { label } : {}), via });
  });
  // a node pushed right may now sit left of its own uppers' layers: re-check once
  for (const [a, b] of segs)
    if (nodes.get(b)!.layer <= nodes.get(a)!.layer) nodes.get(b)!.layer = nodes.get(a)!.layer + 1;
  const maxL = Math.max(0, ...[...nodes.values()].map((n) => n.layer));
  const layers: TopoNode[][] = Array.from({ length: maxL + 1 }, () => []);
  for (const n of nodes.values()) layers[n.layer]!.push(n);
  for (const L of layers) L.sort((a, b) => naturalCompare(a.id.replace(/^\w+:/, ''), b.id.replace(/^\w+:/, '')));
  const down = new Map<string, string[]>(),
    up = new Map<string, string[]>();
  for (const [a, b] of segs) {
    const [lo, hi] = nodes.get(a)!.layer < nodes.get(b)!.layer ? [a, b] : [b, a];
    up.set(lo, [...(up.get(lo) ?? []), hi]);
    down.set(hi, [...(down.get(hi) ?? []), lo]);
  }
  const index = (): Map<string, number> =>
    new Map(layers.flatMap((L) => L.map((n, i) => [n.id, i] as [string, number])));
  const crossings = (): number => {
    const pos = index();
    let c = 0;
    for (let l = 0; l < maxL; l++) {
      const es = layers[l]!.flatMap((n) => (up.get(n.id) ?? []).map((u) => [pos.get(n.id)!, pos.get(u)!] as const));
      for (let i = 0; i < es.length; i++)
        for (let j = i + 1; j < es.length; j++) if ((es[i]![0] - es[j]![0]) * (es[i]![1] - es[j]![1]) < 0) c++;
    }
    return c;
  };
  const sweep = (L: TopoNode[], nb: Map<string, string[]>): void => {
    const pos = index();
    const bary = new Map(
      L.map((n, i) => {
        const ns = (nb.get(n.id) ?? []).map((x) => pos.get(x)!);
        return [n.id, ns.length ? ns.reduce((a, b) => a + b, 0) / ns.length : i] as [string, number];
      }),
    );
    L.sort((a, b) => bary.get(a.id)! - bary.get(b.id)!);
  };
  let best = layers.map((L) => [...L]);
  let bestC = crossings();
  for (let it = 0; it < 8 && bestC > 0; it++) {
    for (let l = 1; l <= maxL; l++) sweep(layers[l]!, down);
    for (let l = maxL - 1; l >= 0; l--) sweep(layers[l]!, up);
    const c = crossings();
    if (c < bestC) {
      bestC = c;
      best = layers.map((L) => [...L]);
    }
  }
  best.forEach((L, l) => {
    layers[l] = L;
  });
  // coordinates: rows top-down per layer
  for (const [l, L] of layers.entries())
    L.forEach((n, i) => {
      n.x = 10 + l * (W + GX);
      n.y = 30 + i * (H + GY);
    });
  const centre = (n: TopoNode, right: boolean): [number, number] => [
    n.kind === 'dummy' ? n.x + W / 2 : right ? n.x + n.w : n.x,
    n.y + H / 2,
  ];
  const edges: TopoEdge[] = chains.map((c) => {
    const ids = [c.from, ...c.via, c.to];
    const pts: [number, number][] = [];
    ids.forEach((id, k) => {
      const n = nodes.get(id)!;
      if (n.kind === 'dummy') {
        pts.push([n.x, n.y + H / 2], [n.x + W, n.y + H / 2]);
        return;
      }
      pts.push(centre(n, k === 0));
    });
    return { from: c.from, to: c.to, kind: c.kind, ...(c.label ? { label: c.label } : {}), points: pts };
  });
  const real = [...nodes.values()].filter((n) => n.kind !== 'dummy');
  const rows = Math.max(1, ...layers.map((L) => L.length));
  return { nodes: real, edges, width: 20 + (maxL + 1) * (W + GX) - GX, height: 40 + rows * (H + GY) };
}
