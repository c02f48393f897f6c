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
export function splitLines(src: string, from = 0): Line[] {
  const lines: Line[] = [];
  const n = src.length;
  let pos = from;
  let lineNo = 1;
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
      const nl = src.indexOf('\n', pos);
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
    private readonly src: string,
    readonly start: number,
    readonly contentEnd: number,
    readonly end: number,
    readonly lineNo: number,
    readonly physical: number,
    readonly eol: Line['eol'],
    readonly indent: string,
    text: string | undefined,
  ) {
    this.cached = text;
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
  const diag = (d: Omit<Diagnostic, 'file'>) => diagnostics.push({ ...d, file });
  let from = 0;
  if (src.charCodeAt(0) === 0xfeff) {
    nodes.push({ kind: 'bom', start: 0, end: 1 });
    diag({
      severity: 'warning',
      code: 'BOM',
      message: 'the file starts with a UTF-8 byte-order mark, which ifupdown2 reads as part of the first keyword',
      line: 1,
      column: 1,
      hint: 'save the file as UTF-8 without BOM',
    });
    from = 1;
  }
  const lines = splitLines(src, from);
  let crlf = 0;
  let optionLines = 0;
  const indents = new Map<string, number>();
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
      // The dominant indentation is clear after a few hundred lines; stop counting there.
      if (line.indent && optionLines++ < 512) indents.set(line.indent, (indents.get(line.indent) ?? 0) + 1);
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
        : looksLikeOption && nodes.every((x) => x.kind !== 'iface')
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
  if (lastLine && lastLine.eol === '' && src.endsWith('\\') && lastLine.text.endsWith('\\')) {
    diag({
      severity: 'warning',
      code: 'CONTINUATION_AT_EOF',
      message: 'the last line ends with a continuation backslash but nothing follows',
      line: lastLine.lineNo + lastLine.physical - 1,
      column: 1,
    });
  }
  let indent = '\t';
  let best = 0;
  for (const [k, v] of indents) {
    if (v > best) {
      best = v;
      indent = k;
    }
  }
  return { src, nodes, diagnostics, eol: crlf * 2 > lines.length ? '\r\n' : '\n', indent };
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
