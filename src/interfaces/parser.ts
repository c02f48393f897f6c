/**
 * Parser for the ifupdown2 dialect of /etc/network/interfaces.
 *
 * Contract: `parse(src)` never throws on content. Every byte of `src` ends up in exactly one
 * top-level node, so `print(parse(src)) === src` for every input, valid or not. Problems are
 * returned as diagnostics with code, severity, line and column.
 *
 * Stanza extent follows ifupdown2, not Proxmox VE: an `iface` stanza runs until the next
 * top-level keyword (`iface`, `auto`, `allow-*`, `source`, `vlan`; ifupdown2 3.0 has no `mapping` or
 * `source-directory`: their lines are options of the stanza above, see src/validate/ifupdown1.ts).
 * Blank lines and comments do NOT end it, so `post-up` lines after a blank line stay on their
 * interface (PVE moves them under another interface: research/proxmox.md §2.1).
 */
import type { Diagnostic } from './diagnostic.ts';
import type {
  BlankNode,
  CommentNode,
  Document,
  IfaceNode,
  Line,
  MappingNode,
  OptionNode,
  TopNode,
  Word,
} from './syntax.ts';
import { didYouMean } from './suggest.ts';

export const INET_METHODS = [
  'static',
  'manual',
  'dhcp',
  'loopback',
  'auto',
  'ppp',
  'bootp',
  'tunnel',
  'wvdial',
  'ipv4ll',
];
export const INET6_METHODS = ['static', 'manual', 'dhcp', 'auto', 'loopback', 'v4tunnel', '6to4'];

function isWs(c: number): boolean {
  return isPySpace(c);
}

