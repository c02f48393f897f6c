/**
 * Incremental re-parse: `reparse(prev, text)` re-parses only the stanzas around the change
 * between `prev.src` and `text` and reuses the other nodes of `prev` (docs/architecture.md,
 * "Incremental re-parse"). The result equals `parse(text)`; the incremental tests compare them.
 *
 * Nodes after the change are moved in place (offsets, line numbers, source), not copied: the
 * model and the validation caches are keyed by node and Line identity, so a copy would make
 * every later interface look changed. The previous document is therefore retired: any read of
 * its fields throws {@link StaleDocumentError} instead of giving positions in the wrong text.
 */
import type { Diagnostic } from './diagnostic.ts';
import {
  countNewlines,
  documentOf,
  isPySpace,
  joinsNextLine,
  lineCountOf,
  moveLine,
  parse,
  parseRange,
  rendersAsTemplate,
} from './parser.ts';
import type { Document, Line, TopNode, Word } from './syntax.ts';

/** Whether a top-level node starts with a keyword line (the parser has no stanza open there). */
function startsStanza(n: TopNode): boolean {
  return n.kind === 'iface' || n.kind === 'auto' || n.kind === 'source' || n.kind === 'mapping';
}

function firstLineOf(n: Exclude<TopNode, { kind: 'bom' }>): Line {
  return n.kind === 'iface' || n.kind === 'mapping' ? n.header : n.line;
}

function moveWord(w: Word | null, d: number): void {
  if (w && w.start >= 0) {
    w.start += d;
    w.end += d;
  }
}

/** Moves a node after an edit before it by `d` bytes and `ld` lines, onto `src`. */
function moveNode(n: TopNode, d: number, ld: number, src: string): void {
  n.start += d;
  n.end += d;
  linesOf(n, (l) => moveLine(l, d, ld, src));
  switch (n.kind) {
    case 'iface':
      moveWord(n.name, d);
      moveWord(n.family, d);
      moveWord(n.method, d);
      for (const w of n.extra) moveWord(w, d);
      for (const b of n.body) {
        if (b.kind !== 'option') continue;
        b.nameStart += d;
        if (b.valueStart >= 0) {
          b.valueStart += d;
          b.valueEnd += d;
        }
      }
      return;
    case 'auto':
      moveWord(n.keyword, d);
      for (const w of n.names) moveWord(w, d);
      return;
    case 'source':
      moveWord(n.keyword, d);
      return;
    case 'blank':
    case 'bom':
    case 'comment':
    case 'mapping':
    case 'unknown':
    default:
      return;
  }
}

function linesOf(n: TopNode, out: (l: Line) => void): void {
  switch (n.kind) {
    case 'bom':
      return;
    case 'iface':
      out(n.header);
      for (const b of n.body) out(b.line);
      return;
    case 'mapping':
      out(n.header);
      for (const l of n.lines) out(l);
      return;
    case 'auto':
    case 'blank':
    case 'comment':
    case 'source':
    case 'unknown':
    default:
      out(n.line);
  }
}

/** Length of the common prefix of a and b, compared in blocks first. */
function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  const B = 4096;
  while (i + B <= n && a.slice(i, i + B) === b.slice(i, i + B)) i += B;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Length of the common suffix of a and b, not reaching into their first `limit` characters. */
