import type { Document } from './syntax.ts';

/**
 * Print a document: the concatenation of its top-level nodes' bytes. Because nodes are
 * contiguous and cover the input, `print(parse(s)) === s` for every `s`.
 */
export function print(doc: Document): string {
  let out = '';
  let pos = 0;
  for (const n of doc.nodes) {
    if (n.start !== pos) throw new Error(`internal: node gap at ${pos}..${n.start}`);
    out += doc.src.slice(n.start, n.end);
    pos = n.end;
  }
  if (pos !== doc.src.length) throw new Error(`internal: uncovered tail at ${pos}`);
  return out;
}
