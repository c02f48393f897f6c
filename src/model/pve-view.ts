/**
 * The Proxmox-VE-shaped view: the objects `GET /nodes/{node}/network` returns.
 * Value types follow PVE's wire behaviour (research/clients.md §1.5): `autostart`, `active`,
 * `exists`, `bridge_vlan_aware`, `priority` are JSON numbers; `mtu`, `vlan-id`, `netmask`,
 * `cidr`, `bridge_ports` (space separated) are strings. bpg's Terraform provider fails on a
 * number where PVE sends a string, so these types are part of the contract.
 */
import { parseCidr } from './ip.ts';
import type { Address, Iface, Stanza } from './types.ts';
import { OVS_KINDS } from './types.ts';

/** Proxmox VE's OVS bond modes with LACP: the `bond_mode=` they write, with `lacp=active` beside it. */
export const OVS_LACP_MODES: Readonly<Record<string, string>> = {
  'lacp-balance-slb': 'balance-slb',
  'lacp-balance-tcp': 'balance-tcp',
};

/** An `ovs_options` value taken apart as Proxmox VE shows it: `tag=` and `bond_mode=` lifted out. */
export interface OvsOptions {
  /** The other options, space separated ('' for none). */
  rest: string;
  tag?: string | undefined;
  /** The bond mode in the API's terms (`lacp-balance-tcp` for `bond_mode=balance-tcp lacp=active`). */
  mode?: string | undefined;
}

/** Split an `ovs_options` value: `tag=N`, `bond_mode=M` (with `lacp=active`, the LACP modes) and the rest. */
export function splitOvsOptions(value: string): OvsOptions {
  const rest: string[] = [];
  let tag: string | undefined;
  let mode: string | undefined;
  let lacp = false;
  for (const t of value.split(/\s+/)) {
    if (t === '') continue;
    const m = /^(tag|bond_mode)=(\S+)$/.exec(t);
    if (m && m[1] === 'tag' && tag === undefined && /^\d+$/.test(m[2]!)) tag = m[2];
    else if (m && m[1] === 'bond_mode' && mode === undefined) mode = m[2];
    else if (t === 'lacp=active' && !lacp) lacp = true;
    else rest.push(t);
  }
  const lacpMode = Object.keys(OVS_LACP_MODES).find((k) => OVS_LACP_MODES[k] === mode);
  if (lacp && lacpMode) mode = lacpMode;
  else if (lacp) rest.unshift('lacp=active');
  const o: OvsOptions = { rest: rest.join(' ') };
  if (tag !== undefined) o.tag = tag;
  if (mode !== undefined) o.mode = mode;
  return o;
}

/** The `ovs_options` value Proxmox VE writes: `bond_mode=` (and `lacp=active`), `tag=`, then the rest. */
export function joinOvsOptions(o: OvsOptions): string {
  const out: string[] = [];
  if (o.mode !== undefined) {
    const base = OVS_LACP_MODES[o.mode];
    out.push(base ? `bond_mode=${base} lacp=active` : `bond_mode=${o.mode}`);
  }
  if (o.tag !== undefined) out.push(`tag=${o.tag}`);
  if (o.rest.trim() !== '') out.push(o.rest.trim());
  return out.join(' ');
}

export type PveValue = string | number | string[];
export type PveIface = Record<string, PveValue>;

export interface HostInfo {
  /** Whether a device exists (physical NICs: present; others: created). */
  exists(name: string): boolean;
  /** Whether a device is administratively up. */
  active(name: string): boolean;
  /** Guests' ports (tap/veth/fwpr/fwln) the kernel has on a bridge, where known (nodenet extension). */
  guestPorts?(bridge: string): readonly string[];
  /**
   * Re-reads the state if it may be stale (`force`: at once). The core calls it before every
   * view it builds (list and single get alike), so all views show one reading.
   */
  refresh?(force?: boolean): Promise<unknown>;
}

/** Keys the view lifts out of `options`; every other option stays in `options`/`options6`. */
const LIFTED = new Set([
  'address',
  'netmask',
  'gateway',
  'mtu',
  'bridge-ports',
  'bridge-stp',
  'bridge-fd',
  'bridge-vlan-aware',
  'bridge-vids',
  'bond-slaves',
  'bond-mode',
  'bond-miimon',
  'bond-xmit-hash-policy',
  'bond-primary',
  'bond-lacp-rate',
  'vlan-raw-device',
  'vlan-id',
  'vlan-protocol',
  'ovs-type',
  'ovs-ports',
  'ovs-bonds',
  'ovs-bridge',
  'ovs-options',
  'ovs-mtu',
  'vxlan-id',
  'vxlan-svcnodeip',
  'vxlan-physdev',
  'vxlan-local-tunnelip',
  'vxlan-remoteip',
  'link-type',
  'uplink-id',
  'bridge-access',
  'bridge-learning',
  'bridge-arp-nd-suppress',
  'bridge-unicast-flood',
  'bridge-multicast-flood',
  'bridge-disable-mac-learning',
]);

