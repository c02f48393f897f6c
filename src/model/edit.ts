/**
 * Plan create/update/delete of one interface as minimal text edits (design.md convention 2).
 * Parameters are PVE's (already format-checked by params.ts). Untouched stanzas stay
 * byte-identical, a changed option changes only its line, and a new stanza copies its
 * neighbours' indentation and line endings. Create followed by delete restores the exact bytes.
 */
import { noSuchInterface, paramError } from '../errors.ts';
import type { TextEdit } from '../interfaces/edits.ts';
import {
  eolNear,
  insertLinesAfter,
  insertLinesBefore,
  mergeDeletions,
  removeLineRanges,
  removeLines,
} from '../interfaces/edits.ts';
import type { AutoNode, CommentNode, Document, IfaceNode, Line, TopNode } from '../interfaces/syntax.ts';
import { parseCidr, prefixToMask, maskToPrefix } from './ip.ts';
import { isJoined } from '../interfaces/parser.ts';
import { SIMPLE_PARAMS, splitList, splitPveList } from './params.ts';
import { addressesOf } from './build.ts';
import {
  cidrText,
  commentGroup,
  commentText,
  commentsValue,
  inet6Only,
  joinOvsOptions,
  splitOvsOptions,
} from './pve-view.ts';
import type { Address, Iface, IfaceKind, Model, ModelOption, Stanza } from './types.ts';
import { OVS_KINDS } from './types.ts';

/** Order in which a person groups stanzas (and Proxmox VE writes them). */
const KIND_WEIGHT: Record<IfaceKind, number> = {
  loopback: 1,
  dummy: 1,
  eth: 2,
  alias: 2,
  OVSPort: 2,
  OVSIntPort: 3,
  bond: 4,
  OVSBond: 4,
  bridge: 5,
  OVSBridge: 5,
  vlan: 6,
  vxlan: 6,
  unknown: 7,
};

const CREATABLE: readonly string[] = ['bridge', 'bond', 'vlan', 'eth', ...OVS_KINDS];

/** Open vSwitch members: they name their bridge in `ovs_bridge` and are listed in its `ovs_ports`. */
const OVS_MEMBERS: readonly string[] = ['OVSBond', 'OVSPort', 'OVSIntPort'];
/** The bond modes Open vSwitch has (Proxmox VE's names). */
const OVS_BOND_MODES: readonly string[] = ['active-backup', 'balance-slb', 'lacp-balance-slb', 'lacp-balance-tcp'];
/** The OVS parameters each OVS type takes (the others are refused, as ifupdown2 would ignore them). */
const OVS_OWN: Readonly<Record<string, readonly string[]>> = {
  OVSBridge: ['ovs_ports', 'ovs_options'],
  OVSBond: ['ovs_bonds', 'ovs_bridge', 'ovs_options', 'ovs_tag', 'bond_mode'],
  OVSPort: ['ovs_bridge', 'ovs_options', 'ovs_tag'],
  OVSIntPort: ['ovs_bridge', 'ovs_options', 'ovs_tag'],
};

type Values = Record<string, string>;

/** The indentation of a stanza's options (the file's dominant one when it has none). */
function indentOf(doc: Document, node: IfaceNode): string {
  for (const b of node.body) if (b.kind === 'option' && b.line.indent) return b.line.indent;
  return doc.indent;
}

/**
 * The lines of a `comments` value as the view reads them back: one per `\n` (a final `\n`
 * ends the last line), trailing whitespace dropped (Proxmox VE drops it too); [] for ''.
 */
export function commentValueLines(text: string): string[] {
  const t = text.replace(/\r\n/g, '\n');
  if (t === '') return [];
  return t
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''));
}

/**
 * `#` lines for comment text. `spaced` follows the style already there: `# text` (nodenet's)
 * or `#text` (Proxmox VE's); a line that starts with a space is always written `# ` + line,
 * so that reading it back (one leading space dropped) gives the line.
 */
function commentLines(text: string, indent: string, spaced = true): string[] {
  return commentValueLines(text).map((l) =>
    l === '' ? `${indent}#` : `${indent}#${spaced || l.startsWith(' ') ? ' ' : ''}${l}`,
  );
}

function cidrFrom(v: Values, six: '' | '6'): string | undefined {
  const c = v[`cidr${six}`];
  if (c !== undefined) return c;
  const a = v[`address${six}`];
  const m = v[`netmask${six}`];
  if (a === undefined) return undefined;
  if (m === undefined) return a;
  const p = six ? Number(m) : maskToPrefix(m);
  return `${a}/${p}`;
}

function listValue(v: string): string {
  const items = splitPveList(v);
  return items.length ? items.join(' ') : 'none';
}

/** Options to write for a new interface, in the order Proxmox VE writes them. */
function newOptions(kind: string, name: string, v: Values, fam: 'inet' | 'inet6'): [string, string][] {
  const out: [string, string][] = [];
  const six = fam === 'inet6' ? '6' : '';
  const cidr = cidrFrom(v, six);
  if (cidr !== undefined)
    out.push(['address', cidr], ...(extrasOf(v, [], six) ?? []).map((x): [string, string] => ['address', x]));
  if (v[`gateway${six}`] !== undefined) out.push(['gateway', v[`gateway${six}`]!]);
  return out.concat(fam === 'inet' || !hasV4(v) ? typeOptions(kind, name, v) : []);
}

function hasV4(v: Values): boolean {
  return cidrFrom(v, '') !== undefined || v.gateway !== undefined || cidrFrom(v, '6') === undefined;
}

function typeOptions(kind: string, name: string, v: Values): [string, string][] {
  const out: [string, string][] = [];
  if (kind === 'bridge') {
    out.push(['bridge-ports', v.bridge_ports !== undefined ? listValue(v.bridge_ports) : 'none']);
    out.push(['bridge-stp', v.bridge_stp ?? 'off']);
    out.push(['bridge-fd', v.bridge_fd ?? '0']);
    if (v.bridge_vlan_aware === '1') {
      out.push(['bridge-vlan-aware', 'yes']);
      out.push(['bridge-vids', v.bridge_vids !== undefined ? splitPveList(v.bridge_vids).join(' ') : '2-4094']);
    } else if (v.bridge_vids !== undefined) out.push(['bridge-vids', splitPveList(v.bridge_vids).join(' ')]);
  } else if (kind === 'bond') {
    out.push(['bond-slaves', v.slaves !== undefined ? listValue(v.slaves) : 'none']);
    out.push(['bond-miimon', v.bond_miimon ?? '100']);
    out.push(['bond-mode', v.bond_mode ?? 'balance-rr']);
    if (v.bond_xmit_hash_policy !== undefined) out.push(['bond-xmit-hash-policy', v.bond_xmit_hash_policy]);
    if (v['bond-primary'] !== undefined) out.push(['bond-primary', v['bond-primary']]);
    if (v.bond_lacp_rate !== undefined) out.push(['bond-lacp-rate', v.bond_lacp_rate]);
  } else if (kind === 'vlan') {
    const dotted = /^(.+)\.(\d+)$/.exec(name);
    const vn = /^vlan(\d+)$/.exec(name);
    if (v['vlan-raw-device'] !== undefined && !(dotted && dotted[1] === v['vlan-raw-device']))
      out.push(['vlan-raw-device', v['vlan-raw-device']]);
    if (v['vlan-id'] !== undefined && !(dotted && dotted[2] === v['vlan-id']) && !(vn && vn[1] === v['vlan-id']))
      out.push(['vlan-id', v['vlan-id']]);
  }
  if (OVS_KINDS.includes(kind as IfaceKind)) return out.concat(ovsTypeOptions(kind, v));
  if (v.mtu !== undefined) out.push(['mtu', v.mtu]);
  return out;
}

