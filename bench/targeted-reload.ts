/**
 * Targeted reload vs `ifreload -a` on a large file, in three netns sandboxes (root needed).
 *
 *   node --import tsx bench/targeted-reload.ts [N=1000]      (or: node scripts/bench.mjs targeted-reload)
 *
 * Each sandbox gets the same N-bridge file, shaped as the Proxmox VE installer writes it (a
 * `source /etc/network/interfaces.d/*` line at the end), applied cold with `ifreload -a`, then the same three
 * one-bridge changes: add vmbrN, readdress vmbr5, remove vmbrN. Each change is applied
 *   - warm:  targeted (ifdown/ifup -w of the named interfaces) in the backend's warm ifupdown2
 *            worker, started once beforehand: what `nodenet serve` gets, its backend lives on;
 *   - cold:  targeted, every command its own ifupdown2 process (`warm: false`);
 *   - full:  `ifreload -a`, as Proxmox VE's Apply does.
 * After every step the normalised kernel states of warm and cold must equal full's. Prints one
 * line per step and a JSON summary.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetnsBackend, type NetnsBackend, type ReloadPlan } from '../src/apply/backend.ts';
import { diffStates } from '../src/apply/state.ts';

const n = Number(process.argv[2] ?? '1000');

function bridge(i: number, addr?: string): string {
  const a = addr ?? `10.${i >> 8}.${i & 255}.1/24`;
  return `auto vmbr${i}\niface vmbr${i} inet static\n\taddress ${a}\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
/** Installer-shaped: the bridges, then `source /etc/network/interfaces.d/*` (an empty directory). */
function file(count: number, opts: { extra?: boolean; readdress?: boolean } = {}): string {
  let s = 'auto lo\niface lo inet loopback\n\n';
  for (let i = 0; i < count; i++) s += bridge(i, opts.readdress === true && i === 5 ? '10.250.5.1/24' : undefined);
  if (opts.extra === true) s += bridge(count, '10.251.0.1/24');
  return `${s}source /etc/network/interfaces.d/*\n`;
}

const steps: { name: string; text: string; plan: ReloadPlan }[] = [
  { name: `add vmbr${n}`, text: file(n, { extra: true }), plan: { up: [`vmbr${n}`], down: [] } },
  { name: 'readdress vmbr5', text: file(n, { extra: true, readdress: true }), plan: { up: ['vmbr5'], down: [] } },
  { name: `remove vmbr${n}`, text: file(n, { readdress: true }), plan: { up: [], down: [`vmbr${n}`] } },
];

type Mode = 'warm' | 'cold' | 'full';
interface Box {
  mode: Mode;
  root: string;
  be: NetnsBackend;
}

const roots: string[] = [];
const backends: NetnsBackend[] = [];
const secs = (t0: number): number => (performance.now() - t0) / 1000;

async function sandbox(mode: Mode): Promise<Box> {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-bench-'));
  roots.push(root);
  mkdirSync(join(root, 'etc', 'network', 'interfaces.d'), { recursive: true });
  writeFileSync(join(root, 'etc', 'network', 'interfaces'), file(n));
  const be = createNetnsBackend({ root, warm: mode === 'warm' });
  backends.push(be);
  await be.prepare([]);
  const t0 = performance.now();
  const r = await be.reload({ all: true }, () => undefined);
  console.log(`${mode}: cold ifreload -a of ${n} bridges: ${secs(t0).toFixed(2)} s (rc ${r.code})`);
  return { mode, root, be };
}

/** As the apply pipeline does: a new file renamed over the live one. */
function install(root: string, text: string): void {
  const p = join(root, 'etc', 'network', 'interfaces');
  writeFileSync(`${p}.tmp`, text);
  renameSync(`${p}.tmp`, p);
}

const summary: Record<string, { warm_s: number; cold_s: number; full_s: number; equal: boolean }> = {};
try {
  const boxes = [await sandbox('warm'), await sandbox('cold'), await sandbox('full')];
  const [warm, , full] = boxes as [Box, Box, Box];
  const worker = await warm.be.warm();
  const t0 = performance.now();
  const started = await worker?.start();
  const rss = (): string => {
    try {
      return `${(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${worker?.pid}/status`, 'utf8'))?.[1]) / 1024).toFixed(0)} MB`;
    } catch {
      return '?';
    }
  };
  console.log(
    `warm worker start (python, imports, netlink cache of ${n} bridges): ${secs(t0).toFixed(2)} s (worker: ${worker?.stats.lastStartMs ?? '?'} ms, ready ${started}), RSS ${rss()}`,
  );
  for (const step of steps) {
    const t: Partial<Record<Mode, number>> = {};
    for (const b of boxes) {
      install(b.root, step.text);
      const t1 = performance.now();
      const r = await b.be.reload(b.mode === 'full' ? { all: true } : step.plan, () => undefined);
      t[b.mode] = secs(t1);
      if (r.code !== 0) console.log(`  ${b.mode} rc ${r.code}: ${r.errors.map((e) => e.message).join('; ')}`);
      for (const l of r.log) if (l.startsWith('nodenet: warm')) console.log(`  ${b.mode}: ${l}`);
    }
    const ref = await full.be.readState();
    const diffs: string[] = [];
    for (const b of boxes.slice(0, 2)) {
      for (const d of diffStates(ref, await b.be.readState(), ['ifreload -a', b.mode]))
        diffs.push(`${b.mode}: ${d.message}`);
    }
    const w = t.warm ?? 0;
    const c = t.cold ?? 0;
    const f = t.full ?? 0;
    summary[step.name] = {
      warm_s: +w.toFixed(3),
      cold_s: +c.toFixed(2),
      full_s: +f.toFixed(2),
      equal: diffs.length === 0,
    };
    console.log(
      `${step.name}: warm ${w.toFixed(3)} s (${(f / w).toFixed(1)}x), cold ${c.toFixed(2)} s (${(f / c).toFixed(1)}x), ifreload -a ${f.toFixed(2)} s; ` +
        `states ${diffs.length === 0 ? 'equal' : `differ: ${diffs.join('; ')}`}`,
    );
  }
  const st = worker?.stats;
  console.log(
    `warm worker: ${st?.warm ?? 0} commands warm, ${st?.cold ?? 0} cold, ${st?.starts ?? 0} start(s), RSS ${rss()}`,
  );
  console.log(JSON.stringify({ bridges: n, workerStartMs: st?.lastStartMs, steps: summary }));
} finally {
  for (const be of backends) await be.destroy().catch((e: unknown) => console.error(e));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
}
