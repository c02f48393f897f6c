/**
 * Parser for the ifupdown2 dialect of /etc/network/interfaces.
 *
 * Contract: `parse(src)` never throws on content. Every byte of `src` ends up in exactly one
 * top-level node, so `print(parse(src)) === src` for every input, valid or not. Problems are
 * returned as diagnostics with code, severity, line and column.
 *
 * Stanza extent follows ifupdown2, not Proxmox VE: an `iface` stanza runs until the next
 * top-level keyword (`iface`, `mapping`, `auto`, `allow-*`, `source`, `source-directory`).
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

export const INET_METHODS = ['static', 'manual', 'dhcp', 'loopback', 'auto', 'ppp', 'bootp', 'tunnel', 'wvdial', 'ipv4ll'];
export const INET6_METHODS = ['static', 'manual', 'dhcp', 'auto', 'loopback', 'v4tunnel', '6to4'];

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12; // space, tab, vtab, formfeed
}

/**
 * Split src into logical lines. A non-comment physical line whose content ends in `\`
 * continues on the next physical line (interfaces(5)); the joined text follows ifupdown2:
 * the backslash is dropped and the next line's trimmed text appended.
 */
export function splitLines(src: string, from = 0, to = src.length, firstLineNo = 1): Line[] {
  const lines: Line[] = [];
  const n = to;
  let pos = from;
  let lineNo = firstLineNo;
  while (pos < n) {
    const start = pos;
    const startNo = lineNo;
    let physical = 0;
    let text = '';
    let indent = '';
    let contentEnd = start;
    let eol: Line['eol'] = '';
    let end = start;
    for (;;) {
      physical++;
      let nl = src.indexOf('\n', pos);
      if (nl >= n) nl = -1;
      let lineEnd: number; // end of content incl. trailing ws, before EOL
      if (nl === -1) {
        lineEnd = n;
        end = n;
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
      let a = pos;
      while (a < lineEnd && isWs(src.charCodeAt(a))) a++;
      let b = lineEnd;
      while (b > a && (isWs(src.charCodeAt(b - 1)) || src.charCodeAt(b - 1) === 13)) b--;
      if (physical === 1) {
        indent = src.slice(pos, a);
      }
      if (b > a) contentEnd = b;
      else if (physical === 1) contentEnd = a;
      lineNo++;
      pos = end;
      const isComment = physical === 1 && src.charCodeAt(a) === 35; // '#'
      if (!isComment && b > a && src.charCodeAt(b - 1) === 92 && pos < n) {
        text += src.slice(a, b - 1);
        continue;
      }
      // A single physical line's text is sliced only when asked for (see SourceLine).
      if (physical > 1) text += src.slice(a, b);
      break;
    }
    lines.push(new SourceLine(src, start, contentEnd, end, startNo, physical, eol, indent, physical > 1 ? text : undefined));
  }
  return lines;
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
  ) {
    this.cached = text;
  }

  /** Moves the line after an edit before it (see {@link reparse}): same bytes, new place. */
  move(delta: number, lineDelta: number, src: string): void {
    this.src = src;
    // A sliced text would keep the old source alive; it is sliced again from the new one.
    if (this.physical === 1) this.cached = undefined;
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
    const { start, contentEnd, end, lineNo, physical, eol, indent, text } = this;
    return { start, contentEnd, end, lineNo, physical, eol, indent, text };
  }
}

/** Split the first physical line of `line` into words with their offsets. */
export function wordsOf(src: string, line: Line): Word[] {
  const words: Word[] = [];
  if (line.physical === 1) {
    let i = line.start + line.indent.length;
    const e = line.contentEnd;
    while (i < e) {
      while (i < e && isWs(src.charCodeAt(i))) i++;
      if (i >= e) break;
      const s = i;
      while (i < e && !isWs(src.charCodeAt(i))) i++;
      words.push({ text: src.slice(s, i), start: s, end: i });
    }
    return words;
  }
  // Continued line: offsets are not meaningful for edits; mark them -1.
  for (const t of line.text.split(/[ \t\v\f]+/)) if (t) words.push({ text: t, start: -1, end: -1 });
  return words;
}

/** Shared, never mutated: most headers have no extra words. */
const NO_WORDS = Object.freeze([]) as unknown as Word[];

const TOP_KEYWORDS = new Set(['iface', 'mapping', 'auto', 'source', 'source-directory']);

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
  // Fast path: every top-level keyword starts with a, i, m or s.
  const c = w.charCodeAt(0);
  if (c !== 97 && c !== 105 && c !== 109 && c !== 115) return false;
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
  const r = parseRange(src, file, from, src.length, 1, false, nodes, diagnostics);
  const doc: Document = { src, nodes, diagnostics, eol: eolOf(r), indent: dominantIndent(nodes) };
  lineCounts.set(doc, r);
  return doc;
}

