/**
 * Planning a reload (pure, apart from reading the sourced files): which interfaces changed
 * between the configuration that was applied and the one being applied, and whether a targeted
 * `ifdown`/`ifup -w` of them reaches the same end state as `ifreload -a`.
 *
 * The configuration is the whole set of files ifupdown2 reads: the main file plus what its
 * `source` / `source-directory` lines include (the Proxmox VE installer writes
 * `source /etc/network/interfaces.d/*` into every node's file). Both sides are planned on that
 * set: the main file with the sourced files' stanzas added, as ifupdown2 merges them. The sourced
 * files as they were at the last reload are recorded ({@link APPLIED_SOURCES}), so a sourced file
 * edited on disk since then counts as a change of its interfaces.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../interfaces/parser.ts';
import { buildModel } from '../model/build.ts';
import type { Iface, Model } from '../model/types.ts';
import { atomicWrite, readOptional } from '../store/atomic.ts';
import type { Paths } from '../store/paths.ts';
import { readSourced, type SourcedFile } from '../store/sources.ts';
import { sha256 } from '../store/store.ts';
import type { ReloadPlan } from './backend.ts';

// ---------------------------------------------------------------- what changed

/** Keys by Iface object: the model of an apply's new file is the next apply's live one (pipeline's modelOf). */
const keys = new WeakMap<Iface, string>();

function ifaceKey(m: Model, name: string): string | undefined {
  const i = m.ifaces.get(name);
  if (i === undefined) return m.autoOnly.has(name) ? 'auto-only' : undefined;
  let k = keys.get(i);
  if (k === undefined) {
    k = JSON.stringify([
      i.kind,
      i.autostart,
      i.hotplug,
      i.classes,
      i.stanzas.map((s) => [s.family, s.method]),
      i.options.map((o) => [o.key, o.value]),
    ]);
    keys.set(i, k);
  }
  return k;
}

/** Interfaces added, removed or changed between two files, sorted. */
export function changedInterfaces(before: Model, after: Model): string[] {
  const names = new Set([
    ...before.ifaces.keys(),
    ...after.ifaces.keys(),
    ...before.autoOnly.keys(),
    ...after.autoOnly.keys(),
  ]);
  return [...names]
    .filter((n) => before.ifaces.get(n) !== after.ifaces.get(n) || before.autoOnly.has(n) !== after.autoOnly.has(n))
    .filter((n) => ifaceKey(before, n) !== ifaceKey(after, n))
    .sort();
}

// ---------------------------------------------------------------- hooks and bond modes

const HOOK_KEYS = new Set(['pre-up', 'up', 'post-up', 'pre-down', 'down', 'post-down']);

/** The hook lines of an interface, in order, as one comparable string. */
export function hooksOf(i: Iface): string {
  return i.options
    .filter((o) => HOOK_KEYS.has(o.key))
    .map((o) => `${o.key} ${o.value}`)
    .join('\n');
}

/**
 * Whether an interface must be taken down (with its old config) before it comes up again:
 * its hook lines changed (ifupdown2 would not run the old post-down lines), or its bond mode
 * or primary changed (the kernel refuses a mode change while a bond has slaves, and ifupdown2
 * then logs `[Errno 39] Directory not empty` and exits 0; a primary given with a mode change
 * is silently not applied either).
 */
export function needsDownFirst(b: Iface, a: Iface): boolean {
  if (hooksOf(b) !== hooksOf(a)) return true;
  if (
    b.bond &&
    a.bond &&
    ((b.bond.mode ?? b.bond.modeRaw) !== (a.bond.mode ?? a.bond.modeRaw) || b.bond.primary !== a.bond.primary)
  )
    return true;
  return false;
}

/** Auto interfaces (before) that need an ifdown with the old config first. */
export function hookChanged(before: Model, after: Model): string[] {
  const out: string[] = [];
  for (const [n, b] of before.ifaces) {
    const a = after.ifaces.get(n);
    if (a && b.autostart && needsDownFirst(b, a)) out.push(n);
  }
  return out.sort();
}

// ---------------------------------------------------------------- the plan

