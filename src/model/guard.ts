/**
 * Guards on what an edit writes into the interfaces file, beyond the per-value checks of
 * params.ts (docs/security.md, "Values written to the interfaces file"):
 * - lines nodenet inserts must stay lines of their own: ifupdown2 joins every line that a
 *   backslash continues (a hand-written `# spare port \` swallows the next line, whatever it is);
 * - a file that ifupdown2 would render as a mako template with code in it is never edited.
 */
import { paramError } from '../errors.ts';
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { applyEdits, type TextEdit } from '../interfaces/edits.ts';
import { joinsNextLine } from '../interfaces/parser.ts';

/**
 * Refuse edits whose inserted lines ifupdown2 would join with the text around them (a line
 * before them ending in `\`, or one after them starting with `\`). Returns the new text.
 */
export function applyGuardedEdits(text: string, edits: readonly TextEdit[]): string {
  const next = applyEdits(text, edits);
  if (next === text || !next.includes('\\')) return next;
  // Offsets of each edit's content in the new text.
  const sorted = [...edits].sort((a, b) => a.offset - b.offset);
  let shift = 0;
  for (const e of sorted) {
    const at = e.offset + shift;
    shift += e.content.length - e.length;
    if (e.content === '') continue;
    const boundaries: number[] = [];
    if (at > 0 && next.charCodeAt(at - 1) === 10) boundaries.push(at);
    for (let i = e.content.indexOf('\n'); i !== -1; i = e.content.indexOf('\n', i + 1)) boundaries.push(at + i + 1);
    for (const b of boundaries) {
      if (!joinsNextLine(next, b)) continue;
      const lineNo = next.slice(0, b).split('\n').length - 1;
      throw paramError({
        iface: `refused: line ${lineNo} of the file ${
          next
            .slice(0, b - 1)
            .trimEnd()
            .endsWith('\\')
            ? 'ends'
            : 'is joined'
        } with a backslash, so ifupdown2 would read the lines written here as part of it; remove that backslash first (nodenet check reports it)`,
      });
    }
  }
  return next;
}

/** Refuse to write a file that renders as a mako template holding template code. */
export function refuseTemplate(diagnostics: readonly Diagnostic[], before: readonly Diagnostic[]): void {
  const t = diagnostics.find((d) => d.code === 'TEMPLATE_SYNTAX');
  if (t === undefined) return;
  const already = before.some((d) => d.code === 'TEMPLATE_SYNTAX');
  throw paramError({
    iface: already
      ? `refused: the interfaces file is a mako template (template code at line ${t.line}); nodenet shows it but does not edit it — edit it by hand`
      : `refused: with this change ifupdown2 would render the file as a mako template and run the template code at line ${t.line}; remove that code first (it only stays inert while the file holds no '%')`,
  });
}
