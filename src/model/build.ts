/**
 * Compose the typed model from a parsed document.
 * Pure and linear in the size of the file (no per-interface rescans of the document).
 */
import { changeOf, docId } from '../interfaces/reparse.ts';
import type { AutoNode, Document, Family, IfaceNode, OptionNode, TopNode } from '../interfaces/syntax.ts';
import { canonicalKey } from './options.ts';
import { maskToPrefix, parseCidr } from './ip.ts';
import { splitList } from './param-options.ts';
import type {
  Address,
  BondConf,
  BondMode,
  BridgeConf,
  Iface,
  IfaceKind,
  Model,
  ModelOption,
  Stanza,
  VlanConf,
} from './types.ts';
import { BOND_MODES } from './types.ts';

/** Names the Proxmox VE installer and the kernel give physical NICs. */
export const PHYSICAL_NIC_RE = /^(?:eth\d+|en[^:.]+|ib[^:.]+|(?:nic|if)\d+|wl[^:.]+)$/;

export interface BuildOptions {
  /** Names of physical NICs present on the host, when known. */
  nics?: ReadonlySet<string>;
}

// Frozen: a push into a shared empty array would leak into every stanza, so it must throw.
const NO_COMMENTS = Object.freeze([]) as unknown as Stanza['comments'];
const NO_OPTIONS = Object.freeze([]) as unknown as ModelOption[];
const NO_ADDRESSES = Object.freeze([]) as unknown as Address[];

function stanzaFrom(node: IfaceNode): Stanza {
  const family =
    node.family && (node.family.text === 'inet' || node.family.text === 'inet6') ? (node.family.text as Family) : null;
  const options: ModelOption[] = [];
  // Arrays that stay empty in most stanzas are shared empty ones (never mutated after build).
  let comments: Stanza['comments'] = NO_COMMENTS;
  let gateways: ModelOption[] = NO_OPTIONS;
  let netmask: ModelOption | undefined;
  let addressOpts: ModelOption[] | undefined;
  // One pass over the body: this runs for every stanza of 4094-bridge files.
  for (const b of node.body) {
    if (b.kind === 'option') {
      const o = toModelOption(b);
      options.push(o);
      if (o.key === 'address') (addressOpts ??= []).push(o);
      else if (o.key === 'netmask') netmask = o;
      else if (o.key === 'gateway') {
        if (gateways === NO_OPTIONS) gateways = [o];
        else gateways.push(o);
      }
    } else if (b.kind === 'comment') {
      if (comments === NO_COMMENTS) comments = [b];
      else comments.push(b);
    }
  }
  const addresses: Address[] = addressOpts ? [] : NO_ADDRESSES;
  if (addressOpts) {
    for (const o of addressOpts) {
      const raws = /\s/.test(o.value) ? o.value.split(/\s+/) : [o.value];
      for (const raw of raws) {
        if (!raw) continue;
        const c = parseCidr(raw, false);
        if (!c) {
          addresses.push({ raw, ip: raw, prefix: null, version: raw.includes(':') ? 6 : 4, option: o });
          continue;
        }
        const hasPrefix = raw.includes('/');
        const a: Address = { raw, ip: c.ip, prefix: hasPrefix ? c.prefix : null, version: c.version, option: o };
        if (!hasPrefix && netmask) {
          a.prefix = netmaskPrefix(netmask.value, c.version);
          a.netmask = netmask;
        }
        addresses.push(a);
      }
    }
  }
  return { node, family, method: node.method?.text ?? null, options, comments, addresses, gateways };
}

/**
 * The prefix length a `netmask` option gives: a dotted mask (IPv4), or a prefix length as
 * ifupdown and ifupdown2 accept it (`netmask 24`, `netmask 64`); null when it is neither.
 */
export function netmaskPrefix(value: string, version: 4 | 6): number | null {
  if (/^\d{1,3}$/.test(value)) {
    const p = Number(value);
    return p <= (version === 4 ? 32 : 128) ? p : null;
  }
  return version === 4 ? maskToPrefix(value) : null;
}

function toModelOption(n: OptionNode): ModelOption {
  return { name: n.name, key: canonicalKey(n.name), value: n.value, node: n };
}

function firstValue(options: ModelOption[], key: string): string | undefined {
  for (const o of options) if (o.key === key) return o.value;
  return undefined;
}

const NUMERIC_BOND_MODE: Record<string, BondMode> = {
  '0': 'balance-rr',
  '1': 'active-backup',
  '2': 'balance-xor',
  '3': 'broadcast',
  '4': '802.3ad',
  '5': 'balance-tlb',
  '6': 'balance-alb',
};