const NUMERIC_FLAG_KEYS = new Set([
  'bridge-learning',
  'bridge-arp-nd-suppress',
  'bridge-unicast-flood',
  'bridge-multicast-flood',
]);

function onOff(v: string): number {
  return /^(on|yes|1|true)$/i.test(v) ? 1 : 0;
}

/**
 * Text of a stanza comment line for the view: what follows `#`, less one leading space
 * (`# text` and `#text` both give `text`). Trailing whitespace is already gone (the parser
 * trims it, as Proxmox VE does).
 */
export function commentText(raw: string): string {
  return raw.startsWith(' ') ? raw.slice(1) : raw;
}

/**
 * The stanzas whose `#` lines make up `comments` (six '') or `comments6` (six '6'), the rule
 * of docs/model.md: `comments` are every comment line of the interface's inet and typeless
 * stanzas, `comments6` those of its inet6 stanzas. An interface with inet6 stanzas only keeps
 * its comments there (as Proxmox VE writes them, fix #3153): both names then mean those lines,
 * and the view shows them as `comments`.
 */
export function commentGroup(iface: Iface, six: '' | '6'): Stanza[] {
  const v4: Stanza[] = [];
  const v6: Stanza[] = [];
  for (const s of iface.stanzas) (s.family === 'inet6' ? v6 : v4).push(s);
  return six === '6' || v4.length === 0 ? v6 : v4;
}

/** Whether an interface has inet6 stanzas only (its comments then read as `comments`). */
export function inet6Only(iface: Iface): boolean {
  return iface.stanzas.every((s) => s.family === 'inet6');
}

/** The `comments`/`comments6` value of a group of stanzas: one `\n` per comment line. */
export function commentsValue(group: readonly Stanza[]): string | undefined {
  let out = '';
  for (const s of group) for (const c of s.comments) out += `${commentText(c.text)}\n`;
  return out === '' ? undefined : out;
}

/** The CIDR text of an address: no mask at all means a host address (/32, /128) as in ifupdown2. */
export function cidrText(a: Address): string {
  if (a.prefix !== null) return `${a.ip}/${a.prefix}`;
  // A netmask nodenet cannot read, or no address at all: shown as written (validation says why).
  if (a.netmask !== undefined || parseCidr(a.raw, false) === null) return a.raw;
  return `${a.ip}/${a.version === 4 ? 32 : 128}`;
}

function familyOf(s: Stanza): 'inet' | 'inet6' {
  if (s.family) return s.family;
  // Typeless stanza: the family follows its addresses (v6 when all are v6).
  return s.addresses.length && s.addresses.every((a) => a.version === 6) ? 'inet6' : 'inet';
}

/**
 * The PVE list object of one interface (with `iface`; the single-interface GET drops it).
 */