/** The options of a new Open vSwitch interface, in Proxmox VE's order and spelling. */
function ovsTypeOptions(kind: string, v: Values): [string, string][] {
  const out: [string, string][] = [];
  if (kind === 'OVSBond') out.push(['ovs_bonds', splitPveList(v.ovs_bonds ?? '').join(' ')]);
  out.push(['ovs_type', kind]);
  if (kind === 'OVSBridge' && v.ovs_ports !== undefined && splitPveList(v.ovs_ports).length)
    out.push(['ovs_ports', splitPveList(v.ovs_ports).join(' ')]);
  if (v.ovs_bridge !== undefined) out.push(['ovs_bridge', v.ovs_bridge]);
  // A `tag=`/`bond_mode=` given inside ovs_options counts as ovs_tag/bond_mode (those win).
  const given = splitOvsOptions(v.ovs_options ?? '');
  const opts = joinOvsOptions({ rest: given.rest, tag: v.ovs_tag ?? given.tag, mode: v.bond_mode ?? given.mode });
  if (opts !== '') out.push(['ovs_options', opts]);
  if (v.mtu !== undefined) out.push(['ovs_mtu', v.mtu]);
  return out;
}

/** Last line of a stanza (its last body line, or the header). */
function lastLineOf(node: IfaceNode): Line {
  return node.body.length ? node.body[node.body.length - 1]!.line : node.header;
}

function ifaceKindOfNode(model: Model, n: IfaceNode): IfaceKind {
  return (n.name && model.ifaces.get(n.name.text)?.kind) || 'unknown';
}

/** The parameters that belong to one interface type (the others are common to all types). */
const TYPE_PARAMS: Readonly<Record<string, readonly string[]>> = {
  bridge: ['bridge_ports', 'bridge_vlan_aware', 'bridge_vids', 'bridge_stp', 'bridge_fd'],
  bond: ['slaves', 'bond_mode', 'bond_xmit_hash_policy', 'bond-primary', 'bond_miimon', 'bond_lacp_rate'],
  vlan: ['vlan-raw-device', 'vlan-id'],
  OVS: ['ovs_bonds', 'ovs_bridge', 'ovs_options', 'ovs_ports', 'ovs_tag'],
};
/** Parameters of Linux bonds that an OVS bond takes too (`bond_mode`, with Open vSwitch's modes). */
const OVS_SHARED = new Set(['bond_mode']);
const PARAM_TYPE = new Map<string, string>(
  Object.entries(TYPE_PARAMS).flatMap(([t, ps]) => ps.map((p) => [p, t] as [string, string])),
);

/**
 * Refuse parameters of another interface type (`slaves` on a bridge, `bridge_ports` on a bond,
 * `vlan-raw-device` on a bridge), as Proxmox VE's API does: they would be written as options
 * the interface does not use (`bond-slaves` in a bridge stanza), which ifupdown2 ignores or
 * applies to the wrong device.
 */
function checkTypeParams(kind: IfaceKind, name: string, v: Values): void {
  const own = OVS_KINDS.includes(kind) ? 'OVS' : kind;
  const errors: Record<string, string> = {};
  for (const k of Object.keys(v)) {
    const t = PARAM_TYPE.get(k);
    if (own === 'OVS') {
      if ((t === 'OVS' || OVS_SHARED.has(k)) && !OVS_OWN[kind]!.includes(k))
        errors[k] = `'${k}' is not a setting of ${kind} interfaces (${name} is one)`;
      if (t === 'OVS' || OVS_SHARED.has(k)) continue;
    }
    if (t === undefined || t === own) continue;
    errors[k] =
      `'${k}' is a setting of ${t === 'OVS' ? 'Open vSwitch interfaces' : `${t}s`}, not of ${name} (type '${kind}')`;
  }
  if (Object.keys(errors).length) throw paramError(errors);
}

