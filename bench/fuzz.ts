/**
 * Bounded mutation fuzzer for the file format (issue 2): mutates corpus files and checks that
 * parse never throws, every input round-trips byte for byte, and model, PVE view and
 * validation run without an exception.
 *   node --import tsx bench/fuzz.ts [COUNT=100000] [SEED=1]
 * Deterministic for a given seed; a failure prints the seed, the iteration and the input.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from '../src/interfaces/parser.ts';
import { print } from '../src/interfaces/printer.ts';
import { buildModel } from '../src/model/build.ts';
import { toPve } from '../src/model/pve-view.ts';
import { validate } from '../src/validate/index.ts';

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  '\n',
  '\r\n',
  '\r',
  '\t',
  ' ',
  '\\',
  '\\\n',
  '#',
  'iface ',
  'auto ',
  'allow-',
  'inet ',
  'inet6 ',
  'static',
  'manual',
  'source ',
  'mapping ',
  'bridge-ports ',
  'bond-slaves ',
  'address ',
  '/24',
  '::',
  '.100',
  ':1',
  '\uFEFF',
  '\0',
  'ü',
  '😀',
  '\u2028',
  'vlan-raw-device ',
  'vlan-id 4095',
  'netmask 255.255.0.0',
  'none',
];

/** One mutation of `s`: insert/delete/replace bytes or tokens, duplicate/swap/drop lines. */
export function mutate(s: string, r: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const pos = Math.floor(r() * (s.length + 1));
  switch (Math.floor(r() * 8)) {
    case 0:
      return s.slice(0, pos) + pick(TOKENS) + s.slice(pos);
    case 1:
      return s.slice(0, pos) + s.slice(pos + 1 + Math.floor(r() * 8));
    case 2:
      return s.slice(0, pos) + String.fromCharCode(Math.floor(r() * 0x80)) + s.slice(pos + 1);
    case 3: {
      const lines = s.split('\n');
      const i = Math.floor(r() * lines.length);
      lines.splice(i, 0, lines[Math.floor(r() * lines.length)] ?? '');
      return lines.join('\n');
    }
    case 4: {
      const lines = s.split('\n');
      const i = Math.floor(r() * lines.length);
      const j = Math.floor(r() * lines.length);
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      return lines.join('\n');
    }
    case 5: {
      const lines = s.split('\n');
      lines.splice(Math.floor(r() * lines.length), 1);
      return lines.join('\n');
    }
    case 6:
      return s.slice(0, pos) + s.slice(Math.floor(r() * s.length), Math.floor(r() * s.length));
    default:
      return s.replace(/\n/g, () => (r() < 0.1 ? '\r\n' : '\n'));
  }
}

/** Run `count` mutated inputs; throws with the reproducer on the first failure. */
export function fuzz(count: number, seed: number, corpus: string[]): { inputs: number; ms: number } {
  const r = rng(seed);
  const t0 = performance.now();
  let cur = corpus[0]!;
  for (let i = 0; i < count; i++) {
    if (i % 20 === 0) cur = corpus[Math.floor(r() * corpus.length)]!;
    const rounds = 1 + Math.floor(r() * 4);
    for (let k = 0; k < rounds; k++) cur = mutate(cur, r);
    if (cur.length > 20_000) cur = cur.slice(0, 20_000);
    try {
      const doc = parse(cur);
      if (print(doc) !== cur) throw new Error('round-trip changed the input');
      const model = buildModel(doc);
      for (const iface of model.ifaces.values()) toPve(iface);
      validate({ doc, model, file: 'interfaces' });
    } catch (e) {
      const err = new Error(
        `fuzz failure (seed ${seed}, iteration ${i}): ${(e as Error).message}\ninput: ${JSON.stringify(cur)}`,
      );
      err.stack += `\ncaused by: ${(e as Error).stack}`;
      throw err;
    }
  }
  return { inputs: count, ms: performance.now() - t0 };
}

export function loadCorpus(): string[] {
  const dir = new URL('../test/fixtures/corpus/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.interfaces'))
    .sort()
    .map((f) => readFileSync(new URL(f, dir), 'utf8'))
    .filter((s) => s.length > 0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? 1);
  const res = fuzz(count, seed, loadCorpus());
  console.log(
    `| fuzz: mutated inputs (seed ${seed}) | ${res.inputs} | no exception, all round-trip | ${(res.ms / 1000).toFixed(1)} s |`,
  );
}
