/**
 * Shared pieces of the planning modes: a draft text that is re-parsed after each step, the
 * refusals, subnet checks, and the in-place synchronisation of generated hook lines.
 * Everything here is pure (text in, text out).
 */
import { paramError } from '../errors.ts';
import type { TextEdit } from '../interfaces/edits.ts';
import { applyGuardedEdits } from '../model/guard.ts';
import { eolNear, insertLinesAfter, removeLines } from '../interfaces/edits.ts';
import { parse } from '../interfaces/parser.ts';
import type { Document, Line } from '../interfaces/syntax.ts';
import { addressesOf, buildModel } from '../model/build.ts';
import { parseCidr, subnetRange } from '../model/ip.ts';
import { planCreate, planUpdate } from '../model/edit.ts';
import type { Iface, Model, ModelOption, Stanza } from '../model/types.ts';
import type { HookLine } from './rules.ts';

/** What every planner returns. */
export interface SetupResult {
  /** The new pending text; equal to the input when nothing needs to change. */
  text: string;
  /** Sentences for the user: what was chosen, what apply will and will not do. */
  notes: string[];
}

/** Options every planner takes. */
export interface PlanContext {
  /** Physical NICs of the host, when known (type detection, default port choice). */
  nics?: ReadonlySet<string>;
}

/**
 * Ports Debian's ifupdown2 must leave plugged on reload: Proxmox VE's guest ports (tap = VM NIC,
 * veth = container NIC, fwpr = firewall bridge link). Proxmox VE's ifupdown2 build keeps them by
 * a patch; Debian's 3.0.0 unplugs them on every `ifreload -a` unless the stanza says so
 * (research ifupdown2.md §2.1). Proxmox VE keeps unknown options, so the line is harmless there.
 */
export const CONDONE_REGEX = '^(tap|veth|fwpr)';

/** A text being edited step by step; each step re-parses so later steps see earlier ones. */
export class Draft {
  text: string;
  doc!: Document;
  model!: Model;

  constructor(
    text: string,
    private readonly ctx: PlanContext = {},
  ) {
    this.text = text;
    this.reparse();
  }

  private reparse(): void {
    this.doc = parse(this.text);
    this.model = buildModel(this.doc, this.ctx.nics ? { nics: this.ctx.nics } : {});
  }

  apply(edits: readonly TextEdit[]): void {
    if (!edits.length) return;
    const next = applyGuardedEdits(this.text, edits);
    if (next === this.text) return;
    this.text = next;
    this.reparse();
  }

  iface(name: string): Iface | undefined {
    return this.model.ifaces.get(name);
  }
}

/** Throw the PVE-shaped parameter error with one field. */
export function refuse(field: string, message: string): never {
  throw paramError({ [field]: message });
}

/** The bridge or bond that has `name` as a port or slave, if any. */
export function ownerOf(
  model: Model,
  name: string,
  except?: string,
): { owner: Iface; as: 'port' | 'slave' } | undefined {
  for (const i of model.ifaces.values()) {
    if (i.name === except) continue;
    if (i.bridge?.ports.includes(name)) return { owner: i, as: 'port' };
    if (i.bond?.slaves.includes(name)) return { owner: i, as: 'slave' };
  }
  return undefined;
}

export interface ParsedSubnet {
  ip: string;
  prefix: number;
  /** `base/prefix`, e.g. 10.10.10.0/24. */
  subnet: string;
  base: bigint;
  last: bigint;
}

function v4Text(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
}

/** Parse an IPv4 `--cidr` for a bridge (host address with prefix); refuse anything else. */
export function parseBridgeCidr(cidr: string, field = 'cidr'): ParsedSubnet {
  const c = parseCidr(cidr, true);
  if (!c || c.version !== 4) refuse(field, `'${cidr}' is not an IPv4 address with a prefix length, e.g. 10.10.10.1/24`);
  if (c.prefix < 8 || c.prefix > 30)
    refuse(field, `${cidr}: use a prefix length between /8 and /30 for a bridge with guests`);
  const [base, last] = subnetRange(c.ip, c.prefix, 4)!;
  const ipn = BigInt(c.ip.split('.').reduce((a, o) => a * 256 + Number(o), 0));
  if (ipn === base || ipn === last)
    refuse(
      field,
      `${cidr}: ${c.ip} is the ${ipn === base ? 'network' : 'broadcast'} address of ${v4Text(base)}/${c.prefix}; give the bridge a host address, e.g. ${v4Text(base + 1n)}/${c.prefix}`,
    );
  return { ip: c.ip, prefix: c.prefix, subnet: `${v4Text(base)}/${c.prefix}`, base, last };
}