export function toPve(iface: Iface, host?: HostInfo): PveIface {
  const o: PveIface = { iface: iface.name, type: iface.kind };
  const families: string[] = [];
  const extra: Record<'' | '6', string[]> = { '': [], '6': [] };
  const opts4: string[] = [];
  const opts6: string[] = [];
  let method: string | undefined;
  let method6: string | undefined;
  for (const s of iface.stanzas) {
    const fam = familyOf(s);
    if (s.family) {
      if (!families.includes(fam)) families.push(fam);
    } else {
      for (const a of s.addresses) {
        const f = a.version === 6 ? 'inet6' : 'inet';
        if (!families.includes(f)) families.push(f);
      }
    }
    const m = s.method ?? (s.addresses.length ? 'static' : 'manual');
    if (s.family === 'inet6') method6 ??= m;
    else if (s.family === 'inet') method ??= m;
    else {
      if (s.addresses.some((a) => a.version === 4)) method ??= 'static';
      if (s.addresses.some((a) => a.version === 6)) method6 ??= 'static';
    }
    for (const a of s.addresses) {
      const six = a.version === 6 ? '6' : '';
      if (o[`address${six}`] !== undefined) {
        extra[six].push(cidrText(a));
        continue;
      }
      o[`address${six}`] = a.ip;
      if (a.prefix !== null) o[`netmask${six}`] = String(a.prefix);
      o[`cidr${six}`] = cidrText(a);
    }
    for (const g of s.gateways) {
      const six = g.value.includes(':') ? '6' : '';
      if (o[`gateway${six}`] === undefined) o[`gateway${six}`] = g.value;
    }
    for (const opt of s.options) {
      if (LIFTED.has(opt.key)) continue;
      (fam === 'inet6' ? opts6 : opts4).push(`${opt.name} ${opt.value}`);
    }
  }
  if (!families.length) families.push('inet');
  o.families = families;
  o.method = method ?? 'manual';
  o.method6 = method6 ?? 'manual';
  o.priority = iface.priority;
  o.autostart = iface.autostart ? 1 : 0;
  if (host) {
    o.active = host.active(iface.name) ? 1 : 0;
    if (iface.kind === 'eth' || host.exists(iface.name)) o.exists = host.exists(iface.name) ? 1 : 0;
    const guests = iface.kind === 'bridge' ? host.guestPorts?.(iface.name) : undefined;
    if (guests?.length) o.guest_ports = guests.join(' ');
  }
  if (iface.mtu !== undefined) o.mtu = iface.mtu;
  const val = (k: string) => {
    for (const opt of iface.options) if (opt.key === k) return opt.value;
    return undefined;
  };
  if (iface.bridge) {
    const b = iface.bridge;
    o.bridge_ports = b.ports.join(' ');
    o.bridge_stp = b.stp ? 'on' : 'off';
    o.bridge_fd = b.fd ?? 0;
    if (b.vlanAware) o.bridge_vlan_aware = 1;
    if (b.vids !== undefined) o.bridge_vids = b.vids;
  }
  if (iface.bond && iface.kind === 'bond') {
    const b = iface.bond;
    o.slaves = b.slaves.join(' ');
    if (b.mode) o.bond_mode = b.mode;
    else if (b.modeRaw !== undefined) o.bond_mode = b.modeRaw;
    if (b.miimon !== undefined) o.bond_miimon = b.miimon;
    if (b.xmitHashPolicy !== undefined) o.bond_xmit_hash_policy = b.xmitHashPolicy;
    if (b.primary !== undefined) o['bond-primary'] = b.primary;
    // nodenet extension, settable as bond_lacp_rate: shown under the name it is set with.
    if (b.lacpRate !== undefined) o.bond_lacp_rate = b.lacpRate;
  }
  if (iface.vlan) {
    const v = iface.vlan;
    if (v.rawDevice !== undefined) o['vlan-raw-device'] = v.rawDevice;
    if (v.id !== undefined) o['vlan-id'] = String(v.id);
    else if (v.idRaw !== undefined) o['vlan-id'] = v.idRaw;
    if (v.protocol !== undefined) o['vlan-protocol'] = v.protocol;
  }
  for (const [k, out] of [
    ['ovs-type', 'ovs_type'],
    ['ovs-ports', 'ovs_ports'],
    ['ovs-bonds', 'ovs_bonds'],
    ['ovs-bridge', 'ovs_bridge'],
    ['link-type', 'link-type'],
    ['uplink-id', 'uplink-id'],
    ['vxlan-svcnodeip', 'vxlan-svcnodeip'],
    ['vxlan-physdev', 'vxlan-physdev'],
    ['vxlan-local-tunnelip', 'vxlan-local-tunnelip'],
    ['bridge-disable-mac-learning', 'bridge-disable-mac-learning'],
  ] as const) {
    const v = val(k);
    if (v !== undefined) o[out] = v;
  }
  const ovsOptions = val('ovs-options');
  if (ovsOptions !== undefined && OVS_KINDS.includes(iface.kind)) {
    // As Proxmox VE reads it: the VLAN tag and the bond mode are fields of their own.
    const ovs = splitOvsOptions(ovsOptions);
    if (ovs.rest !== '') o.ovs_options = ovs.rest;
    if (ovs.tag !== undefined) o.ovs_tag = ovs.tag;
    if (ovs.mode !== undefined) o.bond_mode = ovs.mode;
  } else if (ovsOptions !== undefined) o.ovs_options = ovsOptions;
  const vxid = val('vxlan-id');
  if (vxid !== undefined) o['vxlan-id'] = /^\d+$/.test(vxid) ? Number(vxid) : vxid;
  const remotes = iface.options.filter((x) => x.key === 'vxlan-remoteip').map((x) => x.value);
  if (remotes.length) o['vxlan-remoteip'] = remotes;
  const access = val('bridge-access');
  if (access !== undefined) o['bridge-access'] = /^\d+$/.test(access) ? Number(access) : access;
  for (const k of NUMERIC_FLAG_KEYS) {
    const v = val(k);
    if (v !== undefined) o[k] = onOff(v);
  }
  if (extra[''].length) o['cidr-extra'] = extra[''].join(' ');
  if (extra['6'].length) o['cidr6-extra'] = extra['6'].join(' ');
  const comments = commentsValue(commentGroup(iface, ''));
  if (comments !== undefined) o.comments = comments;
  const comments6 = inet6Only(iface) ? undefined : commentsValue(commentGroup(iface, '6'));
  if (comments6 !== undefined) o.comments6 = comments6;
  if (opts4.length) o.options = opts4;
  if (opts6.length) o.options6 = opts6;
  return o;
}