function commonSuffix(a: string, b: string, limit: number): number {
  const n = Math.min(a.length, b.length) - limit;
  let i = 0;
  const B = 4096;
  while (i + B <= n && a.slice(a.length - i - B, a.length - i) === b.slice(b.length - i - B, b.length - i)) i += B;
  while (i < n && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}

/**
 * Parses `src`, an edited version of `prev.src`, re-parsing only the stanzas around the change.
 * The result equals `parse(src, file)` (the incremental tests compare them). Nodes outside the
 * change are reused: those after it are moved IN PLACE, so when the window path is taken `prev`
 * is retired: reading any of its fields then throws {@link StaleDocumentError}.
 * Falls back to a full parse (leaving `prev` valid) when the change touches the start of the
 * file or most of it.
 */
export function reparse(prev: Document, src: string, file = 'interfaces'): Document {
  const old = prev.src;
  if (old === src) return prev;
  // A first `%` (or the last one gone) changes how mako treats every line: parse in full.
  const doc = rendersAsTemplate(old) === rendersAsTemplate(src) ? reparseWindow(prev, src, file) : undefined;
  if (doc === undefined) {
    reparseStats.full++;
    return parse(src, file);
  }
  reparseStats.incremental++;
  return doc;
}

/** How often {@link reparse} re-parsed a window and how often it fell back to a full parse. */
export const reparseStats = { incremental: 0, full: 0 };

function reparseWindow(prev: Document, src: string, file: string): Document | undefined {
  const old = prev.src;
  const counts = lineCountOf(prev);
  const nodes = prev.nodes;
  const p = commonPrefix(old, src);
  const q = commonSuffix(old, src, p);
  const oldEnd = old.length - q; // the change is old[p, oldEnd) → src[p, newEnd)
  const delta = src.length - old.length;
  if (counts === undefined || nodes.length === 0 || p === 0) return undefined;
  // First node of the window: the stanza-starting node at or before the one holding p.
  let k = 0;
  let lo = 0;
  let hi = nodes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (nodes[mid]!.end <= p) lo = mid + 1;
    else {
      k = mid;
      hi = mid - 1;
    }
  }
  if (lo > nodes.length - 1) k = nodes.length - 1;
  // The window starts at a keyword line the change leaves whole (else the line may now belong
  // to the stanza before it); an insertion right at a node boundary may continue that node.
  if (k > 0 && nodes[k]!.start === p) k--;
  while (k > 0 && (!startsStanza(nodes[k]!) || firstLineOf(nodes[k] as Exclude<TopNode, { kind: 'bom' }>).end > p)) k--;
  if (k === 0 || nodes[k]!.kind === 'bom') return undefined;
  // Last node of the window: past the change, up to just before a stanza-starting node, and the
  // new text there must end a line that does not continue onto the next.
  let j = k;
  while (j < nodes.length - 1 && nodes[j]!.end < oldEnd) j++;
  if (nodes[j]!.end < oldEnd) j = nodes.length - 1;
  for (;;) {
    while (j < nodes.length - 1 && !startsStanza(nodes[j + 1]!)) j++;
    if (j === nodes.length - 1) break;
    const endNew = nodes[j]!.end + delta;
    if (src.charCodeAt(endNew - 1) === 10 && !joinsNextLine(src, endNew)) break;
    j++;
  }
  const from = nodes[k]!.start;
  const oldTo = nodes[j]!.end;
  const newTo = oldTo + delta;
  if (newTo < p || (j - k) * 2 > nodes.length) return undefined;
  const first = firstLineOf(nodes[k] as Exclude<TopNode, { kind: 'bom' }>).lineNo;
  const lineDelta = countNewlines(src, from, newTo) - countNewlines(old, from, oldTo);
  const oldNextLine =
    j + 1 < nodes.length ? firstLineOf(nodes[j + 1] as Exclude<TopNode, { kind: 'bom' }>).lineNo : Infinity;

  // Whether an iface precedes a stray option line changes its diagnostic anywhere after it:
  // edits before the first iface stanza (and BOM files' first lines) parse in full.
  let ifaceBefore = false;
  for (let i = 0; i < k && !ifaceBefore; i++) ifaceBefore = nodes[i]!.kind === 'iface';
  if (!ifaceBefore || first <= 1) return undefined;
  const out: TopNode[] = nodes.slice(0, k);
  const diagnostics: Diagnostic[] = [];
  for (const d of prev.diagnostics) if (d.line < first) diagnostics.push(d);
  // The window is parsed from a copy of its own text, then moved into place: the strings the
  // parser slices (names, values, comments) then keep that small copy alive, not this version
  // of the whole file, which would otherwise stay in memory as long as the window's nodes do.
  const local = flatCopy(src.slice(from, newTo));
  const fresh: TopNode[] = [];
  const win = parseRange(
    local,
    file,
    0,
    local.length,
    first,
    ifaceBefore,
    fresh,
    diagnostics,
    newTo === src.length,
    rendersAsTemplate(src),
    false,
    onlySpaceBefore(src, from),
  );
  for (const n of fresh) {
    moveNode(n, from, 0, src);
    out.push(n);
  }
  for (const d of prev.diagnostics)
    if (d.line >= oldNextLine) diagnostics.push(lineDelta === 0 ? d : { ...d, line: d.line + lineDelta });
  // Window line counts out, new ones in.
  let wl = 0;
  let wc = 0;
  for (let i = k; i <= j; i++)
    linesOf(nodes[i]!, (l) => {
      wl++;
      if (l.eol === '\r\n') wc++;
    });
  // Lines before the window keep their offsets; they move onto the new text (so the old one
  // can be collected). Nodes after it move by the change's size.
  for (let i = 0; i < k; i++) linesOf(nodes[i]!, (l) => moveLine(l, 0, 0, src));
  for (let i = j + 1; i < nodes.length; i++) {
    const n = nodes[i]!;
    moveNode(n, delta, lineDelta, src);
    out.push(n);
  }
  const c = { lines: counts.lines - wl + win.lines, crlf: counts.crlf - wc + win.crlf };
  const doc = documentOf(src, out, diagnostics, c);
  changes.set(doc, {
    prevId: docId(prev),
    removed: nodes.slice(k, j + 1),
    added: out.slice(k, out.length - (nodes.length - j - 1)),
  });
  retire(prev);
  return doc;
}

