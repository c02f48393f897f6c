/**
 * Targeted reload on the file the Proxmox VE installer writes (`source /etc/network/interfaces.d/*`
 * at its end), through the apply pipeline with the real ifupdown2 in the netns backend (warm):
 * one new bridge in the main file is `ifup -w` of that bridge only; a sourced file edited, added
 * or removed on disk is a reload of its interfaces only. After each step the kernel state equals
 * the one a full `ifreload -a` of the same files gives in a second sandbox.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend } from '../../src/apply/backend.ts';
import { readMeta } from '../../src/apply/history.ts';
import { applyStaged } from '../../src/apply/pipeline.ts';
import { verifyLive } from '../../src/apply/settle.ts';
import { diffStates } from '../../src/apply/state.ts';
import { ConfigStore } from '../../src/store/store.ts';
import { LO, makeRoot, removeRoot, skipUnlessReady, writeInterfaces } from './helpers.ts';

function bridge(name: string, address: string, ports = 'none'): string {
  return `auto ${name}\niface ${name} inet static\n\taddress ${address}\n\tbridge-ports ${ports}\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
/** The installer's file: lo, the NIC, vmbr0 on it, then the source line. */
function installer(extra = ''): string {
  return (
    LO +
    'iface eno1 inet manual\n\n' +
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.168.100.2/24\n\tgateway 192.168.100.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\n' +
    extra +
    'source /etc/network/interfaces.d/*\n'
  );
}

