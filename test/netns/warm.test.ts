/**
 * The warm ifupdown2 worker (src/apply/warm.ts, libexec/ifupdown2-worker.py) behind the netns
 * backend's targeted reloads:
 * - a long sequence of warm commands in ONE worker leaves, after every step, the same kernel
 *   state as the same commands run cold, and as `ifreload -a` (no state leaks between commands);
 * - changes made by other tools between commands (address removed, link deleted or created,
 *   foreign port, admin down, MTU, a cold `ifreload -a`) are seen as by a fresh process;
 * - a worker killed mid-command: the command runs cold (and says so), the next one is warm again;
 * - a worker that cannot start or breaks the protocol: cold fallback, then disabled;
 * - destroy() and the exit of the node process leave no process behind.
 * The files are renamed into place, as the apply pipeline does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend, type ReloadPlan, type ReloadResult } from '../../src/apply/backend.ts';
import { loaderArgs } from '../../src/apply/guard.ts';
import { diffStates, type KernelState } from '../../src/apply/state.ts';
import { WarmIfupdown2 } from '../../src/apply/warm.ts';
import {
  LO,
  makeRoot,
  namespaceInode,
  namespaces,
  processesInNamespace,
  removeRoot,
  skipUnlessReady,
} from './helpers.ts';

const BACKEND = new URL('../../src/apply/backend.ts', import.meta.url).pathname;
const NICS = ['eno1', 'eno2', 'eno3', 'eno4'];
const PORTS = NICS.map((n) => `iface ${n} inet manual\n\n`).join('');

function bridge(name: string, o: { address?: string; ports?: string; gateway?: string; extra?: string } = {}): string {
  return (
    `auto ${name}\niface ${name} inet ${o.address === undefined ? 'manual' : 'static'}\n` +
    (o.address === undefined ? '' : `\taddress ${o.address}\n`) +
    (o.gateway === undefined ? '' : `\tgateway ${o.gateway}\n`) +
    `\tbridge-ports ${o.ports ?? 'none'}\n\tbridge-stp off\n\tbridge-fd 0\n${o.extra ?? ''}\n`
  );
}
const VMBR0 = bridge('vmbr0', { address: '192.168.100.2/24', gateway: '192.168.100.1', ports: 'eno1' });
const NAT =
  'auto vmbr1\niface vmbr1 inet static\n\taddress 10.10.10.1/24\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n' +
  '\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward\n' +
  "\tpost-up iptables -t nat -C POSTROUTING -s '10.10.10.0/24' -o vmbr0 -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o vmbr0 -j MASQUERADE\n" +
  "\tpost-down iptables -t nat -D POSTROUTING -s '10.10.10.0/24' -o vmbr0 -j MASQUERADE\n\n";
const BASE = LO + PORTS + VMBR0;

/** Writes the file as the pipeline does: a new inode renamed over the old one. */
function install(root: string, text: string): void {
  const p = join(root, 'etc', 'network', 'interfaces');
  writeFileSync(`${p}.tmp`, text);
  renameSync(`${p}.tmp`, p);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('warm ifupdown2 worker', { skip: skipUnlessReady(['iptables-save']) }, () => {
  const roots: string[] = [];
  const backends: NetnsBackend[] = [];
  after(async () => {
    for (const be of backends) await be.destroy().catch(() => undefined);
    for (const r of roots) removeRoot(r);
  });

  async function sandbox(text: string, warm: boolean): Promise<{ root: string; be: NetnsBackend }> {
    const root = makeRoot(text);
    roots.push(root);
    const be = createNetnsBackend({ root, warm });
    backends.push(be);
    await be.prepare(NICS);
    const r = await be.reload({ all: true }, () => undefined);
    assert.equal(r.code, 0, r.log.join('\n'));
    return { root, be };
  }
  async function finish(s: { root: string; be: NetnsBackend }): Promise<void> {
    await s.be.destroy();
    removeRoot(s.root);
  }
  const reload = async (be: NetnsBackend, plan: ReloadPlan): Promise<ReloadResult> => be.reload(plan, () => undefined);

  test('a sequence of commands in one worker equals the same commands run cold, and ifreload -a, after every step', async () => {
    // (this kernel has no bond, VLAN or dummy links: bridges, veth ports, macvlans, hooks)
    const v2 = (o: { address?: string; ports?: string; extra?: string } = {}): string =>
      bridge('vmbr2', {
        address: o.address ?? '172.16.1.1/24',
        ports: o.ports ?? 'eno2',
        ...(o.extra === undefined ? {} : { extra: o.extra }),
      });
    const VIRT = '\taddress-virtual 52:54:00:12:34:56 172.16.1.50/24\n';
    const steps: { name: string; text: string; plan: { up: string[]; down: string[] } }[] = [
      {
        name: 'add a bridge with a port',
        text: BASE + v2({ address: '172.16.0.1/24' }),
        plan: { up: ['vmbr2'], down: [] },
      },
      { name: 'readdress it', text: BASE + v2(), plan: { up: ['vmbr2'], down: [] } },
      {
        name: 'a second port and an MTU',
        text: BASE + v2({ ports: 'eno2 eno3', extra: '\tmtu 1400\n' }),
        plan: { up: ['vmbr2'], down: [] },
      },
      {
        name: 'add an address-virtual (macvlan)',
        text: BASE + v2({ ports: 'eno2 eno3', extra: `\tmtu 1400\n${VIRT}` }),
        plan: { up: ['vmbr2'], down: [] },
      },
      {
        name: 'remove the address-virtual',
        text: BASE + v2({ ports: 'eno2 eno3', extra: '\tmtu 1400\n' }),
        plan: { up: ['vmbr2'], down: [] },
      },
      {
        name: 'add the NAT bridge (post-up hooks)',
        text: BASE + v2({ ports: 'eno2 eno3', extra: '\tmtu 1400\n' }) + NAT,
        plan: { up: ['vmbr1'], down: [] },
      },
      {
        name: 'take the ports off a bridge',
        text: BASE + v2({ ports: 'none', extra: '\tmtu 1400\n' }) + NAT,
        plan: { up: ['vmbr2'], down: [] },
      },
      { name: 'remove the bridge', text: BASE + NAT, plan: { up: [], down: ['vmbr2'] } },
      { name: 'add it again with its port', text: BASE + v2() + NAT, plan: { up: ['vmbr2'], down: [] } },
      { name: 'remove the NAT bridge (post-down hook)', text: BASE + v2(), plan: { up: [], down: ['vmbr1'] } },
      {
        name: 'move the gateway bridge to another address',
        text: LO + PORTS + VMBR0.replace('192.168.100.2/24', '192.168.100.3/24') + v2(),
        plan: { up: ['vmbr0'], down: [] },
      },
      {
        name: 'move its port',
        text:
          LO + PORTS + VMBR0.replace('192.168.100.2/24', '192.168.100.3/24').replace('ports eno1', 'ports eno4') + v2(),
        plan: { up: ['vmbr0'], down: [] },
      },
    ];
    const warm = await sandbox(BASE, true);
    const cold = await sandbox(BASE, false);
    const full = await sandbox(BASE, false);
    try {
      for (const step of steps) {
        const r: Record<string, ReloadResult> = {};
        for (const [label, s, plan] of [
          ['warm', warm, step.plan],
          ['cold', cold, step.plan],
          ['full', full, { all: true }],
        ] as const) {
          install(s.root, step.text);
          r[label] = await reload(s.be, plan);
          assert.equal(r[label].code, 0, `${step.name} (${label}):\n${r[label].log.join('\n')}`);
        }
        assert.ok(
          !r['warm']?.log.some((l) => l.startsWith('nodenet: warm')),
          `${step.name}: ran warm\n${r['warm']?.log.join('\n')}`,
        );
        const [w, c, f] = [await warm.be.readState(), await cold.be.readState(), await full.be.readState()];
        assert.deepEqual(diffStates(c, w, ['cold', 'warm']), [], step.name);
        assert.deepEqual(w, c, step.name);
        assert.deepEqual(diffStates(f, w, ['ifreload -a', 'warm']), [], step.name);
      }
      const w = await warm.be.warm();
      assert.deepEqual(
        { warm: w?.stats.warm, cold: w?.stats.cold, starts: w?.stats.starts },
        { warm: steps.length, cold: 0, starts: 1 },
      );
      // every command reset ifupdown2's module state, and the addons that imported the state
      // manager by value (bond, vrf) were pointed at the new one: nothing holds an old one
      const st = await w?.status();
      assert.equal(st?.commands, steps.length);
      for (const [k, n] of Object.entries(st?.resets ?? {})) assert.equal(n, steps.length, k);
      assert.ok(
        st?.rebound.includes('bond.statemanager') && st.rebound.includes('vrf.statemanager'),
        JSON.stringify(st),
      );
      assert.deepEqual(st?.leaks, []);
    } finally {
      for (const s of [warm, cold, full]) await finish(s);
    }
  });

  test('changes made by other tools between commands are seen (same state as cold commands)', async () => {
    const text = BASE + bridge('vmbr1', { address: '10.10.10.1/24' });
    const warm = await sandbox(text, true);
    const cold = await sandbox(text, false);
    const both = async (f: (s: { root: string; be: NetnsBackend }) => Promise<void>): Promise<void> => {
      for (const s of [warm, cold]) await f(s);
    };
    const net = async (s: { be: NetnsBackend }, ...argv: string[]): Promise<void> => {
      const r = await s.be.execNet(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    };
    const same = async (what: string): Promise<KernelState> => {
      const [w, c] = [await warm.be.readState(), await cold.be.readState()];
      assert.deepEqual(diffStates(c, w, ['cold', 'warm']), [], what);
      assert.deepEqual(w, c, what);
      return w;
    };
    const up = async (what: string, plan: { up: string[]; down: string[] }): Promise<KernelState> => {
      await both(async (s) => {
        const r = await reload(s.be, plan);
        assert.equal(r.code, 0, `${what}:\n${r.log.join('\n')}`);
        assert.ok(!r.log.some((l) => l.startsWith('nodenet: warm')), `${what}: ran warm\n${r.log.join('\n')}`);
      });
      return same(what);
    };
    const iface = (st: KernelState, name: string) => st.interfaces.find((i) => i.name === name);
    try {
      const start = await up('first command (starts the worker)', { up: ['vmbr0'], down: [] });

      await both((s) => net(s, 'ip', 'addr', 'del', '192.168.100.2/24', 'dev', 'vmbr0'));
      let st = await up('address removed outside', { up: ['vmbr0'], down: [] });
      assert.deepEqual(iface(st, 'vmbr0')?.addresses, ['192.168.100.2/24']);
      assert.deepEqual(diffStates(start, st), []);

      await both((s) => net(s, 'ip', 'link', 'del', 'vmbr1'));
      st = await up('link deleted outside', { up: ['vmbr1'], down: [] });
      assert.deepEqual(iface(st, 'vmbr1')?.addresses, ['10.10.10.1/24']);

      await both((s) => net(s, 'ip', 'link', 'add', 'vmbr9', 'type', 'bridge'));
      await both(async (s) => install(s.root, text + bridge('vmbr9', { address: '10.99.0.1/24' })));
      st = await up('link created outside, then configured', { up: ['vmbr9'], down: [] });
      assert.deepEqual(iface(st, 'vmbr9')?.addresses, ['10.99.0.1/24']);

      await both(async (s) => {
        await net(s, 'ip', 'link', 'add', 'tap100i0', 'type', 'veth', 'peer', 'name', 'tap100i0p');
        await net(s, 'ip', 'link', 'set', 'tap100i0', 'master', 'vmbr0');
      });
      await up('foreign port on a bridge', { up: ['vmbr0'], down: [] });

      await both((s) => net(s, 'ip', 'link', 'set', 'vmbr1', 'down'));
      st = await up('admin down outside', { up: ['vmbr1'], down: [] });
      assert.equal(iface(st, 'vmbr1')?.up, true);

      await both((s) => net(s, 'ip', 'link', 'set', 'vmbr0', 'mtu', '1400'));
      await up('MTU changed outside', { up: ['vmbr0'], down: [] });

      // another ifupdown2 process between two warm commands: creates vmbr7 the worker never made
      await both(async (s) => {
        install(
          s.root,
          text + bridge('vmbr9', { address: '10.99.0.1/24' }) + bridge('vmbr7', { address: '10.77.0.1/24' }),
        );
        const r = await reload(s.be, { all: true });
        assert.equal(r.code, 0, r.log.join('\n'));
        install(s.root, text + bridge('vmbr9', { address: '10.99.0.1/24' }));
      });
      st = await up('a link made by a cold ifreload -a, removed warm', { up: [], down: ['vmbr7'] });
      assert.equal(iface(st, 'vmbr7'), undefined);

      const stats = (await warm.be.warm())?.stats;
      assert.deepEqual(
        { warm: stats?.warm, cold: stats?.cold, starts: stats?.starts },
        { warm: 8, cold: 0, starts: 1 },
      );
    } finally {
      for (const s of [warm, cold]) await finish(s);
    }
  });

  test('warnings and errors come out as from a cold command, attributed to their interface', async () => {
    const warm = await sandbox(BASE, true);
    const cold = await sandbox(BASE, false);
    try {
      const bad =
        LO +
        PORTS +
        VMBR0.replace('ports eno1', 'ports eno1 eno9') +
        bridge('vmbr1', { address: '10.10.10.1/24', extra: '\tpost-up echo to-stdout; echo to-stderr >&2\n' });
      const out: Record<string, ReloadResult> = {};
      for (const [label, s] of [
        ['warm', warm],
        ['cold', cold],
      ] as const) {
        install(s.root, bad);
        out[label] = await reload(s.be, { up: ['vmbr0', 'vmbr1'], down: [] });
      }
      const [w, c] = [out['warm'], out['cold']];
      assert.ok(w !== undefined && c !== undefined);
      assert.notEqual(c.code, 0);
      assert.equal(w.code, c.code);
      assert.deepEqual(c.errors, [{ iface: 'vmbr0', severity: 'error', message: 'bridge port eno9 does not exist' }]);
      assert.deepEqual(w.errors, c.errors);
      assert.deepEqual(w.log, c.log);
      assert.equal((await warm.be.warm())?.stats.warm, 1);
    } finally {
      for (const s of [warm, cold]) await finish(s);
    }
  });

  test('a worker killed during a command: the command runs cold (logged), the next one is warm again', async () => {
    // the post-up sleep keeps the command running long enough to kill the worker during it
    const slow = BASE + bridge('vmbr1', { address: '10.10.10.1/24', extra: '\tpost-up sleep 2\n' });
    const s = await sandbox(BASE, true);
    try {
      const w = await s.be.warm();
      assert.ok(w !== undefined);
      assert.equal(await w.start(), true);
      const pid = w.pid;
      assert.ok(pid !== undefined);
      install(s.root, slow);
      const lines: string[] = [];
      const running = s.be.reload({ up: ['vmbr1'], down: [] }, (l) => lines.push(l));
      await new Promise((r) => setTimeout(r, 700));
      process.kill(pid, 'SIGKILL');
      const r = await running;
      assert.equal(r.code, 0, r.log.join('\n'));
      assert.ok(
        r.log.some((l) =>
          /^nodenet: warm ifupdown2 worker failed \(worker killed by SIGKILL.*\); running `ifup -w vmbr1` as its own process$/.test(
            l,
          ),
        ),
        r.log.join('\n'),
      );
      assert.deepEqual((await s.be.readState()).interfaces.find((i) => i.name === 'vmbr1')?.addresses, [
        '10.10.10.1/24',
      ]);
      assert.equal(alive(pid), false);
      install(s.root, BASE + bridge('vmbr1', { address: '10.10.11.1/24' }));
      const again = await reload(s.be, { up: ['vmbr1'], down: [] });
      assert.equal(again.code, 0, again.log.join('\n'));
      assert.ok(!again.log.some((l) => l.startsWith('nodenet: warm')), again.log.join('\n'));
      assert.deepEqual((await s.be.readState()).interfaces.find((i) => i.name === 'vmbr1')?.addresses, [
        '10.10.11.1/24',
      ]);
      assert.deepEqual(
        { warm: w.stats.warm, cold: w.stats.cold, starts: w.stats.starts },
        { warm: 1, cold: 1, starts: 2 },
      );
      // the killed worker's children (the post-up sleep) went with it
      const ino = namespaceInode((await s.be.sandbox()).name);
      const others = processesInNamespace(ino).filter((p) => p !== w.pid);
      assert.deepEqual(others, [], 'only the new worker runs in the namespace');
    } finally {
      await finish(s);
    }
  });

  test('destroy() stops the worker and leaves no process or namespace', async () => {
    const s = await sandbox(BASE, true);
    const w = await s.be.warm();
    assert.equal(await w?.start(), true);
    const pid = w?.pid;
    assert.ok(pid !== undefined && alive(pid));
    const { ns, peer } = (await s.be.sandbox()).names;
    const inos = [namespaceInode(ns), namespaceInode(peer)];
    await finish(s);
    assert.equal(alive(pid), false);
    assert.ok(!namespaces().includes(ns) && !namespaces().includes(peer));
    for (const ino of inos) assert.deepEqual(processesInNamespace(ino), []);
  });

  test('a node process that exits without destroy(): it is not held up, and its worker exits', async () => {
    const s = await sandbox(BASE, true);
    try {
      install(s.root, BASE + bridge('vmbr1', { address: '10.10.10.1/24' }));
      const code = `
        const { createNetnsBackend } = await import(${JSON.stringify(BACKEND)});
        const be = createNetnsBackend({ root: ${JSON.stringify(s.root)} });
        const r = await be.reload({ up: ['vmbr1'], down: [] }, () => undefined);
        console.log(JSON.stringify({ code: r.code, log: r.log, pid: (await be.warm()).pid }));
      `;
      const child = spawn(process.execPath, [...loaderArgs(), '--input-type=module', '-e', code], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exit = await new Promise<number | null>((r) => child.once('exit', r));
      assert.equal(exit, 0, out);
      const res = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { code: number; log: string[]; pid: number };
      assert.equal(res.code, 0, out);
      assert.ok(!res.log.some((l) => l.startsWith('nodenet: warm')), out);
      await waitFor('the worker to exit', () => !alive(res.pid), 5_000);
      const ino = namespaceInode((await s.be.sandbox()).name);
      assert.deepEqual(processesInNamespace(ino), []);
    } finally {
      await finish(s);
    }
  });

  test('a worker that cannot start or breaks the protocol: cold fallback, logged; disabled after 3 failed starts', async () => {
    let colds = 0;
    const cold = (): Promise<{ code: number; stdout: string; stderr: string }> => {
      colds++;
      return Promise.resolve({ code: 0, stdout: 'cold\n', stderr: '' });
    };
    const failing = new WarmIfupdown2({
      command: () =>
        Promise.resolve({
          cmd: '/usr/bin/python3',
          args: ['-c', 'import sys; sys.stderr.write("no ifupdown2 here\\n"); sys.exit(4)'],
        }),
    });
    for (let i = 0; i < 4; i++) {
      const lines: string[] = [];
      const r = await failing.run('ifup', ['-w', 'vmbr0'], { onLine: (l) => lines.push(l) }, cold);
      assert.equal(r.stdout, 'cold\n');
      assert.match(
        lines[0] ?? '',
        i < 3
          ? /^nodenet: warm ifupdown2 worker could not start: worker exited with status 4: no ifupdown2 here; running `ifup -w vmbr0` as its own process$/
          : /^nodenet: warm ifupdown2 worker disabled after 3 failed starts; running/,
      );
    }
    assert.deepEqual(failing.stats, { warm: 0, cold: 4, starts: 3 });

    // ready, then a reply that is not JSON and an exit: fallback, worker gone
    const garbage = new WarmIfupdown2({
      command: () =>
        Promise.resolve({
          cmd: '/usr/bin/python3',
          args: [
            '-c',
            'import sys; print(\'{"ready": true}\', flush=True); sys.stdin.readline(); print("garbage", flush=True); sys.exit(0)',
          ],
        }),
    });
    const lines: string[] = [];
    await garbage.run('ifdown', ['vmbr0'], { onLine: (l) => lines.push(l) }, cold);
    assert.ok(lines.includes('(unparsable reply) garbage'), lines.join('\n'));
    assert.match(
      lines.at(-1) ?? '',
      /^nodenet: warm ifupdown2 worker failed \(worker exited with status 0\); running `ifdown vmbr0` as its own process$/,
    );

    // a worker that never answers: the command's timeout, then cold
    const silent = new WarmIfupdown2({
      timeoutMs: 300,
      command: () =>
        Promise.resolve({
          cmd: '/usr/bin/python3',
          args: ['-c', 'import sys, time; print(\'{"ready": true}\', flush=True); time.sleep(60)'],
        }),
    });
    const l2: string[] = [];
    await silent.run('ifup', ['vmbr0'], { onLine: (l) => l2.push(l) }, cold);
    assert.match(
      l2.at(-1) ?? '',
      /^nodenet: warm ifupdown2 worker failed \(ifup vmbr0 timed out after 300 ms\); running/,
    );
    assert.equal(silent.pid, undefined);
    assert.equal(colds, 6);
  });
});
