/**
 * The core of nodenet's network editing: the one set of functions that the CLI and the API
 * both call (they contain no domain rules themselves).
 */
import { NodenetError, noSuchInterface, paramError } from '../errors.ts';
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { sortDiagnostics } from '../interfaces/diagnostic.ts';
import { nonUtf8Diagnostics } from '../interfaces/bytes.ts';
import { unifiedDiff } from '../interfaces/diff.ts';
import { applyGuardedEdits, refuseTemplate } from '../model/guard.ts';
import type { TextEdit } from '../interfaces/edits.ts';
import { parse } from '../interfaces/parser.ts';
import { reparse } from '../interfaces/reparse.ts';
import type { Document } from '../interfaces/syntax.ts';
import { buildModel } from '../model/build.ts';
import { planCreate, planDelete, planUpdate } from '../model/edit.ts';
import type { RawParams } from '../model/params.ts';
import { DELETABLE, IFACE_NAME_PARAM, IFACE_PARAMS, checkParams, fieldOf, splitPveList } from '../model/params.ts';
import type { HostInfo, PveIface } from '../model/pve-view.ts';
import { toPve } from '../model/pve-view.ts';
import type { Iface, Model } from '../model/types.ts';
import { validate } from '../validate/index.ts';
import { bondMasterNotes } from '../validate/ifupdown1.ts';
import type { Snapshot } from '../store/store.ts';
import { ConfigStore, sha256 } from '../store/store.ts';
import { readSourced } from '../store/sources.ts';
import { readHostFacts } from '../store/host-files.ts';
import type { HostFacts } from '../validate/facts.ts';

export interface CoreOptions {
  root: string;
  /** Physical NICs of the host, for type detection and validation. */
  nics?: ReadonlySet<string>;
  /** Runtime link state for `active`/`exists`. */
  host?: HostInfo;
}

export interface Parsed {
  text: string;
  doc: Document;
  model: Model;
}

export interface ListResult {
  data: PveIface[];
  digest: string;
  /** Unified diff live → staged, present only when something is staged. */
  changes?: string;
  /** Situations the user should know about (live file edited by hand while staged). */
  warnings: string[];
}

export interface EditResult {
  changed: boolean;
  digest: string;
  /** Warnings and infos about the new staged config (errors refuse the write). */
  diagnostics: Diagnostic[];
  warnings: string[];
}

/** PVE list filter: a concrete type, or one of the group names. */
export function typeMatches(filter: string | undefined, type: string): boolean {
  if (!filter || filter === 'include_sdn') return true;
  if (filter === 'any_bridge' || filter === 'any_local_bridge') return type === 'bridge' || type === 'OVSBridge';
  return filter === type;
}

const LIVE_CHANGED_WARNING =
  'the live file etc/network/interfaces was edited by hand after these changes were staged; review `nodenet diff` (apply refuses until you revert or re-stage)';

function diagKey(d: Diagnostic): string {
  return `${d.code}\u0000${d.iface ?? ''}\u0000${d.message}`;
}

export class NetworkCore {
  readonly store: ConfigStore;
  private cache: { text: string; parsed: Parsed; file: string } | undefined;
  private checkCache: { text: string; diags: Diagnostic[]; hostKey: string } | undefined;

  constructor(readonly opts: CoreOptions) {
    this.store = new ConfigStore(opts.root);
  }

  /**
   * Parse a text into document + model, reusing the last result for identical text. A text
   * that differs from the last one (the next edit) is parsed incrementally from it: only the
   * stanzas around the change are re-parsed and re-modelled. That moves the last result's
   * nodes, so a Parsed is only valid until the next parseText of another text (its document
   * then throws on use): callers use it synchronously (no await between getting it and reading
   * positions from it).
   */
  parseText(text: string, file = 'interfaces'): Parsed {
    // Keyed by the text alone: the file name only labels parser diagnostics, and the edit path
    // parses the same text as `interfaces.new` and as the plan's input.
    const last = this.cache;
    if (last && last.text === text) return last.parsed;
    const doc = last ? reparse(last.parsed.doc, text, file) : parse(text, file);
    const model = buildModel(doc, this.opts.nics ? { nics: this.opts.nics } : {}, last?.parsed.model);
    const parsed = { text, doc, model };
    this.cache = { text, parsed, file };
    return parsed;
  }

