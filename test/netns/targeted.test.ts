/**
 * Targeted reload ({up, down}: ifdown of removed interfaces from ifupdown2's saved state, then
 * `ifup -w` of new/changed ones) must give the same normalised kernel state as `ifreload -a`,
 * and leave ifupdown2's saved state such that a later `ifreload -a` changes nothing. Both ways
 * the netns backend can run the commands: in its warm ifupdown2 worker (the default) and cold.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend, type ReloadPlan } from '../../src/apply/backend.ts';
import { diffStates, type KernelState } from '../../src/apply/state.ts';
import { LO, NAT_STANZA, makeRoot, removeRoot, skipUnlessReady, writeInterfaces } from './helpers.ts';

const PORTS = 'iface eno1 inet manual\n\niface eno2 inet manual\n\n';
function vmbr0(address = '192.168.100.2/24', ports = 'eno1'): string {
  return `auto vmbr0\niface vmbr0 inet static\n\taddress ${address}\n\tgateway 192.168.100.1\n\tbridge-ports ${ports}\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
const VMBR2 =
  'auto vmbr2\niface vmbr2 inet static\n\taddress 172.16.0.1/24\n\tbridge-ports eno2\n\tbridge-stp off\n\tbridge-fd 0\n\n';
const BASE = LO + PORTS + vmbr0() + NAT_STANZA;

const cases: { name: string; before?: string; after: string; plan: { up: string[]; down: string[] } }[] = [
  { name: 'add a bridge with a port', after: BASE + VMBR2, plan: { up: ['vmbr2'], down: [] } },
  {
    name: 'change an address',
    after: LO + PORTS + vmbr0('192.168.100.3/24') + NAT_STANZA,
    plan: { up: ['vmbr0'], down: [] },
  },
  { name: 'remove the NAT bridge (post-down)', after: LO + PORTS + vmbr0(), plan: { up: [], down: ['vmbr1'] } },
  { name: 'remove a bridge with a port', before: BASE + VMBR2, after: BASE, plan: { up: [], down: ['vmbr2'] } },
  {
    name: 'take the port off a bridge',
    after: LO + PORTS + vmbr0(undefined, 'none') + NAT_STANZA,
    plan: { up: ['vmbr0'], down: [] },
  },
];

describe('targeted reload equals ifreload -a', { skip: skipUnlessReady(['iptables-save']) }, () => {
  const roots: string[] = [];
  const backends: NetnsBackend[] = [];
  after(async () => {
    for (const be of backends) await be.destroy().catch(() => undefined);
    for (const r of roots) removeRoot(r);
  });

  async function run(
    before: string,
    afterText: string,
    plan: ReloadPlan,
    warm = true,
  ): Promise<{ state: KernelState; again: KernelState; code: number }> {
    const root = makeRoot(before);
    roots.push(root);
    const be = createNetnsBackend({ root, warm });
    backends.push(be);
    try {
      await be.prepare(['eno1', 'eno2']);
      assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
      writeInterfaces(root, afterText);
      const r = await be.reload(plan, () => undefined);
      if (!('all' in plan) && warm) {
        assert.ok(!r.log.some((l) => l.startsWith('nodenet: warm')), r.log.join('\n'));
        assert.equal(
          (await be.warm())?.stats.warm,
          (plan.up.length > 0 ? 1 : 0) + (plan.down.length > 0 ? 1 : 0),
          'ran in the warm worker',
        );
      }
      const state = await be.readState();
      await be.reload({ all: true }, () => undefined);
      return { state, again: await be.readState(), code: r.code };
    } finally {
      await be.destroy();
      removeRoot(root);
    }
  }

  for (const c of cases) {
    test(c.name, async () => {
      const full = await run(c.before ?? BASE, c.after, { all: true });
      assert.equal(full.code, 0);
      for (const warm of [true, false]) {
        const how = warm ? 'warm' : 'cold';
        const targeted = await run(c.before ?? BASE, c.after, c.plan, warm);
        assert.equal(targeted.code, 0, how);
        assert.deepEqual(diffStates(full.state, targeted.state, ['full', `targeted (${how})`]), []);
        assert.deepEqual(targeted.state, full.state, how);
        assert.deepEqual(
          diffStates(targeted.state, targeted.again),
          [],
          `${how}: a later ifreload -a has nothing left to do`,
        );
      }
    });
  }
});
