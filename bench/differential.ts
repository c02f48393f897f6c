/**
 * Differential test against ifupdown2's own parser (issue 12): nodenet's reading of a file
 * (interfaces, auto set, allow classes, options, addresses) must equal what ifupdown2 3.0's
 * parser reads, with mako rendering on as Debian configures it, for
 *  - fuzzed files: corpus files mutated with hostile tokens (`%`, `${`, `<%`, `##`, `\`,
 *    U+2028, U+0085, CR, tabs, ...);
 *  - files produced by random sequences of core edits (the code path of the API and the CLI)
 *    with hostile values: every accepted edit must give a file both parsers read alike (or the
 *    edit is refused), and no template payload may ever run (payloads touch a marker file).
 *   node --import tsx bench/differential.ts [FUZZED=20000] [SEQUENCES=400] [SEED=1]
 * Used with small counts by test/engine/differential.test.ts (part of `npm test`).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkCore } from '../src/core/network.ts';
import { NodenetError } from '../src/errors.ts';
import { compareWithOracle, oracleParse } from '../test/engine/oracle.ts';
import { loadCorpus, mutate, rng } from './fuzz.ts';

/** Tokens that ifupdown2's reader (backslash join, mako, Python whitespace) treats specially. */
const HOSTILE_TOKENS = [
  '\\',
  '\\\n',
  ' \\\n',
  '\\\r\n',
  '\n\\',
  '# spare port \\\n',
  '%',
  '100% ',
  '\n%% x\n',
  '${',
  '${x}',
  '<%',
  '%>',
  '</%',
  '<&',
  '##',
  '\n## c\n',
  '\n  % if x:\n',
  '\u2028',
  '\u2029',
  '\u0085',
  '\u00a0',
  '\u000b',
  '\u000c',
  '\u001c',
  '\r',
  '\t',
  '\n\t',
  '\ufeff',
  'auto vmbr9\n',
  '\nallow-hotplug eno9\n',
  '# -*- coding: utf-8 -*- \\\n',
  '\nvlan v1\n',
  '\nmapping m\n',
  'source-directory /x\n',
  '$IFACE',
  'netmask 24\n',
  '\n\tscope link\n',
  ':1',
  'all',
];

/** One mutation with a hostile token half of the time, else bench/fuzz.ts's mutation. */
function hostileMutate(s: string, r: () => number): string {
  if (r() < 0.5) return mutate(s, r);
  const pos = Math.floor(r() * (s.length + 1));
  return s.slice(0, pos) + HOSTILE_TOKENS[Math.floor(r() * HOSTILE_TOKENS.length)]! + s.slice(pos);
}

/** `count` fuzzed files (deterministic for a seed). Files that hold mako code are dropped unless `keepTemplates`. */
export function fuzzedFiles(count: number, seed: number, corpus = loadCorpus()): string[] {
  const r = rng(seed);
  const out: string[] = [];
  let cur = corpus[0]!;
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0) cur = corpus[Math.floor(r() * corpus.length)]!;
    const rounds = 1 + Math.floor(r() * 2);
    for (let k = 0; k < rounds; k++) cur = hostileMutate(cur, r);
    if (cur.length > 8000) cur = cur.slice(0, 8000);
    out.push(cur);
  }
  return out;
}

/** Hostile values for free-text fields; MARKER is replaced by a path that must never appear. */
const PAYLOADS = [
  "${__import__('os').system('touch MARKER')}",
  "uplink 100% ${__import__('os').system('touch MARKER')}",
  "<% __import__('os').system('touch MARKER') %>",
  "<%! import os; os.system('touch MARKER') %>",
  "x\n<%\nimport os\nos.system('touch MARKER')\n%>",
  "x\n% if __import__('os').system('touch MARKER') == 0:\n% endif",
  "${open('MARKER', 'w')}",
  '##x',
  '#x',
  'a\n## y',
  'spare port \\',
  'a\\b',
  'a \\\nauto vmbr0',
  '</%text>',
  '<&x',
  '%>',
  '100%',
  '50 % of the links',
  'x\n%% y',
  'line\u2028sep',
  'next\u0085line',
  'cr\rhere',
  'tab\there',
  'nbsp\u00a0here',
  'plain uplink',
  'multi\nline\ncomment',
  '',
];

