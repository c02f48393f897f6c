/**
 * The warm ifupdown2 worker (src/apply/warm.ts, libexec/ifupdown2-worker.py) on a real kernel
 * with bonds, 802.1q VLANs and a VLAN-aware bridge, which this machine's kernel lacks.
 *
 * In the guest, for each change: reset to the base file (cold `ifdown -a -X lo` + `ifup -a`),
 * apply the change with the worker, read the full normalised state; reset again, apply the
 * same commands cold (one ifupdown2 process each), read the state; the two must be equal. The
 * worker lives through all steps and through the cold resets between them (its netlink cache
 * must follow bonds and VLANs deleted and re-created behind its back), must never fall back to
 * cold, and must report no state leaked between commands (the bond add-on's statemanager).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BOND_BRIDGE_VLAN, LOOK_INSTALLED } from './files.ts';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';

const BASE = BOND_BRIDGE_VLAN;

/** Each change: the new file and the commands nodenet's targeted reload would run. */
const CHANGES: { name: string; file: string; cmds: string[][] }[] = [
  {
    name: 'bond mode and primary (taken down first)',
    file: BASE.replace('bond-mode balance-rr', 'bond-mode active-backup\n\tbond-primary eno2'),
    cmds: [
      ['ifdown', 'bond0'],
      ['ifup', '-w', 'bond0', 'vmbr0', 'bond0.40'],
    ],
  },
  {
    name: 'a new VLAN on the bond',
    file: `${BASE}\nauto bond0.50\niface bond0.50 inet static\n\taddress 10.50.0.2/24\n`,
    cmds: [['ifup', '-w', 'bond0.50']],
  },
  { name: 'bond miimon', file: BASE.replace('bond-miimon 100', 'bond-miimon 250'), cmds: [['ifup', '-w', 'bond0']] },
  {
    name: 'a VLAN removed',
    file: BASE.replace('auto bond0.40\niface bond0.40 inet static\n\taddress 10.40.0.2/24\n', ''),
    cmds: [['ifdown', 'bond0.40']],
  },
  {
    name: 'the bridge made VLAN-aware',
    file: BASE.replace('\tbridge-fd 0\n', '\tbridge-fd 0\n\tbridge-vlan-aware yes\n\tbridge-vids 2-100\n'),
    cmds: [['ifup', '-w', 'vmbr0']],
  },
];

const PROGRAM = `
import { renameSync, writeFileSync } from 'node:fs';
const repo = process.env.KT_REPO;
const { WarmIfupdown2, workerScriptPath } = await import(repo + '/dist/apply/warm.js');
const { readKernelState, hostExec, diffStates } = await import(repo + '/dist/apply/state.js');
const { createRunner } = await import(repo + '/dist/apply/runner.js');
const run = createRunner();
const CHANGES = JSON.parse(process.argv[2]);
const BASE = process.argv[3];
const place = (text) => {
  writeFileSync('/etc/network/interfaces.tmp', text);
  renameSync('/etc/network/interfaces.tmp', '/etc/network/interfaces');
};
const cold = async (argv) => {
  const r = await run('/usr/sbin/' + argv[0], argv.slice(1));
  return { code: r.code, log: (r.stdout + r.stderr).trim() };
};
const state = async () => (await readKernelState(hostExec(run))).state;
const reset = async () => {
  place(BASE);
  const down = await cold(['ifdown', '-a', '-X', 'lo']);
  const up = await cold(['ifup', '-a']);
  if (up.code !== 0) throw new Error('reset failed: ' + down.log + up.log);
};
const w = new WarmIfupdown2({ command: async () => ({ cmd: '/usr/bin/python3', args: [workerScriptPath(), '/usr/share/ifupdown2'] }) });
const started = await w.start();
const out = { started, steps: [] };
for (const c of CHANGES) {
  await reset();
  place(c.file);
  const warmLogs = [];
  for (const argv of c.cmds) {
    const r = await w.run(argv[0], argv.slice(1), {}, async () => {
      throw new Error('the worker fell back to a cold command for ' + argv.join(' '));
    });
    warmLogs.push({ argv, code: r.code, log: (r.stdout + r.stderr).trim() });
  }
  const warm = await state();
  await reset();
  place(c.file);
  const coldLogs = [];
  for (const argv of c.cmds) coldLogs.push({ argv, ...(await cold(argv)) });
  const coldState = await state();
  out.steps.push({ name: c.name, warmLogs, coldLogs, diff: diffStates(warm, coldState, ['warm', 'cold']).map((d) => d.message), bonds: warm.interfaces.filter((i) => i.kind === 'bond').length });
}
out.status = await w.status();
out.stats = w.stats;
await w.close(true);
console.log(JSON.stringify(out));
`;