/** Map a written bond mode (name or 0–6) to its name, or undefined. */
export function bondModeName(raw: string | undefined): BondMode | undefined {
  if (raw === undefined) return undefined;
  const r = raw.trim().toLowerCase();
  if ((BOND_MODES as readonly string[]).includes(r)) return r as BondMode;
  return NUMERIC_BOND_MODE[r];
}

const DOTTED_VLAN_RE = /^(.+)\.(\d+)$/;
const ALIAS_RE = /^(.+):(\d+)$/;
const VLAN_N_RE = /^vlan(\d+)$/;

function detectKind(
  name: string,
  options: ModelOption[],
  stanzas: Stanza[],
  nics: ReadonlySet<string> | undefined,
): IfaceKind {
  const has = (k: string) => options.some((o) => o.key === k);
  const ovsType = firstValue(options, 'ovs-type');
  if (name === 'lo' || stanzas.some((s) => s.method === 'loopback')) return 'loopback';
  if (ovsType) {
    if (ovsType === 'OVSBridge' || ovsType === 'OVSBond' || ovsType === 'OVSPort' || ovsType === 'OVSIntPort')
      return ovsType;
    return 'unknown';
  }
  if (has('bridge-ports')) return 'bridge';
  if (has('bond-slaves') || /^bond\d+$/.test(name)) return 'bond';
  if (has('vxlan-id')) return 'vxlan';
  if (firstValue(options, 'link-type') === 'dummy') return 'dummy';
  if (ALIAS_RE.test(name)) return 'alias';
  if (DOTTED_VLAN_RE.test(name) || has('vlan-raw-device') || (VLAN_N_RE.test(name) && has('vlan-id'))) return 'vlan';
  if ((nics && nics.has(name)) || PHYSICAL_NIC_RE.test(name)) return 'eth';
  return 'unknown';
}

function bridgeConf(options: ModelOption[]): BridgeConf {
  let portsOption: ModelOption | undefined;
  for (const o of options) if (o.key === 'bridge-ports') portsOption ??= o;
  const stp = firstValue(options, 'bridge-stp');
  const fd = firstValue(options, 'bridge-fd');
  const aware = firstValue(options, 'bridge-vlan-aware');
  const vids = firstValue(options, 'bridge-vids');
  const conf: BridgeConf = {
    ports: splitList(portsOption?.value),
    vlanAware: aware !== undefined && /^(yes|on|1|true)$/i.test(aware),
  };
  if (portsOption) conf.portsOption = portsOption;
  if (stp !== undefined) conf.stp = /^(on|yes|1|true)$/i.test(stp);
  if (fd !== undefined) conf.fd = fd;
  if (vids !== undefined) conf.vids = vids;
  return conf;
}

function bondConf(options: ModelOption[]): BondConf {
  const conf: BondConf = { slaves: [], other: [] };
  for (const o of options) {
    switch (o.key) {
      case 'bond-slaves':
        if (!conf.slaves.length) conf.slaves = splitList(o.value);
        break;
      case 'bond-mode': {
        conf.modeRaw ??= o.value;
        const m = bondModeName(o.value);
        if (m && conf.mode === undefined) conf.mode = m;
        break;
      }
      case 'bond-miimon':
        conf.miimon ??= o.value;
        break;
      case 'bond-xmit-hash-policy':
        conf.xmitHashPolicy ??= o.value;
        break;
      case 'bond-primary':
        conf.primary ??= o.value;
        break;
      case 'bond-lacp-rate':
        conf.lacpRate ??= o.value;
        break;
      default:
        if (o.key.startsWith('bond-')) conf.other.push(o);
    }
  }
  return conf;
}

function vlanConf(name: string, options: ModelOption[]): VlanConf {
  const dotted = DOTTED_VLAN_RE.exec(name);
  const rawOpt = firstValue(options, 'vlan-raw-device');
  const idOpt = firstValue(options, 'vlan-id');
  const proto = firstValue(options, 'vlan-protocol');
  const vn = VLAN_N_RE.exec(name);
  const conf: VlanConf = { form: dotted ? 'dotted' : vn ? 'vlanN' : 'custom' };
  if (dotted) {
    conf.rawDevice = rawOpt ?? dotted[1]!;
    conf.id = Number(dotted[2]);
  } else if (rawOpt !== undefined) conf.rawDevice = rawOpt;
  if (idOpt !== undefined) {
    if (/^\d+$/.test(idOpt)) conf.id ??= Number(idOpt);
    else conf.idRaw = idOpt;
  } else if (vn && conf.id === undefined) conf.id = Number(vn[1]);
  if (proto !== undefined) conf.protocol = proto;
  return conf;
}

