/**
 * Bytes ↔ text without loss. An interfaces file is bytes; most are UTF-8, but a comment typed
 * on an old Latin-1 install (`caf\xe9`) is not. Decoding such a byte as U+FFFD and encoding the
 * text back would rewrite lines nobody touched, so every byte that is not part of a valid UTF-8
 * sequence is kept as the lone low surrogate U+DC00+byte (U+DC80..U+DCFF; Python's
 * `surrogateescape`), and {@link encodeText} turns each such code unit back into its byte.
 *
 * Valid UTF-8 never decodes to a lone surrogate, so the mapping is exact both ways:
 * `encodeText(decodeBytes(b))` equals `b` for every byte string `b`. Values that reach the file
 * from users are refused when they hold a lone surrogate (model/params.ts controlChar), so
 * escapes only ever come from the bytes that were read.
 */
import { isUtf8 } from 'node:buffer';
import type { Diagnostic } from './diagnostic.ts';

const ESCAPE_BASE = 0xdc00;

/** Decodes bytes as UTF-8, keeping each invalid byte as U+DC00+byte. */
export function decodeBytes(buf: Uint8Array): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (isUtf8(b)) return b.toString('utf8');
  let out = '';
  let start = 0;
  let i = 0;
  while (i < b.length) {
    const n = validSequenceLength(b, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += b.toString('utf8', start, i) + String.fromCharCode(ESCAPE_BASE + b[i]!);
    i++;
    start = i;
  }
  return out + b.toString('utf8', start, b.length);
}

/** Length of the valid UTF-8 sequence at `i` (1-4), or 0 when the byte at `i` starts none. */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0; // no overlong forms
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no UTF-16 surrogates
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0; // up to U+10FFFF
  return 0;
}

/** An escaped byte: a low surrogate U+DC80..U+DCFF not preceded by a high surrogate. */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g;

/** Whether a text holds bytes that were not UTF-8 (see {@link decodeBytes}). */
export function hasEscapedBytes(text: string): boolean {
  ESCAPED.lastIndex = 0;
  return ESCAPED.test(text);
}

/** Encodes a text read by {@link decodeBytes} back to exactly the bytes it came from. */
export function encodeText(text: string): Buffer {
  if (!hasEscapedBytes(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  ESCAPED.lastIndex = 0;
  for (const m of text.matchAll(ESCAPED)) {
    parts.push(Buffer.from(text.slice(start, m.index), 'utf8'), Buffer.of(m[0].charCodeAt(0) - ESCAPE_BASE));
    start = m.index + 1;
  }
  parts.push(Buffer.from(text.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** `\xe9`-style rendering of the escaped bytes, for messages (the text itself keeps them). */
export function showBytes(text: string): string {
  return text.replace(ESCAPED, (c) => `\\x${(c.charCodeAt(0) - ESCAPE_BASE).toString(16).padStart(2, '0')}`);
}

/**
 * NOT_UTF8 warnings: one per line holding bytes that are not UTF-8, at the first such byte.
 * nodenet keeps those bytes exactly; the warning says where they are, because ifupdown2 and
 * Proxmox VE read the file as UTF-8 (a Latin-1 `é` in a comment is harmless; in an interface
 * name or a hook line it is not what the author meant).
 */
export function nonUtf8Diagnostics(text: string, file = 'interfaces'): Diagnostic[] {
  if (!hasEscapedBytes(text)) return [];
  const out: Diagnostic[] = [];
  let line = 1;
  let lineStart = 0;
  let reported = -1;
  ESCAPED.lastIndex = 0;
  for (const m of text.matchAll(ESCAPED)) {
    for (let nl = text.indexOf('\n', lineStart); nl !== -1 && nl < m.index; nl = text.indexOf('\n', lineStart)) {
      line++;
      lineStart = nl + 1;
    }
    if (reported === line) continue;
    reported = line;
    const end = text.indexOf('\n', lineStart);
    const shown = showBytes(text.slice(lineStart, end === -1 ? text.length : end).replace(/\r$/, ''));
    out.push({
      severity: 'warning',
      code: 'NOT_UTF8',
      message: `line ${line} is not valid UTF-8 (byte ${showBytes(m[0])} in "${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}"); nodenet keeps the bytes as they are`,
      line,
      column: m.index - lineStart + 1,
      file,
      hint: 'save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or keep the bytes if they are only in comments',
    });
  }
  return out;
}
