/**
 * The apply pipeline with real ifupdown2 in the netns backend: apply + verify, the confirm
 * window's guard rolling back an unconfirmed apply (also after `kill -9` of the applying
 * process), and drift reported by verify and repaired by apply.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend } from '../../src/apply/backend.ts';
import { loaderArgs, readJournal, writeJournal } from '../../src/apply/guard.ts';
import { readMeta } from '../../src/apply/history.ts';
import { applyStaged, rollbackPending, verifyLive } from '../../src/apply/pipeline.ts';
import { diffStates, type KernelInterface, type KernelState } from '../../src/apply/state.ts';
import { ConfigStore } from '../../src/store/store.ts';
import { bridgedFile, makeRoot, removeRoot, skipUnlessReady } from './helpers.ts';

const PIPELINE = new URL('../../src/apply/pipeline.ts', import.meta.url).pathname;
const STORE = new URL('../../src/store/store.ts', import.meta.url).pathname;
const BACKEND = new URL('../../src/apply/backend.ts', import.meta.url).pathname;

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('apply pipeline on the netns backend', { skip: skipUnlessReady() }, () => {
  let root: string | undefined;
  let be: NetnsBackend | undefined;
  const lines: string[] = [];
  const log = (l: string): void => void lines.push(l);
  const stage = async (text: string): Promise<void> => {
    await new ConfigStore(root ?? '').update(() => text);
  };
  const varLib = (): string => join(root ?? '', 'var/lib/nodenet');

  before(async () => {
    root = makeRoot(bridgedFile());
    be = createNetnsBackend({ root });
    await be.prepare(['eno1', 'eno2']);
    await be.reload({ all: true }, () => undefined);
  });

  after(async () => {
    await be?.destroy().catch(() => undefined);
    removeRoot(root);
  });

  test('a bridged config applies and verifies', async () => {
    assert.ok(be !== undefined && root !== undefined);
    await stage(bridgedFile('192.168.100.5/24'));
    const r = await applyStaged({ root, backend: be, user: 'test', log });
    assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
    assert.ok(r.verify.ok);
    assert.deepEqual((await be.readState()).interfaces.find((i) => i.name === 'vmbr0')?.addresses, [
      '192.168.100.5/24',
    ]);
    assert.equal((await verifyLive({ root, backend: be })).ok, true);
  });

  test('a veth guest port plugged into vmbr0 stays plugged through an apply (targeted and full reload)', async () => {
    assert.ok(be !== undefined && root !== undefined);
    // A container's veth, plugged in by the hypervisor; the file does not mention it and has
    // no bridge-ports-condone-regex, so Debian's ifupdown2 detaches it on reload.
    for (const argv of [
      ['ip', 'link', 'add', 'veth100i0', 'type', 'veth', 'peer', 'name', 'ct100eth0'],
      ['ip', 'link', 'set', 'veth100i0', 'master', 'vmbr0', 'up'],
    ]) {
      const r = await be.execNet(argv);
      assert.equal(r.code, 0, r.stderr);
    }
    try {
      for (const [addr, reload] of [
        ['192.168.100.11/24', undefined],
        ['192.168.100.12/24', 'all'],
      ] as const) {
        lines.length = 0;
        await stage(bridgedFile(addr));
        const r = await applyStaged({ root, backend: be, user: 'test', log, ...(reload ? { reload } : {}) });
        assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
        const state: KernelState = await be.readState();
        const port = state.interfaces.find((i: KernelInterface) => i.name === 'veth100i0');
        assert.equal(
          port?.master,
          'vmbr0',
          `guest port detached after ${reload ?? 'targeted'} reload:\n${lines.join('\n')}`,
        );
      }
      assert.ok(
        lines.some((l) => /plugged veth100i0 back into vmbr0/.test(l)),
        'the full reload detached the port and nodenet plugged it back',
      );
    } finally {
      await be.execNet(['ip', 'link', 'del', 'veth100i0']);
      // back to the address the later tests start from
      await stage(bridgedFile('192.168.100.5/24'));
      await applyStaged({ root, backend: be, user: 'test', log });
    }
  });

  test('changed hook lines: the old post-down runs, so no stale firewall rule is left (targeted and full reload)', async () => {
    assert.ok(be !== undefined && root !== undefined);
    const nat = (port: number) =>
      'auto vmbr1\niface vmbr1 inet static\n\taddress 10.10.10.1/24\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n' +
      `\tpost-up iptables -t nat -C PREROUTING -i vmbr0 -p tcp --dport ${port} -j DNAT --to-destination 10.10.10.5:22 2>/dev/null || iptables -t nat -A PREROUTING -i vmbr0 -p tcp --dport ${port} -j DNAT --to-destination 10.10.10.5:22\n` +
      `\tpost-down iptables -t nat -D PREROUTING -i vmbr0 -p tcp --dport ${port} -j DNAT --to-destination 10.10.10.5:22 2>/dev/null || true\n`;
    const dnat = async () => ((await be!.readState()).firewall.iptables ?? []).filter((l) => l.includes('DNAT'));
    for (const [port, reload] of [
      [2201, undefined],
      [2202, undefined],
      [2203, 'all'],
    ] as const) {
      lines.length = 0;
      await stage(`${bridgedFile('192.168.100.5/24')}\n${nat(port)}`);
      const r = await applyStaged({ root, backend: be, user: 'test', log, ...(reload ? { reload } : {}) });
      assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
      const rules = await dnat();
      assert.equal(
        rules.length,
        1,
        `exactly one DNAT rule after moving to port ${port}:\n${rules.join('\n')}\n${lines.join('\n')}`,
      );
      assert.match(rules[0]!, new RegExp(`--dport ${port} `));
    }
    await stage(bridgedFile('192.168.100.5/24'));
    await applyStaged({ root, backend: be, user: 'test', log });
    assert.deepEqual(await dnat(), [], 'removing the stanza removes its rule');
  });

  test('an unconfirmed apply (3 s window) is rolled back by the guard; the state equals the one before', async () => {
    assert.ok(be !== undefined && root !== undefined);
    const stateBefore = await be.readState();
    // moves the bridge's port and address: the kind of change that cuts a remote admin off
    await stage(bridgedFile('192.168.100.9/24').replace('bridge-ports eno1', 'bridge-ports eno2'));
    const r = await applyStaged({ root, backend: be, user: 'test', log, confirmTimeout: 3 });
    assert.equal(r.entry.outcome, 'pending-confirm', lines.join('\n'));
    assert.ok(r.journal?.guardPid !== undefined);
    await waitFor('the guard to roll back', async () => (await readJournal(root ?? '')) === null);
    assert.equal((await readMeta(varLib(), r.entry.id))?.outcome, 'rolled-back');
    assert.deepEqual(diffStates(stateBefore, await be.readState()), []);
  });

  test('same after kill -9 of the process that started the apply', async () => {
    assert.ok(be !== undefined && root !== undefined);
    const stateBefore = await be.readState();
    await stage(bridgedFile('192.168.100.7/24').replace('bridge-ports eno1', 'bridge-ports eno2'));
    const code = `
      const { applyStaged } = await import(${JSON.stringify(PIPELINE)});
      const { createNetnsBackend } = await import(${JSON.stringify(BACKEND)});
      await import(${JSON.stringify(STORE)});
      const root = ${JSON.stringify(root)};
      await applyStaged({ root, backend: createNetnsBackend({ root }), user: 'child', confirmTimeout: 3, log: (l) => console.log(l) });
      console.log('APPLIED');
      setInterval(() => {}, 1000);
    `;
    const execArgv = loaderArgs();
    const child = spawn(process.execPath, [...execArgv, '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the child to apply', () => Promise.resolve(out.includes('APPLIED') || child.exitCode !== null));
    assert.ok(out.includes('APPLIED'), out);
    const j = await readJournal(root);
    assert.ok(j !== null, 'the window is open');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await waitFor('the guard to roll back', async () => (await readJournal(root ?? '')) === null);
    assert.equal((await readMeta(varLib(), j.id))?.outcome, 'rolled-back');
    assert.deepEqual(diffStates(stateBefore, await be.readState()), []);
  });

  test('a concurrent second apply is refused with a message naming the running one', async () => {
    assert.ok(be !== undefined && root !== undefined);
    await stage(bridgedFile('192.168.100.6/24'));
    const first = applyStaged({ root, backend: be, user: 'alice', log });
    // The second arrives while the first holds the apply lock (it is reloading).
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(applyStaged({ root, backend: be, user: 'bob', log }), (e: unknown) => {
      assert.match(String((e as Error).message), /another apply is running: apply by alice \(pid \d+/);
      return true;
    });
    assert.equal((await first).entry.outcome, 'committed');
    await stage(bridgedFile('192.168.100.5/24'));
    await applyStaged({ root, backend: be, user: 'test', log });
  });

  test('manual drift is reported by verify and repaired by apply', async () => {
    assert.ok(be !== undefined && root !== undefined);
    const r0 = await be.execNet(['ip', 'addr', 'del', '192.168.100.5/24', 'dev', 'vmbr0']);
    assert.equal(r0.code, 0, r0.stderr);
    const v = await verifyLive({ root, backend: be });
    assert.equal(v.ok, false);
    assert.ok(
      v.differences.some(
        (d) =>
          d.iface === 'vmbr0' && d.severity === 'critical' && /address 192\.168\.100\.5\/24 missing/.test(d.message),
      ),
      JSON.stringify(v),
    );
    const r = await applyStaged({ root, backend: be, user: 'test', log });
    assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
    assert.equal((await verifyLive({ root, backend: be })).ok, true);
  });

  test('targeted reload reaches the same state as ifreload -a', async () => {
    assert.ok(be !== undefined && root !== undefined);
    const vmbr1 =
      'auto vmbr1\niface vmbr1 inet static\n\taddress 10.10.10.1/24\n\tbridge-ports eno2\n\tbridge-stp off\n\tbridge-fd 0\n';
    const steps: [string, string][] = [
      [bridgedFile('192.168.100.6/24'), 'down (none), up vmbr0'],
      [`${bridgedFile('192.168.100.6/24')}\n${vmbr1}`, 'down (none), up vmbr1'],
      [
        `${bridgedFile('192.168.100.6/24')}\n${vmbr1.replace('10.10.10.1/24', '10.10.20.1/24')}`,
        'down (none), up vmbr1',
      ],
      [bridgedFile('192.168.100.6/24'), 'down vmbr1, up (none)'],
    ];
    for (const [text, plan] of steps) {
      lines.length = 0;
      await stage(text);
      const r = await applyStaged({ root, backend: be, user: 'test', log });
      assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
      assert.ok(lines.includes(`reload: targeted: ${plan}`), lines.join('\n'));
      const targeted = await be.readState();
      assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
      assert.deepEqual(diffStates(targeted, await be.readState(), ['targeted', 'ifreload -a']), [], plan);
    }
  });

  test('a simulated reboot inside the window (guard gone, fresh namespace): the boot check rolls back', async () => {
    assert.ok(be !== undefined && root !== undefined);
    const stateBefore = await be.readState();
    await stage(bridgedFile('192.168.100.8/24').replace('bridge-ports eno1', 'bridge-ports eno2'));
    // no guard: as if it had been killed
    const r = await applyStaged({
      root,
      backend: be,
      user: 'test',
      log,
      confirmTimeout: 600,
      startGuard: () => undefined,
    });
    assert.equal(r.entry.outcome, 'pending-confirm', lines.join('\n'));
    await be.destroy(); // the "reboot": the namespace and everything in it is gone
    const j = await readJournal(root);
    assert.ok(j !== null);
    await writeJournal(root, { ...j, bootId: 'the-boot-before' });
    const fresh = createNetnsBackend({ root });
    be = fresh;
    assert.equal(await rollbackPending({ root, backend: fresh, reason: 'boot', log, ifExpired: true }), true);
    assert.equal(await readJournal(root), null);
    assert.equal((await readMeta(varLib(), r.entry.id))?.outcome, 'rolled-back');
    assert.deepEqual(diffStates(stateBefore, await fresh.readState()), []);
  });
});