/** One interface from its stanzas (in file order) and auto lines. */
function makeIface(
  name: string,
  stanzas: Stanza[],
  options: ModelOption[],
  autoNodes: AutoNode[],
  priority: number,
  nics: ReadonlySet<string> | undefined,
): Iface {
  const kind = detectKind(name, options, stanzas, nics);
  // One pass over the auto lines (no closures: this runs once per interface).
  let autostart = false;
  let hotplug = false;
  let classes: string[] = NO_CLASSES;
  // Open vSwitch's `allow-ovs BRIDGE` and `allow-BRIDGE PORT` lines start them (as Proxmox VE reads them).
  const ovsBridge = autoNodes.length && kind.startsWith('OVS') ? (firstValue(options, 'ovs-bridge') ?? '') : '';
  for (const a of autoNodes) {
    if (a.cls === 'auto') autostart = true;
    else if (kind.startsWith('OVS') && (a.cls === 'ovs' || a.cls === ovsBridge)) {
      autostart = true;
      if (classes === NO_CLASSES) classes = [a.cls];
      else classes.push(a.cls);
    } else if (a.cls === 'hotplug') autostart = hotplug = true;
    else if (classes === NO_CLASSES) classes = [a.cls];
    else classes.push(a.cls);
  }
  const iface: Iface = { name, kind, stanzas, autoNodes, autostart, hotplug, classes, priority, options };
  const mtu = firstValue(options, 'mtu') ?? firstValue(options, 'ovs-mtu');
  if (mtu !== undefined) iface.mtu = mtu;
  if (kind === 'bridge') iface.bridge = bridgeConf(options);
  if (kind === 'bond' || kind === 'OVSBond') iface.bond = bondConf(options);
  if (kind === 'vlan') iface.vlan = vlanConf(name, options);
  return iface;
}

/** The options of an interface: a single stanza (the common case) shares its list. */
function optionsOf(stanzas: Stanza[]): ModelOption[] {
  if (stanzas.length === 1) return stanzas[0]!.options;
  const options: ModelOption[] = [];
  for (const s of stanzas) for (const o of s.options) options.push(o);
  return options;
}

/**
 * Build the model. Interfaces appear in the order of their first stanza; `auto` lines for
 * interfaces without a stanza are collected in `autoOnly` (validation reports them).
 */
const NONE = Object.freeze([]) as unknown as AutoNode[];
const NO_CLASSES = Object.freeze([]) as unknown as string[];

/**
 * Stanza facts per syntax node. A node's content never changes (an incremental re-parse only
 * moves it), so its stanza can be reused by every model built from a document holding it.
 */
const stanzas = new WeakMap<IfaceNode, Stanza>();

function stanzaOf(node: IfaceNode): Stanza {
  let st = stanzas.get(node);
  if (st === undefined) {
    st = stanzaFrom(node);
    stanzas.set(node, st);
  }
  return st;
}

/**
 * What each model was built from: the host NICs (an interface is reused only with the same
 * set) and the document, by docId (a patch needs the model of the re-parse's input).
 */
const built = new WeakMap<Model, { nics: ReadonlySet<string> | undefined; doc: number }>();