/** Plan the creation of interface `name` of PVE type `type`. */
export function planCreate(doc: Document, model: Model, name: string, v: Values): TextEdit[] {
  const type = v.type ?? 'unknown';
  if (model.ifaces.has(name)) throw paramError({ iface: 'interface already exists' });
  if (!CREATABLE.includes(type))
    throw paramError({
      type: `interfaces of type '${type}' cannot be created; use bridge, bond, vlan, eth or an OVS type`,
    });
  checkTypeParams(type as IfaceKind, name, v);
  const ovsEdits = OVS_KINDS.includes(type as IfaceKind) ? checkOvsCreate(doc, model, name, type, v) : [];
  checkAddressPairs(v);
  for (const six of ['', '6'] as const) {
    if (extrasOf(v, [], six)?.length && cidrFrom(v, six) === undefined)
      throw paramError({ [`cidr${six}-extra`]: `addresses after the first need the first: give cidr${six} too` });
  }
  if (type === 'vlan' && !/^(.+)\.(\d+)$/.test(name)) {
    if (v['vlan-raw-device'] === undefined)
      throw paramError({
        'vlan-raw-device': `a VLAN named '${name}' needs vlan-raw-device (or name it RAW.TAG, like eno1.50)`,
      });
    if (!/^vlan\d+$/.test(name) && v['vlan-id'] === undefined)
      throw paramError({ 'vlan-id': `a VLAN named '${name}' needs vlan-id (or name it vlanTAG or RAW.TAG)` });
  }
  const kind = type as IfaceKind;
  const weight = KIND_WEIGHT[kind];
  // Anchor: the last stanza of a kind that sorts at or before the new one.
  let anchor: IfaceNode | undefined;
  let firstAfter: IfaceNode | undefined;
  let lastIface: IfaceNode | undefined;
  for (const n of doc.nodes) {
    if (n.kind !== 'iface') continue;
    lastIface = n;
    const w = KIND_WEIGHT[ifaceKindOfNode(model, n)];
    // A stanza ending in a dangling `\` would swallow whatever follows it: never append there.
    if (w <= weight && !dangling(doc, lastLineOf(n))) anchor = n;
    else firstAfter ??= n;
  }
  const v6Addr = cidrFrom(v, '6') !== undefined || v.gateway6 !== undefined;
  const wantV4 = cidrFrom(v, '') !== undefined || v.gateway !== undefined || !v6Addr;
  // comments6 of an interface with IPv4 get an `inet6 manual` stanza to live in; an
  // inet6-only interface keeps `comments` in its inet6 stanza (comments6 names the same lines).
  const wantV6 = v6Addr || (wantV4 && !!v.comments6);
  const inet6Comments = wantV4 ? undefined : sameComments(v);
  const near = anchor ?? firstAfter ?? lastIface;
  const indent = near ? indentOf(doc, near) : doc.indent;
  const eol = near ? eolNear(doc, near.header) : doc.eol;
  const stanzas: string[][] = [];
  const fams: ('inet' | 'inet6')[] = [];
  if (wantV4) fams.push('inet');
  if (wantV6) fams.push('inet6');
  for (const fam of fams) {
    const six = fam === 'inet6' ? '6' : '';
    const opts = newOptions(type, name, v, fam);
    const method = cidrFrom(v, six) !== undefined ? 'static' : 'manual';
    const lines = [`iface ${name} ${fam} ${method}`, ...opts.map(([k, val]) => `${indent}${k} ${val}`)];
    const c = fam === 'inet6' && !wantV4 ? inet6Comments : v[`comments${six}`];
    if (c !== undefined && c !== '') lines.push(...commentLines(c, indent));
    stanzas.push(lines);
  }
  // OVS members are brought up with their bridge: ifupdown2's openvswitch add-on needs them `auto`
  // (Proxmox VE with ifupdown2 writes `auto` for them too, whatever autostart says).
  if (v.autostart === '1' || OVS_MEMBERS.includes(type)) stanzas[0]!.unshift(`auto ${name}`);
  if (anchor) {
    // After the anchor's last stanza line: a blank separator, then the stanzas.
    const last = lastLineOf(anchor);
    const lines: string[] = [];
    for (const s of stanzas) lines.push('', ...s);
    // The OVS edits first: a line they add after the anchor's last line goes before the stanza.
    return [...ovsEdits, insertLinesAfter(doc, last, lines, eol)];
  }
  if (firstAfter) {
    // Before the first stanza of a later kind (and before its own auto line).
    const before = precedingAuto(doc, firstAfter) ?? firstAfter;
    const lines: string[] = [];
    for (const s of stanzas) lines.push(...s, '');
    const line = before.kind === 'auto' ? before.line : before.header;
    return [...ovsEdits, insertLinesBefore(line, lines, eol)];
  }
  // No stanzas at all: append, before trailing `source` lines.
  let tailStart = doc.nodes.length;
  while (tailStart > 0) {
    const n = doc.nodes[tailStart - 1]!;
    if (n.kind === 'source' || n.kind === 'blank') tailStart--;
    else break;
  }
  const lines: string[] = [];
  for (const s of stanzas) lines.push(...s, '');
  const at = doc.nodes[tailStart];
  if (at && at.kind === 'source') return [insertLinesBefore(at.line, lines, eol)];
  const lastNode = doc.nodes[doc.nodes.length - 1];
  if (!lastNode || lastNode.kind === 'bom')
    return [{ offset: doc.src.length, length: 0, content: lines.map((l) => l + eol).join('') }];
  const lastLine =
    'line' in lastNode ? lastNode.line : lastNode.kind === 'iface' ? lastLineOf(lastNode) : lastNode.header;
  // Separate from preceding content with a blank line unless it is one already.
  const sep = lastNode.kind === 'blank' ? [] : [''];
  lines.pop();
  return [insertLinesAfter(doc, lastLine, [...sep, ...lines], eol)];
}

/**
 * On an inet6-only interface `comments` and `comments6` name the same lines: one of them,
 * or both alike, else a parameter error.
 */
function sameComments(v: Values): string | undefined {
  const a = v.comments;
  const b = v.comments6;
  if (a !== undefined && b !== undefined && commentValueLines(a).join('\n') !== commentValueLines(b).join('\n'))
    throw paramError({
      comments6:
        'an interface with only an inet6 stanza keeps one comment there (comments); give comments or comments6, not two different ones',
    });
  return a ?? b;
}

function precedingAuto(doc: Document, n: IfaceNode): AutoNode | undefined {
  const i = doc.nodes.indexOf(n);
  const prev = doc.nodes[i - 1];
  if (prev && prev.kind === 'auto' && prev.names.length === 1 && prev.names[0]!.text === n.name?.text) return prev;
  return undefined;
}

/** The addresses `cidr-extra` (`cidr6-extra`) asks for: [] when deleted, undefined when not given. */
function extrasOf(v: Values, del: readonly string[], six: '' | '6'): string[] | undefined {
  const x = v[`cidr${six}-extra`];
  if (x !== undefined) return splitPveList(x);
  return del.includes(`cidr${six}-extra`) ? [] : undefined;
}

function checkAddressPairs(v: Values): void {
  for (const six of ['', '6'] as const) {
    if (v[`cidr${six}`] !== undefined && v[`address${six}`] !== undefined)
      throw paramError({ [`address${six}`]: `address conflicts with cidr${six}` });
    if (v[`cidr${six}`] !== undefined && v[`netmask${six}`] !== undefined)
      throw paramError({ [`netmask${six}`]: `netmask conflicts with cidr${six}` });
  }
}

/** Plan the removal of interface `name`: its stanzas and its auto/allow mentions, nothing else. */
export function planDelete(doc: Document, model: Model, name: string): TextEdit[] {
  const iface = model.ifaces.get(name);
  if (!iface) throw noSuchInterface(name);
  const edits: TextEdit[] = [];
  const ranges: [number, number][] = [];
  const removedAutos = new Set<AutoNode>();
  // Blank lines already taken as some stanza's separator (a stanza between two takes one only).
  const claimed = new Set<TopNode>();
  const nodes = doc.nodes;
  const indexOf = new Map<TopNode, number>();
  nodes.forEach((n, i) => indexOf.set(n, i));
  for (const s of iface.stanzas) {
    const idx = indexOf.get(s.node)!;
    let firstIdx = idx;
    const prev = nodes[idx - 1];
    if (prev && prev.kind === 'auto' && prev.names.length === 1 && prev.names[0]!.text === name) {
      firstIdx = idx - 1;
      removedAutos.add(prev);
    }
    // One blank separator goes with the stanza: the one before it, else the one after it.
    const before = nodes[firstIdx - 1];
    const after = nodes[idx + 1];
    let startNode: TopNode = nodes[firstIdx]!;
    let endLine = lastLineOf(s.node);
    if (before && before.kind === 'blank' && !claimed.has(before)) {
      startNode = before;
      claimed.add(before);
    } else if (after && after.kind === 'blank' && !claimed.has(after)) {
      endLine = after.line;
      claimed.add(after);
    }
    const startLine = startNode.kind === 'blank' || startNode.kind === 'auto' ? startNode.line : s.node.header;
    ranges.push([startLine.start, endLine.end]);
  }
  for (const a of iface.autoNodes) {
    if (removedAutos.has(a)) continue;
    if (a.names.every((w) => w.text === name)) ranges.push([a.line.start, a.line.end]);
    else edits.push(...removeAutoName(doc, a, name));
  }
  // Proxmox VE's delete takes the interface out of the OVS bridges that list it, and a deleted
  // bridge's OVS ports turn back into plain NICs. Whole lines that go join the ranges, so that
  // a removal at the end of a file without final newline takes the right terminator.
  if (iface.kind === 'OVSBridge')
    for (const l of ovsReleaseLines(model, name, splitList(optValue(iface, 'ovs-ports'))))
      ranges.push([l.start, l.end]);
  for (const b of model.ifaces.values()) {
    const o = b !== iface && b.kind === 'OVSBridge' ? b.options.find((x) => x.key === 'ovs-ports') : undefined;
    const ports = splitList(o?.value);
    if (!o || !ports.includes(name)) continue;
    const next = ports.filter((p) => p !== name);
    if (next.length) edits.push(replaceValue(doc, o, next.join(' ')));
    else ranges.push([o.node.line.start, o.node.line.end]);
  }
  return [...removeLineRanges(doc, ranges), ...edits];
}