function lowersOf(m: Model, name: string): string[] {
  const i = m.ifaces.get(name);
  if (i === undefined) return [];
  return [
    ...(i.bridge?.ports ?? []),
    ...(i.bond?.slaves ?? []),
    ...(i.vlan?.rawDevice === undefined ? [] : [i.vlan.rawDevice]),
  ].filter((p) => p !== 'none');
}

/** A plan and, for a full reload, why a targeted one was not enough. */
export interface ReloadDecision {
  plan: ReloadPlan;
  /** Set when `plan` is `{all: true}`: the reason, for the task log. */
  reason?: string;
  /** The interfaces that changed. */
  changed: string[];
}

/**
 * What to reload for a change from `before` to `after`: `ifdown` the removed interfaces, then
 * `ifup -w` the changed auto interfaces and every auto interface above a changed one (bridges on
 * a changed port, VLANs on a changed device). Falls back to `{all: true}` when a targeted reload
 * might not reach the same end state: nothing changed (a re-apply repairs drift everywhere),
 * `source` lines the caller did not expand ({@link expandSources}), loopback, `auto`-only lines,
 * a kind change, an interface leaving `auto`, a changed interface with no auto interface to
 * bring it up, or more than half the interfaces.
 */
export function decideReload(before: Model, after: Model): ReloadDecision {
  const changed = changedInterfaces(before, after);
  const all = (reason: string): ReloadDecision => ({ plan: { all: true }, reason, changed });
  if (changed.length === 0) return all('nothing changed: a re-apply reloads everything (repairs drift)');
  if (before.sources.length > 0 || after.sources.length > 0)
    return all('the file has source lines whose files were not read');
  if (changed.length * 2 > Math.max(before.ifaces.size, after.ifaces.size))
    return all(`${changed.length} interfaces changed, more than half`);
  const down: string[] = [];
  const up = new Set<string>();
  // uppers: who lists a name as its port/slave/raw device (in the new file)
  const uppers = new Map<string, string[]>();
  for (const n of after.ifaces.keys()) for (const l of lowersOf(after, n)) uppers.set(l, [...(uppers.get(l) ?? []), n]);
  for (const n of changed) {
    if (n === 'lo') return all('the loopback changed');
    if (before.autoOnly.has(n) || after.autoOnly.has(n)) return all(`${n} has an auto line without a stanza`);
    const b = before.ifaces.get(n);
    const a = after.ifaces.get(n);
    if (a === undefined) {
      if (b?.autostart === true) down.push(n);
      continue;
    }
    if (b !== undefined && b.kind !== a.kind) return all(`${n} changed kind (${b.kind} → ${a.kind})`);
    if (b !== undefined && b.autostart && !a.autostart) return all(`${n} is no longer auto`);
    const joined = joinedVlanAware(b, a);
    if (joined.length)
      return all(
        `${joined.join(' ')} ${joined.length > 1 ? 'join' : 'joins'} the VLAN-aware bridge ${n} ` +
          "(a targeted ifup leaves a port without the bridge's bridge-vids)",
      );
    // Changed hook lines: take it down with the old config first, so its old post-down lines
    // remove what the old post-up lines added (ifupdown2 does not on a reload).
    if (b !== undefined && b.autostart && needsDownFirst(b, a)) down.push(n);
    // this interface (if auto) and every auto interface above it, transitively
    const seen = new Set<string>();
    const stack = [n];
    let reached = false;
    while (stack.length) {
      const x = stack.pop() ?? '';
      if (seen.has(x)) continue;
      seen.add(x);
      if (after.ifaces.get(x)?.autostart === true) {
        up.add(x);
        reached = true;
      }
      stack.push(...(uppers.get(x) ?? []));
    }
    if (!reached) return all(`${n} changed and no auto interface brings it up`);
  }
  return { plan: { up: [...up].sort(), down: down.sort() }, changed };
}

/**
 * The ports of a VLAN-aware bridge (after) that join its VLANs: all its ports when it is new, was
 * not VLAN-aware or had other `bridge-vids`, else the ones it did not list. A targeted `ifup -w`
 * of the bridge leaves such a port with only the default VLAN, where `ifreload -a` gives it the
 * bridge's `bridge-vids` (seen in the kernel tier with a bond moved to a new VLAN-aware bridge).
 */