  async snapshot(): Promise<{ snap: Snapshot; parsed: Parsed }> {
    const snap = await this.store.read();
    return { snap, parsed: this.parseText(snap.pending, snap.staged !== null ? 'interfaces.new' : 'interfaces') };
  }

  /**
   * Interfaces defined in files the config `source`s (interfaces.d): shown and validated,
   * never rewritten. Each with the file it comes from (relative to etc/network).
   */
  async sourced(model: Model): Promise<{ ifaces: Map<string, { iface: Iface; file: string }>; stamp: string }> {
    const files = await readSourced(this.store.paths, model.sources);
    const ifaces = new Map<string, { iface: Iface; file: string }>();
    for (const f of files) {
      const m = buildModel(parse(f.text, f.name), this.opts.nics ? { nics: this.opts.nics } : {});
      for (const iface of m.ifaces.values())
        if (!ifaces.has(iface.name)) ifaces.set(iface.name, { iface, file: f.name });
    }
    return { ifaces, stamp: stampOf(files) };
  }

  /** A stamp that changes with the content of the sourced files (cheap: no parsing). */
  async sourcesStamp(model: Model): Promise<string> {
    return stampOf(await readSourced(this.store.paths, model.sources));
  }

  private liveSeen: string | undefined;

  /**
   * The one source of live state (`active`, `exists`) for every view: the host info is
   * refreshed before a list and before a single get alike, and at once when the live file
   * changed since the last view (an apply or rollback happened).
   */
  private async refreshHost(liveDigest: string): Promise<void> {
    const h = this.opts.host;
    if (h?.refresh === undefined) return;
    const force = this.liveSeen !== undefined && this.liveSeen !== liveDigest;
    this.liveSeen = liveDigest;
    await h.refresh(force);
  }

  /** List interfaces of the pending config (PVE's `GET /nodes/{node}/network`). */
  async list(type?: string): Promise<ListResult> {
    await this.refreshHost((await this.store.read()).liveDigest);
    const { snap, parsed } = await this.snapshot();
    const data: PveIface[] = [];
    for (const iface of parsed.model.ifaces.values()) {
      if (iface.name === 'lo') continue;
      if (!typeMatches(type, iface.kind)) continue;
      data.push(toPve(iface, this.opts.host));
    }
    // Interfaces of sourced files follow, marked with the file they live in (read-only here).
    const src = await this.sourced(parsed.model);
    let priority = parsed.model.ifaces.size;
    for (const { iface, file } of src.ifaces.values()) {
      if (parsed.model.ifaces.has(iface.name) || iface.name === 'lo' || !typeMatches(type, iface.kind)) continue;
      data.push({ ...toPve(iface, this.opts.host), priority: ++priority, source: file });
    }
    const out: ListResult = {
      data,
      digest: snap.digest,
      warnings: [...(snap.liveChangedSinceStaging ? [LIVE_CHANGED_WARNING] : []), ...bondMasterNotes(parsed.model)],
    };
    if (snap.staged !== null) out.changes = unifiedDiff(snap.live, snap.staged);
    return out;
  }

  /** One interface, without the `iface` key (as PVE's single GET). */
  async get(name: string): Promise<{ data: PveIface; digest: string }> {
    checkIfaceName(name);
    await this.refreshHost((await this.store.read()).liveDigest);
    const { snap, parsed } = await this.snapshot();
    const iface = parsed.model.ifaces.get(name);
    if (!iface) {
      const ext = (await this.sourced(parsed.model)).ifaces.get(name);
      if (!ext) throw noSuchInterface(name);
      const data: PveIface = { ...toPve(ext.iface, this.opts.host), source: ext.file };
      delete data.iface;
      return { data, digest: snap.digest };
    }
    const data = toPve(iface, this.opts.host);
    delete data.iface;
    return { data, digest: snap.digest };
  }

