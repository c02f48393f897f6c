/**
 * A targeted `ifup -w NAMES` that reads only the stanzas it can reach (`ifup -i -`, plan.ts
 * narrowUpFile) instead of the whole file, with the real ifupdown2 in the netns backend, warm
 * and cold:
 * - ifupdown2's own reading of the narrowed file (`ifquery -i - NAMES`) equals its reading of the
 *   whole file (`ifquery NAMES`) for every interface the narrowed file holds;
 * - the kernel state after the narrowed reload equals the one after `ifreload -a` of the whole
 *   file, and a later `ifreload -a` has nothing left to do (ifupdown2's saved state is right).
 * The file has bridges on NICs (one with the gateway) and filler bridges that the narrowed file
 * must leave out. (VLANs and bonds: this kernel's namespaces have no 8021q; the closure over
 * them is checked in src/apply/plan.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend, type ReloadPlan } from '../../src/apply/backend.ts';
import { modelOf } from '../../src/apply/pipeline.ts';
import { decideReload, narrowUpFile } from '../../src/apply/plan.ts';
import { diffStates, type KernelState } from '../../src/apply/state.ts';
import { LO, makeRoot, removeRoot, skipUnlessReady, writeInterfaces } from './helpers.ts';

const PORTS = 'iface eno1 inet manual\n\niface eno2 inet manual\n\n';
function vmbr(n: number, address: string, ports = 'none'): string {
  return `auto vmbr${n}\niface vmbr${n} inet static\n\taddress ${address}\n\tbridge-ports ${ports}\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
const VMBR0 = vmbr(0, '192.168.100.2/24', 'eno1').replace('\tbridge-ports', '\tgateway 192.168.100.1\n\tbridge-ports');
function filler(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += vmbr(i, `10.9.${i}.1/24`);
  return s;
}
const file = (o: { v0?: string; v2?: string; extra?: string } = {}): string =>
  LO + PORTS + (o.v0 ?? VMBR0) + (o.v2 ?? vmbr(2, '172.16.2.1/24', 'eno2')) + filler(10, 30) + (o.extra ?? '');
const BASE = file();

const cases: { name: string; after: string; up: string[]; reads: string[] }[] = [
  {
    name: 'a new bridge',
    after: file({ extra: filler(30, 31) }),
    up: ['vmbr30'],
    reads: ['lo', 'vmbr30'],
  },
  {
    name: 'the bridge with the gateway readdressed',
    after: file({ v0: VMBR0.replace('192.168.100.2/24', '192.168.100.3/24') }),
    up: ['vmbr0'],
    reads: ['lo', 'eno1', 'vmbr0'],
  },
  {
    name: 'a port moved to a new bridge',
    after: file({ v2: vmbr(2, '172.16.2.1/24'), extra: vmbr(3, '172.16.3.1/24', 'eno2') }),
    up: ['vmbr2', 'vmbr3'],
    reads: ['lo', 'eno2', 'vmbr2', 'vmbr3'],
  },
  {
    name: 'a bridge loses its port',
    after: file({ v2: vmbr(2, '172.16.2.1/24') }),
    up: ['vmbr2'],
    reads: ['lo', 'eno2', 'vmbr2'],
  },
];

describe('ifup of the narrowed file equals ifreload -a of the whole file', { skip: skipUnlessReady() }, () => {
  const roots: string[] = [];
  const backends: NetnsBackend[] = [];
  after(async () => {
    for (const be of backends) await be.destroy().catch(() => undefined);
    for (const r of roots) removeRoot(r);
  });

  async function run(
    c: (typeof cases)[number],
    narrowed: boolean,
    warm = true,
  ): Promise<{ state: KernelState; again: KernelState; code: number; log: string[]; query?: [string, string] }> {
    const root = makeRoot(BASE);
    roots.push(root);
    const be = createNetnsBackend({ root, warm });
    backends.push(be);
    try {
      await be.prepare(['eno1', 'eno2']);
      assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
      writeInterfaces(root, c.after);
      let plan: ReloadPlan = { all: true };
      let query: [string, string] | undefined;
      if (narrowed) {
        const d = decideReload(modelOf(BASE), modelOf(c.after));
        assert.deepEqual(d.plan, { up: c.up, down: [] }, d.reason);
        const n = narrowUpFile(modelOf(c.after), [c.after], c.up, {
          before: modelOf(BASE),
          state: await be.readState(),
        });
        assert.equal(n.reason, undefined);
        assert.deepEqual(n.file?.names, c.reads);
        plan = { ...d.plan, ...(n.file ? { upFile: n.file } : {}) };
        // ifupdown2's own reading of both files, for the interfaces the narrowed one holds
        const sb = await be.sandbox();
        const names = n.file?.names ?? [];
        const whole = await sb.exec(['ifquery', ...names]);
        const part = await sb.exec(['ifquery', '-i', '-', ...names], { input: n.file?.text ?? '' });
        assert.equal(whole.code, 0, whole.stderr);
        assert.equal(part.code, 0, part.stderr);
        query = [whole.stdout, part.stdout];
      }
      const r = await be.reload(plan, () => undefined);
      if (narrowed && warm) {
        assert.ok(!r.log.some((l) => l.startsWith('nodenet: warm')), r.log.join('\n'));
        assert.equal((await be.warm())?.stats.warm, 1, 'ran in the warm worker');
      }
      const state = await be.readState();
      await be.reload({ all: true }, () => undefined);
      return { state, again: await be.readState(), code: r.code, log: r.log, ...(query ? { query } : {}) };
    } finally {
      await be.destroy();
      removeRoot(root);
    }
  }

  for (const c of cases) {
    test(c.name, async () => {
      const full = await run(c, false);
      assert.equal(full.code, 0);
      for (const warm of [true, false]) {
        const how = warm ? 'warm' : 'cold';
        const t = await run(c, true, warm);
        assert.equal(t.code, 0, `${how}: ${t.log.join('\n')}`);
        assert.ok(
          t.log.includes(`$ ifup -w ${c.up.join(' ')} -i -`),
          `${how}: the narrowed file was given: ${t.log.join('\n')}`,
        );
        const [whole, narrowed] = t.query ?? ['', ''];
        assert.ok(whole.includes(`iface ${c.up[0] ?? ''}`), whole);
        assert.equal(narrowed, whole, `${how}: ifupdown2 reads the narrowed file as the whole one`);
        assert.deepEqual(diffStates(full.state, t.state, ['full', `narrowed (${how})`]), []);
        assert.deepEqual(t.state, full.state, how);
        assert.deepEqual(diffStates(t.state, t.again), [], `${how}: a later ifreload -a has nothing left to do`);
      }
    });
  }
});
