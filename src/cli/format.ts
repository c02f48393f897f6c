/** Text output helpers: compiler-style diagnostics, tables, colours. */
import type { Diagnostic } from '../interfaces/diagnostic.ts';

export const color = {
  on: false,
  red: (s: string) => (color.on ? `\x1b[31m${s}\x1b[0m` : s),
  green: (s: string) => (color.on ? `\x1b[32m${s}\x1b[0m` : s),
  yellow: (s: string) => (color.on ? `\x1b[33m${s}\x1b[0m` : s),
  cyan: (s: string) => (color.on ? `\x1b[36m${s}\x1b[0m` : s),
  bold: (s: string) => (color.on ? `\x1b[1m${s}\x1b[0m` : s),
  dim: (s: string) => (color.on ? `\x1b[2m${s}\x1b[0m` : s),
};

/** Physical line `n` (1-based) of `text`, without its terminator. */
function sourceLine(text: string, n: number): string | undefined {
  let pos = 0;
  for (let i = 1; i < n; i++) {
    const nl = text.indexOf('\n', pos);
    if (nl === -1) return undefined;
    pos = nl + 1;
  }
  if (pos > text.length) return undefined;
  const nl = text.indexOf('\n', pos);
  return text.slice(pos, nl === -1 ? text.length : nl).replace(/\r$/, '');
}

/**
 * Format diagnostics like a compiler: `interfaces:12:2: error PORT_IN_USE message`, the
 * source line, a caret under the column, and the hint.
 */
export function formatDiagnostics(ds: readonly Diagnostic[], text?: string): string {
  let out = '';
  for (const d of ds) {
    const sev =
      d.severity === 'error'
        ? color.red('error')
        : d.severity === 'warning'
          ? color.yellow('warning')
          : color.cyan('info');
    const where = d.line > 0 ? `${d.file ?? 'interfaces'}:${d.line}:${d.column}` : `${d.file ?? 'interfaces'}`;
    out += `${color.bold(where)}: ${sev} ${d.code} ${d.message}\n`;
    if (text !== undefined && d.line > 0) {
      const src = sourceLine(text, d.line);
      if (src !== undefined) {
        const shown = src.replace(/\t/g, '    ');
        // Column counts characters; tabs were widened above, so widen them in the prefix too.
        const prefix = src.slice(0, Math.max(0, d.column - 1)).replace(/\t/g, '    ');
        out += `  ${shown}\n  ${' '.repeat(prefix.length)}${color.green('^')}\n`;
      }
    }
    if (d.hint) out += `  ${color.dim(`hint: ${d.hint}`)}\n`;
  }
  return out;
}

export function summarize(ds: readonly Diagnostic[]): string {
  const n = (s: string) => ds.filter((d) => d.severity === s).length;
  const e = n('error');
  const w = n('warning');
  const i = n('info');
  const part = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  return `${part(e, 'error')}, ${part(w, 'warning')}${i ? `, ${part(i, 'note')}` : ''}`;
}

/** A plain text table with padded columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [color.bold(line(headers)), ...rows.map(line)].join('\n') + '\n';
}

/** Colour a unified diff for a terminal. */
export function colorDiff(diff: string): string {
  if (!color.on) return diff;
  return diff
    .split('\n')
    .map((l) =>
      l.startsWith('+++') || l.startsWith('---')
        ? color.bold(l)
        : l.startsWith('+')
          ? color.green(l)
          : l.startsWith('-')
            ? color.red(l)
            : l.startsWith('@@')
              ? color.cyan(l)
              : l,
    )
    .join('\n');
}