  /**
   * An edit of an interface the main file does not have: when a sourced file defines it, say
   * so (nodenet never rewrites those). Looked up only on that failure, off the hot path.
   */
  private async explainMissing(name: string, edit: Promise<EditResult>): Promise<EditResult> {
    try {
      return await edit;
    } catch (e) {
      if (e instanceof NodenetError && e.missing === name) await this.refuseSourced(name, false);
      throw e;
    }
  }

  /** Refuse to edit an interface that lives in a sourced file (nodenet never rewrites those). */
  private async refuseSourced(name: string, creating: boolean): Promise<void> {
    const { parsed } = await this.snapshot();
    if (parsed.model.ifaces.has(name)) return;
    const ext = (await this.sourced(parsed.model)).ifaces.get(name);
    if (!ext) return;
    throw paramError({
      iface: creating
        ? `interface already exists (in etc/network/${ext.file})`
        : `interface is defined in etc/network/${ext.file}, which nodenet keeps as it is; edit that file by hand`,
    });
  }

  /** Stage a new interface. `raw` holds PVE parameters (strings, numbers or booleans). */
  async create(name: string, raw: RawParams): Promise<EditResult> {
    checkIfaceName(name);
    const { values, errors } = checkParams(raw, IFACE_PARAMS);
    if (values.type === undefined && errors.type === undefined)
      errors.type = 'property is missing and it is not optional';
    if (Object.keys(errors).length) throw paramError(errors);
    await this.refuseSourced(name, true);
    return this.edit(values.digest, (p) => planCreate(p.doc, p.model, name, values));
  }

  /** Change an interface; `del` names settings to remove (PVE's `delete=a,b`). */
  async update(name: string, raw: RawParams, del: string | string[] = []): Promise<EditResult> {
    checkIfaceName(name);
    const { values, errors } = checkParams(raw, UPDATE_PARAMS);
    const delList = (Array.isArray(del) ? del : [del]).flatMap((d) => splitPveList(d));
    for (const d of delList) if (!DELETABLE.has(d)) errors.delete = `unknown setting '${d}' in delete list`;
    if (Object.keys(errors).length) throw paramError(errors);
    return this.explainMissing(
      name,
      this.edit(values.digest, (p) => planUpdate(p.doc, p.model, name, values, delList)),
    );
  }

  /** Remove an interface (its stanzas and auto mentions, nothing else). */
  async remove(name: string, digest?: string): Promise<EditResult> {
    checkIfaceName(name);
    return this.explainMissing(
      name,
      this.edit(digest, (p) => planDelete(p.doc, p.model, name)),
    );
  }

  /** Drop the staged change (PVE's `DELETE /nodes/{node}/network`). */
  async revert(): Promise<boolean> {
    return this.store.revert();
  }

  /** The pending change as a unified diff ('' when nothing is staged). */
  async diff(): Promise<string> {
    const snap = await this.store.read();
    return snap.staged === null ? '' : unifiedDiff(snap.live, snap.staged);
  }

  /** Parser and validation diagnostics for a text (default: the pending config). */
  async check(text?: string, file?: string): Promise<Diagnostic[]> {
    if (text === undefined) {
      const snap = await this.store.read();
      return this.diagnose(snap.pending, snap.staged !== null ? 'interfaces.new' : 'interfaces');
    }
    return this.diagnose(text, file ?? 'interfaces');
  }