function joinedVlanAware(b: Iface | undefined, a: Iface): string[] {
  const ab = a.bridge;
  if (ab?.vlanAware !== true) return [];
  const bb = b?.bridge;
  const same = bb?.vlanAware === true && bb.vids === ab.vids;
  return ab.ports.filter((p) => p !== 'none' && !(same && bb.ports.includes(p)));
}

/** {@link decideReload}'s plan alone. */
export function planReload(before: Model, after: Model): ReloadPlan {
  return decideReload(before, after).plan;
}

// ---------------------------------------------------------------- sourced files

/** Where the sourced files as of the last reload are kept (under var/lib/nodenet). */
export const APPLIED_SOURCES = 'applied-sources.json';

/** A sourced file with its digest, as recorded. */
export interface RecordedSource extends SourcedFile {
  digest: string;
}

interface SourcesRecord {
  version: 1;
  when: string;
  files: RecordedSource[];
}

/** The sourced files recorded at the last reload; null when none was recorded (or unreadable). */
export async function readAppliedSources(varLib: string): Promise<RecordedSource[] | null> {
  const t = await readOptional(join(varLib, APPLIED_SOURCES)).catch(() => null);
  if (t === null) return null;
  try {
    const r = JSON.parse(t) as Partial<SourcesRecord>;
    if (r.version !== 1 || !Array.isArray(r.files)) return null;
    return r.files
      .filter((f) => typeof f.name === 'string' && typeof f.text === 'string')
      .map((f) => ({ name: f.name, text: f.text, digest: sha256(f.text) }));
  } catch {
    return null;
  }
}

/** Records the sourced files a reload applied. Skips the write when nothing changed. */
export async function recordAppliedSources(
  varLib: string,
  files: readonly SourcedFile[],
  now = new Date(),
): Promise<void> {
  const rec = files.map((f) => ({ name: f.name, digest: sha256(f.text), text: f.text }));
  const was = await readAppliedSources(varLib);
  if (
    was !== null &&
    was.length === rec.length &&
    was.every((w, i) => w.name === rec[i]?.name && w.digest === rec[i]?.digest)
  )
    return;
  await fs.mkdir(varLib, { recursive: true });
  const r: SourcesRecord = { version: 1, when: now.toISOString(), files: rec };
  await atomicWrite(join(varLib, APPLIED_SOURCES), `${JSON.stringify(r)}\n`, 0o600);
}

/**
 * The model of a main file with its sourced files' stanzas merged in (as ifupdown2 reads them),
 * its `sources` emptied so the planner treats it as one file. `nested` is set when a sourced
 * file has `source` lines of its own (not followed here).
 */
export function expandSources(
  main: Model,
  mainText: string,
  files: readonly SourcedFile[],
): { model: Model; nested: string[] } {
  if (files.length === 0) return { model: { ...main, sources: [] }, nested: [] };
  const nested: string[] = [];
  let text = mainText.endsWith('\n') || mainText === '' ? mainText : `${mainText}\n`;
  for (const f of files) {
    // a blank line first, so no option line of a sourced file can join the main file's last stanza
    text += `\n${f.text}${f.text.endsWith('\n') ? '' : '\n'}`;
    if (buildModel(parse(f.text, f.name)).sources.length > 0) nested.push(f.name);
  }
  const model = buildModel(parse(text, 'interfaces'));
  return { model: { ...model, sources: [] }, nested };
}

/** How an apply reloads: `targeted` (the planner decides) or `all` (`ifreload -a` whatever changed). */
export const RELOAD_MODES = ['targeted', 'all'] as const;
export type ReloadMode = (typeof RELOAD_MODES)[number];
export function isReloadMode(v: unknown): v is ReloadMode {
  return (RELOAD_MODES as readonly unknown[]).includes(v);
}

/** What {@link planApply} decided, with what to record and log. */
export interface ApplyPlan extends ReloadDecision {
  /** The whole configuration before and after (main file + sourced files). */
  before: Model;
  after: Model;
  /** The sourced files as they are now (record them with {@link recordAppliedSources} after the reload). */
  sourced: SourcedFile[];
  /** Lines for the task log about the sourced files. */
  notes: string[];
}

/**
 * Plans the reload of an apply from the live main file (`beforeText`) to `afterText`, over the
 * whole set of files: the sourced files before are the ones recorded at the last reload (or, with
 * no record, the ones on disk, as the live main file is taken for what runs), after are the ones
 * on disk now. `mode: 'all'` forces `ifreload -a`.
 */
