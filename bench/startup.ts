/**
 * CLI start-up (issue 16): whole `nodenet` processes as the .deb installs them (the esbuild
 * bundle, /usr/lib/nodenet/bin/nodenet) next to `node -e 0` and Debian's `ifquery -a`, run
 * interleaved in one loop so load from other jobs hits all of them alike.
 *   node --import tsx bench/startup.ts [RUNS]
 * Also measured: the unbundled tsc output (bin/nodenet over dist/, as `npm run build` leaves
 * it) and the bundle with and without V8's --max-semi-space-size=64.
 * Like bench/engine.ts every process is entered through the same netns sandbox entry, since
 * ifquery needs a private /run/network and /etc/network.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bridgesFile } from './gen.ts';

const RUNS = Number(process.argv[2] ?? 15);
const repo = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'nodenet-startup-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;

// The package as it installs.
const out = execFileSync(process.execPath, [join(repo, 'scripts/package.mjs'), '--out', join(work, 'pkg')], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'ignore'],
});
const deb = out.trim().split('\n').pop()!;
execFileSync('dpkg-deb', ['-x', deb, join(work, 'x')]);
const pkgBin = join(work, 'x/usr/lib/nodenet/bin/nodenet');
const bundle = join(work, 'x/usr/lib/nodenet/dist/cli/main.js');
const shebang = readFileSync(pkgBin, 'utf8').split('\n')[0]!;
const distBin = join(repo, 'bin/nodenet');
if (!existsSync(join(repo, 'dist/cli/main.js')))
  throw new Error('dist/ is missing: npm run build (npm run bench does)');

const typical = join(repo, 'test/fixtures/corpus/03-bridged-default.interfaces');
const big = join(work, 'bridges.interfaces');
writeFileSync(big, bridgesFile(4094));
const root = join(work, 'root');
mkdirSync(join(root, 'etc/network'), { recursive: true });
writeFileSync(join(root, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n');

const { NetnsSandbox } = await import('../src/apply/netns.ts');
const { prepareUnpackedIfupdown2 } = await import('../src/apply/ifupdown2.ts');
const install = await prepareUnpackedIfupdown2();
const sb = new NetnsSandbox({ root, install });
const node = process.execPath;
// A running `nodenet serve` (the package's) with its CLI socket, as nodenet.service runs it.
const sock = join(work, 'cli.sock');
const server = spawn(pkgBin, ['--root', root, '--backend', 'none', 'serve', '--listen', '127.0.0.1:0'], {
  env: { ...process.env, NODENET_CLI_SOCKET: sock },
  stdio: 'ignore',
});
for (let i = 0; i < 600 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
if (!existsSync(sock)) throw new Error('nodenet serve did not open its CLI socket');
const viaSock = ['/usr/bin/env', `NODENET_CLI_SOCKET=${sock}`, pkgBin];
const semi = '--max-semi-space-size=64';
const cases: [string, string[]][] = [
  ['`node -e 0`', [node, '-e', '0']],
  [`\`nodenet --version\` (package: ${shebang.slice(2)})`, [pkgBin, '--version']],
  [
    '`nodenet check` typical file (package, answered by a running serve over its socket)',
    [...viaSock, 'check', typical],
  ],
  ['`nodenet check` typical file (package, no serve running)', [pkgBin, 'check', typical]],
  [
    '`nodenet check` typical file (bundle, no V8 flag)',
    [node, bundle.replace(/dist\/cli\/main\.js$/, 'bin/nodenet'), 'check', typical],
  ],
  [
    `\`nodenet check\` typical file (bundle, ${semi})`,
    [node, semi, bundle.replace(/dist\/cli\/main\.js$/, 'bin/nodenet'), 'check', typical],
  ],
  [`\`nodenet check\` typical file (unbundled dist/, ${semi})`, [node, semi, distBin, 'check', typical]],
  ['`nodenet check` 4094 bridges (package, answered by a running serve over its socket)', [...viaSock, 'check', big]],
  ['`nodenet check` 4094 bridges (package, no serve running)', [pkgBin, 'check', big]],
  [
    '`nodenet check` 4094 bridges (bundle, no V8 flag)',
    [node, bundle.replace(/dist\/cli\/main\.js$/, 'bin/nodenet'), 'check', big],
  ],
  [`\`nodenet check\` 4094 bridges (unbundled dist/, ${semi})`, [node, semi, distBin, 'check', big]],
  [`\`ifquery -a -i FILE\` 4094 bridges (ifupdown2 ${install.version})`, [install.commands.ifquery, '-a', '-i', big]],
];
const times = cases.map(() => [] as number[]);
try {
  await sb.ensure([]);
  for (let i = 0; i <= RUNS; i++) {
    for (const [j, [, argv]] of cases.entries()) {
      const t0 = performance.now();
      const r = await sb.exec(argv);
      const dt = performance.now() - t0;
      if (r.code > 1) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
      if (i > 0) times[j]!.push(dt); // run 0: warm-up (page cache)
    }
  }
} finally {
  server.kill('SIGTERM');
  await sb.destroy();
  rmSync(work, { recursive: true, force: true });
}
const base = median(times[0]!);
const ifq = median(times[times.length - 1]!);
console.log(
  `| process (${RUNS} runs, interleaved) | median | p95 | × node -e 0 | ifquery ÷ this |\n|---|---|---|---|---|`,
);
for (const [j, [label]] of cases.entries()) {
  const m = median(times[j]!);
  console.log(
    `| ${label} | ${m.toFixed(0)} ms | ${p95(times[j]!).toFixed(0)} ms | ${(m / base).toFixed(2)} | ${label.includes('4094') ? `${(ifq / m).toFixed(1)}×` : ''} |`,
  );
}