/**
 * Thrown on any use of a Document that {@link reparse} re-parsed into a newer one: the nodes
 * after the change now hold the newer text's offsets and line numbers, so the old document
 * would print and place things wrongly. Use the document `reparse` returned (or parse again).
 */
export class StaleDocumentError extends Error {
  constructor(field: string) {
    super(
      `internal: this Document was re-parsed into a newer one (reparse moved its nodes), so its '${field}' ` +
        'is no longer valid: use the Document reparse returned, or parse the text again',
    );
    this.name = 'StaleDocumentError';
  }
}

const DOC_FIELDS = ['src', 'nodes', 'diagnostics', 'eol', 'indent'] as const satisfies readonly (keyof Document)[];

/** One getter per field that throws: shared, so a retired document keeps nothing alive. */
const RETIRED: PropertyDescriptorMap = Object.fromEntries(
  DOC_FIELDS.map((f) => {
    const get = (): never => {
      throw new StaleDocumentError(f);
    };
    return [f, { get, enumerable: true, configurable: false }];
  }),
);

/**
 * Makes every field of `doc` throw from now on. The old values are dropped (the previous text
 * can be collected). Only documents made here are retired; their nodes live on in the new one.
 */
function retire(doc: Document): void {
  Object.defineProperties(doc, RETIRED);
  retired.add(doc);
}
const retired = new WeakSet<Document>();

/** Whether `doc` was re-parsed into a newer document by {@link reparse} (and so throws on use). */
export function isRetired(doc: Document): boolean {
  return retired.has(doc);
}

/**
 * What an incremental re-parse replaced: `removed` nodes of the previous document (by its
 * {@link docId}: holding the document itself would keep every earlier version alive) by
 * `added` ones.
 */
export interface DocChange {
  prevId: number;
  removed: readonly TopNode[];
  added: readonly TopNode[];
}
const changes = new WeakMap<Document, DocChange>();
const docIds = new WeakMap<Document, number>();
let nextDocId = 1;

/** A number identifying a document object (assigned on first use). */
export function docId(doc: Document): number {
  let id = docIds.get(doc);
  if (id === undefined) {
    id = nextDocId++;
    docIds.set(doc, id);
  }
  return id;
}

/** The change a document was re-parsed from, when it came from {@link reparse}'s window path. */
export function changeOf(doc: Document): DocChange | undefined {
  return changes.get(doc);
}

/**
 * A copy of `s` that shares no memory with the string it was sliced from (V8 keeps a slice's
 * parent alive): the concatenation is flattened into a new string by the slice.
 */
function flatCopy(s: string): string {
  return ` ${s}`.slice(1);
}

/** Whether src[0, at) is all (Python) whitespace: the start of the text that ifupdown2 strips. */
function onlySpaceBefore(src: string, at: number): boolean {
  for (let i = 0; i < at; i++) if (!isPySpace(src.charCodeAt(i))) return false;
  return true;
}