function optValue(iface: Iface, key: string): string | undefined {
  return iface.options.find((o) => o.key === key)?.value;
}

/**
 * What listing `ports` in OVS bridge `bridge`'s `ovs_ports` does to them, as in Proxmox VE: a
 * plain NIC stanza becomes an OVSPort of the bridge (`ovs_type`, `ovs_bridge`; its auto line, or
 * none, stays: ifupdown2 brings a bridge's ports up with it), an OVS member of no or another
 * bridge gets this one; anything else is refused. A name with no stanza stays so.
 */
function ovsAdopt(doc: Document, model: Model, bridge: string, ports: readonly string[]): TextEdit[] {
  const edits: TextEdit[] = [];
  for (const p of ports) {
    const i = model.ifaces.get(p);
    if (!i) continue;
    if (i.kind === 'eth') {
      const s = familyStanza(i, 'inet') ?? i.stanzas[0]!;
      const indent = indentOf(doc, s.node);
      const eol = eolNear(doc, s.node.header);
      if (dangling(doc, lastLineOf(s.node)))
        throw paramError({ ovs_ports: `${p} ends in a line continued with '\\': fix the line first` });
      const lines = [`${indent}ovs_type OVSPort`, `${indent}ovs_bridge ${bridge}`];
      edits.push(insertLinesAfter(doc, insertionLine(doc, s, 'ovs-type'), lines, eol));
    } else if (OVS_MEMBERS.includes(i.kind)) {
      if (optValue(i, 'ovs-bridge') !== bridge)
        edits.push(...optionEdits(doc, i.stanzas[0]!, 'ovs-bridge', bridge, 'ovs_bridge', i));
    } else
      throw paramError({
        ovs_ports: `${p} is a ${i.kind}, not an OVS port, bond or network card; an OVS bridge cannot take it`,
      });
  }
  return edits;
}

/**
 * The OVS ports of bridge `bridge` among `ports` that no bridge lists any more turn back into
 * plain NICs (their `ovs_type`, `ovs_bridge` and `ovs_options` lines go), as Proxmox VE does.
 */
function ovsRelease(doc: Document, model: Model, bridge: string, ports: readonly string[]): TextEdit[] {
  return ovsReleaseLines(model, bridge, ports).map((l) => removeLines(doc, l, l));
}

/** The option lines {@link ovsRelease} removes. */
function ovsReleaseLines(model: Model, bridge: string, ports: readonly string[]): Line[] {
  const lines: Line[] = [];
  for (const p of ports) {
    const i = model.ifaces.get(p);
    if (!i || i.kind !== 'OVSPort' || optValue(i, 'ovs-bridge') !== bridge) continue;
    for (const o of i.options)
      if (o.key === 'ovs-type' || o.key === 'ovs-bridge' || o.key === 'ovs-options') lines.push(o.node.line);
  }
  return lines;
}

/** The OVS bridge named by a member's `ovs_bridge`, or a parameter error saying why there is none. */
function ovsBridgeOf(model: Model, bridge: string): Iface {
  const b = model.ifaces.get(bridge);
  if (!b) throw paramError({ ovs_bridge: `bridge '${bridge}' does not exist` });
  if (b.kind !== 'OVSBridge')
    throw paramError({ ovs_bridge: `'${bridge}' is not an OVS bridge (type '${b.kind}'); use an OVSBridge` });
  return b;
}

/**
 * The checks of an OVS create (Proxmox VE's: a member needs an existing OVS bridge, a bond
 * needs its NICs and an OVS bond mode) and the edit that lists a new member in its bridge's
 * `ovs_ports`.
 */
function checkOvsCreate(doc: Document, model: Model, name: string, type: string, v: Values): TextEdit[] {
  if (type === 'OVSBond') {
    if (!splitPveList(v.ovs_bonds ?? '').length)
      throw paramError({ ovs_bonds: 'an OVS bond needs its interfaces (ovs_bonds)' });
  }
  checkOvsBondMode(v);
  if (type === 'OVSBridge') return ovsAdopt(doc, model, name, splitPveList(v.ovs_ports ?? ''));
  if (v.ovs_bridge === undefined)
    throw paramError({ ovs_bridge: `a ${type} needs the OVS bridge it belongs to (ovs_bridge)` });
  const b = ovsBridgeOf(model, v.ovs_bridge);
  return ovsPortsEdits(doc, b, (ps) => (ps.includes(name) ? ps : [...ps, name]));
}

function checkOvsBondMode(v: Values): void {
  if (v.bond_mode !== undefined && !OVS_BOND_MODES.includes(v.bond_mode))
    throw paramError({
      bond_mode: `'${v.bond_mode}' is not an Open vSwitch bond mode; use ${OVS_BOND_MODES.join(', ')}`,
    });
}

/**
 * The edits that set an OVS bridge's `ovs_ports` to `change(current ports)`: the value of its
 * line replaced, the line removed when no port is left, or a new `ovs_ports` line.
 */
function ovsPortsEdits(doc: Document, bridge: Iface, change: (ports: string[]) => string[]): TextEdit[] {
  const opt = bridge.options.find((o) => o.key === 'ovs-ports');
  const ports = splitList(opt?.value);
  const next = change(ports);
  if (next.length === ports.length && next.every((p, i) => p === ports[i])) return [];
  if (opt && !next.length) return [removeLines(doc, opt.node.line, opt.node.line)];
  if (opt) return [replaceValue(doc, opt, next.join(' '))];
  const s = familyStanza(bridge, 'inet') ?? bridge.stanzas[0]!;
  return optionEdits(doc, s, 'ovs-ports', next.join(' '), 'ovs_ports', bridge);
}