const NAMES = ['vmbr1', 'vmbr2', 'bond1', 'bond2', 'eno1.50', 'vlan60', 'eno3', 'eno4', 'vmbr0', 'eno1'];
const BASES = [
  'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n',
  // A comment ending in a backslash swallows the next line (here a stanza's `auto`).
  'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n# spare port \\\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tbridge-ports eno1\n',
  // A `%` in a comment: the file renders as a template (an inert one).
  'auto lo\niface lo inet loopback\n\n# 100% uplink\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n',
  // Dormant template code: inert while the file holds no `%`.
  "auto lo\niface lo inet loopback\n\n# cost ${__import__('os').system('touch MARKER')}\niface eno1 inet manual\n",
  // A continued option line, and CRLF.
  'auto lo\r\niface lo inet loopback\r\n\r\nauto vmbr0\r\niface vmbr0 inet manual\r\n\tbridge-ports eno1 \\\r\n\t  eno2\r\n\tbridge-stp off\r\n',
];

type Op = { kind: 'create' | 'update' | 'delete'; name: string; params: Record<string, unknown> };

function randomOp(r: () => number, marker: string, known: ReadonlySet<string>): Op {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const hostile = () => pick(PAYLOADS).replaceAll('MARKER', marker);
  const kind = pick(['create', 'create', 'update', 'update', 'update', 'delete'] as const);
  // Updates and deletes mostly name an interface the file has, creates mostly a new one.
  const existing = [...known].filter((n) => n !== 'lo');
  const fresh = NAMES.filter((n) => !known.has(n));
  const name =
    kind === 'create'
      ? r() < 0.9 && fresh.length
        ? pick(fresh)
        : pick(NAMES)
      : r() < 0.9 && existing.length
        ? pick(existing)
        : pick(NAMES);
  const params: Record<string, unknown> = {};
  if (kind === 'create')
    params['type'] = name.startsWith('bond')
      ? 'bond'
      : name.startsWith('vmbr')
        ? 'bridge'
        : name.includes('.') || name.startsWith('vlan')
          ? 'vlan'
          : 'eth';
  if (kind !== 'delete') {
    // Mostly the fields of the interface's own type (else most edits are refused for that).
    const type = name.startsWith('bond')
      ? 'bond'
      : name.startsWith('vmbr')
        ? 'bridge'
        : name.includes('.') || name.startsWith('vlan')
          ? 'vlan'
          : 'eth';
    const own: Record<string, string[]> = {
      bond: ['slaves'],
      bridge: ['bridge_ports', 'bridge_vids'],
      vlan: ['vlan-raw-device'],
      eth: [],
    };
    const common = ['comments', 'comments', 'comments6', 'mtu', 'cidr', 'gateway', 'autostart', 'cidr6'];
    const fields =
      r() < 0.9 ? [...common, ...own[type]!] : [...common, 'ovs_options', 'bridge_ports', 'slaves', 'vlan-raw-device'];
    const value = (plain: string[]) => (r() < 0.4 ? hostile() : pick(plain));
    const n = 1 + Math.floor(r() * 3);
    for (let i = 0; i < n; i++) {
      const f = pick(fields);
      if (f === 'mtu') params[f] = pick([1500, 9000, 1500, '1500 \\', '${1}']);
      else if (f === 'cidr') params[f] = pick(['10.1.1.1/24', '10.2.2.2/16', '10.3.3.3/24 ${x}']);
      else if (f === 'cidr6') params[f] = pick(['fd00::1/64', 'fd00::2/64']);
      else if (f === 'gateway') params[f] = pick(['10.1.1.254', '10.2.0.1']);
      else if (f === 'autostart') params[f] = pick([0, 1]);
      else if (f === 'bridge_ports' || f === 'slaves') params[f] = value(['eno3', 'eno3 eno4', 'eno3,eno4', 'eno3\\']);
      else if (f === 'vlan-raw-device') params[f] = value(['eno1', 'vmbr0']);
      else if (f === 'bridge_vids') params[f] = value(['2-4094', '10 20']);
      else
        params[f] = value([
          'uplink',
          'uplink to the core switch',
          '100% of traffic',
          'rack 4\nport 12',
          'multi\nline',
          '# not at the start',
          '',
        ]);
    }
    if (params['type'] === 'vlan' && name === 'vlan60' && params['vlan-raw-device'] === undefined)
      params['vlan-raw-device'] = 'eno1';
  }
  return { kind, name, params };
}

