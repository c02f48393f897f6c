/**
 * Helpers shared by the rule families: placing a diagnostic at the offending word, and one
 * per-model index (names, port users, subnets) built once so that no rule rescans the model.
 */
import type { Diagnostic, DiagnosticCode, Severity } from '../interfaces/diagnostic.ts';
import type { Line } from '../interfaces/syntax.ts';
import { PHYSICAL_NIC_RE } from '../model/build.ts';
import { splitList } from '../model/param-options.ts';
import type { Iface, ModelOption, Stanza } from '../model/types.ts';
import type { Rule, ValidateContext } from './context.ts';

/** Fields every rule fills in; `file` is added by `validate`. */
export interface Found {
  severity: Severity;
  code: DiagnosticCode;
  message: string;
  iface?: string;
  hint?: string;
}

function colOf(line: Line, offset: number): number {
  return offset >= 0 ? offset - line.start + 1 : line.indent.length + 1;
}

/** Offset of `word` as a whole token inside the option's value, or -1. */
function wordOffset(opt: ModelOption, word: string): number {
  const v = opt.node.value;
  if (opt.node.valueStart < 0) return -1;
  let from = 0;
  for (;;) {
    const i = v.indexOf(word, from);
    if (i === -1) return -1;
    const before = i === 0 ? ' ' : v[i - 1]!;
    const after = i + word.length >= v.length ? ' ' : v[i + word.length]!;
    if (/[\s,;=]/.test(before) && /[\s,;]/.test(after)) return opt.node.valueStart + i;
    from = i + 1;
  }
}

/**
 * The line each diagnostic was placed at. A line keeps its object when an edit above it moves
 * it (see `reparse`), so a cached diagnostic can be given its new line number.
 */
const placedAt = new WeakMap<Diagnostic, Line>();

function placed(d: Diagnostic, line: Line): Diagnostic {
  placedAt.set(d, line);
  return d;
}

/** A diagnostic at an option: at `word` inside its value if given and found, else at its value, else its name. */
export function atOption(f: Found, opt: ModelOption, word?: string): Diagnostic {
  const line = opt.node.line;
  let off = word !== undefined ? wordOffset(opt, word) : -1;
  if (off < 0)
    off = word === undefined && opt.node.valueStart >= 0 && opt.node.value ? opt.node.valueStart : opt.node.nameStart;
  return placed({ ...f, line: line.lineNo, column: colOf(line, off), option: opt.name }, line);
}

/** A diagnostic at an option's name (for "this option should not be here"). */
export function atOptionName(f: Found, opt: ModelOption): Diagnostic {
  const line = opt.node.line;
  return placed({ ...f, line: line.lineNo, column: colOf(line, opt.node.nameStart), option: opt.name }, line);
}

/** A diagnostic at the interface name of a stanza header. */
export function atStanza(f: Found, st: Stanza): Diagnostic {
  const line = st.node.header;
  return placed({ ...f, line: line.lineNo, column: colOf(line, st.node.name ? st.node.name.start : -1) }, line);
}

/** A diagnostic at a byte offset of a line. */
export function atOffset(f: Found, line: Line, offset: number, option?: string): Diagnostic {
  return placed(
    { ...f, line: line.lineNo, column: colOf(line, offset), ...(option !== undefined ? { option } : {}) },
    line,
  );
}

/**
 * A rule whose findings for an interface depend on that interface alone (and the context's
 * `api` and `nics`), computed once per Iface object: incrementally built models share the
 * objects of unchanged interfaces, so after an edit only the edited one is checked again.
 * Findings must be placed with the `at*` helpers and must not quote line numbers in their
 * text; cached ones get their line number refreshed when an edit above moved their line.
 */
export function localRule(check: (i: Iface, ctx: ValidateContext, out: Diagnostic[]) => void): Rule {
  const slot = localRules++;
  return (ctx) => {
    const out: Diagnostic[] = [];
    for (const i of ctx.model.ifaces.values()) {
      const cache = cacheOf(i);
      let hit = cache[slot];
      if (hit === undefined || hit.api !== ctx.api || hit.nics !== ctx.nics) {
        hit = { api: ctx.api, nics: ctx.nics, found: [] };
        check(i, ctx, hit.found);
        cache[slot] = hit;
      }
      for (const d of hit.found) {
        const line = placedAt.get(d);
        out.push(line === undefined || line.lineNo === d.line ? d : { ...d, line: line.lineNo });
      }
    }
    return out;
  };
}