function removeAutoName(doc: Document, a: AutoNode, name: string): TextEdit[] {
  const others = a.names.filter((w) => w.text !== name);
  if (others.length === 0) return [removeLines(doc, a.line, a.line)];
  if (isJoined(a.line)) {
    // Continued auto line (or one with a `\` inside): rewrite it on one line.
    return [
      {
        offset: a.line.start,
        length: a.line.contentEnd - a.line.start,
        content: `${a.line.indent}${a.keyword.text} ${others.map((w) => w.text).join(' ')}`,
      },
    ];
  }
  const edits: TextEdit[] = [];
  for (const w of a.names) {
    if (w.text !== name) continue;
    // Remove the word and the whitespace before it.
    let s = w.start;
    while (s > 0 && (doc.src[s - 1] === ' ' || doc.src[s - 1] === '\t')) s--;
    edits.push({ offset: s, length: w.end - s, content: '' });
  }
  return edits;
}

// ---------------------------------------------------------------------------------------------
// Update

interface Want {
  /** Canonical key → desired value (null = remove). */
  key: string;
  value: string | null;
  family: 'inet' | 'inet6' | 'any';
  /** Spelling for a new line. */
  spelling: string;
}

/** Plan an update of interface `name` with PVE parameters and a `delete` list. */
export function planUpdate(doc: Document, model: Model, name: string, v: Values, del: readonly string[]): TextEdit[] {
  const iface = model.ifaces.get(name);
  if (!iface) throw noSuchInterface(name);
  if (v.type !== undefined && v.type !== iface.kind && iface.kind !== 'unknown')
    throw paramError({ type: `${name} is of type '${iface.kind}', not '${v.type}'` });
  checkTypeParams(iface.kind === 'unknown' && v.type !== undefined ? (v.type as IfaceKind) : iface.kind, name, v);
  checkAddressPairs(v);
  for (const k of del)
    if (v[k] !== undefined) throw paramError({ delete: `cannot set and delete '${k}' at the same time` });
  const wants: Want[] = [];
  const want = (key: string, value: string | null, family: Want['family'] = 'any', spelling = key) =>
    wants.push({ key, value, family, spelling });
  const ovs = OVS_KINDS.includes(iface.kind);
  const ovsEdits = ovs ? planOvsUpdate(doc, model, iface, v, del, want) : [];
  for (const [p, key] of SIMPLE_PARAMS) {
    if (ovs && (p === 'mtu' || p === 'bond_mode')) continue; // planOvsUpdate's
    if (v[p] !== undefined) want(key, p === 'bridge_vids' ? splitPveList(v[p]).join(' ') : v[p]);
    else if (del.includes(p)) want(key, null);
  }
  if (v.bridge_ports !== undefined) want('bridge-ports', listValue(v.bridge_ports));
  else if (del.includes('bridge_ports')) want('bridge-ports', 'none');
  if (v.slaves !== undefined) want('bond-slaves', listValue(v.slaves));
  else if (del.includes('slaves')) want('bond-slaves', 'none');
  if (v.bridge_vlan_aware !== undefined) {
    const cur = iface.bridge?.vlanAware ?? false;
    if (v.bridge_vlan_aware === '1' && !cur) want('bridge-vlan-aware', 'yes');
    if (v.bridge_vlan_aware === '0' && cur) want('bridge-vlan-aware', null);
  } else if (del.includes('bridge_vlan_aware') && iface.bridge?.vlanAware) want('bridge-vlan-aware', null);
  const edits: TextEdit[] = [...ovsEdits];
  const fams = { inet: familyStanza(iface, 'inet'), inet6: familyStanza(iface, 'inet6') };
  const primary = fams.inet ?? iface.stanzas[0]!;
  const addsInet = !fams.inet && (cidrFrom(v, '') !== undefined || v.gateway !== undefined);
  const { edits: commentPlan, created: createdComments } = planComments(doc, iface, v, del, addsInet);
  const created: Partial<Record<'inet' | 'inet6', string[]>> = {};
  for (const six of ['', '6'] as const) {
    const fam = six ? 'inet6' : 'inet';
    const cidr = cidrFrom(v, six);
    const stanza = fams[fam];
    const delAddr = del.includes(`cidr${six}`) || del.includes(`address${six}`);
    const gw = v[`gateway${six}`];
    const delGw = del.includes(`gateway${six}`);
    const extras = extrasOf(v, del, six);
    if (delAddr && extras?.length)
      throw paramError({ [`cidr${six}-extra`]: `cannot delete cidr${six} and keep addresses after it` });
    if (!stanza) {
      if (extras?.length && cidr === undefined)
        throw paramError({
          [`cidr${six}-extra`]: `${name} has no ${six ? 'IPv6' : 'IPv4'} address to add these after: give cidr${six} too`,
        });
      if (cidr === undefined && gw === undefined && createdComments[fam] === undefined) continue;
      // A new family stanza after the interface's last stanza.
      const indent = indentOf(doc, primary.node);
      const lines = [`iface ${name} ${fam} ${cidr !== undefined ? 'static' : 'manual'}`];
      if (cidr !== undefined)
        lines.push(`${indent}address ${cidr}`, ...(extras ?? []).map((x) => `${indent}address ${x}`));
      if (gw !== undefined) lines.push(`${indent}gateway ${gw}`);
      if (createdComments[fam] !== undefined) lines.push(...commentLines(createdComments[fam], indent));
      created[fam] = lines;
      continue;
    }
    if (
      cidr === undefined &&
      !delAddr &&
      gw === undefined &&
      !delGw &&
      !del.includes(`netmask${six}`) &&
      extras === undefined
    )
      continue;
    edits.push(...addressEdits(doc, iface, stanza, six, cidr, delAddr, del.includes(`netmask${six}`), extras));
    if (gw !== undefined || delGw) edits.push(...gatewayEdits(doc, stanza, six, delGw ? null : gw!));
    // Method follows the addresses.
    const willHave =
      cidr !== undefined || (!delAddr && stanza.addresses.some((a) => (a.version === 6) === (six === '6')));
    if (stanza.family && stanza.node.method && stanza.node.method.start >= 0) {
      const m = stanza.method;
      if (willHave && m === 'manual')
        edits.push({
          offset: stanza.node.method.start,
          length: stanza.node.method.end - stanza.node.method.start,
          content: 'static',
        });
      if (!willHave && m === 'static') {
        const empty =
          isEmptyAfter(stanza, [...edits, ...commentPlan]) && stanza !== primary && iface.stanzas.length > 1;
        if (empty) {
          edits.splice(
            0,
            edits.length,
            ...edits.filter((e) => !withinStanza(e, stanza)),
            removeStanzaEdit(doc, stanza),
          );
          commentPlan.splice(0, commentPlan.length, ...commentPlan.filter((e) => !withinStanza(e, stanza)));
        } else
          edits.push({
            offset: stanza.node.method.start,
            length: stanza.node.method.end - stanza.node.method.start,
            content: 'manual',
          });
      }
    }
  }
  if (createdComments.inet6 !== undefined && !created.inet6) {
    // Typeless stanzas hold the addresses of both families, but comments6 are an inet6 stanza's.
    created.inet6 = [`iface ${name} inet6 manual`, ...commentLines(createdComments.inet6, indentOf(doc, primary.node))];
  }
  for (const w of wants) {
    const target = primary;
    edits.push(...optionEdits(doc, target, w.key, w.value, w.spelling, iface));
  }
  // Comment lines after the option lines planned above: at the same offset (after the last
  // option) a new option goes first and the comment block stays at the end of the stanza.
  edits.push(...commentPlan);
  const newStanzas = [...(created.inet ? ['', ...created.inet] : []), ...(created.inet6 ? ['', ...created.inet6] : [])];
  if (newStanzas.length) {
    const last = iface.stanzas[iface.stanzas.length - 1]!;
    if (dangling(doc, lastLineOf(last.node)))
      throw paramError({
        iface: `the file ends in a line continued with '\\' (line ${lastLineOf(last.node).lineNo}); a new stanza after it would join that line: fix the line first`,
      });
    edits.push(insertLinesAfter(doc, lastLineOf(last.node), newStanzas, eolNear(doc, last.node.header)));
  }
  if (v.autostart !== undefined || del.includes('autostart')) {
    const on = v.autostart === '1';
    if (on && !iface.autostart) {
      const first = iface.stanzas[0]!.node;
      edits.push(insertLinesBefore(first.header, [`auto ${name}`], eolNear(doc, first.header)));
    } else if (!on && iface.autostart) {
      for (const a of iface.autoNodes)
        if (a.cls === 'auto' || a.cls === 'hotplug' || iface.classes.includes(a.cls))
          edits.push(...removeAutoName(doc, a, name));
    }
  }
  return fitEofInsertions(doc, mergeDeletions(dedupe(edits)));
}