/** Python's `str.isspace()` (and `\s` of its `re` on str): what ifupdown2 strips around `\` and splits words on. */
export function isPySpace(c: number): boolean {
  if (c > 32 && c < 0x85) return false;
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    (c >= 0x1c && c <= 0x1f) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** What ifupdown2 strips from both ends of each line: `'\n\t\r '` (a line ends at `\n`). */
function isLineWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Whether `src` is rendered by mako before ifupdown2 parses it: it is when it holds a `%`. */
export function rendersAsTemplate(src: string): boolean {
  return src.includes('%');
}

/** Where the file's edges are: Python strips the whole text once more at its start and end. */
interface Edges {
  /** src[from] is the start of the file (its leading whitespace is stripped). */
  fileStart: boolean;
  /** src[to] is the end of the file. */
  fileEnd: boolean;
  /** The file holds a `%`, so mako renders it first: `\` + newline is removed (no space). */
  mako: boolean;
}

/**
 * Split src into logical lines, exactly as ifupdown2 3.0 reads them. Its reader does, on the
 * whole text: (mako, when the text holds a `%`: remove every `\` directly followed by a newline),
 * then `' '.join(piece.strip() for piece in text.split('\\'))`, then split at `\n` and strip
 * `'\n\t\r '` from each line. So EVERY backslash joins: the whitespace around it, newlines
 * included, collapses to one space; a comment ending in `\` swallows the next line, and a line
 * starting with `\` continues the one before, across blank lines.
 * A logical line here is the run of physical lines whose newlines that joining removes.
 */
export function splitLines(
  src: string,
  from = 0,
  to = src.length,
  firstLineNo = 1,
  edges: Edges = { fileStart: from === 0, fileEnd: to === src.length, mako: rendersAsTemplate(src) },
): Line[] {
  const lines: Line[] = [];
  const mako = edges.mako;
  let pos = from;
  let lineNo = firstLineNo;
  /** Last significant (non-space, not a removed `\`+newline) character before pos; -1: none. */
  let lastSig = -1;
  // nextSig is asked for increasing positions: the answer holds up to memoEnd.
  let memoEnd = -1;
  let memoChar = -1;
  let nextBs = src.indexOf('\\', from);
  const makoPairAt = (j: number): number => {
    // Length of a mako-removed `\` + `\r?\n` at j, or 0.
    if (!mako || src.charCodeAt(j) !== 92 || j + 1 >= to) return 0;
    const c = src.charCodeAt(j + 1);
    if (c === 10) return 2;
    if (c === 13 && j + 2 < to && src.charCodeAt(j + 2) === 10) return 3;
    return 0;
  };
  const nextSig = (i: number): number => {
    if (i <= memoEnd) return memoChar;
    let j = i;
    while (j < to) {
      const m = makoPairAt(j);
      if (m) {
        j += m;
        continue;
      }
      if (!isPySpace(src.charCodeAt(j))) break;
      j++;
    }
    memoEnd = j;
    memoChar = j < to ? src.charCodeAt(j) : -1;
    return memoChar;
  };
  while (pos < to) {
    const start = pos;
    const startNo = lineNo;
    const sigBefore = lastSig;
    let physical = 0;
    let eol: Line['eol'] = '';
    let end = start;
    let plain = true; // one physical line without a backslash: text is the source slice
    let lastContentEnd = start; // end of the last physical line's content (before trailing line ws)
    for (;;) {
      physical++;
      let nl = src.indexOf('\n', pos);
      if (nl >= to) nl = -1;
      let lineEnd: number;
      if (nl === -1) {
        lineEnd = to;
        end = to;
        eol = '';
      } else if (nl > pos && src.charCodeAt(nl - 1) === 13) {
        lineEnd = nl - 1;
        end = nl + 1;
        eol = '\r\n';
      } else {
        lineEnd = nl;
        end = nl + 1;
        eol = '\n';
      }
      let b = lineEnd;
      while (b > pos && isLineWs(src.charCodeAt(b - 1))) b--;
      lastContentEnd = b;
      // The last significant character of this physical line (a mako-removed `\` at its end is none).
      let makoJoint = false;
      let s = nl === -1 ? to : nl;
      if (nl !== -1 && makoPairAt(nl - 1) === 2) {
        makoJoint = true;
        s = nl - 1;
      } else if (nl !== -1 && nl - 2 >= pos && makoPairAt(nl - 2) === 3) {
        makoJoint = true;
        s = nl - 2;
      }
      while (s > pos && isPySpace(src.charCodeAt(s - 1))) s--;
      if (nextBs !== -1 && nextBs < pos) nextBs = src.indexOf('\\', pos);
      if (nextBs !== -1 && nextBs < end) plain = false;
      if (s > pos) lastSig = src.charCodeAt(s - 1);
      pos = end;
      lineNo++;
      if (nl === -1 || pos >= to) break;
      if (!(makoJoint || lastSig === 92 || nextSig(pos) === 92)) break;
      plain = false;
    }
    let a = start;
    while (a < lastContentEnd && isLineWs(src.charCodeAt(a))) a++;
    let contentEnd = lastContentEnd;
    if (contentEnd < a) contentEnd = a;
    // Python also strips the whole text's ends (unicode spaces too), as one more piece edge.
    if (edges.fileStart && sigBefore === -1) {
      while (a < contentEnd && isPySpace(src.charCodeAt(a))) a++;
    }
    if (edges.fileEnd && nextSig(end) === -1) {
      while (contentEnd > a && isPySpace(src.charCodeAt(contentEnd - 1))) contentEnd--;
    }
    const indent = src.slice(start, a);
    let text: string | undefined;
    if (!plain) text = joinedText(src.slice(a, contentEnd), mako);
    lines.push(new SourceLine(src, start, contentEnd, end, startNo, physical, eol, indent, text, !plain));
  }
  return lines;
}

/** The text ifupdown2 makes of a logical line's raw content (see {@link splitLines}). */
function joinedText(raw: string, mako: boolean): string {
  const t = mako ? raw.replace(/\\\r?\n/g, '') : raw;
  const pieces = t.split('\\');
  if (pieces.length === 1) return stripLineWs(t);
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    let p = pieces[i]!;
    let x = 0;
    let y = p.length;
    if (i > 0) while (x < y && isPySpace(p.charCodeAt(x))) x++;
    if (i < pieces.length - 1) while (y > x && isPySpace(p.charCodeAt(y - 1))) y--;
    p = p.slice(x, y);
    out.push(p);
  }
  return stripLineWs(out.join(' '));
}

function stripLineWs(s: string): string {
  let x = 0;
  let y = s.length;
  while (x < y && isLineWs(s.charCodeAt(x))) x++;
  while (y > x && isLineWs(s.charCodeAt(y - 1))) y--;
  return s.slice(x, y);
}

/**
 * A logical line. `text` of a single physical line is sliced from the source on first use:
 * the parser reads keywords and values from offsets, so most lines never need it (one string
 * less per line on 28 000-line files).
 */
class SourceLine implements Line {
  private cached: string | undefined;
  constructor(
    private src: string,
    public start: number,
    public contentEnd: number,
    public end: number,
    public lineNo: number,
    readonly physical: number,
    readonly eol: Line['eol'],
    readonly indent: string,
    text: string | undefined,
    /** The text is not the source slice: continuations joined or a `\\` inside (see splitLines). */
    readonly joined = false,
  ) {
    this.cached = text;
  }

