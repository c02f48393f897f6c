import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { NetworkCore } from '../core/network.ts';
import { NodenetError } from '../errors.ts';
import { ConfigStore } from '../store/store.ts';
import type { Backend, ReloadPlan } from './backend.ts';
import { journalPath, loaderArgs, readJournal, writeJournal } from './guard.ts';
import { listHistory, readPrevious, HISTORY_KEEP } from './history.ts';
import {
  applyStaged,
  changedInterfaces,
  confirmApply,
  judgeVerify,
  modelOf,
  planReload,
  rollbackPending,
  rollbackTo,
  verifyLive,
} from './pipeline.ts';
import { emptyKernelState, type KernelState } from './state.ts';
import { verifyState } from './verify.ts';

const LO = 'auto lo\niface lo inet loopback\n\n';
const file = (addr: string): string =>
  `${LO}iface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress ${addr}\n\tgateway 192.168.100.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n`;

/** A kernel that does what the live file says, unless told to break. */
function fakeBackend(root: string): Backend & {
  state: KernelState;
  breakNext: boolean;
  reloads: ReloadPlan[];
  hold?: Promise<void> | undefined;
  cannot: Set<string>;
  lowMtu: { names: string[]; times: number };
} {
  const be = {
    kind: 'netns' as const, // anything but none: none skips verification
    state: emptyKernelState(),
    breakNext: false,
    reloads: [] as ReloadPlan[],
    /** Interfaces this kernel cannot make (like a bond without the bonding module). */
    cannot: new Set<string>(),
    /** Interfaces the next `times` reloads leave at MTU 0 with no address (ifupdown2's cache race). */
    lowMtu: { names: [] as string[], times: 0 },
    hold: undefined as Promise<void> | undefined,
    describe: () => Promise.resolve('fake'),
    prepare: () => Promise.resolve(),
    async reload(plan: ReloadPlan, log: (l: string) => void) {
      be.reloads.push(plan);
      if (be.hold !== undefined) await be.hold;
      const m = modelOf(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'));
      const s = emptyKernelState();
      for (const i of m.ifaces.values()) {
        if (i.name === 'lo' || be.cannot.has(i.name)) continue;
        s.interfaces.push({
          name: i.name,
          kind: i.bridge ? 'bridge' : 'veth',
          up: i.autostart,
          mtu: 1500,
          addresses: i.stanzas.flatMap((st) => st.addresses.map((a) => `${a.ip}/${a.prefix}`)),
        });
        for (const st of i.stanzas)
          for (const g of st.gateways)
            s.routes.push({ family: 'inet', dst: 'default', gateway: g.value, dev: i.name, flags: [] });
      }
      for (const i of m.ifaces.values())
        for (const p of i.bridge?.ports ?? []) {
          const k = s.interfaces.find((x) => x.name === p);
          if (k) {
            k.master = i.name;
            k.up = true;
          }
        }
      if (be.breakNext) {
        be.breakNext = false;
        for (const k of s.interfaces) k.addresses = [];
      }
      if (be.lowMtu.times > 0) {
        be.lowMtu.times--;
        for (const k of s.interfaces)
          if (be.lowMtu.names.includes(k.name)) {
            k.mtu = 0;
            k.addresses = [];
          }
      }
      be.state = s;
      log('fake reload');
      return { code: 0, log: ['fake reload'], errors: [] };
    },
    readState: () => Promise.resolve(structuredClone(be.state)),
    check: () => Promise.resolve({ code: 0, ifaces: [] }),
    exec: () => Promise.reject(new Error('no exec')),
  };
  return be;
}

describe('apply pipeline (fake backend)', () => {
  let root: string;
  let be: ReturnType<typeof fakeBackend>;
  const lines: string[] = [];
  const log = (l: string): void => void lines.push(l);
  const stage = async (text: string): Promise<void> => {
    await new ConfigStore(root).update(() => text);
  };
  const live = (): string => readFileSync(join(root, 'etc/network/interfaces'), 'utf8');
  const noGuard = (): undefined => undefined;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'nodenet-pipeline-'));
    mkdirSync(join(root, 'etc/network'), { recursive: true });
    writeFileSync(join(root, 'etc/network/interfaces'), file('192.168.100.2/24'));
    be = fakeBackend(root);
    await be.reload({ all: true }, () => undefined);
    lines.length = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('applies, verifies, commits and records history', async () => {
    await stage(file('192.168.100.3/24'));
    const r = await applyStaged({ root, backend: be, user: 'root@pam', log });
    assert.equal(r.entry.outcome, 'committed');
    assert.deepEqual(r.entry.changed, ['vmbr0']);
    assert.ok(r.verify.ok);
    assert.equal(live(), file('192.168.100.3/24'));
    assert.equal(existsSync(join(root, 'etc/network/interfaces.new')), false);
    const h = await listHistory(join(root, 'var/lib/nodenet'));
    assert.equal(h.length, 1);
    assert.equal(await readPrevious(join(root, 'var/lib/nodenet'), 1), file('192.168.100.2/24'));
    assert.ok(lines.some((l) => l.startsWith('history: recorded entry #1')));
    assert.ok(lines.includes('verify: ok'));
  });

  test('an interface the reload left at MTU 0 is brought up again alone, then verified', async () => {
    await stage(file('192.168.100.3/24'));
    be.lowMtu = { names: ['vmbr0'], times: 1 };
    const r = await applyStaged({ root, backend: be, user: 'u', log });
    assert.ok(
      lines.includes(
        "reload: vmbr0 (mtu 0) left under IPv4's minimum MTU by ifupdown2 (it read a lower device's MTU " +
          "from its netlink cache before the kernel's update): up again, alone",
      ),
      lines.join('\n'),
    );
    assert.deepEqual(be.reloads.at(-1), { up: [], down: [], again: ['vmbr0'] });
    assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
    // the repair does not help: verify says why the apply failed
    await stage(file('192.168.100.4/24'));
    be.lowMtu = { names: ['vmbr0'], times: 2 };
    lines.length = 0;
    const bad = await applyStaged({ root, backend: be, user: 'u', log });
    assert.equal(bad.entry.outcome, 'failed');
    assert.ok(
      bad.verify.differences.some(
        (d) =>
          d.severity === 'critical' && d.message === "vmbr0: mtu 0, under IPv4's minimum of 68 (the file sets none)",
      ),
      lines.join('\n'),
    );
  });

  test("validates with the caller's core: the NICs the edit saw, not a core that knows no host", async () => {
    // enp9s0 is a card name, but this host's card is eno1: the edit warns, and so must the apply
    const text = file('192.168.100.2/24').replaceAll('eno1', 'enp9s0');
    await stage(text);
    const core = new NetworkCore({ root, nics: new Set(['eno1']) });
    assert.ok((await core.check()).some((d) => d.code === 'NIC_NOT_ON_HOST'));
    const r = await applyStaged({ root, backend: be, user: 'u', log, core });
    assert.deepEqual(
      r.diagnostics.filter((d) => d.code === 'NIC_NOT_ON_HOST').map((d) => d.iface),
      ['vmbr0'],
    );
    // rollback validates with it too
    const b = await rollbackTo({
      root,
      backend: be,
      user: 'u',
      log,
      core: new NetworkCore({ root, nics: new Set(['enp9s0']) }),
    });
    assert.deepEqual(
      b.diagnostics.filter((d) => d.code === 'NIC_NOT_ON_HOST').map((d) => d.iface),
      ['vmbr0'],
    );
  });

  test('drift from before the apply on interfaces it did not change is reported, never rolled back', async () => {
    // bond0 cannot come up on this kernel (no bonding): the live file already has it, as drift
    const withBond = `${file('192.168.100.2/24')}\nauto bond0\niface bond0 inet static\n\taddress 10.50.0.1/24\n`;
    be.cannot.add('bond0');
    writeFileSync(join(root, 'etc/network/interfaces'), withBond);
    await be.reload({ all: true }, () => undefined);
    assert.equal(verifyState(modelOf(withBond), be.state).ok, false);
    // the admin's first apply: a new bridge, inside a confirm window
    await stage(`${withBond}\nauto vmbr5\niface vmbr5 inet static\n\taddress 10.5.0.1/24\n\tbridge-ports none\n`);
    const r = await applyStaged({ root, backend: be, user: 'u', log, confirmTimeout: 30, startGuard: noGuard });
    assert.equal(r.entry.outcome, 'pending-confirm');
    // a targeted reload verifies what it touched (bond0 is not among it): never blamed on it
    assert.ok(
      lines.some((l) => /^verify: the interfaces the reload touched: vmbr5$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(!lines.some((l) => /FAILED|bond0/.test(l)), lines.join('\n'));
    await confirmApply({ root, user: 'u' });
    // an apply that changes the broken interface itself is judged by it: rolled back
    lines.length = 0;
    await stage(withBond.replace('10.50.0.1/24', '10.50.0.2/24'));
    const r2 = await applyStaged({ root, backend: be, user: 'u', log, confirmTimeout: 30, startGuard: noGuard });
    assert.equal(r2.entry.outcome, 'rolled-back');
    assert.ok(
      lines.some((l) => /^verify: FAILED \(\d+ critical caused by this apply\)/.test(l)),
      lines.join('\n'),
    );
    // and an apply that breaks something new (its own bridge does not come up) is rolled back too
    be.cannot.add('vmbr6');
    lines.length = 0;
    await stage(`${live()}\nauto vmbr6\niface vmbr6 inet manual\n\tbridge-ports none\n`);
    const r3 = await applyStaged({ root, backend: be, user: 'u', log, confirmTimeout: 30, startGuard: noGuard });
    assert.equal(r3.entry.outcome, 'rolled-back');
    assert.match(r3.entry.detail ?? '', /vmbr6: does not exist/);
    assert.doesNotMatch(r3.entry.detail ?? '', /bond0/);
  });

  test("judgeVerify: a critical difference is the apply's own unless it was there before on an interface it did not change", () => {
    const withBond = `${file('192.168.100.2/24')}\nauto bond0\niface bond0 inet static\n\taddress 10.50.0.1/24\nauto vmbr5\niface vmbr5 inet manual\n\tbridge-ports none\n`;
    const st = emptyKernelState();
    const before = verifyState(modelOf(withBond), st);
    const after = verifyState(modelOf(withBond), st);
    const j = judgeVerify(after, before, ['vmbr5']);
    assert.ok(
      j.preexisting.some((d) => /bond0: does not exist/.test(d.message)),
      JSON.stringify(j),
    );
    assert.ok(
      j.caused.some((d) => /vmbr5: does not exist/.test(d.message)),
      JSON.stringify(j),
    );
    assert.ok(!j.caused.some((d) => /bond0/.test(d.message)));
    // without a reading from before, everything critical is the apply's own
    assert.ok(judgeVerify(after, undefined, []).caused.some((d) => /bond0/.test(d.message)));
  });

  test('refuses validation errors with the diagnostics, and a hand-edited live file unless forced', async () => {
    await stage(`${file('192.168.100.3/24')}\nauto vmbr1\niface vmbr1 inet static\n\taddress 300.1.1.1/24\n`);
    await assert.rejects(
      applyStaged({ root, backend: be, user: 'u', log }),
      (e: NodenetError) => e.code === 'INVALID' && (e.diagnostics?.length ?? 0) > 0,
    );
    await stage(file('192.168.100.3/24'));
    writeFileSync(join(root, 'etc/network/interfaces'), `${file('192.168.100.2/24')}# hand edit\n`);
    await assert.rejects(
      applyStaged({ root, backend: be, user: 'u', log }),
      (e: NodenetError) => e.code === 'LIVE_CHANGED',
    );
    const r = await applyStaged({ root, backend: be, user: 'u', log, force: true });
    assert.equal(r.entry.outcome, 'committed');
  });

  test('nothing staged re-applies the live file (drift repair)', async () => {
    be.state.interfaces = [];
    const r = await applyStaged({ root, backend: be, user: 'u', log });
    assert.equal(r.entry.outcome, 'committed');
    assert.deepEqual(r.entry.changed, []);
    assert.equal(be.reloads.length, 2);
    assert.ok(lines.includes('nothing staged: re-applying the live file'));
  });

  test('a concurrent second apply is refused naming the running one', async () => {
    await stage(file('192.168.100.3/24'));
    let release!: () => void;
    be.hold = new Promise((r) => (release = r));
    const first = applyStaged({ root, backend: be, user: 'alice', log });
    while (be.reloads.length < 2) await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(
      applyStaged({ root, backend: be, user: 'bob', log }),
      (e: NodenetError) => e.code === 'LOCKED' && /apply by alice \(pid \d+/.test(e.message),
    );
    release();
    be.hold = undefined;
    assert.equal((await first).entry.outcome, 'committed');
  });

  test('confirm window: journal written, second apply refused, confirm commits', async () => {
    await stage(file('192.168.100.3/24'));
    const r = await applyStaged({ root, backend: be, user: 'u', log, confirmTimeout: 30, startGuard: noGuard });
    assert.equal(r.entry.outcome, 'pending-confirm');
    const j = await readJournal(root);
    assert.equal(j?.id, r.entry.id);
    assert.ok(j !== null && j.deadline > Date.now());
    await stage(file('192.168.100.4/24'));
    await assert.rejects(
      applyStaged({ root, backend: be, user: 'u', log }),
      (e: NodenetError) => e.code === 'LOCKED' && /^apply #\d+ by u awaits confirmation/.test(e.message),
    );
    const m = await confirmApply({ root, user: 'u' });
    assert.equal(m.outcome, 'committed');
    assert.equal(existsSync(journalPath(root)), false);
    await assert.rejects(confirmApply({ root, user: 'u' }), (e: NodenetError) => e.code === 'NO_CHANGES');
  });

  test('unconfirmed: rollbackPending restores the previous file and state', async () => {
    const before = structuredClone(be.state);
    await stage(file('192.168.100.3/24'));
    await applyStaged({ root, backend: be, user: 'u', log, confirmTimeout: 30, startGuard: noGuard });
    // not expired yet, guard "alive"? no guard pid: expired counts a missing guard as gone
    assert.equal(await rollbackPending({ root, backend: be, reason: 'test', log, onlyId: 99 }), false);
    assert.equal(await rollbackPending({ root, backend: be, reason: 'test', log }), true);
    assert.equal(live(), file('192.168.100.2/24'));
    assert.deepEqual(be.state, before);
    assert.equal((await listHistory(join(root, 'var/lib/nodenet')))[0]?.outcome, 'rolled-back');
    assert.equal(await readJournal(root), null);
  });

  test('--if-unconfirmed rolls back a window whose guard is gone (another boot, or a pid that is no guard)', async () => {
    await stage(file('192.168.100.3/24'));
    // process.pid is not a guard (its cmdline names no guard.js): the window counts as over
    await applyStaged({ root, backend: be, user: 'u', log, confirmTimeout: 30, startGuard: () => process.pid });
    const j = await readJournal(root);
    assert.ok(j !== null && j.guardPid === process.pid);
    await writeJournal(root, { ...j, bootId: 'another-boot', deadline: Date.now() + 60_000 });
    assert.equal(await rollbackPending({ root, backend: be, reason: 'boot', log, ifExpired: true }), true);
    assert.equal(live(), file('192.168.100.2/24'));
  });

  test('a failed verification inside a confirm window rolls back at once', async () => {
    await stage(file('192.168.100.3/24'));
    be.breakNext = true;
    const r = await applyStaged({ root, backend: be, user: 'u', log, confirmTimeout: 30, startGuard: noGuard });
    assert.equal(r.verify.ok, false);
    assert.equal(r.entry.outcome, 'rolled-back');
    assert.match(r.entry.detail ?? '', /verification failed: vmbr0: address 192.168.100.3\/24 missing/);
    assert.equal(live(), file('192.168.100.2/24'));
    assert.equal(await readJournal(root), null);
  });

  test('a failed verification without a window is reported as failed', async () => {
    await stage(file('192.168.100.3/24'));
    be.breakNext = true;
    const r = await applyStaged({ root, backend: be, user: 'u', log });
    assert.equal(r.entry.outcome, 'failed');
    assert.equal((await verifyLive({ root, backend: be })).ok, false);
  });

  test('rollback [N] restores the file before entry N as a new history entry', async () => {
    await stage(file('192.168.100.3/24'));
    await applyStaged({ root, backend: be, user: 'u', log });
    await stage(file('192.168.100.4/24'));
    await applyStaged({ root, backend: be, user: 'u', log });
    const r = await rollbackTo({ root, backend: be, user: 'u', log, id: 1 });
    assert.equal(r.entry.action, 'rollback');
    assert.equal(r.entry.rollbackOf, 1);
    assert.equal(live(), file('192.168.100.2/24'));
    const d = await rollbackTo({ root, backend: be, user: 'u', log });
    assert.equal(d.entry.rollbackOf, 3);
    assert.equal(live(), file('192.168.100.4/24'));
  });

  test('history keeps the last entries only', async () => {
    for (let i = 0; i < HISTORY_KEEP + 2; i++) {
      await stage(file(`192.168.100.${10 + (i % 2)}/24`));
      await applyStaged({ root, backend: be, user: 'u', log });
    }
    const h = await listHistory(join(root, 'var/lib/nodenet'));
    assert.equal(h.length, HISTORY_KEEP);
    assert.equal(h[0]?.id, 3);
  });
});

test('changedInterfaces and verifyState', () => {
  assert.deepEqual(
    changedInterfaces(
      modelOf(file('1.2.3.4/24')),
      modelOf(`${file('1.2.3.5/24')}auto vmbr1\niface vmbr1 inet manual\n`),
    ),
    ['vmbr0', 'vmbr1'],
  );
  const s = emptyKernelState();
  s.interfaces.push(
    { name: 'vmbr0', kind: 'bridge', up: false, mtu: 1500, addresses: ['10.0.0.1/24'] },
    { name: 'eno1', kind: 'veth', up: true, mtu: 1500, addresses: [] },
  );
  const r = verifyState(modelOf(file('192.168.100.2/24')), s);
  assert.equal(r.ok, false);
  assert.deepEqual(
    r.differences.map((d) => `${d.severity} ${d.message}`),
    [
      'critical vmbr0: is down',
      'critical vmbr0: address 192.168.100.2/24 missing',
      'critical vmbr0: default route via 192.168.100.1 missing',
      'tolerated vmbr0: address 10.0.0.1/24 is not in the file',
      'critical vmbr0: port eno1 is not enslaved',
    ],
  );
});

test('the guard keeps only loader flags of its parent', () => {
  assert.deepEqual(
    loaderArgs([
      '--require',
      '/x/preflight.cjs',
      '--import',
      'file:///x/loader.mjs',
      '--test',
      '--input-type=module',
      '-e',
      'code',
      '--import=y',
    ]),
    ['--require', '/x/preflight.cjs', '--import', 'file:///x/loader.mjs', '--import=y'],
  );
});

test('planReload: changed auto interfaces and their uppers; all when unsure', () => {
  const base = file('192.168.100.2/24');
  const v1 = 'auto vmbr1\niface vmbr1 inet static\n\taddress 10.0.0.1/24\n\tbridge-ports eno2\n';
  assert.deepEqual(planReload(modelOf(base), modelOf(file('192.168.100.3/24'))), { up: ['vmbr0'], down: [] });
  assert.deepEqual(planReload(modelOf(base), modelOf(`${base}\n${v1}`)), { up: ['vmbr1'], down: [] });
  assert.deepEqual(planReload(modelOf(`${base}\n${v1}`), modelOf(base)), { up: [], down: ['vmbr1'] });
  // a changed port (not auto) reloads the bridge above it
  assert.deepEqual(
    planReload(modelOf(base), modelOf(base.replace('iface eno1 inet manual', 'iface eno1 inet manual\n\tmtu 9000'))),
    { up: ['vmbr0'], down: [] },
  );
  assert.deepEqual(planReload(modelOf(base), modelOf(base)), { all: true }, 'a re-apply reloads everything');
  assert.deepEqual(planReload(modelOf(base), modelOf(base.replace('auto vmbr0\n', ''))), { all: true }, 'leaving auto');
  assert.deepEqual(planReload(modelOf(base), modelOf(`${base}source /etc/network/interfaces.d/*\n`)), { all: true });
});