/**
 * The OVS part of an update: `ovs_tag`, `bond_mode` and `ovs_options` make one `ovs_options` line
 * (rewritten only when one of them changes), `mtu` is `ovs_mtu` (or the `mtu` line already
 * there), list settings are set as given, and a member moved to another bridge leaves the old
 * bridge's `ovs_ports` for the new one's. Returns the edits outside the interface.
 */
function planOvsUpdate(
  doc: Document,
  model: Model,
  iface: Iface,
  v: Values,
  del: readonly string[],
  want: (key: string, value: string | null, family?: Want['family'], spelling?: string) => void,
): TextEdit[] {
  const name = iface.name;
  if (iface.kind === 'OVSBond') checkOvsBondMode(v);
  const cur = iface.options.find((o) => o.key === 'ovs-options')?.value;
  const old = splitOvsOptions(cur ?? '');
  const next = { ...old };
  if (v.ovs_options !== undefined) {
    // A `tag=`/`bond_mode=` inside the new options counts as ovs_tag/bond_mode (those win).
    const given = splitOvsOptions(v.ovs_options);
    next.rest = given.rest;
    if (given.tag !== undefined) next.tag = given.tag;
    if (given.mode !== undefined) next.mode = given.mode;
  } else if (del.includes('ovs_options')) next.rest = '';
  if (v.ovs_tag !== undefined) next.tag = v.ovs_tag;
  else if (del.includes('ovs_tag')) delete next.tag;
  if (v.bond_mode !== undefined) next.mode = v.bond_mode;
  else if (del.includes('bond_mode')) delete next.mode;
  if (next.rest.trim() !== old.rest || next.tag !== old.tag || next.mode !== old.mode) {
    const text = joinOvsOptions(next);
    want('ovs-options', text === '' ? null : text, 'any', 'ovs_options');
  }
  const mtuKey = iface.options.some((o) => o.key === 'mtu') ? 'mtu' : 'ovs-mtu';
  if (v.mtu !== undefined) want(mtuKey, v.mtu, 'any', mtuKey === 'mtu' ? 'mtu' : 'ovs_mtu');
  else if (del.includes('mtu')) {
    want('mtu', null);
    want('ovs-mtu', null);
  }
  for (const p of ['ovs_bonds', 'ovs_ports']) {
    const key = p.replace('_', '-');
    if (v[p] !== undefined) {
      const items = splitPveList(v[p]);
      want(key, items.length ? items.join(' ') : null, 'any', p);
    } else if (del.includes(p)) want(key, null);
  }
  const outside: TextEdit[] = [];
  if (iface.kind === 'OVSBridge' && (v.ovs_ports !== undefined || del.includes('ovs_ports'))) {
    const old = splitList(optValue(iface, 'ovs-ports'));
    const next = splitPveList(v.ovs_ports ?? '');
    outside.push(...ovsAdopt(doc, model, name, next));
    outside.push(
      ...ovsRelease(
        doc,
        model,
        name,
        old.filter((p) => !next.includes(p)),
      ),
    );
  }
  if (v.ovs_bridge !== undefined || del.includes('ovs_bridge')) {
    if (del.includes('ovs_bridge'))
      throw paramError({ ovs_bridge: `a ${iface.kind} needs the OVS bridge it belongs to (ovs_bridge)` });
    const to = ovsBridgeOf(model, v.ovs_bridge!);
    want('ovs-bridge', to.name, 'any', 'ovs_bridge');
    for (const b of model.ifaces.values()) {
      if (b.kind !== 'OVSBridge') continue;
      if (b === to) outside.push(...ovsPortsEdits(doc, b, (ps) => (ps.includes(name) ? ps : [...ps, name])));
      else outside.push(...ovsPortsEdits(doc, b, (ps) => ps.filter((p) => p !== name)));
    }
  }
  return outside;
}

/**
 * Removing the last line of a file without final newline takes the terminator before it
 * (removeLines), so an insertion planned after a line inside that removal (or right after the
 * terminator) falls inside it. Such an insertion moves to the removal's start, its lines led
 * by the terminator instead of ended by it: the file keeps having no final newline.
 */
function fitEofInsertions(doc: Document, edits: TextEdit[]): TextEdit[] {
  const src = doc.src;
  if (src.endsWith('\n')) return edits;
  const tail = edits.find((e) => e.content === '' && e.length > 0 && e.offset + e.length === src.length);
  if (!tail) return edits;
  // Everything from the removal's start to the end goes, so lines inserted anywhere inside it
  // land right after the last line that stays.
  const eol = src.startsWith('\r\n', tail.offset) ? '\r\n' : src.startsWith('\n', tail.offset) ? '\n' : '';
  return edits.map((e) => {
    if (e.length !== 0 || e.offset <= tail.offset || e.offset >= src.length) return e;
    if (eol === '' || !e.content.endsWith(eol)) return { ...e, offset: tail.offset };
    return { offset: tail.offset, length: 0, content: eol + e.content.slice(0, -eol.length) };
  });
}

function withinStanza(e: TextEdit, s: Stanza): boolean {
  return e.offset >= s.node.start && e.offset + e.length <= s.node.end;
}

/** Whether every option line of the stanza is being removed by `edits`. */
function isEmptyAfter(s: Stanza, edits: TextEdit[]): boolean {
  for (const b of s.node.body) {
    if (b.kind === 'blank') continue;
    const covered = edits.some(
      (e) => e.content === '' && e.offset <= b.line.start && e.offset + e.length >= b.line.end,
    );
    if (!covered) return false;
  }
  return true;
}