export async function planApply(o: {
  paths: Paths;
  beforeText: string;
  before: Model;
  afterText: string;
  after: Model;
  mode?: ReloadMode;
}): Promise<ApplyPlan> {
  const notes: string[] = [];
  const sourced = o.after.sources.length > 0 ? await readSourced(o.paths, o.after.sources) : [];
  const recorded = await readAppliedSources(o.paths.varLib);
  let previous: SourcedFile[];
  if (o.before.sources.length === 0) previous = [];
  else if (recorded !== null) previous = recorded;
  else {
    previous = await readSourced(o.paths, o.before.sources);
    if (previous.length > 0)
      notes.push(
        `sourced files: no record of an earlier reload; taking ${previous.map((f) => f.name).join(' ')} as applied`,
      );
  }
  if (o.before.sources.length > 0 || o.after.sources.length > 0) {
    const byName = new Map(previous.map((f) => [f.name, sha256(f.text)]));
    const edited = sourced
      .filter((f) => byName.has(f.name) && byName.get(f.name) !== sha256(f.text))
      .map((f) => f.name);
    const added = sourced.filter((f) => !byName.has(f.name)).map((f) => f.name);
    const removed = previous.filter((f) => !sourced.some((s) => s.name === f.name)).map((f) => f.name);
    notes.push(
      `sourced files: ${sourced.length ? sourced.map((f) => f.name).join(' ') : '(none)'}` +
        (edited.length ? `; changed since the last reload: ${edited.join(' ')}` : '') +
        (added.length ? `; new: ${added.join(' ')}` : '') +
        (removed.length ? `; gone: ${removed.join(' ')}` : ''),
    );
  }
  const b = expandSources(o.before, o.beforeText, previous);
  const a = expandSources(o.after, o.afterText, sourced);
  const decision = decideReload(b.model, a.model);
  const nested = [...new Set([...b.nested, ...a.nested])];
  let { plan, reason } = decision;
  if (o.mode === 'all') {
    plan = { all: true };
    reason = 'a full reload was asked for';
  } else if (nested.length > 0 && !('all' in plan)) {
    plan = { all: true };
    reason = `${nested.join(' ')} has source lines of its own (not followed by the planner)`;
  }
  return {
    plan,
    ...(reason === undefined ? {} : { reason }),
    changed: decision.changed,
    before: b.model,
    after: a.model,
    sourced,
    notes,
  };
}

// ---------------------------------------------------------------- what a targeted reload touches

/** Above this many names a scoped state read is not worth it: read everything. */
const SCOPE_MAX = 64;

/**
 * The interfaces a targeted reload can change: the ones it takes down or up and, transitively,
 * their ports, slaves and raw devices (before and after), and the interfaces directly on top of
 * any of those (a VLAN or bridge on a bond that `ifup` touched: ifupdown2 propagates the lower's
 * MTU and re-reads its cache entry, and a bad entry has broken VLANs above it). Undefined for a
 * full reload, or when that set is large: then the whole kernel state is read and verified.
 */
export function scopeOf(plan: ReloadPlan, before: Model, after: Model): string[] | undefined {
  if ('all' in plan) return undefined;
  const out = new Set<string>();
  const stack = [...plan.up, ...plan.down];
  while (stack.length) {
    const n = stack.pop() ?? '';
    if (out.has(n)) continue;
    out.add(n);
    stack.push(...lowersOf(before, n), ...lowersOf(after, n));
  }
  const touched = new Set(out);
  for (const m of [before, after]) {
    for (const name of m.ifaces.keys()) {
      if (!touched.has(name) && lowersOf(m, name).some((l) => touched.has(l))) out.add(name);
    }
  }
  const names = [...out].filter((n) => /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]{0,14}$/.test(n)).sort();
  return names.length > SCOPE_MAX || names.length < out.size ? undefined : names;
}

/** The model with only the named interfaces (what a scoped verification checks). */
export function restrictModel(m: Model, names: readonly string[]): Model {
  const keep = new Set(names);
  return { ifaces: new Map([...m.ifaces].filter(([n]) => keep.has(n))), autoOnly: new Map(), sources: [] };
}