  /** Moves the line after an edit before it (see reparse.ts): same bytes, new place. */
  move(delta: number, lineDelta: number, src: string): void {
    this.src = src;
    // A sliced text would keep the old source alive; it is sliced again from the new one.
    if (!this.joined) this.cached = undefined;
    this.start += delta;
    this.contentEnd += delta;
    this.end += delta;
    this.lineNo += lineDelta;
  }

  get text(): string {
    return (this.cached ??= this.src.slice(this.start + this.indent.length, this.contentEnd));
  }

  /** Offset of the first content character (single physical lines). */
  get contentStart(): number {
    return this.start + this.indent.length;
  }

  toJSON(): Record<string, unknown> {
    const { start, contentEnd, end, lineNo, physical, eol, indent, text, joined } = this;
    return { start, contentEnd, end, lineNo, physical, eol, indent, text, joined };
  }
}

/**
 * Split a line into words as ifupdown2 does (`re.split(r'[\\s\\t]\\s*', line)`): separators are
 * runs of Python whitespace, and a line starting or ending with whitespace that the line strip
 * keeps (a vertical tab, U+2028, ...) has an empty first or last word.
 */
export function wordsOf(src: string, line: Line): Word[] {
  if (!isJoined(line)) return splitWords(src, line.start + line.indent.length, line.contentEnd, 0);
  // Joined line: offsets are not meaningful for edits; mark them -1.
  const t = line.text;
  return splitWords(t, 0, t.length, -1);
}

function splitWords(s: string, from: number, to: number, base: 0 | -1): Word[] {
  const words: Word[] = [];
  let i = from;
  for (;;) {
    const st = i;
    while (i < to && !isWs(s.charCodeAt(i))) i++;
    words.push(base === 0 ? { text: s.slice(st, i), start: st, end: i } : { text: s.slice(st, i), start: -1, end: -1 });
    if (i >= to) break;
    while (i < to && isWs(s.charCodeAt(i))) i++;
  }
  return words;
}

/** Number of `\n` in s[from, to). */
export function countNewlines(s: string, from: number, to: number): number {
  let c = 0;
  for (let i = s.indexOf('\n', from); i !== -1 && i < to; i = s.indexOf('\n', i + 1)) c++;
  return c;
}

/** Whether a line's text differs from its source slice (continuations, a `\\` inside). */
export function isJoined(line: Line): boolean {
  return (line as SourceLine).joined === true || line.physical > 1;
}

/** Moves a line made by {@link splitLines} by `d` bytes and `ld` lines onto `src` (for reparse.ts). */
export function moveLine(l: Line, d: number, ld: number, src: string): void {
  (l as SourceLine).move(d, ld, src);
}

/** Shared, never mutated: most headers have no extra words. */
const NO_WORDS = Object.freeze([]) as unknown as Word[];

/**
 * ifupdown2 3.0's keywords: `iface`, `auto`, `source`, `vlan` and every word whose part before
 * the first `-` is `allow`. `mapping` and `source-directory` are not keywords there: it reads
 * them as options of the stanza above (validation: IFUPDOWN1_MAPPING, IFUPDOWN1_SOURCE_DIRECTORY).
 */
const TOP_KEYWORDS = new Set(['iface', 'auto', 'source', 'vlan', 'allow']);

/** The first word of src[from, to) (from is the first non-blank character). */
function firstWordAt(src: string, from: number, to: number): string {
  let i = from;
  while (i < to && !isWs(src.charCodeAt(i))) i++;
  return src.slice(from, i);
}

function firstWord(text: string): string {
  let i = 0;
  while (i < text.length && !isWs(text.charCodeAt(i))) i++;
  return text.slice(0, i);
}

function isTopKeyword(w: string): boolean {
  // Fast path: every top-level keyword starts with a, i, s or v.
  const c = w.charCodeAt(0);
  if (c !== 97 && c !== 105 && c !== 115 && c !== 118) return false;
  return TOP_KEYWORDS.has(w) || w.startsWith('allow-');
}

function col(line: Line, offset: number): number {
  return offset >= 0 ? offset - line.start + 1 : line.indent.length + 1;
}

/**
 * Parse an interfaces file. Never throws on content.
 * @param src the file text (any bytes decoded as UTF-8)
 * @param file the name to put into diagnostics (default `interfaces`)
 */
