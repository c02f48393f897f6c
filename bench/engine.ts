/**
 * Engine benchmark (issue 2): in-process parse+model of a 4094-bridge file, and the whole
 * `nodenet check` process next to Debian's `ifquery -a` on the same file, in one run.
 *   node --import tsx bench/engine.ts [--no-ifquery]
 * Both processes run through the same netns sandbox entry (ip netns exec + a private mount
 * namespace, about 20 ms) because ifquery needs a private /run/network and /etc/network.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bridgesFile } from './gen.ts';
import { fromDist } from './dist.ts';

const { parse } = await fromDist<typeof import('../src/interfaces/parser.ts')>('interfaces/parser.js');
const { buildModel } = await fromDist<typeof import('../src/model/build.ts')>('model/build.js');
const { applyEdits } = await fromDist<typeof import('../src/interfaces/edits.ts')>('interfaces/edits.js');
const { planUpdate } = await fromDist<typeof import('../src/model/edit.ts')>('model/edit.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function p(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
}
const fmt = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);

const N = 4094;
const text = bridgesFile(N);
const rows: string[][] = [];

/** In-process timings in this process (run as a child with the flags under test). */
function inProcess(): { parse: number[]; model: number[]; edit: number[] } {
  const times = { parse: [] as number[], model: [] as number[], edit: [] as number[] };
  // parse + model alone (as `nodenet check` and the API's reads do), 10 warm-up runs
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    const doc = parse(text);
    const t1 = performance.now();
    buildModel(doc);
    const t2 = performance.now();
    if (i >= 10) {
      times.parse.push(t1 - t0);
      times.model.push(t2 - t0);
    }
  }
  // then the edit itself on a parsed file: plan + apply the text edits
  const doc = parse(text);
  const model = buildModel(doc);
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    applyEdits(text, planUpdate(doc, model, 'vmbr2000', { mtu: '9000' }, []));
    if (i >= 10) times.edit.push(performance.now() - t0);
  }
  return times;
}

if (process.argv.includes('--inproc')) {
  console.log(JSON.stringify(inProcess()));
  process.exit(0);
}

// Measure in two fresh processes: node's default heap, and the flags bin/nodenet runs with.
for (const [label, flags] of [
  ['default V8 flags', [] as string[]],
  ["nodenet's flags (--max-semi-space-size=64)", ['--max-semi-space-size=64']],
] as const) {
  const out = execFileSync(
    process.execPath,
    [...flags, '--import', 'tsx', fileURLToPath(import.meta.url), '--inproc'],
    { encoding: 'utf8' },
  );
  const times = JSON.parse(out) as { parse: number[]; model: number[]; edit: number[] };
  rows.push([
    `nodenet parse, in-process, ${label}`,
    `${N} bridges (${text.split('\n').length} lines)`,
    fmt(median(times.parse)),
    fmt(p(times.parse, 0.95)),
  ]);
  rows.push([
    `nodenet parse + model, in-process, ${label}`,
    `${N} bridges`,
    fmt(median(times.model)),
    fmt(p(times.model, 0.95)),
  ]);
  if (flags.length)
    rows.push([
      'nodenet plan + apply a one-option edit, in-process',
      `${N} bridges`,
      fmt(median(times.edit)),
      fmt(p(times.edit, 0.95)),
    ]);
}

if (!process.argv.includes('--no-ifquery')) {
  const { NetnsSandbox } = await import('../src/apply/netns.ts');
  const { prepareUnpackedIfupdown2 } = await import('../src/apply/ifupdown2.ts');
  const install = await prepareUnpackedIfupdown2();
  const root = mkdtempSync(join(tmpdir(), 'nodenet-bench-'));
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  const file = join(root, 'bridges.interfaces');
  writeFileSync(file, text);
  writeFileSync(join(root, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n');
  const sb = new NetnsSandbox({ root, install });
  try {
    await sb.ensure([]);
    const bin = new URL('../bin/nodenet', import.meta.url).pathname;
    const run = async (argv: string[]) => {
      const t0 = performance.now();
      const r = await sb.exec(argv);
      const dt = performance.now() - t0;
      return { dt, r };
    };
    const ours: number[] = [];
    const theirs: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 11; i++) {
      const a = await run([process.execPath, bin, 'check', file, '--output-format', 'json']);
      const b = await run([install.commands.ifquery, '-a', '-i', file]);
      const c = await run([process.execPath, '-e', '0']);
      if (i === 0) {
        if (a.r.code > 1) throw new Error(`nodenet check failed: ${a.r.stderr}`);
        if (b.r.code !== 0) throw new Error(`ifquery failed: ${b.r.stderr}`);
        continue; // warm-up (page cache)
      }
      ours.push(a.dt);
      theirs.push(b.dt);
      bare.push(c.dt);
    }
    rows.push([
      '`nodenet check FILE` (whole process: parse, model, validate)',
      `${N} bridges`,
      fmt(median(ours)),
      fmt(p(ours, 0.95)),
    ]);
    rows.push([
      `\`ifquery -a -i FILE\` (Debian ifupdown2 ${install.version}, parse only)`,
      `${N} bridges`,
      fmt(median(theirs)),
      fmt(p(theirs, 0.95)),
    ]);
    rows.push(['`node -e 0` (Node.js start-up alone, same sandbox entry)', '', fmt(median(bare)), fmt(p(bare, 0.95))]);
    rows.push([
      'speed-up of `nodenet check` over `ifquery -a`',
      '',
      `${(median(theirs) / median(ours)).toFixed(1)}×`,
      '',
    ]);
    rows.push([
      'ceiling: `ifquery -a` over bare Node.js start-up',
      '',
      `${(median(theirs) / median(bare)).toFixed(1)}×`,
      '',
    ]);
  } finally {
    await sb.destroy();
    rmSync(root, { recursive: true, force: true });
  }
}

console.log('| what | input | median | p95 |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