  /**
   * Diagnostics of a text, with sourced files counted as existing interfaces. `host`: the
   * node's facts when the caller has read them already (an edit diagnoses two texts).
   */
  async diagnose(text: string, file: string, host?: HostFacts): Promise<Diagnostic[]> {
    // The node's sysctl and corosync files count too (IPV6_DISABLED, BOND_CLUSTER_BALANCE):
    // a few small files, read every time so that an edit of them is seen at once.
    host ??= await readHostFacts(this.store.paths.root);
    const hostKey = JSON.stringify(host);
    if (this.checkCache && this.checkCache.text === text && this.checkCache.hostKey === hostKey)
      return this.checkCache.diags.map((d) => ({ ...d, file }));
    const external = new Map<string, string>();
    for (const [name, { file: f }] of (await this.sourced(this.parseText(text, file).model)).ifaces)
      external.set(name, f);
    // Parsed again after the await (a cache hit unless another request parsed meanwhile), so
    // that positions are read from a valid document.
    const p = this.parseText(text, file);
    const diags = sortDiagnostics([
      ...p.doc.diagnostics.map((d) => ({ ...d, file })),
      ...nonUtf8Diagnostics(text, file),
      ...validate({
        doc: p.doc,
        model: p.model,
        file,
        external,
        host,
        ...(this.opts.nics ? { nics: this.opts.nics } : {}),
      }),
    ]);
    this.checkCache = { text, diags, hostKey };
    return diags;
  }

  /**
   * The shared edit path: under the lock, compute the new pending text from the current one
   * and stage it, refusing the write if it introduces a validation error (errors already in a
   * hand-edited file do not block unrelated edits; they block apply). The CLI, the API and the
   * planning modes all stage through here.
   * @returns the result and the pending text before the change
   */
  async editText(
    digest: string | undefined,
    next: (pending: string) => string,
  ): Promise<EditResult & { previous: string }> {
    let diagnostics: Diagnostic[] = [];
    const { after, changed, before } = await this.store.update(async (snap) => {
      const text = next(snap.pending);
      if (text === snap.pending) return text;
      // the host's files read once for both texts
      const host = await readHostFacts(this.store.paths.root);
      const [old, now] = await Promise.all([
        this.diagnose(snap.pending, 'interfaces.new', host),
        this.diagnose(text, 'interfaces.new', host),
      ]);
      refuseTemplate(now, old);
      const had = new Set(old.filter((d) => d.severity === 'error').map(diagKey));
      const introduced = now.filter((d) => d.severity === 'error' && !had.has(diagKey(d)));
      if (introduced.length) {
        throw new NodenetError('INVALID', `the change was refused: ${introduced.map((d) => d.message).join('; ')}`, {
          diagnostics: introduced,
          errors: errorsByField(introduced),
        });
      }
      diagnostics = now;
      return text;
    }, digest);
    return {
      changed,
      digest: after.digest,
      diagnostics,
      warnings: before.liveChangedSinceStaging ? [LIVE_CHANGED_WARNING] : [],
      previous: before.pending,
    };
  }

  private async edit(digest: string | undefined, plan: (p: Parsed) => TextEdit[]): Promise<EditResult> {
    const { previous: _previous, ...r } = await this.editText(digest, (text) =>
      applyGuardedEdits(text, plan(this.parseText(text))),
    );
    return r;
  }
}

function stampOf(files: readonly { name: string; text: string }[]): string {
  return files.length ? sha256(files.map((f) => `${f.name}\u0000${f.text}`).join('\u0000')).slice(0, 16) : '';
}

/** PVE's parameter error shape for diagnostics: keyed by the API field they concern. */
function errorsByField(ds: Diagnostic[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of ds) {
    const field = d.option ? fieldOf(d.option) : 'iface';
    out[field] = out[field] ? `${out[field]}; ${d.message}` : d.message;
  }
  return out;
}

/** On update `type` may be left out (the CLI's `set`); the API requires it as PVE does. */
const UPDATE_PARAMS = IFACE_PARAMS.map((p) => (p.name === 'type' ? { ...p, optional: true } : p));

function checkIfaceName(name: string): void {
  const { errors } = checkParams({ iface: name }, [IFACE_NAME_PARAM]);
  if (Object.keys(errors).length) throw paramError(errors);
}
