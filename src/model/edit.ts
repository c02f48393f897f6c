/**
 * Plan create/update/delete of one interface as minimal text edits (design.md convention 2).
 * Parameters are PVE's (already format-checked by params.ts). Untouched stanzas stay
 * byte-identical, a changed option changes only its line, and a new stanza copies its
 * neighbours' indentation and line endings. Create followed by delete restores the exact bytes.
 */
import { NodenetError, paramError } from '../errors.ts';
import type { TextEdit } from '../interfaces/edits.ts';
import { eolNear, insertLinesAfter, insertLinesBefore, mergeDeletions, removeLineRanges, removeLines } from '../interfaces/edits.ts';
import type { AutoNode, Document, IfaceNode, Line, TopNode } from '../interfaces/syntax.ts';
import { parseCidr, prefixToMask, maskToPrefix } from './ip.ts';
import { isJoined } from '../interfaces/parser.ts';
import { splitPveList } from './params.ts';
import { stanzaCommentNodes } from './pve-view.ts';
import type { Iface, IfaceKind, Model, ModelOption, Stanza } from './types.ts';
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

const CREATABLE: readonly string[] = ['bridge', 'bond', 'vlan', 'eth'];

type Values = Record<string, string>;

/** The indentation of a stanza's options (the file's dominant one when it has none). */
function indentOf(doc: Document, node: IfaceNode): string {
  for (const b of node.body) if (b.kind === 'option' && b.line.indent) return b.line.indent;
  return doc.indent;
}

function commentLines(text: string, indent: string, spaced = true): string[] {
  const t = text.replace(/\r\n/g, '\n').replace(/\n$/, '');
  return t.split('\n').map((l) => (l === '' ? `${indent}#` : `${indent}#${spaced ? ' ' : ''}${l}`));
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
  if (cidr !== undefined) out.push(['address', cidr]);
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
    if (v['vlan-raw-device'] !== undefined && !(dotted && dotted[1] === v['vlan-raw-device'])) out.push(['vlan-raw-device', v['vlan-raw-device']]);
    if (v['vlan-id'] !== undefined && !(dotted && dotted[2] === v['vlan-id']) && !(vn && vn[1] === v['vlan-id'])) out.push(['vlan-id', v['vlan-id']]);
  }
  if (v.mtu !== undefined) out.push(['mtu', v.mtu]);
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
const PARAM_TYPE = new Map<string, string>(Object.entries(TYPE_PARAMS).flatMap(([t, ps]) => ps.map((p) => [p, t] as [string, string])));

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
    if (t === undefined || t === own) continue;
    errors[k] = `'${k}' is a setting of ${t === 'OVS' ? 'Open vSwitch interfaces' : `${t}s`}, not of ${name} (type '${kind}')`;
  }
  if (Object.keys(errors).length) throw paramError(errors);
}