describe('targeted reload with sourced files (installer file)', { skip: skipUnlessReady() }, () => {
  let root = '';
  let ref = '';
  let be: NetnsBackend | undefined;
  let full: NetnsBackend | undefined;
  const lines: string[] = [];
  const log = (l: string): void => void lines.push(l);
  const sourced = (r: string, name: string, text: string | null): void => {
    const p = join(r, 'etc/network/interfaces.d', name);
    if (text === null) rmSync(p);
    else writeFileSync(p, text);
  };

  before(async () => {
    root = makeRoot(installer());
    ref = makeRoot(installer());
    for (const r of [root, ref]) sourced(r, 'lab', bridge('vmbr7', '10.7.0.1/24'));
    be = createNetnsBackend({ root });
    full = createNetnsBackend({ root: ref, warm: false });
    await be.prepare(['eno1']);
    await full.prepare(['eno1']);
    assert.equal((await full.reload({ all: true }, () => undefined)).code, 0);
    // the first apply: nothing staged, a full re-apply that records the sourced files
    const r = await applyStaged({ root, backend: be, user: 'test', log });
    assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
    assert.ok(
      lines.includes('reload: all interfaces (nothing changed: a re-apply reloads everything (repairs drift))'),
      lines.join('\n'),
    );
    assert.deepEqual(r.entry.sources !== undefined && Object.keys(r.entry.sources), ['interfaces.d/lab']);
  });

  after(async () => {
    await be?.destroy().catch(() => undefined);
    await full?.destroy().catch(() => undefined);
    removeRoot(root);
    removeRoot(ref);
  });

  /** Applies through the pipeline in `root`, `ifreload -a` in `ref`, and compares. */
  async function step(
    change: () => Promise<unknown> | void,
    refChange: () => void,
    up: string[],
    down: string[],
  ): Promise<void> {
    assert.ok(be !== undefined && full !== undefined);
    lines.length = 0;
    const warmBefore = (await be.warm())?.stats.warm ?? 0;
    await change();
    const r = await applyStaged({ root, backend: be, user: 'test', log });
    assert.equal(r.entry.outcome, 'committed', lines.join('\n'));
    assert.ok(
      lines.includes(`reload: targeted: down ${down.join(' ') || '(none)'}, up ${up.join(' ') || '(none)'}`),
      lines.join('\n'),
    );
    assert.ok(!r.reload.log.some((l) => l.startsWith('$ ifreload')), r.reload.log.join('\n'));
    const cmds = r.reload.log.filter((l) => l.startsWith('$ '));
    assert.deepEqual(cmds, [
      ...(down.length ? [`$ ifdown ${down.join(' ')}`] : []),
      ...(up.length ? [`$ ifup -w ${up.join(' ')}`] : []),
    ]);
    assert.equal((await be.warm())?.stats.warm, warmBefore + cmds.length, 'ran in the warm worker');
    refChange();
    assert.equal((await full.reload({ all: true }, () => undefined)).code, 0);
    const want = await full.readState();
    const got = await be.readState();
    assert.deepEqual(diffStates(want, got, ['ifreload -a', 'targeted']), []);
    assert.deepEqual(got, want);
  }

  test('one new bridge in the main file: ifup -w of that bridge only', async () => {
    await step(
      () => new ConfigStore(root).update(() => installer(bridge('vmbr6', '10.6.0.1/24'))),
      () => writeInterfaces(ref, installer(bridge('vmbr6', '10.6.0.1/24'))),
      ['vmbr6'],
      [],
    );
    assert.ok(be !== undefined);
    const st = await be.readState();
    const v6 = st.interfaces.find((i) => i.name === 'vmbr6');
    assert.ok(v6?.up, 'vmbr6 is up');
    // the scoped read the pipeline verifies with: the same records as the whole state's
    const scoped = await be.readState(['vmbr0', 'vmbr6']);
    assert.deepEqual(
      scoped.interfaces,
      st.interfaces.filter((i) => ['eno1', 'vmbr0', 'vmbr6'].includes(i.name)),
    );
    const mine = (r: { dev?: string; dst: string }): boolean =>
      r.dev === 'vmbr0' || r.dev === 'vmbr6' || r.dst === 'default';
    assert.deepEqual(scoped.routes, st.routes.filter(mine));
    assert.ok(
      scoped.routes.some((r) => r.dst === 'default'),
      'the default route is read',
    );
    assert.deepEqual(scoped.firewall, st.firewall);
  });

  test('a sourced file edited on disk: reload of its interface only', async () => {
    await step(
      () => sourced(root, 'lab', bridge('vmbr7', '10.7.0.2/24')),
      () => sourced(ref, 'lab', bridge('vmbr7', '10.7.0.2/24')),
      ['vmbr7'],
      [],
    );
    assert.ok(
      lines.some((l) => l.includes('changed since the last reload: interfaces.d/lab')),
      lines.join('\n'),
    );
    assert.deepEqual((await be?.readState())?.interfaces.find((i) => i.name === 'vmbr7')?.addresses, ['10.7.0.2/24']);
  });

  test('a new sourced file: ifup of its bridge', async () => {
    await step(
      () => sourced(root, 'more', bridge('vmbr8', '10.8.0.1/24')),
      () => sourced(ref, 'more', bridge('vmbr8', '10.8.0.1/24')),
      ['vmbr8'],
      [],
    );
  });

  test('a sourced file removed: ifdown of its bridge', async () => {
    await step(
      () => sourced(root, 'lab', null),
      () => sourced(ref, 'lab', null),
      [],
      ['vmbr7'],
    );
    assert.equal(
      (await be?.readState())?.interfaces.some((i) => i.name === 'vmbr7'),
      false,
    );
    const id = Number(/committed entry #(\d+)/.exec(lines.join('\n'))?.[1]);
    assert.deepEqual(Object.keys((await readMeta(join(root, 'var/lib/nodenet'), id))?.sources ?? {}), [
      'interfaces.d/more',
    ]);
  });
  // Before, an apply verified the main file's interfaces only, and so did `nodenet verify`: a
  // sourced interface left broken by an apply (or drifting later) went unreported.
  test('sourced interfaces are verified: an apply that breaks one fails; nodenet verify names drift in one', async () => {
    assert.ok(be !== undefined);
    lines.length = 0;
    sourced(root, 'more', bridge('vmbr8', '10.8.0.1/24', 'eno9'));
    const bad = await applyStaged({ root, backend: be, user: 'test', log });
    assert.ok(lines.includes('reload: targeted: down (none), up vmbr8'), lines.join('\n'));
    assert.equal(bad.entry.outcome, 'failed', lines.join('\n'));
    assert.ok(
      bad.verify.differences.some(
        (d) => d.severity === 'critical' && d.message === 'vmbr8: bridge port eno9 does not exist in the kernel',
      ),
      lines.join('\n'),
    );
    lines.length = 0;
    sourced(root, 'more', bridge('vmbr8', '10.8.0.1/24'));
    const good = await applyStaged({ root, backend: be, user: 'test', log });
    assert.equal(good.entry.outcome, 'committed', lines.join('\n'));
    assert.deepEqual((await verifyLive({ root, backend: be })).differences, []);
    await be.exec(['ip', 'addr', 'flush', 'dev', 'vmbr8']);
    const drift = await verifyLive({ root, backend: be });
    assert.deepEqual(
      drift.differences.map((d) => `${d.severity}: ${d.message}`),
      ['critical: vmbr8: address 10.8.0.1/24 missing'],
    );
  });
});