/** Logical lines and CRLF-terminated ones of a document (for its dominant line ending). */
interface LineCount {
  lines: number;
  crlf: number;
}
const lineCounts = new WeakMap<Document, LineCount>();

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
function parseRange(
  src: string,
  file: string,
  from: number,
  to: number,
  lineNo: number,
  ifaceBefore: boolean,
  nodes: TopNode[],
  diagnostics: Diagnostic[],
  atEnd = to === src.length,
): LineCount {
  const diag = (d: Omit<Diagnostic, 'file'>) => diagnostics.push({ ...d, file });
  const first = nodes.length;
  const lines = splitLines(src, from, to, lineNo);
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

  for (const line of lines) {
    if (line.eol === '\r\n') crlf++;
    const single = line.physical === 1;
    const cs = line.start + line.indent.length;
    const text = single ? '' : line.text;
    if (single ? cs === line.contentEnd : text === '') {
      if (cur?.kind === 'iface') cur.body.push({ kind: 'blank', line } satisfies BlankNode);
      else if (cur?.kind === 'mapping') cur.lines.push(line);
      else nodes.push(trivia(line));
      continue;
    }
    if ((single ? src.charCodeAt(cs) : text.charCodeAt(0)) === 35) {
      if (cur?.kind === 'iface') cur.body.push({ kind: 'comment', line, text: line.text.slice(1) } satisfies CommentNode);
      else if (cur?.kind === 'mapping') cur.lines.push(line);
      else nodes.push(trivia(line));
      continue;
    }
    const kw = single ? firstWordAt(src, cs, line.contentEnd) : firstWord(text);
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
      } else if (kw === 'mapping') {
        cur = { kind: 'mapping', start: line.start, end: line.end, header: line, lines: [] };
        diag({
          severity: 'warning',
          code: 'MAPPING_UNMANAGED',
          message: `mapping stanza${words[1] ? ` for ${words[1].text}` : ''} is kept as it is; nodenet does not manage mappings`,
          line: line.lineNo,
          column: col(line, kwWord.start),
          hint: 'mappings choose a logical interface at ifup time; write the stanzas nodenet should manage as plain iface stanzas',
        });
      } else if (kw === 'source' || kw === 'source-directory') {
        const path = line.text.slice(kw.length).trim();
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
        const cls = kw === 'auto' || kw === 'allow-auto' ? 'auto' : kw === 'allow-hotplug' ? 'hotplug' : kw.slice(6);
        nodes.push({ kind: 'auto', start: line.start, end: line.end, line, keyword: kwWord, cls, names: words.slice(1) });
        if (words.length < 2 || cls === '')
          diag({
            severity: 'warning',
            code: cls === '' ? 'UNKNOWN_KEYWORD' : 'AUTO_WITHOUT_NAMES',
            message: cls === '' ? `'${kw}' needs a class name (allow-CLASS)` : `'${kw}' names no interface`,
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
              hint: 'top-level lines are auto, allow-*, iface, mapping, source and source-directory',
            },
    );
  }
  closeStanza();
  const lastLine = lines[lines.length - 1];
  if (atEnd && lastLine && lastLine.eol === '' && src.endsWith('\\') && lastLine.text.endsWith('\\')) {
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
  if (line.physical === 1) {
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

// ---------------------------------------------------------------- incremental re-parse

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

function moveLine(l: Line, d: number, ld: number, src: string): void {
  (l as SourceLine).move(d, ld, src);
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
    default:
      return;
  }
}

function countNewlines(s: string, from: number, to: number): number {
  let c = 0;
  for (let i = s.indexOf('\n', from); i !== -1 && i < to; i = s.indexOf('\n', i + 1)) c++;
  return c;
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
 * change are reused: those after it are moved IN PLACE, so `prev` must not be used afterwards.
 * Falls back to a full parse when the change touches the start of the file or most of it.
 */
export function reparse(prev: Document, src: string, file = 'interfaces'): Document {
  const old = prev.src;
  if (old === src) return prev;
  const doc = reparseWindow(prev, src, file);
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
  const counts = lineCounts.get(prev);
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
    if (src.charCodeAt(endNew - 1) === 10 && !continues(src, endNew)) break;
    j++;
  }
  const from = nodes[k]!.start;
  const oldTo = nodes[j]!.end;
  const newTo = oldTo + delta;
  if (newTo < p || (j - k) * 2 > nodes.length) return undefined;
  const first = firstLineOf(nodes[k] as Exclude<TopNode, { kind: 'bom' }>).lineNo;
  const lineDelta = countNewlines(src, from, newTo) - countNewlines(old, from, oldTo);
  const oldNextLine = j + 1 < nodes.length ? firstLineOf(nodes[j + 1] as Exclude<TopNode, { kind: 'bom' }>).lineNo : Infinity;

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
  const win = parseRange(local, file, 0, local.length, first, ifaceBefore, fresh, diagnostics, newTo === src.length);
  for (const n of fresh) {
    moveNode(n, from, 0, src);
    out.push(n);
  }
  for (const d of prev.diagnostics) if (d.line >= oldNextLine) diagnostics.push(lineDelta === 0 ? d : { ...d, line: d.line + lineDelta });
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
  const doc: Document = { src, nodes: out, diagnostics, eol: eolOf(c), indent: dominantIndent(out) };
  lineCounts.set(doc, c);
  changes.set(doc, { prevId: docId(prev), removed: nodes.slice(k, j + 1), added: out.slice(k, out.length - (nodes.length - j - 1)) });
  return doc;
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

/** Whether the physical line ending just before `end` ends in a `\` continuation. */
function continues(src: string, end: number): boolean {
  let b = end - 1; // the '\n'
  while (b > 0 && (isWs(src.charCodeAt(b - 1)) || src.charCodeAt(b - 1) === 13)) b--;
  return b > 0 && src.charCodeAt(b - 1) === 92;
}