/** Plan the creation of interface `name` of PVE type `type`. */
export function planCreate(doc: Document, model: Model, name: string, v: Values): TextEdit[] {
  const type = v.type ?? 'unknown';
  if (model.ifaces.has(name)) throw paramError({ iface: 'interface already exists' });
  if (OVS_KINDS.includes(type as IfaceKind))
    throw paramError({ type: `nodenet keeps Open vSwitch interfaces as they are but does not create them; write the ${type} stanza by hand` });
  if (!CREATABLE.includes(type)) throw paramError({ type: `interfaces of type '${type}' cannot be created; use bridge, bond, vlan or eth` });
  checkTypeParams(type as IfaceKind, name, v);
  checkAddressPairs(v);
  if (type === 'vlan' && !/^(.+)\.(\d+)$/.test(name)) {
    if (v['vlan-raw-device'] === undefined) throw paramError({ 'vlan-raw-device': `a VLAN named '${name}' needs vlan-raw-device (or name it RAW.TAG, like eno1.50)` });
    if (!/^vlan\d+$/.test(name) && v['vlan-id'] === undefined) throw paramError({ 'vlan-id': `a VLAN named '${name}' needs vlan-id (or name it vlanTAG or RAW.TAG)` });
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
  const wantV6 = cidrFrom(v, '6') !== undefined || v.gateway6 !== undefined;
  const wantV4 = cidrFrom(v, '') !== undefined || v.gateway !== undefined || !wantV6;
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
    const c = v[`comments${six}`] ?? (fam === 'inet6' && !wantV4 ? v.comments : undefined);
    if (c !== undefined && c !== '') lines.push(...commentLines(c, indent));
    stanzas.push(lines);
  }
  if (v.autostart === '1') stanzas[0]!.unshift(`auto ${name}`);
  if (anchor) {
    // After the anchor's last stanza line: a blank separator, then the stanzas.
    const last = lastLineOf(anchor);
    const lines: string[] = [];
    for (const s of stanzas) lines.push('', ...s);
    return [insertLinesAfter(doc, last, lines, eol)];
  }
  if (firstAfter) {
    // Before the first stanza of a later kind (and before its own auto line).
    const before = precedingAuto(doc, firstAfter) ?? firstAfter;
    const lines: string[] = [];
    for (const s of stanzas) lines.push(...s, '');
    const line = before.kind === 'auto' ? before.line : before.header;
    return [insertLinesBefore(line, lines, eol)];
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
  if (!lastNode || lastNode.kind === 'bom') return [{ offset: doc.src.length, length: 0, content: lines.map((l) => l + eol).join('') }];
  const lastLine = 'line' in lastNode ? lastNode.line : lastNode.kind === 'iface' ? lastLineOf(lastNode) : lastNode.header;
  // Separate from preceding content with a blank line unless it is one already.
  const sep = lastNode.kind === 'blank' ? [] : [''];
  lines.pop();
  return [insertLinesAfter(doc, lastLine, [...sep, ...lines], eol)];
}

function precedingAuto(doc: Document, n: IfaceNode): AutoNode | undefined {
  const i = doc.nodes.indexOf(n);
  const prev = doc.nodes[i - 1];
  if (prev && prev.kind === 'auto' && prev.names.length === 1 && prev.names[0]!.text === n.name?.text) return prev;
  return undefined;
}

function checkAddressPairs(v: Values): void {
  for (const six of ['', '6'] as const) {
    if (v[`cidr${six}`] !== undefined && v[`address${six}`] !== undefined) throw paramError({ [`address${six}`]: `address conflicts with cidr${six}` });
    if (v[`cidr${six}`] !== undefined && v[`netmask${six}`] !== undefined) throw paramError({ [`netmask${six}`]: `netmask conflicts with cidr${six}` });
  }
}

/** Plan the removal of interface `name`: its stanzas and its auto/allow mentions, nothing else. */
export function planDelete(doc: Document, model: Model, name: string): TextEdit[] {
  const iface = model.ifaces.get(name);
  if (!iface) throw paramError({ iface: 'interface does not exist' });
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
  return [...removeLineRanges(doc, ranges), ...edits];
}

function removeAutoName(doc: Document, a: AutoNode, name: string): TextEdit[] {
  const others = a.names.filter((w) => w.text !== name);
  if (others.length === 0) return [removeLines(doc, a.line, a.line)];
  if (isJoined(a.line)) {
    // Continued auto line (or one with a `\` inside): rewrite it on one line.
    return [{ offset: a.line.start, length: a.line.contentEnd - a.line.start, content: `${a.line.indent}${a.keyword.text} ${others.map((w) => w.text).join(' ')}` }];
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

const SIMPLE_KEYS: Record<string, string> = {
  mtu: 'mtu',
  bridge_vids: 'bridge-vids',
  bridge_stp: 'bridge-stp',
  bridge_fd: 'bridge-fd',
  bond_mode: 'bond-mode',
  bond_xmit_hash_policy: 'bond-xmit-hash-policy',
  'bond-primary': 'bond-primary',
  bond_miimon: 'bond-miimon',
  bond_lacp_rate: 'bond-lacp-rate',
  'vlan-raw-device': 'vlan-raw-device',
  'vlan-id': 'vlan-id',
};

/** Plan an update of interface `name` with PVE parameters and a `delete` list. */
export function planUpdate(doc: Document, model: Model, name: string, v: Values, del: readonly string[]): TextEdit[] {
  const iface = model.ifaces.get(name);
  if (!iface) throw paramError({ iface: 'interface does not exist' });
  if (OVS_KINDS.includes(iface.kind))
    throw new NodenetError('PARAM', `${name} is an Open vSwitch interface (${iface.kind}); nodenet keeps it as it is but does not edit it`, {
      errors: { iface: `${name} is an Open vSwitch interface; edit it by hand` },
    });
  if (v.type !== undefined && v.type !== iface.kind && iface.kind !== 'unknown')
    throw paramError({ type: `${name} is of type '${iface.kind}', not '${v.type}'` });
  checkTypeParams(iface.kind === 'unknown' && v.type !== undefined ? (v.type as IfaceKind) : iface.kind, name, v);
  checkAddressPairs(v);
  for (const k of del) if (v[k] !== undefined) throw paramError({ delete: `cannot set and delete '${k}' at the same time` });
  const wants: Want[] = [];
  const want = (key: string, value: string | null, family: Want['family'] = 'any', spelling = key) => wants.push({ key, value, family, spelling });
  for (const [p, key] of Object.entries(SIMPLE_KEYS)) {
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
  const edits: TextEdit[] = [];
  const fams = { inet: familyStanza(iface, 'inet'), inet6: familyStanza(iface, 'inet6') };
  const primary = fams.inet ?? iface.stanzas[0]!;
  const newStanza6: string[] = [];
  for (const six of ['', '6'] as const) {
    const fam = six ? 'inet6' : 'inet';
    const cidr = cidrFrom(v, six);
    const stanza = fams[fam];
    const delAddr = del.includes(`cidr${six}`) || del.includes(`address${six}`);
    const gw = v[`gateway${six}`];
    const delGw = del.includes(`gateway${six}`);
    const comments = v[`comments${six}`];
    const delComments = del.includes(`comments${six}`);
    if (cidr === undefined && !delAddr && gw === undefined && !delGw && comments === undefined && !delComments && !del.includes(`netmask${six}`)) continue;
    if (!stanza) {
      if (cidr === undefined && gw === undefined && (comments === undefined || comments === '')) continue;
      // Add a new family stanza after the interface's last stanza.
      const indent = indentOf(doc, primary.node);
      const lines = [`iface ${name} ${fam} ${cidr !== undefined ? 'static' : 'manual'}`];
      if (cidr !== undefined) lines.push(`${indent}address ${cidr}`);
      if (gw !== undefined) lines.push(`${indent}gateway ${gw}`);
      if (comments) lines.push(...commentLines(comments, indent));
      if (fam === 'inet6') newStanza6.push('', ...lines);
      else newStanza6.unshift('', ...lines);
      continue;
    }
    edits.push(...addressEdits(doc, stanza, six, cidr, delAddr, del.includes(`netmask${six}`)));
    if (gw !== undefined || delGw) edits.push(...optionEdits(doc, stanza, 'gateway', delGw ? null : gw!, 'gateway'));
    if (comments !== undefined || delComments) edits.push(...commentEdits(doc, stanza, delComments ? '' : comments!));
    // Method follows the addresses.
    const willHave = cidr !== undefined || (!delAddr && stanza.addresses.some((a) => (a.version === 6) === (six === '6')));
    if (stanza.family && stanza.node.method && stanza.node.method.start >= 0) {
      const m = stanza.method;
      if (willHave && m === 'manual') edits.push({ offset: stanza.node.method.start, length: stanza.node.method.end - stanza.node.method.start, content: 'static' });
      if (!willHave && m === 'static') {
        const empty = isEmptyAfter(stanza, edits) && stanza !== primary && iface.stanzas.length > 1;
        if (empty) edits.splice(0, edits.length, ...edits.filter((e) => !withinStanza(e, stanza)), removeStanzaEdit(doc, stanza));
        else edits.push({ offset: stanza.node.method.start, length: stanza.node.method.end - stanza.node.method.start, content: 'manual' });
      }
    }
  }
  for (const w of wants) {
    const target = primary;
    edits.push(...optionEdits(doc, target, w.key, w.value, w.spelling, iface));
  }
  if (newStanza6.length) {
    const last = iface.stanzas[iface.stanzas.length - 1]!;
    edits.push(insertLinesAfter(doc, lastLineOf(last.node), newStanza6, eolNear(doc, last.node.header)));
  }
  if (v.autostart !== undefined || del.includes('autostart')) {
    const on = v.autostart === '1';
    if (on && !iface.autostart) {
      const first = iface.stanzas[0]!.node;
      edits.push(insertLinesBefore(first.header, [`auto ${name}`], eolNear(doc, first.header)));
    } else if (!on && iface.autostart) {
      for (const a of iface.autoNodes) if (a.cls === 'auto' || a.cls === 'hotplug') edits.push(...removeAutoName(doc, a, name));
    }
  }
  return mergeDeletions(dedupe(edits));
}

function withinStanza(e: TextEdit, s: Stanza): boolean {
  return e.offset >= s.node.start && e.offset + e.length <= s.node.end;
}

/** Whether every option line of the stanza is being removed by `edits`. */
function isEmptyAfter(s: Stanza, edits: TextEdit[]): boolean {
  for (const b of s.node.body) {
    if (b.kind === 'blank') continue;
    const covered = edits.some((e) => e.content === '' && e.offset <= b.line.start && e.offset + e.length >= b.line.end);
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

function familyStanza(iface: Iface, fam: 'inet' | 'inet6'): Stanza | undefined {
  const exact = iface.stanzas.find((s) => s.family === fam);
  if (exact) return exact;
  const typeless = iface.stanzas.find((s) => s.family === null);
  return typeless;
}

function findOption(s: Stanza, key: string, iface?: Iface): { opt: ModelOption; stanza: Stanza } | undefined {
  for (const o of s.options) if (o.key === key) return { opt: o, stanza: s };
  if (iface) for (const st of iface.stanzas) for (const o of st.options) if (o.key === key) return { opt: o, stanza: st };
  return undefined;
}

function replaceValue(doc: Document, o: ModelOption, value: string): TextEdit {
  const n = o.node;
  if (n.valueStart >= 0 && n.valueEnd >= n.valueStart && n.valueEnd > n.valueStart) return { offset: n.valueStart, length: n.valueEnd - n.valueStart, content: value };
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

function optionEdits(doc: Document, s: Stanza, key: string, value: string | null, spelling: string, iface?: Iface): TextEdit[] {
  const found = findOption(s, key, iface);
  if (value === null) {
    if (!found) return [];
    const edits: TextEdit[] = [];
    for (const st of iface ? iface.stanzas : [s]) for (const o of st.options) if (o.key === key) edits.push(removeLines(doc, o.node.line, o.node.line));
    return edits;
  }
  if (found) return found.opt.value === value ? [] : [replaceValue(doc, found.opt, value)];
  const line = insertionLine(doc, s, key);
  return [insertLinesAfter(doc, line, [`${indentOf(doc, s.node)}${spelling} ${value}`], eolNear(doc, s.node.header))];
}

function addressEdits(doc: Document, s: Stanza, six: '' | '6', cidr: string | undefined, delAddr: boolean, delNetmask: boolean): TextEdit[] {
  const version = six ? 6 : 4;
  const addrs = s.addresses.filter((a) => a.version === version);
  const edits: TextEdit[] = [];
  if (delAddr) {
    const lines = new Set(addrs.map((a) => a.option));
    for (const o of lines) edits.push(removeLines(doc, o.node.line, o.node.line));
    for (const a of addrs) {
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
  if (cidr === undefined) return edits;
  const first = addrs[0];
  if (!first) return [...edits, ...optionEdits(doc, s, 'address', cidr, 'address')];
  const c = parseCidr(cidr, false)!;
  if (first.netmask && !first.raw.includes('/') && version === 4) {
    // Keep the file's `address` + `netmask` style.
    const out: TextEdit[] = [];
    if (first.ip !== c.ip) out.push(replaceInOption(doc, first.option, first.raw, c.ip));
    const mask = prefixToMask(c.prefix);
    if (first.netmask.value !== mask) out.push(replaceValue(doc, first.netmask, mask));
    return [...edits, ...out];
  }
  if (first.raw === cidr) return edits;
  return [...edits, replaceInOption(doc, first.option, first.raw, cidr)];
}

/** Replace one address token inside an `address` option (which may list several). */
function replaceInOption(doc: Document, o: ModelOption, oldTok: string, newTok: string): TextEdit {
  if (o.value === oldTok) return replaceValue(doc, o, newTok);
  const parts = o.value.split(/(\s+)/);
  const i = parts.indexOf(oldTok);
  if (i >= 0) parts[i] = newTok;
  return replaceValue(doc, o, parts.join(''));
}

function commentEdits(doc: Document, s: Stanza, text: string): TextEdit[] {
  const existing = stanzaCommentNodes(s);
  // Follow the style of the comments already there (PVE writes `#text` at column 0).
  const first = existing[0];
  const indent = first ? first.line.indent : indentOf(doc, s.node);
  const spaced = first ? first.text.startsWith(' ') || first.text === '' : true;
  const wanted = text === '' ? [] : commentLines(text, indent, spaced);
  const norm = (l: string) => l.trim().replace(/^#\s?/, '');
  if (existing.length === wanted.length && existing.every((c, i) => norm(`#${c.text}`) === norm(wanted[i]!))) return [];
  if (!wanted.length) return existing.map((c) => removeLines(doc, c.line, c.line));
  const eol = eolNear(doc, s.node.header);
  if (existing.length) {
    // Replace the first run of comment lines in place (keeping its final line ending, or the
    // lack of one at the end of the file) and remove the other runs.
    const runs: (typeof existing)[] = [];
    for (const c of existing) {
      const run = runs[runs.length - 1];
      if (run && run[run.length - 1]!.line.end === c.line.start) run.push(c);
      else runs.push([c]);
    }
    const [first, ...rest] = runs;
    const a = first![0]!.line;
    const z = first![first!.length - 1]!.line;
    const edits: TextEdit[] = [{ offset: a.start, length: z.end - z.eol.length - a.start, content: wanted.join(eol) }];
    for (const r of rest) edits.push(removeLines(doc, r[0]!.line, r[r.length - 1]!.line));
    return edits;
  }
  let after: Line = s.node.header;
  for (const b of s.node.body) if (b.kind === 'option' && !dangling(doc, b.line)) after = b.line;
  return [insertLinesAfter(doc, after, wanted, eol)];
}
