/**
 * All 7 Linux bond modes with their options, applied by the real ifupdown2
 * in one guest boot and read back from /proc/net/bonding and `ip -j -d link`.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';
import { bonding, checkStatus, describeStep, infoData, link, portsOf } from './state.ts';

interface BondCase {
  bond: string;
  mode: string;
  /** "Bonding Mode:" as /proc/net/bonding words it */
  proc: string;
  nics: [string, string];
  options: Record<string, string>;
  expect: { xmitHashPolicy?: string; lacpRate?: string; primary?: string; miimon: number };
}

const cases: BondCase[] = [
  {
    bond: 'bond0',
    mode: 'balance-rr',
    proc: 'load balancing (round-robin)',
    nics: ['eno1', 'eno2'],
    options: { 'bond-miimon': '100' },
    expect: { miimon: 100 },
  },
  {
    bond: 'bond1',
    mode: 'active-backup',
    proc: 'fault-tolerance (active-backup)',
    nics: ['eno3', 'eno4'],
    options: { 'bond-miimon': '100', 'bond-primary': 'eno4' },
    expect: { miimon: 100, primary: 'eno4' },
  },
  {
    bond: 'bond2',
    mode: 'balance-xor',
    proc: 'load balancing (xor)',
    nics: ['eno5', 'eno6'],
    options: { 'bond-miimon': '100', 'bond-xmit-hash-policy': 'layer2+3' },
    expect: { miimon: 100, xmitHashPolicy: 'layer2+3' },
  },
  {
    bond: 'bond3',
    mode: 'broadcast',
    proc: 'fault-tolerance (broadcast)',
    nics: ['eno7', 'eno8'],
    options: { 'bond-miimon': '200' },
    expect: { miimon: 200 },
  },
  {
    bond: 'bond4',
    mode: '802.3ad',
    proc: 'IEEE 802.3ad Dynamic link aggregation',
    nics: ['eno9', 'eno10'],
    options: { 'bond-miimon': '100', 'bond-lacp-rate': 'fast', 'bond-xmit-hash-policy': 'layer3+4' },
    expect: { miimon: 100, lacpRate: 'fast', xmitHashPolicy: 'layer3+4' },
  },
  {
    bond: 'bond5',
    mode: 'balance-tlb',
    proc: 'transmit load balancing',
    nics: ['eno11', 'eno12'],
    options: { 'bond-miimon': '100', 'bond-xmit-hash-policy': 'layer2+3' },
    expect: { miimon: 100, xmitHashPolicy: 'layer2+3' },
  },
  {
    bond: 'bond6',
    mode: 'balance-alb',
    proc: 'adaptive load balancing',
    nics: ['eno13', 'eno14'],
    options: { 'bond-miimon': '100', 'bond-xmit-hash-policy': 'layer3+4' },
    expect: { miimon: 100, xmitHashPolicy: 'layer3+4' },
  },
  // a second 802.3ad bond: the other lacp-rate and hash policy
  {
    bond: 'bond7',
    mode: '802.3ad',
    proc: 'IEEE 802.3ad Dynamic link aggregation',
    nics: ['eno15', 'eno16'],
    options: { 'bond-miimon': '150', 'bond-lacp-rate': 'slow', 'bond-xmit-hash-policy': 'layer2' },
    expect: { miimon: 150, lacpRate: 'slow', xmitHashPolicy: 'layer2' },
  },
];

const file = ['auto lo', 'iface lo inet loopback', '']
  .concat(
    cases.flatMap((c) => [
      `auto ${c.bond}`,
      `iface ${c.bond} inet manual`,
      `\tbond-slaves ${c.nics.join(' ')}`,
      `\tbond-mode ${c.mode}`,
      ...Object.entries(c.options).map(([k, v]) => `\t${k} ${v}`),
      '',
    ]),
  )
  .join('\n');

describe('kernel: the 7 bond modes', { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 60_000 }, () => {
  let step: StepResult;
  before(async () => {
    const run = await runInGuest({ steps: [{ name: 'bond-modes', files: file }], nics: cases.flatMap((c) => c.nics) });
    step = run.steps[0]!;
  });

  it('ifreload -a and ifquery --check pass', () => {
    assert.equal(step.ifreload?.rc, 0, describeStep(step));
    assert.equal(step.check?.rc, 0, describeStep(step));
    for (const c of cases) {
      const status = checkStatus(step, c.bond) ?? {};
      assert.equal(status['bond-mode'], 'pass', `${c.bond}: ${JSON.stringify(status)}`);
    }
  });

  for (const c of cases) {
    it(`${c.bond}: ${c.mode} ${Object.entries(c.options)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`, () => {
      const proc = bonding(step, c.bond);
      assert.equal(proc.mode, c.proc);
      assert.deepEqual(proc.slaves, [...c.nics].sort());
      assert.equal(proc.miimon, c.expect.miimon);
      if (c.expect.primary) assert.equal(proc.primary, c.expect.primary);
      // the kernel prints "Transmit Hash Policy" only for balance-xor and
      // 802.3ad; tlb/alb accept the option, ip -d link shows it (below)
      if (c.mode === 'balance-xor' || c.mode === '802.3ad') assert.equal(proc.xmitHashPolicy, c.expect.xmitHashPolicy);
      else assert.equal(proc.xmitHashPolicy, undefined);
      if (c.mode === 'active-backup') assert.equal(proc.active, c.expect.primary, 'the primary is the active slave');
      if (c.expect.lacpRate) assert.equal(proc.lacpRate, c.expect.lacpRate);

      const l = link(step, c.bond);
      assert.equal(l.linkinfo?.info_kind, 'bond');
      assert.ok(l.flags.includes('UP'), `${c.bond} flags ${l.flags.join(',')}`);
      const d = infoData(step, c.bond);
      assert.equal(d['mode'], c.mode);
      assert.equal(d['miimon'], c.expect.miimon);
      if (c.expect.primary) assert.equal(d['primary'], c.expect.primary);
      if (c.expect.xmitHashPolicy) assert.equal(d['xmit_hash_policy'], c.expect.xmitHashPolicy);
      if (c.expect.lacpRate) assert.equal(d['ad_lacp_rate'], c.expect.lacpRate);

      assert.deepEqual(portsOf(step, c.bond), [...c.nics].sort());
      for (const nic of c.nics) assert.equal(link(step, nic).linkinfo?.info_slave_kind, 'bond');
    });
  }
});
