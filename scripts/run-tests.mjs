#!/usr/bin/env node
// Runs nodenet's test suites with Node's own test runner (TypeScript through tsx).
//   node scripts/run-tests.mjs            unit + engine + validate + api + netns (+ kernel when KERNEL=1 or CI=true)
//   node scripts/run-tests.mjs --unit     only the fast in-process tests
//   node scripts/run-tests.mjs --kernel   only the QEMU kernel tier
//   node scripts/run-tests.mjs --fullsystem   only the full-system tier (booted Debian + the .deb)
//   node scripts/run-tests.mjs FILE...    just these files
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);

function find(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const all = [...find(join(root, 'src')), ...find(join(root, 'test'))];
const isFullSystem = (f) => f.startsWith('test/fullsystem/');
const isKernel = (f) => f.startsWith('test/kernel/') || isFullSystem(f);
const isSlow = (f) =>
  f.startsWith('test/netns/') ||
  f.startsWith('test/node/') ||
  f.startsWith('test/api/') ||
  f.startsWith('test/web/') ||
  f.startsWith('test/fleet/') ||
  isKernel(f);
let files;
if (args.includes('--unit')) files = all.filter((f) => !isSlow(f));
else if (args.includes('--fullsystem')) files = all.filter(isFullSystem);
else if (args.includes('--kernel')) files = all.filter((f) => isKernel(f) && !isFullSystem(f));
else if (args.some((a) => !a.startsWith('--'))) files = args.filter((a) => !a.startsWith('--'));
else
  files = all.filter(
    (f) =>
      !isKernel(f) ||
      process.env.CI === 'true' ||
      (isFullSystem(f) ? process.env.FULLSYSTEM === '1' : process.env.KERNEL === '1'),
  );

if (!files.length) {
  console.error('no test files found');
  process.exit(1);
}
// Namespace and VM tests share the machine's namespaces and CPU: run files one at a time.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