/** Refuse when `net` overlaps a subnet configured on another interface. */
export function refuseOverlap(model: Model, net: ParsedSubnet, self: string, field = 'cidr'): void {
  for (const i of model.ifaces.values()) {
    if (i.name === self || i.name === 'lo') continue;
    for (const a of addressesOf(i)) {
      if (a.version !== 4 || a.prefix === null) continue;
      const r = subnetRange(a.ip, a.prefix, 4);
      if (!r) continue;
      if (r[0] <= net.last && net.base <= r[1]) {
        refuse(
          field,
          `${net.subnet} overlaps ${i.name}'s ${v4Text(r[0])}/${a.prefix} (address ${a.raw}); choose a subnet no other interface uses`,
        );
      }
    }
  }
}

/** Whether an IPv4 address lies in `net` and is a usable host address there. */
export function hostInSubnet(ip: string, net: ParsedSubnet): boolean {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4) return false;
  const n = BigInt(parts.reduce((a, o) => a * 256 + o, 0));
  return n > net.base && n < net.last;
}

/** The inet stanza of an interface (or its first stanza). */
export function mainStanza(i: Iface): Stanza {
  return i.stanzas.find((s) => s.family === 'inet') ?? i.stanzas.find((s) => s.family === null) ?? i.stanzas[0]!;
}

function indentIn(doc: Document, s: Stanza): string {
  for (const b of s.node.body) if (b.kind === 'option' && b.line.indent) return b.line.indent;
  return doc.indent;
}

/** The last option line of a stanza, or its header. */
function lastOptionLine(s: Stanza): Line {
  let at: Line = s.node.header;
  for (const b of s.node.body) if (b.kind === 'option') at = b.line;
  return at;
}

/**
 * Set a plain option of a stanza to `value`: change it in place, or add a line after `after`
 * (the first of those keys present), else after the last option. No-op when already so.
 */
export function setOption(
  d: Draft,
  ifaceName: string,
  key: string,
  value: string,
  after: readonly string[] = [],
): void {
  const i = d.iface(ifaceName);
  if (!i) return;
  const s = mainStanza(i);
  const found = s.options.find((o) => o.key === key);
  if (found) {
    if (found.value === value) return;
    const n = found.node;
    if (n.valueStart >= 0) d.apply([{ offset: n.valueStart, length: n.valueEnd - n.valueStart, content: value }]);
    else
      d.apply([
        {
          offset: n.line.start + n.line.indent.length,
          length: n.line.contentEnd - n.line.start - n.line.indent.length,
          content: `${n.name} ${value}`,
        },
      ]);
    return;
  }
  let line: Line | undefined;
  for (const k of after) {
    const o = [...s.options].reverse().find((x) => x.key === k);
    if (o) {
      line = o.node.line;
      break;
    }
  }
  line ??= lastHookFreeLine(s);
  d.apply([insertLinesAfter(d.doc, line, [`${indentIn(d.doc, s)}${key} ${value}`], eolNear(d.doc, s.node.header))]);
}

const HOOK_KEYS = new Set(['pre-up', 'up', 'post-up', 'pre-down', 'down', 'post-down']);

/** The last option line before the first hook line (plain options stay above the hooks). */
function lastHookFreeLine(s: Stanza): Line {
  let at: Line = s.node.header;
  for (const b of s.node.body) {
    if (b.kind !== 'option') continue;
    if (HOOK_KEYS.has(b.name.replace(/_/g, '-').toLowerCase())) break;
    at = b.line;
  }
  return at;
}

/**
 * Make the generated hook lines of one stanza equal `want`, editing in place:
 * - a generated line whose key is still wanted keeps its position (its text is replaced if it
 *   changed);
 * - a generated line no longer wanted is removed;
 * - new lines go after the last generated line before them in `want` order (or, when the stanza
 *   has none yet, after its last option);
 * - every other line (the user's) is untouched.
 * `recognise(hook, value)` returns the key of a generated line, or null for the user's lines.
 * Returns the old generated lines that were removed or rewritten (for notes about the kernel).
 */
