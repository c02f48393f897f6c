#!/usr/bin/env node
// npm run bench: runs every benchmark in bench/ one after the other (they compete for the
// same 2 cores otherwise) and prints their markdown tables. Results are recorded by hand in
// bench/README.md together with the machine state they were measured on.
//   node scripts/bench.mjs [NAME...]    e.g. node scripts/bench.mjs engine validate
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const all = [
  ['engine', 'bench/engine.ts', []],
  ['validate', 'bench/validate.ts', []],
  ['fuzz', 'bench/fuzz.ts', ['100000']],
  ['targeted-reload', 'bench/targeted-reload.ts', ['1000']],
  // one new bridge through the API of a real `nodenet serve` (netns, warm) vs a full re-apply,
  // on the installer-shaped file, and through the CLI (the server's socket); 4094 by hand:
  //   node --import tsx bench/api-apply.ts 4094 --steps 1
  ['api-apply', 'bench/api-apply.ts', ['1000', '--cli']],
  // the host ifupdown2 backend warm (serve) vs cold (CLI alone) in the QEMU kernel tier
  ['host-warm', 'bench/host-warm.ts', ['300']],
  ['api-load', 'bench/api-load.ts', []],
  ['web-render', 'bench/web-render.ts', []],
  ['startup', 'bench/startup.ts', ['15']],
  // 50 agents (4 on netns) on one etcd, one server: registration, idle load, memory, GETs,
  // one bridge on every node without and with a rollout (bench/README.md, fleet)
  ['fleet', 'bench/fleet.ts', ['50']],
];
const want = process.argv.slice(2);
let failed = 0;
for (const [name, file, args] of all) {
  if (want.length && !want.includes(name)) continue;
  if (!existsSync(new URL(file, `file://${root}/`))) {
    console.log(`\n## ${name}: ${file} not present, skipped`);
    continue;
  }
  console.log(`\n## ${name} (${file})\n`);
  // The V8 flags bin/nodenet runs with (its first line), so in-process figures match the product.
  const r = spawnSync(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', file, ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.log(`\n${name}: exited with ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
