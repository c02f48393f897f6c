/**
 * Targeted reload vs `ifreload -a` on a large file, in two netns sandboxes (root needed).
 *
 *   node --import tsx test/netns/targeted-reload.bench.ts [N=1000]
 *
 * Each sandbox gets the same N-bridge file (applied cold with `ifreload -a`), then the same three
 * one-bridge changes: add vmbrN, readdress vmbr5, remove vmbrN. Sandbox A applies them targeted
 * (ifdown/ifup -w of the named interfaces), sandbox B with `ifreload -a`. After every step the
 * normalised kernel states of A and B must be equal. Prints one line per step and a JSON summary.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetnsBackend, type NetnsBackend, type ReloadPlan } from '../src/apply/backend.ts';
import { diffStates } from '../src/apply/state.ts';

const n = Number(process.argv[2] ?? '1000');

function bridge(i: number, addr?: string): string {
  const a = addr ?? `10.${i >> 8}.${i & 255}.1/24`;
  return `auto vmbr${i}\niface vmbr${i} inet static\n\taddress ${a}\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
function file(count: number, opts: { extra?: boolean; readdress?: boolean } = {}): string {
  let s = 'auto lo\niface lo inet loopback\n\n';
  for (let i = 0; i < count; i++) s += bridge(i, opts.readdress === true && i === 5 ? '10.250.5.1/24' : undefined);
  if (opts.extra === true) s += bridge(count, '10.251.0.1/24');
  return s;
}

const steps: { name: string; text: string; plan: ReloadPlan }[] = [
  { name: `add vmbr${n}`, text: file(n, { extra: true }), plan: { up: [`vmbr${n}`], down: [] } },
  { name: 'readdress vmbr5', text: file(n, { extra: true, readdress: true }), plan: { up: ['vmbr5'], down: [] } },
  { name: `remove vmbr${n}`, text: file(n, { readdress: true }), plan: { up: [], down: [`vmbr${n}`] } },
];

const roots: string[] = [];
const backends: NetnsBackend[] = [];
async function sandbox(): Promise<{ root: string; be: NetnsBackend }> {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-bench-'));
  roots.push(root);
  mkdirSync(join(root, 'etc', 'network'), { recursive: true });
  writeFileSync(join(root, 'etc', 'network', 'interfaces'), file(n));
  const be = createNetnsBackend({ root });
  backends.push(be);
  await be.prepare([]);
  const t0 = performance.now();
  const r = await be.reload({ all: true }, () => undefined);
  console.log(`cold ifreload -a of ${n} bridges: ${((performance.now() - t0) / 1000).toFixed(2)} s (rc ${r.code})`);
  return { root, be };
}

const summary: Record<string, { targeted_s: number; full_s: number; equal: boolean }> = {};
try {
  const a = await sandbox();
  const b = await sandbox();
  for (const step of steps) {
    const times: number[] = [];
    for (const [s, plan] of [
      [a, step.plan],
      [b, { all: true }],
    ] as const) {
      writeFileSync(join(s.root, 'etc', 'network', 'interfaces'), step.text);
      const t0 = performance.now();
      const r = await s.be.reload(plan, () => undefined);
      times.push((performance.now() - t0) / 1000);
      if (r.code !== 0) console.log(`  rc ${r.code}: ${r.errors.map((e) => e.message).join('; ')}`);
    }
    const diff = diffStates(await a.be.readState(), await b.be.readState(), ['targeted', 'full']);
    const [t = 0, f = 0] = times;
    summary[step.name] = { targeted_s: +t.toFixed(2), full_s: +f.toFixed(2), equal: diff.length === 0 };
    console.log(`${step.name}: targeted ${t.toFixed(2)} s, ifreload -a ${f.toFixed(2)} s, ${(f / t).toFixed(1)}x, states ${diff.length === 0 ? 'equal' : `differ: ${diff.map((d) => d.message).join('; ')}`}`);
  }
  console.log(JSON.stringify({ bridges: n, steps: summary }));
} finally {
  for (const be of backends) await be.destroy().catch((e: unknown) => console.error(e));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
}
