/**
 * Minimal text edits (as in microsoft/node-jsonc-parser): `{offset, length, content}`.
 * The same edits produce the staged file and the pending diff; untouched bytes stay untouched.
 */
import type { Document, Line } from './syntax.ts';

export interface TextEdit {
  offset: number;
  length: number;
  content: string;
}

/**
 * Apply non-overlapping edits. Edits at the same offset are applied so that the one listed
 * first ends up first in the text.
 * @throws Error on overlapping edits (a bug in the caller, never user input)
 */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  // At equal offsets, insertions go before a replacement that starts there.
  const sorted = edits
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.offset - b.e.offset || (a.e.length === 0 ? 0 : 1) - (b.e.length === 0 ? 0 : 1) || a.i - b.i);
  let out = '';
  let pos = 0;
  for (const { e } of sorted) {
    if (e.offset < pos) throw new Error(`internal: overlapping edits at ${e.offset}`);
    out += text.slice(pos, e.offset) + e.content;
    pos = e.offset + e.length;
  }
  return out + text.slice(pos);
}

/** Length of the line terminator that ends just before `offset` (0 at start of file). */
function eolBefore(src: string, offset: number): number {
  if (offset >= 2 && src.charCodeAt(offset - 2) === 13 && src.charCodeAt(offset - 1) === 10) return 2;
  if (offset >= 1 && src.charCodeAt(offset - 1) === 10) return 1;
  return 0;
}

/** Remove whole lines [first.start, last.end), keeping the file's final-newline state. */
export function removeLines(doc: Document, first: Line, last: Line): TextEdit {
  if (last.eol === '' && first.start > 0) {
    // Removing the last line of a file without final newline: take the previous terminator instead.
    const k = eolBefore(doc.src, first.start);
    return { offset: first.start - k, length: last.end - first.start + k, content: '' };
  }
  return { offset: first.start, length: last.end - first.start, content: '' };
}

/** Insert whole lines after `line` (text without terminators; joined with the doc's EOL). */
export function insertLinesAfter(doc: Document, line: Line, lines: readonly string[], eol = doc.eol): TextEdit {
  if (line.eol === '') return { offset: line.end, length: 0, content: lines.map((l) => eol + l).join('') };
  return { offset: line.end, length: 0, content: lines.map((l) => l + eol).join('') };
}

/** Insert whole lines before `line`. */
export function insertLinesBefore(line: Line, lines: readonly string[], eol: string): TextEdit {
  return { offset: line.start, length: 0, content: lines.map((l) => l + eol).join('') };
}

/** The line terminator to use for new lines near `line`. */
export function eolNear(doc: Document, line: Line): '\n' | '\r\n' {
  return line.eol === '' ? doc.eol : line.eol;
}

/**
 * Merge overlapping or touching pure deletions into one (their union), keeping other edits.
 * Two deletions that only touch stay apart where another edit inserts at that point (a new
 * line after a removed one, before another removed one): merged, they would swallow it.
 */
export function mergeDeletions(edits: readonly TextEdit[]): TextEdit[] {
  const dels = edits.filter((e) => e.content === '' && e.length > 0).sort((a, b) => a.offset - b.offset);
  const others = edits.filter((e) => !(e.content === '' && e.length > 0));
  const insertAt = new Set(others.map((e) => e.offset));
  const merged: TextEdit[] = [];
  for (const d of dels) {
    const last = merged[merged.length - 1];
    const end = last ? last.offset + last.length : -1;
    if (last && (d.offset < end || (d.offset === end && !insertAt.has(end)))) {
      last.length = Math.max(last.length, d.offset + d.length - last.offset);
    } else merged.push({ ...d });
  }
  return [...merged, ...others];
}

/**
 * Remove several line-aligned ranges `[start, end)`: overlapping or touching ranges are
 * merged first, then a range that reaches the end of a file without final newline also
 * takes the line terminator before it (so the file keeps having no final newline).
 */
export function removeLineRanges(doc: Document, ranges: readonly [number, number][]): TextEdit[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const src = doc.src;
  return merged.map(([a, b]) => {
    if (b === src.length && a > 0 && !src.endsWith('\n')) {
      const k = eolBefore(src, a);
      return { offset: a - k, length: b - a + k, content: '' };
    }
    return { offset: a, length: b - a, content: '' };
  });
}