export function parse(src: string, file = 'interfaces'): Document {
  const nodes: TopNode[] = [];
  const diagnostics: Diagnostic[] = [];
  let from = 0;
  if (src.charCodeAt(0) === 0xfeff) {
    nodes.push({ kind: 'bom', start: 0, end: 1 });
    diagnostics.push({
      file,
      severity: 'warning',
      code: 'BOM',
      message: 'the file starts with a UTF-8 byte-order mark, which ifupdown2 reads as part of the first keyword',
      line: 1,
      column: 1,
      hint: 'save the file as UTF-8 without BOM',
    });
    from = 1;
  }
  const mako = rendersAsTemplate(src);
  const r = parseRange(src, file, from, src.length, 1, false, nodes, diagnostics, true, mako, from === 1);
  return documentOf(src, nodes, diagnostics, r);
}

/** Logical lines and CRLF-terminated ones of a document (for its dominant line ending). */
export interface LineCount {
  lines: number;
  crlf: number;
}
const lineCounts = new WeakMap<Document, LineCount>();

/** A document of nodes covering src, with its line counts (kept for {@link lineCountOf}). */
export function documentOf(src: string, nodes: TopNode[], diagnostics: Diagnostic[], counts: LineCount): Document {
  const doc: Document = { src, nodes, diagnostics, eol: eolOf(counts), indent: dominantIndent(nodes) };
  lineCounts.set(doc, counts);
  return doc;
}

/** The line counts of a document made by {@link parse} or reparse.ts (undefined for others). */
export function lineCountOf(doc: Document): LineCount | undefined {
  return lineCounts.get(doc);
}

function eolOf(c: LineCount): '\n' | '\r\n' {
  return c.crlf * 2 > c.lines ? '\r\n' : '\n';
}

/** The most frequent indentation of the first 512 indented option lines (first wins a tie). */
function dominantIndent(nodes: readonly TopNode[]): string {
  const indents = new Map<string, number>();
  let seen = 0;
  outer: for (const n of nodes) {
    if (n.kind !== 'iface') continue;
    for (const b of n.body) {
      if (b.kind !== 'option' || !b.line.indent) continue;
      indents.set(b.line.indent, (indents.get(b.line.indent) ?? 0) + 1);
      if (++seen >= 512) break outer;
    }
  }
  let indent = '\t';
  let best = 0;
  for (const [k, v] of indents) {
    if (v > best) {
      best = v;
      indent = k;
    }
  }
  return indent;
}

/**
 * Parses src[from, to) — whole logical lines, starting with no stanza open — appending its
 * top-level nodes and diagnostics. `lineNo` is the number of the first line; `ifaceBefore`
 * says whether an iface stanza precedes `from` (for OPTION_OUTSIDE_STANZA); `atEnd` whether
 * `to` is the end of the file.
 */