const PRELUDE = `set -e
${LOOK_INSTALLED}`;

interface WarmRun {
  started: boolean;
  steps: {
    name: string;
    warmLogs: { argv: string[]; code: number; log: string }[];
    coldLogs: { argv: string[]; code: number; log: string }[];
    diff: string[];
    bonds: number;
  }[];
  status?: { commands: number; rebound: string[]; leaks: string[] };
  stats: { warm: number; cold: number; starts: number };
}

describe(
  'kernel: the warm ifupdown2 worker with bonds and VLANs',
  { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 240_000 },
  () => {
    let step: StepResult;
    let result: WarmRun | undefined;
    before(async () => {
      const run = await runInGuest({
        timeoutMs: BOOT_TIMEOUT_MS + 180_000,
        steps: [
          {
            name: 'warm vs cold',
            files: BASE,
            script: `${PRELUDE}
cat >"$KT_SCRATCH/warm.mjs" <<'EOF'
${PROGRAM}
EOF
/usr/bin/node "$KT_SCRATCH/warm.mjs" '${JSON.stringify(CHANGES).replace(/'/g, "'\\''")}' '${BASE.replace(/'/g, "'\\''")}' >"$KT_OUT/warm.json" 2>"$KT_OUT/warm.err" || echo "rc=$?" >>"$KT_OUT/warm.err"`,
            check: false,
          },
        ],
      });
      step = run.steps[0]!;
      const text = step.extra['warm.json'] ?? '';
      result = text.trim() ? (JSON.parse(text) as WarmRun) : undefined;
    });

    const context = (): string => `stderr: ${step.extra['warm.err'] ?? ''}\nscript: ${step.script?.stderr ?? ''}`;

    it('the worker starts in the guest and runs every command warm', () => {
      assert.ok(result, context());
      assert.equal(result.started, true, context());
      const commands = CHANGES.reduce((n, c) => n + c.cmds.length, 0);
      assert.deepEqual(
        { warm: result.stats.warm, cold: result.stats.cold, starts: result.stats.starts },
        { warm: commands, cold: 0, starts: 1 },
      );
    });

    for (const [k, c] of CHANGES.entries()) {
      it(`${c.name}: the same kernel state as the same commands run cold`, () => {
        assert.ok(result, context());
        const s = result.steps[k]!;
        assert.equal(s.name, c.name);
        assert.ok(s.bonds >= 1, 'the guest has a bond');
        assert.deepEqual(
          s.warmLogs.map((l) => l.code),
          s.coldLogs.map((l) => l.code),
          JSON.stringify(s, null, 1),
        );
        assert.deepEqual(s.diff, [], JSON.stringify(s, null, 1));
      });
    }

    it('no state leaked between commands (the bond add-on keeps the statemanager it imported)', () => {
      assert.ok(result?.status, context());
      assert.deepEqual(result.status.leaks, []);
      assert.ok(
        result.status.rebound.some((r) => /bond/.test(r)),
        `the bond add-on's statemanager was rebound: ${result.status.rebound.join(', ')}`,
      );
    });
  },
);