export function syncHookLines(
  d: Draft,
  ifaceName: string,
  want: readonly HookLine[],
  recognise: (hook: string, value: string) => string | null,
): { removed: HookLine[]; replaced: HookLine[] } {
  const i = d.iface(ifaceName);
  if (!i) return { removed: [], replaced: [] };
  const s = mainStanza(i);
  const wantByKey = new Map(want.map((w) => [w.key, w]));
  const existing: { key: string; opt: ModelOption }[] = [];
  const seen = new Set<string>();
  for (const o of s.options) {
    const k = recognise(o.key, o.value);
    if (k === null) continue;
    existing.push({ key: seen.has(k) ? `${k}#dup` : k, opt: o });
    seen.add(k);
  }
  const edits: TextEdit[] = [];
  const removed: HookLine[] = [];
  const replaced: HookLine[] = [];
  const present = new Map<string, Line>();
  for (const e of existing) {
    const w = wantByKey.get(e.key);
    if (!w) {
      edits.push(removeLines(d.doc, e.opt.node.line, e.opt.node.line));
      removed.push({ key: e.key, hook: e.opt.key as HookLine['hook'], value: e.opt.value });
      continue;
    }
    present.set(e.key, e.opt.node.line);
    if (e.opt.value !== w.value || e.opt.name !== w.hook) {
      const n = e.opt.node;
      replaced.push({ key: e.key, hook: e.opt.key as HookLine['hook'], value: e.opt.value });
      edits.push({
        offset: n.line.start + n.line.indent.length,
        length: n.line.contentEnd - n.line.start - n.line.indent.length,
        content: `${w.hook} ${w.value}`,
      });
    }
  }
  // Insert the missing lines, grouped by the anchor line they follow.
  const indent = indentIn(d.doc, s);
  const eol = eolNear(d.doc, s.node.header);
  let anchor: Line = existing.length ? existing[existing.length - 1]!.opt.node.line : lastOptionLine(s);
  const groups = new Map<Line, string[]>();
  for (const w of want) {
    const at = present.get(w.key);
    if (at) {
      anchor = at;
      continue;
    }
    // A removed line before the anchor would take the anchor with it: anchor on kept lines only.
    const g = groups.get(anchor) ?? [];
    g.push(`${indent}${w.hook} ${w.value}`);
    groups.set(anchor, g);
  }
  for (const [line, lines] of groups) edits.push(insertLinesAfter(d.doc, line, lines, eol));
  // (An insertion after a line being removed lands at that line's end offset, just past the
  // removed range, so it survives.)
  d.apply(edits);
  return { removed, replaced };
}

/** Interface names a bridge may have (IFNAMSIZ 16 with NUL; no `:`, `/`, whitespace). */
const BRIDGE_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,14}$/;

/** Refuse a bad bridge name, or a name that is already something other than a bridge. */
export function checkBridgeName(d: Draft, name: string, isNic: (n: string) => boolean): Iface | undefined {
  if (!BRIDGE_NAME_RE.test(name))
    refuse(
      'bridge',
      `'${name}' is not a usable bridge name (letters, digits, '-', '_'; at most 15 characters; e.g. vmbr1)`,
    );
  if (isNic(name)) refuse('bridge', `${name} is the name of a physical NIC; bridges are named like vmbr0, vmbr1`);
  const i = d.iface(name);
  if (!i) return undefined;
  if (i.kind !== 'bridge')
    refuse(
      'bridge',
      `${name} is already configured as ${article(i.kind)} interface, not a bridge; choose another bridge name`,
    );
  return i;
}

function article(kind: string): string {
  return /^[aeiou]/i.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/**
 * Create bridge `name` or bring an existing one to the requested ports/address/gateway, with
 * `auto`, `bridge-stp off` and `bridge-fd 0` when it has none, and the condone regex (see
 * {@link CONDONE_REGEX}) unless it already has one of its own.
 */
export function ensureBridge(
  d: Draft,
  name: string,
  want: { ports: string; cidr?: string; gateway?: string },
): 'created' | 'updated' {
  const existing = d.iface(name);
  const v: Record<string, string> = { bridge_ports: want.ports, autostart: '1' };
  if (want.cidr !== undefined) v.cidr = want.cidr;
  if (want.gateway !== undefined) v.gateway = want.gateway;
  if (!existing) {
    d.apply(planCreate(d.doc, d.model, name, { type: 'bridge', ...v }));
  } else {
    if (!existing.options.some((o) => o.key === 'bridge-stp')) v.bridge_stp = 'off';
    if (!existing.options.some((o) => o.key === 'bridge-fd')) v.bridge_fd = '0';
    d.apply(planUpdate(d.doc, d.model, name, v, []));
  }
  if (!d.iface(name)!.options.some((o) => o.key === 'bridge-ports-condone-regex')) {
    setOption(d, name, 'bridge-ports-condone-regex', CONDONE_REGEX, ['bridge-fd', 'bridge-stp', 'bridge-ports']);
  }
  return existing ? 'updated' : 'created';
}

/** Refuse an uplink that is missing, is the bridge itself, or is a bridge port / bond slave. */
export function checkUplink(d: Draft, uplink: string, bridge: string): Iface {
  if (uplink === bridge)
    refuse(
      'uplink',
      `the uplink and the bridge are both ${bridge}; the uplink is the interface with the public address (e.g. eno1 or vmbr0)`,
    );
  const owner = ownerOf(d.model, uplink);
  if (owner) {
    const what = owner.as === 'port' ? `a port of bridge ${owner.owner.name}` : `a slave of bond ${owner.owner.name}`;
    refuse(
      'uplink',
      `${uplink} is ${what}, so it carries no address of its own; use ${owner.owner.name} as the uplink`,
    );
  }
  const i = d.iface(uplink);
  if (!i)
    refuse(
      'uplink',
      `${uplink} is not configured in the interfaces file; configure the uplink (the interface with the public address) first, or name another one`,
    );
  return i;
}