export function parseRange(
  src: string,
  file: string,
  from: number,
  to: number,
  lineNo: number,
  ifaceBefore: boolean,
  nodes: TopNode[],
  diagnostics: Diagnostic[],
  atEnd: boolean,
  mako: boolean,
  bomLine = false,
  fileStart = from === 0,
): LineCount {
  const diag = (d: Omit<Diagnostic, 'file'>) => diagnostics.push({ ...d, file });
  const first = nodes.length;
  const lines = splitLines(src, from, to, lineNo, { fileStart, fileEnd: atEnd, mako });
  let crlf = 0;
  let cur: IfaceNode | MappingNode | null = null;

  const closeStanza = () => {
    if (!cur) return;
    if (cur.kind === 'iface') {
      const keep = stanzaKeep(cur.body);
      // Most stanzas end with their last option: only split off a tail when there is one.
      const moved = keep < cur.body.length ? cur.body.splice(keep) : undefined;
      const body = cur.body;
      const last = body.length ? body[body.length - 1]!.line : cur.header;
      cur.end = last.end;
      nodes.push(cur);
      if (moved) for (const m of moved) nodes.push(trivia(m.line));
    } else {
      const ls = cur.lines;
      let k = ls.length;
      while (k > 0 && (ls[k - 1]!.text === '' || (ls[k - 1]!.text.startsWith('#') && ls[k - 1]!.indent === ''))) k--;
      const moved = ls.splice(k);
      cur.end = (ls.length ? ls[ls.length - 1]! : cur.header).end;
      nodes.push(cur);
      for (const l of moved) nodes.push(trivia(l));
    }
    cur = null;
  };

  // Template constructs, found in one pass (a file that renders is read line by line below).
  const hits = mako ? templateHits(src, from, to) : NO_HITS;
  let hi = 0;
  for (const line of lines) {
    if (line.eol === '\r\n') crlf++;
    if (mako && line.start === 0 && MAKO_CODING_RE.test(src))
      diag({
        severity: 'warning',
        code: 'TEMPLATE_SYNTAX',
        message:
          "ifupdown2 renders this file as a mako template (it holds a '%'), and mako reads a first line '#...coding: NAME' as its encoding declaration and drops it (with a backslash at its end)",
        line: 1,
        column: 1,
        hint: 'move the coding comment off the first line, or drop it',
      });
    if (hi < hits.length && hits[hi]! < line.end) {
      templateSyntax(src, line, hits[hi]!, diag);
      while (hi < hits.length && hits[hi]! < line.end) hi++;
    }
    const single = !isJoined(line);
    const cs = line.start + line.indent.length;
    const text = single ? '' : line.text;
    if (single ? cs === line.contentEnd : text === '') {
      if (cur?.kind === 'iface') cur.body.push({ kind: 'blank', line } satisfies BlankNode);
      else if (cur?.kind === 'mapping') cur.lines.push(line);
      else nodes.push(trivia(line));
      continue;
    }
    if ((single ? src.charCodeAt(cs) : text.charCodeAt(0)) === 35) {
      if (line.physical > 1)
        diag({
          severity: 'warning',
          code: 'COMMENT_CONTINUES',
          message: `this comment ends in a backslash, so ifupdown2 reads the next ${line.physical > 2 ? `${line.physical - 1} lines` : 'line'} as part of the comment and ignores ${line.physical > 2 ? 'them' : 'it'}`,
          line: line.lineNo,
          column: line.indent.length + 1,
          hint: 'remove the trailing backslash (ifupdown2 joins every line ending in \\ with the next, comments included)',
        });
      if (cur?.kind === 'iface')
        cur.body.push({ kind: 'comment', line, text: line.text.slice(1) } satisfies CommentNode);
      else if (cur?.kind === 'mapping') cur.lines.push(line);
      else nodes.push(trivia(line));
      continue;
    }
    const kw = single ? firstWordAt(src, cs, line.contentEnd) : firstWord(text);
    if (line.physical > 1) swallowedKeyword(src, line, diag);
    if (bomLine && line === lines[0]) {
      // ifupdown2 reads the BOM as part of the first word: this line is nothing to it.
      closeStanza();
      nodes.push({ kind: 'unknown', start: line.start, end: line.end, line });
      continue;
    }
    if (isTopKeyword(kw)) {
      closeStanza();
      const words = wordsOf(src, line);
      const kwWord = words[0]!;
      if (kw === 'iface') {
        const node: IfaceNode = {
          kind: 'iface',
          start: line.start,
          end: line.end,
          header: line,
          name: words[1] ?? null,
          family: words[2] ?? null,
          method: words[3] ?? null,
          extra: words.length > 4 ? words.slice(4) : NO_WORDS,
          body: [],
        };
        checkHeader(node, diag);
        cur = node;
      } else if (kw === 'vlan') {
        cur = { kind: 'mapping', start: line.start, end: line.end, header: line, lines: [] };
        diag({
          severity: 'warning',
          code: 'VLAN_STANZA_UNMANAGED',
          message: `vlan stanza${words[1] ? ` for ${words[1].text}` : ''} is kept as it is; nodenet does not manage ifupdown2's bridge-vlan stanzas`,
          line: line.lineNo,
          column: col(line, kwWord.start),
          hint: 'ifupdown2 reads `vlan NAME` as a new stanza (a bridge VLAN), which also ends the stanza above it',
        });
        if (words.length < 2)
          diag({
            severity: 'error',
            code: 'IFACE_WITHOUT_NAME',
            message: "'vlan' line names no interface; ifupdown2 stops reading the file here",
            line: line.lineNo,
            column: col(line, kwWord.start),
          });
      } else if (kw === 'source') {
        const path = words[1]?.text ?? '';
        nodes.push({ kind: 'source', start: line.start, end: line.end, line, keyword: kwWord, path });
        if (!path)
          diag({
            severity: 'error',
            code: 'SOURCE_WITHOUT_PATH',
            message: `'${kw}' needs a path`,
            line: line.lineNo,
            column: col(line, kwWord.start),
          });
      } else {
        // ifupdown2: the class is the part between the first and second `-` (allow-hot-plug: hot).
        const allowCls = kw === 'auto' ? 'auto' : kw.split('-')[1];
        const cls =
          kw === 'auto' || kw === 'allow-auto' ? 'auto' : allowCls === 'hotplug' ? 'hotplug' : (allowCls ?? '');
        nodes.push({
          kind: 'auto',
          start: line.start,
          end: line.end,
          line,
          keyword: kwWord,
          cls,
          names: words.slice(1),
        });
        if (kw !== 'auto' && (allowCls === undefined || words.length < 2))
          diag({
            severity: 'error',
            code: 'UNKNOWN_KEYWORD',
            message:
              allowCls === undefined
                ? `'${kw}' needs a class name (allow-CLASS); ifupdown2 stops reading the file here`
                : `'${kw}' names no interface; ifupdown2 stops reading the file here`,
            line: line.lineNo,
            column: col(line, kwWord.start),
          });
        else if (words.length < 2)
          diag({
            severity: 'warning',
            code: 'AUTO_WITHOUT_NAMES',
            message: `'${kw}' names no interface`,
            line: line.lineNo,
            column: col(line, kwWord.start),
          });
      }
      continue;
    }
    if (cur?.kind === 'iface') {
      const opt = optionFrom(src, line, kw);
      cur.body.push(opt);
      if (opt.value === '')
        diag({
          severity: 'error',
          code: 'OPTION_WITHOUT_VALUE',
          message: `option '${opt.name}' of ${cur.name?.text ?? 'this interface'} has no value`,
          line: line.lineNo,
          column: col(line, opt.nameStart),
          ...(cur.name ? { iface: cur.name.text } : {}),
          option: opt.name,
        });
      continue;
    }
    if (cur?.kind === 'mapping') {
      cur.lines.push(line);
      continue;
    }
    nodes.push({ kind: 'unknown', start: line.start, end: line.end, line });
    const words = wordsOf(src, line);
    const looksLikeOption = line.indent !== '' || words.length > 1;
    const suggestion = didYouMean(kw, [...TOP_KEYWORDS, 'allow-hotplug', 'allow-auto']);
    diag(
      suggestion && !line.indent
        ? {
            severity: 'error',
            code: 'UNKNOWN_KEYWORD',
            message: `unknown keyword '${kw}' at top level; did you mean '${suggestion}'?`,
            line: line.lineNo,
            column: col(line, words[0]?.start ?? -1),
          }
        : looksLikeOption && !ifaceBefore && !hasIface(nodes, first)
          ? {
              severity: 'error',
              code: 'OPTION_OUTSIDE_STANZA',
              message: `'${kw}' is outside any iface stanza, so ifupdown2 cannot tell which interface it belongs to`,
              line: line.lineNo,
              column: col(line, words[0]?.start ?? -1),
              hint: 'move it into the stanza of its interface (after an `iface NAME ...` line)',
              option: kw,
            }
          : {
              severity: 'error',
              code: 'UNKNOWN_KEYWORD',
              message: `unknown keyword '${kw}' at top level`,
              line: line.lineNo,
              column: col(line, words[0]?.start ?? -1),
              hint: 'top-level lines are auto, allow-*, iface, source and vlan',
            },
    );
  }
  closeStanza();
  const lastLine = lines[lines.length - 1];
  if (atEnd && lastLine && lastLine.eol === '' && src.endsWith('\\')) {
    diag({
      severity: 'warning',
      code: 'CONTINUATION_AT_EOF',
      message: 'the last line ends with a continuation backslash but nothing follows',
      line: lastLine.lineNo + lastLine.physical - 1,
      column: 1,
    });
  }
  return { lines: lines.length, crlf };
}