export interface EditRun {
  /** Texts of every accepted edit (the staged file after it). */
  texts: string[];
  accepted: number;
  refused: number;
  marker: string;
  dir: string;
}

/**
 * Runs `sequences` random edit sequences (5 edits each) through NetworkCore (the code path
 * of the API and CLI) on the base files. Any exception other than a refusal (NodenetError)
 * is a failure. Returns the staged texts for the oracle.
 */
export async function editSequences(sequences: number, seed: number): Promise<EditRun> {
  const r = rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'nodenet-differential-'));
  const marker = join(dir, 'payload-ran');
  const texts: string[] = [];
  let accepted = 0;
  let refused = 0;
  for (let s = 0; s < sequences; s++) {
    const root = join(dir, `r${s % 4}`);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(root, 'etc/network'), { recursive: true });
    const base = BASES[Math.floor(r() * BASES.length)]!.replaceAll('MARKER', marker);
    writeFileSync(join(root, 'etc/network/interfaces'), base);
    texts.push(base);
    const core = new NetworkCore({ root, nics: new Set(['eno1', 'eno2', 'eno3', 'eno4']) });
    for (let k = 0; k < 5; k++) {
      const known = new Set((await core.list()).data.map((i) => String(i.iface)));
      const op = randomOp(r, marker, known);
      try {
        if (op.kind === 'create') await core.create(op.name, op.params);
        else if (op.kind === 'update') await core.update(op.name, op.params);
        else await core.remove(op.name);
        accepted++;
      } catch (e) {
        if (!(e instanceof NodenetError))
          throw new Error(`edit ${JSON.stringify(op)} (sequence ${s}, seed ${seed}) failed with ${(e as Error).stack}`);
        refused++;
        continue;
      }
      const staged = join(root, 'etc/network/interfaces.new');
      texts.push(readFileSync(existsSync(staged) ? staged : join(root, 'etc/network/interfaces'), 'utf8'));
    }
  }
  return { texts, accepted, refused, marker, dir };
}

export interface DiffReport {
  files: number;
  agree: number;
  templates: number;
  differences: { text: string; why: string }[];
}

/** Compares every text with ifupdown2's parse. */
export async function differential(texts: readonly string[], cwd?: string): Promise<DiffReport> {
  const res = await oracleParse(texts, cwd ? { cwd } : {});
  const report: DiffReport = { files: texts.length, agree: 0, templates: 0, differences: [] };
  texts.forEach((t, i) => {
    const c = compareWithOracle(t, res[i]!);
    if (c === null) report.agree++;
    else if (c === 'template') report.templates++;
    else report.differences.push({ text: t, why: c });
  });
  return report;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const fuzzed = Number(process.argv[2] ?? 20_000);
  const sequences = Number(process.argv[3] ?? 400);
  const seed = Number(process.argv[4] ?? 1);
  const t0 = performance.now();
  const f = await differential(fuzzedFiles(fuzzed, seed));
  const run = await editSequences(sequences, seed);
  const e = await differential(run.texts, run.dir);
  const ran = existsSync(run.marker);
  rmSync(run.dir, { recursive: true, force: true });
  for (const d of [...f.differences, ...e.differences].slice(0, 5))
    console.log(`DIFFERENCE: ${d.why}\ninput: ${JSON.stringify(d.text)}\n`);
  console.log(
    `| differential: fuzzed files (seed ${seed}) | ${f.files} | ${f.agree} agree, ${f.templates} mako templates, ${f.differences.length} differ |`,
  );
  console.log(
    `| differential: edit sequences (seed ${seed}) | ${run.accepted} accepted, ${run.refused} refused | ${e.agree} agree, ${e.templates} templates, ${e.differences.length} differ; payload ran: ${ran} | ${((performance.now() - t0) / 1000).toFixed(1)} s |`,
  );
  if (f.differences.length || e.differences.length || e.templates || ran) process.exit(1);
}