function removeStanzaEdit(doc: Document, s: Stanza): TextEdit {
  // Remove the stanza and the blank line before it (the inverse of adding a family stanza).
  const i = doc.nodes.indexOf(s.node);
  const prev = doc.nodes[i - 1];
  const start = prev && prev.kind === 'blank' ? prev.line : s.node.header;
  return removeLines(doc, start, lastLineOf(s.node));
}

function dedupe(edits: TextEdit[]): TextEdit[] {
  const seen = new Set<string>();
  return edits.filter((e) => {
    const k = `${e.offset}:${e.length}:${e.content}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * The stanza a family's address and gateway edits go to: the one holding the family's first
 * address (the one `cidr`/`cidr6` shows), else the family's own stanza, else a typeless one.
 */
function familyStanza(iface: Iface, fam: 'inet' | 'inet6'): Stanza | undefined {
  const version = fam === 'inet6' ? 6 : 4;
  const holder = iface.stanzas.find((s) => s.addresses.some((a) => a.version === version));
  if (holder) return holder;
  const exact = iface.stanzas.find((s) => s.family === fam);
  if (exact) return exact;
  const typeless = iface.stanzas.find((s) => s.family === null);
  return typeless;
}

function findOption(s: Stanza, key: string, iface?: Iface): { opt: ModelOption; stanza: Stanza } | undefined {
  for (const o of s.options) if (o.key === key) return { opt: o, stanza: s };
  if (iface)
    for (const st of iface.stanzas) for (const o of st.options) if (o.key === key) return { opt: o, stanza: st };
  return undefined;
}

function replaceValue(doc: Document, o: ModelOption, value: string): TextEdit {
  const n = o.node;
  if (n.valueStart >= 0 && n.valueEnd >= n.valueStart && n.valueEnd > n.valueStart)
    return { offset: n.valueStart, length: n.valueEnd - n.valueStart, content: value };
  // Continued line or missing value: rewrite the logical line's content.
  const start = n.line.start + n.line.indent.length;
  return { offset: start, length: n.line.contentEnd - start, content: `${n.name} ${value}` };
}

/** A last line of the file that ends with a continuation backslash (it would join an appended line). */
function dangling(doc: Document, line: Line): boolean {
  return line.end === doc.src.length && /\\[\s]*$/.test(doc.src.slice(line.start, line.end));
}

/** Where a new option line goes: after the last option (before trailing comments), or after the header. */
function insertionLine(doc: Document, s: Stanza, key: string): Line {
  const body = s.node.body;
  if (key === 'address' || key === 'gateway' || key === 'netmask') {
    let after: Line = s.node.header;
    for (const b of body) {
      if (b.kind !== 'option') continue;
      const k = b.name.replace(/_/g, '-').toLowerCase();
      if (k === 'address' || (key !== 'address' && (k === 'netmask' || k === 'gateway'))) after = b.line;
    }
    if (after === s.node.header) {
      // After a leading comment block, if any.
      for (const b of body) {
        if (b.kind === 'option') break;
        if (b.kind === 'comment') after = b.line;
      }
    }
    return after;
  }
  let after: Line = s.node.header;
  for (const b of body) {
    if (b.kind === 'option' && !dangling(doc, b.line)) after = b.line;
  }
  if (after === s.node.header) for (const b of body) if (b.kind === 'comment' && !dangling(doc, b.line)) after = b.line;
  return after;
}

function optionEdits(
  doc: Document,
  s: Stanza,
  key: string,
  value: string | null,
  spelling: string,
  iface?: Iface,
): TextEdit[] {
  const found = findOption(s, key, iface);
  if (value === null) {
    if (!found) return [];
    const edits: TextEdit[] = [];
    for (const st of iface ? iface.stanzas : [s])
      for (const o of st.options) if (o.key === key) edits.push(removeLines(doc, o.node.line, o.node.line));
    return edits;
  }
  if (found) return found.opt.value === value ? [] : [replaceValue(doc, found.opt, value)];
  const line = insertionLine(doc, s, key);
  return [insertLinesAfter(doc, line, [`${indentOf(doc, s.node)}${spelling} ${value}`], eolNear(doc, s.node.header))];
}

/**
 * The address edits of one family (docs/model.md, "Addresses"): `cidr` replaces the first
 * address, in the file's form; `extras` (cidr-extra) become exactly the addresses after it,
 * as `address` lines right after the first one; deleting removes every address of the family.
 */
function addressEdits(
  doc: Document,
  iface: Iface,
  s: Stanza,
  six: '' | '6',
  cidr: string | undefined,
  delAddr: boolean,
  delNetmask: boolean,
  extras: string[] | undefined,
): TextEdit[] {
  const version = six ? 6 : 4;
  const all = addressesOf(iface).filter((a) => a.version === version);
  const edits: TextEdit[] = [];
  if (delAddr) {
    const lines = new Set(all.map((a) => a.option));
    for (const o of lines) edits.push(removeLines(doc, o.node.line, o.node.line));
    for (const a of all) {
      if (a.netmask && !lines.has(a.netmask)) {
        lines.add(a.netmask);
        edits.push(removeLines(doc, a.netmask.node.line, a.netmask.node.line));
      }
    }
    return edits;
  }
  if (delNetmask) {
    const nm = s.options.find((o) => o.key === 'netmask');
    if (nm) edits.push(removeLines(doc, nm.node.line, nm.node.line));
  }
  const indent = indentOf(doc, s.node);
  const eol = eolNear(doc, s.node.header);
  const extraLines = (extras ?? []).map((x) => `${indent}address ${x}`);
  const first = all[0];
  if (!first) {
    if (cidr === undefined) {
      if (extraLines.length)
        throw paramError({
          [`cidr${six}-extra`]: `${iface.name} has no ${six ? 'IPv6' : 'IPv4'} address to add these after: give cidr${six} too`,
        });
      return edits;
    }
    // A new line: an `address` line of the other family (typeless stanza) is not this one.
    return [
      ...edits,
      insertLinesAfter(doc, insertionLine(doc, s, 'address'), [`${indent}address ${cidr}`, ...extraLines], eol),
    ];
  }
  let firstTok = first.raw;
  if (cidr !== undefined) {
    const c = parseCidr(cidr, false)!;
    if (first.netmask && !first.raw.includes('/') && version === 4) {
      // Keep the file's `address` + `netmask` style; a prefix length in `netmask` stays one.
      firstTok = c.ip;
      const mask = /^\d+$/.test(first.netmask.value) ? String(c.prefix) : prefixToMask(c.prefix);
      if (first.netmask.value !== mask) edits.push(replaceValue(doc, first.netmask, mask));
    } else firstTok = cidr;
  }
  if (
    extras === undefined ||
    (all.length - 1 === extras.length && all.slice(1).every((a, i) => cidrText(a) === extras[i]))
  ) {
    if (firstTok !== first.raw) edits.push(replaceInOption(doc, first.option, first.raw, firstTok));
    return edits;
  }
  // Rewrite every line holding an address of the family: the first stays (with its new
  // value), the others go; the new extras follow the first address's line.
  const drop = new Set(all.slice(1));
  const byOption = new Map<ModelOption, Address[]>();
  for (const st of iface.stanzas) {
    for (const a of st.addresses) {
      const l = byOption.get(a.option);
      if (l) l.push(a);
      else byOption.set(a.option, [a]);
    }
  }
  for (const [o, list] of byOption) {
    if (!list.some((a) => a === first || drop.has(a))) continue;
    const tokens = list.filter((a) => !drop.has(a)).map((a) => (a === first ? firstTok : a.raw));
    if (!tokens.length) edits.push(removeLines(doc, o.node.line, o.node.line));
    else if (tokens.join(' ') !== list.map((a) => a.raw).join(' ')) edits.push(replaceValue(doc, o, tokens.join(' ')));
  }
  if (extraLines.length) {
    // Before the first line's terminator, not after it: removing a following last line of a
    // file without final newline takes that terminator, and must not swallow the new lines.
    const l = first.option.node.line;
    edits.push({ offset: l.end - l.eol.length, length: 0, content: extraLines.map((x) => eol + x).join('') });
  }
  return edits;
}

/** Set or remove the gateway of one family (a typeless stanza may hold both families'). */
function gatewayEdits(doc: Document, s: Stanza, six: '' | '6', value: string | null): TextEdit[] {
  const mine = s.gateways.filter((g) => g.value.includes(':') === (six === '6'));
  if (value === null) return mine.map((g) => removeLines(doc, g.node.line, g.node.line));
  const first = mine[0];
  if (first) return first.value === value ? [] : [replaceValue(doc, first, value)];
  return [
    insertLinesAfter(
      doc,
      insertionLine(doc, s, 'gateway'),
      [`${indentOf(doc, s.node)}gateway ${value}`],
      eolNear(doc, s.node.header),
    ),
  ];
}

/** Replace one address token inside an `address` option (which may list several). */
function replaceInOption(doc: Document, o: ModelOption, oldTok: string, newTok: string): TextEdit {
  if (o.value === oldTok) return replaceValue(doc, o, newTok);
  const parts = o.value.split(/(\s+)/);
  const i = parts.indexOf(oldTok);
  if (i >= 0) parts[i] = newTok;
  return replaceValue(doc, o, parts.join(''));
}

/**
 * The comment part of an update (docs/model.md, "Comments"): edits of the existing comment
 * lines, and the comment text of family stanzas the update creates.
 * @param addsInet the update gives an inet6-only interface an inet stanza: its comments move
 *   there (they stay the interface's `comments`)
 */
function planComments(
  doc: Document,
  iface: Iface,
  v: Values,
  del: readonly string[],
  addsInet: boolean,
): { edits: TextEdit[]; created: Partial<Record<'inet' | 'inet6', string>> } {
  const edits: TextEdit[] = [];
  const created: Partial<Record<'inet' | 'inet6', string>> = {};
  if (inet6Only(iface)) {
    const group = commentGroup(iface, '');
    if (addsInet) {
      // The interface's comments go with it into the new inet stanza; its inet6 stanza keeps
      // only what comments6 asks for.
      const moved = v.comments ?? (del.includes('comments') ? '' : (commentsValue(group) ?? ''));
      if (moved !== '') created.inet = moved;
      edits.push(...commentEdits(doc, group, v.comments6 ?? ''));
      return { edits, created };
    }
    const text = sameComments(v);
    const dropped = del.includes('comments') || del.includes('comments6');
    if (text !== undefined || dropped) edits.push(...commentEdits(doc, group, text ?? ''));
    return { edits, created };
  }
  for (const six of ['', '6'] as const) {
    const text = v[`comments${six}`];
    const dropped = del.includes(`comments${six}`);
    if (text === undefined && !dropped) continue;
    const group = commentGroup(iface, six);
    if (group.length) edits.push(...commentEdits(doc, group, text ?? ''));
    else if (text) created.inet6 = text; // no inet6 stanza yet: an `inet6 manual` one holds them
  }
  return { edits, created };
}

/**
 * Set the comment lines of a group of stanzas (one of `commentGroup`) to `text`, changing as
 * few lines as it can (docs/model.md, "Comments"): the lines the old and the new text share at
 * their start and at their end stay where they are; the old lines between are removed, and the
 * new ones take the place of the last run of them (where PVE writes comments: after the last
 * option), in its indentation and `#` style; with none removed they go next to the kept ones,
 * and with no comment lines at all after the last option of the group's first stanza.
 */
function commentEdits(doc: Document, group: readonly Stanza[], text: string): TextEdit[] {
  const existing: CommentNode[] = [];
  for (const s of group) for (const c of s.comments) existing.push(c);
  const target = group[0]!;
  const eol = eolNear(doc, target.node.header);
  const want = commentValueLines(text);
  const old = existing.map((c) => commentText(c.text));
  let p = 0;
  while (p < old.length && p < want.length && old[p] === want[p]) p++;
  let q = 0;
  while (q < old.length - p && q < want.length - p && old[old.length - 1 - q] === want[want.length - 1 - q]) q++;
  const removed = existing.slice(p, existing.length - q);
  const added = want.slice(p, want.length - q).join('\n');
  if (!removed.length && added === '' && p + q === want.length) return [];
  // Follow the style of the comments already there (PVE writes `#text` at column 0).
  const styled = (ref: CommentNode | undefined): string[] => {
    const indent = ref ? ref.line.indent : indentOf(doc, target.node);
    const spaced = ref ? ref.text.startsWith(' ') || ref.text === '' : true;
    return p + q < want.length ? commentLines(`${added}\n`, indent, spaced) : [];
  };
  if (removed.length) {
    let r = removed.length - 1;
    while (r > 0 && removed[r - 1]!.line.end === removed[r]!.line.start) r--;
    const edits = removed.slice(0, r).map((c) => removeLines(doc, c.line, c.line));
    const lines = styled(removed[r]);
    const a = removed[r]!.line;
    const z = removed[removed.length - 1]!.line;
    if (!lines.length) for (const c of removed.slice(r)) edits.push(removeLines(doc, c.line, c.line));
    else edits.push({ offset: a.start, length: z.end - z.eol.length - a.start, content: lines.join(eol) });
    return edits;
  }
  if (p > 0) return [insertLinesAfter(doc, existing[p - 1]!.line, styled(existing[p - 1]), eol)];
  if (q > 0)
    return [insertLinesBefore(existing[existing.length - q]!.line, styled(existing[existing.length - q]), eol)];
  let after: Line = target.node.header;
  for (const b of target.node.body) if (b.kind === 'option' && !dangling(doc, b.line)) after = b.line;
  return [insertLinesAfter(doc, after, styled(undefined), eol)];
}