/** Whether `prev` was built by buildModel with the same host NICs as `opts` asks for. */
function builtLike(prev: Model, opts: BuildOptions): boolean {
  const b = built.get(prev);
  return b !== undefined && b.nics === opts.nics;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * @param prev a model of an earlier version of the document (see `reparse`): interfaces whose
 *   stanzas, auto lines and position are the same objects are taken over from it unchanged,
 *   so that an edit of one interface rebuilds only that one.
 */
export function buildModel(doc: Document, opts: BuildOptions = {}, prev?: Model): Model {
  const patched = prev === undefined ? undefined : patchModel(doc, opts, prev);
  if (patched !== undefined) {
    modelStats.patched++;
    return patched;
  }
  modelStats.full++;
  const reuse = prev !== undefined && builtLike(prev, opts) ? prev.ifaces : undefined;
  const byName = new Map<string, Stanza[]>();
  const autos = new Map<string, AutoNode[]>();
  const sources: Model['sources'] = [];
  for (const n of doc.nodes) {
    if (n.kind === 'iface') {
      if (!n.name) continue;
      const list = byName.get(n.name.text);
      const st = stanzaOf(n);
      if (list) list.push(st);
      else byName.set(n.name.text, [st]);
    } else if (n.kind === 'auto') {
      for (const w of n.names) {
        const l = autos.get(w.text);
        if (l) l.push(n);
        else autos.set(w.text, [n]);
      }
    } else if (n.kind === 'source') sources.push(n);
  }
  const ifaces = new Map<string, Iface>();
  let priority = 0;
  for (const [name, stanzas] of byName) {
    priority++;
    const options = optionsOf(stanzas);
    const autoNodes = autos.get(name) ?? NONE;
    const was = reuse?.get(name);
    if (
      was !== undefined &&
      was.priority === priority &&
      sameItems(was.stanzas, stanzas) &&
      sameItems(was.autoNodes, autoNodes)
    ) {
      ifaces.set(name, was);
      continue;
    }
    ifaces.set(name, makeIface(name, stanzas, options, autoNodes, priority, opts.nics));
  }
  const autoOnly = new Map<string, AutoNode[]>();
  for (const [name, list] of autos) if (!ifaces.has(name)) autoOnly.set(name, list);
  const model: Model = { ifaces, autoOnly, sources };
  built.set(model, { nics: opts.nics, doc: docId(doc) });
  return model;
}

/** How many models were patched from the previous one and how many built in full. */
export const modelStats = { patched: 0, full: 0 };

/** Interfaces of a model by priority (index = priority - 1), made on demand. */
const orders = new WeakMap<Model, Iface[]>();

function orderOf(m: Model): Iface[] {
  let o = orders.get(m);
  if (o === undefined) {
    o = [...m.ifaces.values()];
    orders.set(m, o);
  }
  return o;
}

/**
 * The model of a re-parsed document from the model of the one before, touching only the
 * interfaces named in the re-parsed window; undefined (build in full) when the change adds or
 * removes an interface, moves one's first stanza past another's, or changes which names are
 * mentioned only by auto lines: those change priorities or orders a patch would have to shift.
 */
function patchModel(doc: Document, opts: BuildOptions, prev: Model): Model | undefined {
  const ch = changeOf(doc);
  if (ch === undefined || built.get(prev)?.doc !== ch.prevId || !builtLike(prev, opts)) return undefined;
  const touched = new Set<string>();
  let sourcesChanged = false;
  for (const list of [ch.removed, ch.added]) {
    for (const n of list) {
      if (n.kind === 'iface' && n.name) touched.add(n.name.text);
      else if (n.kind === 'auto') for (const w of n.names) touched.add(w.text);
      else if (n.kind === 'source') sourcesChanged = true;
    }
  }
  const removed = new Set<TopNode>(ch.removed);
  const byStart = (a: { start: number }, b: { start: number }) => a.start - b.start;
  const next = new Map<string, { stanzas: Stanza[]; autos: AutoNode[] }>();
  for (const name of touched) {
    const was = prev.ifaces.get(name);
    const stanzas: Stanza[] = [];
    if (was) for (const st of was.stanzas) if (!removed.has(st.node)) stanzas.push(st);
    for (const n of ch.added) if (n.kind === 'iface' && n.name?.text === name) stanzas.push(stanzaOf(n));
    stanzas.sort((a, b) => a.node.start - b.node.start);
    const autos: AutoNode[] = [];
    for (const a of was ? was.autoNodes : (prev.autoOnly.get(name) ?? [])) if (!removed.has(a)) autos.push(a);
    for (const n of ch.added) if (n.kind === 'auto') for (const w of n.names) if (w.text === name) autos.push(n);
    autos.sort(byStart);
    if ((was === undefined) !== (stanzas.length === 0)) return undefined; // an interface comes or goes
    if (was === undefined && prev.autoOnly.has(name) !== autos.length > 0) return undefined; // auto-only set changes
    next.set(name, { stanzas, autos });
  }
  // Each touched interface's first stanza must stay between its neighbours' in priority order.
  const order = orderOf(prev);
  const firstStart = (i: Iface): number => (next.get(i.name)?.stanzas ?? i.stanzas)[0]!.node.start;
  for (const [name, n] of next) {
    const was = prev.ifaces.get(name);
    if (was === undefined) continue;
    const start = n.stanzas[0]!.node.start;
    const before = order[was.priority - 2];
    const after = order[was.priority];
    if ((before && firstStart(before) > start) || (after && firstStart(after) < start)) return undefined;
  }
  const ifaces = new Map(prev.ifaces);
  const autoOnly = new Map(prev.autoOnly);
  for (const [name, n] of next) {
    const was = prev.ifaces.get(name);
    if (was === undefined) {
      if (n.autos.length) autoOnly.set(name, n.autos);
      continue;
    }
    const same = sameItems(was.stanzas, n.stanzas) && sameItems(was.autoNodes, n.autos);
    ifaces.set(
      name,
      same
        ? was
        : makeIface(name, n.stanzas, optionsOf(n.stanzas), n.autos.length ? n.autos : NONE, was.priority, opts.nics),
    );
  }
  const sources = sourcesChanged ? (doc.nodes.filter((n) => n.kind === 'source') as Model['sources']) : prev.sources;
  const model: Model = { ifaces, autoOnly, sources };
  built.set(model, { nics: opts.nics, doc: docId(doc) });
  return model;
}

/** All addresses of an interface with their version. */
export function addressesOf(iface: Iface): Address[] {
  const out: Address[] = [];
  for (const s of iface.stanzas) for (const a of s.addresses) out.push(a);
  return out;
}