let localRules = 0;
type LocalFindings = { api: boolean | undefined; nics: ReadonlySet<string> | undefined; found: Diagnostic[] };
/** Where an Iface keeps its local rules' findings. */
const FINDINGS = Symbol('nodenet.localRuleFindings');

function cacheOf(i: Iface): (LocalFindings | undefined)[] {
  return memoOn(i, FINDINGS, () => []);
}

/**
 * A value derived from a model object, kept on it as a hidden property under `key` and made by
 * `make` on first use. Not enumerable: invisible to JSON, deepEqual and spreads of the model.
 * (A WeakMap lookup per rule and interface costs as much as the rules themselves.)
 */
export function memoOn<T>(obj: object, key: symbol, make: () => T): T {
  const holder = obj as { [k: symbol]: T | undefined };
  let v = holder[key];
  if (v === undefined) {
    v = make();
    Object.defineProperty(holder, key, { value: v });
  }
  return v;
}

/** First option with a canonical key. */
export function opt(iface: Iface, key: string): ModelOption | undefined {
  for (const o of iface.options) if (o.key === key) return o;
  return undefined;
}

const DOTTED = /^(.+)\.(\d+)$/;

/** Who uses an interface as a member: a bridge port, a bond slave or an OVS port/bond. */
export interface Use {
  master: string;
  role: 'port' | 'slave' | 'ovs';
  option: ModelOption;
}

/** The per-model index the rules share. Built in one pass over the interfaces. */
export interface Index {
  /** Whether an interface exists: a stanza, a sourced file, a NIC, or an implicit VLAN of one. */
  exists(name: string): boolean;
  /** Whether the name looks like a physical NIC or is one of the host's NICs. */
  isNic(name: string): boolean;
  /** Every use of each member name, in file order. */
  uses: Map<string, Use[]>;
}

const cache = new WeakMap<object, Index>();

/** The shared index of a context (built on first use, cached per model). */
export function indexOf(ctx: ValidateContext): Index {
  const hit = cache.get(ctx.model);
  if (hit) return hit;
  const m = ctx.model;
  const isNic = (n: string) => PHYSICAL_NIC_RE.test(n) || (ctx.nics?.has(n) ?? false);
  const exists = (n: string): boolean => {
    if (m.ifaces.has(n) || ctx.external?.has(n) || isNic(n)) return true;
    // `eno1.100` works without a stanza of its own: ifupdown2 creates the VLAN implicitly.
    const d = DOTTED.exec(n);
    return d !== null && exists(d[1]!);
  };
  const uses = new Map<string, Use[]>();
  const add = (name: string, u: Use) => {
    const l = uses.get(name);
    if (l) l.push(u);
    else uses.set(name, [u]);
  };
  for (const i of m.ifaces.values()) {
    if (i.bridge?.portsOption)
      for (const p of i.bridge.ports) add(p, { master: i.name, role: 'port', option: i.bridge.portsOption });
    if (i.bond && i.kind === 'bond') {
      const so = opt(i, 'bond-slaves');
      if (so) for (const s of i.bond.slaves) add(s, { master: i.name, role: 'slave', option: so });
    }
    if (i.kind === 'OVSBridge' || i.kind === 'OVSBond') {
      for (const key of ['ovs-ports', 'ovs-bonds']) {
        const o = opt(i, key);
        if (!o) continue;
        for (const p of splitList(o.value)) add(p, { master: i.name, role: 'ovs', option: o });
      }
    }
  }
  const idx: Index = { exists, isNic, uses };
  cache.set(ctx.model, idx);
  return idx;
}

/**
 * How `name` is a member of a Linux bridge or bond (its first such use), or undefined. OVS
 * internal ports are left out: they are meant to carry the host's addresses on an OVS bridge.
 */
export function memberUse(idx: Index, name: string): Use | undefined {
  return idx.uses.get(name)?.find((x) => x.role !== 'ovs');
}

/** "a port of vmbr0" / "a slave of bond0". */
export function roleText(u: Use): string {
  return u.role === 'slave' ? `a slave of ${u.master}` : `a port of ${u.master}`;
}