/**
 * Mako syntax (ifupdown2 renders a file holding `%` as a mako template; mako's lexer): `${`
 * expressions, `<%` blocks and tags, `</%` tag ends, `<&`/`</&` (mako drops the `<`), and
 * control lines: a line whose first non-blank characters (spaces and tabs) are `%` or `##`.
 */
const TEMPLATE_RE = /(?:^|(?<=\n))[ \t]*(?:%|##)|\$\{|<\/?[%&]/g;
const NO_HITS: readonly number[] = Object.freeze([]);
/** Mako's encoding declaration: a first line `#...coding[:=] NAME...` (Python's `.` is `[^\n]`). */
const MAKO_CODING_RE = /^#[^\n]*coding[:=]\s*[-\w.]+[^\n]*\r?\n/;

/** Offsets of the mako constructs in src[from, to). */
function templateHits(src: string, from: number, to: number): number[] {
  const hits: number[] = [];
  TEMPLATE_RE.lastIndex = from;
  for (let m = TEMPLATE_RE.exec(src); m !== null && m.index < to; m = TEMPLATE_RE.exec(src)) hits.push(m.index);
  return hits;
}

/** TEMPLATE_SYNTAX on the first mako construct of a line (at `hit`; the file renders as a template). */
function templateSyntax(src: string, line: Line, hit: number, diag: (d: Omit<Diagnostic, 'file'>) => void): void {
  const raw = src.slice(line.start, line.end);
  let at = hit - line.start;
  while (raw.charCodeAt(at) === 32 || raw.charCodeAt(at) === 9) at++;
  const before = raw.slice(0, at);
  const nl = before.lastIndexOf('\n');
  diag({
    severity: 'warning',
    code: 'TEMPLATE_SYNTAX',
    message: `ifupdown2 renders this file as a mako template (it holds a '%'), and '${raw.slice(at, at + 2).replace(/[\r\n]/g, '')}' here is template code: what ifupdown2 reads depends on what the template produces, and code in it runs as root`,
    line: line.lineNo + countNewlines(before, 0, before.length),
    column: at - nl,
    hint: 'nodenet shows such a file but never edits a stanza holding template code; write plain text, or escape a line-leading % as %%',
  });
}

/**
 * CONTINUATION_SWALLOWS_KEYWORD: a physical line after the first of a joined line starts with a
 * keyword (`auto vmbr0`, `iface ...`): ifupdown2 reads it as part of the line before.
 */
function swallowedKeyword(src: string, line: Line, diag: (d: Omit<Diagnostic, 'file'>) => void): void {
  let no = line.lineNo;
  for (let i = src.indexOf('\n', line.start); i !== -1 && i < line.end - 1; i = src.indexOf('\n', i + 1)) {
    no++;
    let a = i + 1;
    while (a < line.end && isLineWs(src.charCodeAt(a))) a++;
    const w = firstWordAt(src, a, line.end);
    if (!isTopKeyword(w)) continue;
    diag({
      severity: 'warning',
      code: 'CONTINUATION_SWALLOWS_KEYWORD',
      message: `a backslash joins this line to the line before it, so ifupdown2 does not read this '${w}' as a keyword: the line is part of the one above`,
      line: no,
      column: a - i,
      hint: 'remove the backslash that joins the lines (ifupdown2 joins the text around every backslash)',
    });
    return;
  }
}

function hasIface(nodes: readonly TopNode[], from: number): boolean {
  for (let i = from; i < nodes.length; i++) if (nodes[i]!.kind === 'iface') return true;
  return false;
}

/**
 * How many body items a stanza keeps; the rest (its tail) becomes top-level trivia.
 * After the last option the stanza keeps comments that follow it directly (Proxmox VE writes
 * its `#comment` lines there, at column 0) and indented comments; blank lines at the end, and
 * a column-0 comment block that leads straight into the next stanza, belong to the gap.
 */
function stanzaKeep(body: (OptionNode | CommentNode | BlankNode)[]): number {
  let lastOpt = -1;
  for (let i = body.length - 1; i >= 0; i--) {
    if (body[i]!.kind === 'option') {
      lastOpt = i;
      break;
    }
  }
  let keep = lastOpt + 1;
  let contiguous = true;
  for (let i = lastOpt + 1; i < body.length; i++) {
    const it = body[i]!;
    if (it.kind === 'blank') {
      contiguous = false;
      continue;
    }
    if (it.kind === 'comment' && (contiguous || it.line.indent !== '')) keep = i + 1;
  }
  // A column-0 comment run that reaches the end of the body with no blank line after it
  // introduces the next stanza (`# storage network` right above `auto bond1`).
  if (keep === body.length && keep > lastOpt + 1) {
    let j = keep;
    while (j > lastOpt + 1 && body[j - 1]!.kind === 'comment' && body[j - 1]!.line.indent === '') j--;
    // Comments directly after the options and directly before the next keyword are ambiguous;
    // PVE writes stanza comments there, so the stanza keeps them (j reaches lastOpt + 1).
    if (j > lastOpt + 1 && body[j - 1]!.kind === 'blank') keep = j;
  }
  return keep;
}

function trivia(line: Line): TopNode {
  const text = line.text;
  return {
    kind: text === '' ? 'blank' : 'comment',
    start: line.start,
    end: line.end,
    line,
    text: text.startsWith('#') ? text.slice(1) : '',
  };
}

function optionFrom(src: string, line: Line, name: string): OptionNode {
  const nameStart = line.start + line.indent.length;
  if (!isJoined(line)) {
    // From offsets: the line's own text is never materialised.
    const end = line.contentEnd;
    let i = nameStart + name.length;
    while (i < end && isWs(src.charCodeAt(i))) i++;
    return { kind: 'option', line, name, nameStart, value: src.slice(i, end), valueStart: i, valueEnd: end };
  }
  const text = line.text;
  let i = name.length;
  while (i < text.length && isWs(text.charCodeAt(i))) i++;
  return { kind: 'option', line, name, nameStart, value: text.slice(i), valueStart: -1, valueEnd: -1 };
}

function checkHeader(node: IfaceNode, diag: (d: Omit<Diagnostic, 'file'>) => void): void {
  const line = node.header;
  const iface = node.name?.text;
  const at = (w: Word | null) => col(line, w ? w.start : -1);
  if (!node.name) {
    diag({
      severity: 'error',
      code: 'IFACE_WITHOUT_NAME',
      message: "'iface' line names no interface",
      line: line.lineNo,
      column: col(line, -1),
      hint: 'write `iface NAME inet static` (or manual, dhcp, ...)',
    });
    return;
  }
  const base = { line: line.lineNo, iface: iface! };
  if (node.family && node.family.text !== 'inet' && node.family.text !== 'inet6') {
    const s = didYouMean(node.family.text, ['inet', 'inet6']);
    diag({
      ...base,
      severity: 'error',
      code: 'UNKNOWN_FAMILY',
      message: `${iface}: unknown address family '${node.family.text}'${s ? `; did you mean '${s}'?` : ''}`,
      column: at(node.family),
      hint: 'the families are inet (IPv4) and inet6 (IPv6)',
    });
    return;
  }
  if (node.family && !node.method) {
    diag({
      ...base,
      severity: 'error',
      code: 'MISSING_METHOD',
      message: `${iface}: '${node.family.text}' needs a method (static, manual, dhcp, ...)`,
      column: at(node.family),
    });
    return;
  }
  if (node.family && node.method) {
    const methods = node.family.text === 'inet' ? INET_METHODS : INET6_METHODS;
    if (!methods.includes(node.method.text)) {
      const s = didYouMean(node.method.text, methods);
      diag({
        ...base,
        severity: 'error',
        code: 'UNKNOWN_METHOD',
        message: `${iface}: unknown ${node.family.text} method '${node.method.text}'${s ? `; did you mean '${s}'?` : ''}`,
        column: at(node.method),
        hint: `${node.family.text} methods: ${methods.join(', ')}`,
      });
    }
  }
  if (node.extra.length) {
    diag({
      ...base,
      severity: 'warning',
      code: 'IFACE_EXTRA_WORDS',
      message: `${iface}: unexpected words after the method: '${node.extra.map((w) => w.text).join(' ')}'`,
      column: at(node.extra[0]!),
    });
  }
}

/**
 * Whether the newline just before `end` is joined away (see {@link splitLines}): a `\` before
 * it or after it with only whitespace between, or (mako) a `\` right before it.
 */
function continues(src: string, end: number, mako: boolean): boolean {
  const nl = end - 1;
  const bs = (i: number) => i >= 0 && src.charCodeAt(i) === 92;
  if (mako && (bs(nl - 1) || (src.charCodeAt(nl - 1) === 13 && bs(nl - 2)))) return true;
  let b = nl;
  while (b > 0) {
    const c = src.charCodeAt(b - 1);
    if (mako && c === 10 && bs(b - 2)) b -= 2;
    else if (mako && c === 10 && src.charCodeAt(b - 2) === 13 && bs(b - 3)) b -= 3;
    else if (isPySpace(c)) b--;
    else break;
  }
  if (bs(b - 1)) return true;
  let f = end;
  while (f < src.length) {
    const c = src.charCodeAt(f);
    if (mako && c === 92 && src.charCodeAt(f + 1) === 10) f += 2;
    else if (mako && c === 92 && src.charCodeAt(f + 1) === 13 && src.charCodeAt(f + 2) === 10) f += 3;
    else if (isPySpace(c)) f++;
    else break;
  }
  return bs(f);
}

/**
 * Whether ifupdown2 joins the line ending just before `end` (a `\n` at end - 1) with the next
 * one: a backslash before or after it with only whitespace between (see {@link splitLines}).
 */
export function joinsNextLine(src: string, end: number): boolean {
  return continues(src, end, rendersAsTemplate(src));
}
