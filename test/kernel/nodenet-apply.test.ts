/**
 * nodenet's own apply, verify and rollback on a real kernel (inside the QEMU guest, where
 * the guest's / is a throw-away overlay, so `--root / --backend ifupdown2` is safe there).
 *
 * - apply of a bond mode change (balance-rr → active-backup with a primary): nodenet takes
 *   the bond down with its old config and up again, so mode AND primary reach the kernel
 *   (plain `ifreload -a` leaves the primary unset: bond-mode-change.test.ts);
 * - verify passes after apply and catches a bond whose kernel mode differs from the file;
 * - rollback restores the previous file and the full normalised state equals the one before.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';
import { BOND_BRIDGE_VLAN, LOOK_INSTALLED } from './files.ts';
import { bonding, describeStep } from './state.ts';

const FILE = BOND_BRIDGE_VLAN;

// Makes the unpacked ifupdown2 look installed, as on a real node, and defines helpers.
const PRELUDE = `set -e
${LOOK_INSTALLED}N() { /usr/bin/node "$KT_REPO/bin/nodenet" --root / --backend ifupdown2 "$@"; }
state() { /usr/bin/node --input-type=module -e "
  const s = await import('$KT_REPO/dist/apply/state.js');
  const r = await import('$KT_REPO/dist/apply/runner.js');
  console.log(JSON.stringify((await s.readKernelState(s.hostExec(r.createRunner()))).state));"; }
`;

describe(
  'kernel: nodenet apply, verify and rollback in the guest',
  { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 120_000 },
  () => {
    let main: StepResult;
    let drift: StepResult;
    before(async () => {
      const run = await runInGuest({
        timeoutMs: BOOT_TIMEOUT_MS + 60_000,
        steps: [
          {
            name: 'apply-verify-rollback',
            files: FILE,
            script: `${PRELUDE}
state >"$KT_OUT/state-before.json"
N verify >"$KT_OUT/verify-before.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/verify-before.txt"
N set bond0 --bond_mode active-backup --bond-primary eno2 >"$KT_OUT/set.txt" 2>&1
N apply >"$KT_OUT/apply.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/apply.txt"
cat /proc/net/bonding/bond0 >"$KT_OUT/bond-applied.txt"
N verify --output-format json >"$KT_OUT/verify-applied.json" 2>&1 || true
N rollback >"$KT_OUT/rollback.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/rollback.txt"
state >"$KT_OUT/state-after.json"
N verify >"$KT_OUT/verify-after.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/verify-after.txt"
N history --output-format json >"$KT_OUT/history.json"`,
          },
          {
            // The file says 802.3ad, the kernel still runs balance-rr (no reload): verify must say so.
            name: 'verify-catches-mode',
            files: FILE.replace('bond-mode balance-rr', 'bond-mode 802.3ad'),
            ifreload: false,
            script: `${PRELUDE}
N verify >"$KT_OUT/verify.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/verify.txt"`,
            check: false,
          },
        ],
      });
      [main, drift] = run.steps as [StepResult, StepResult];
    });

    it('the starting config verifies clean', () => {
      assert.equal(
        main.script?.rc,
        0,
        `${describeStep(main)}\nscript stderr: ${main.script?.stderr}\nfiles: ${JSON.stringify(main.extra, null, 1).slice(0, 3000)}`,
      );
      assert.doesNotMatch(main.extra['verify-before.txt'] ?? '', /rc=/, main.extra['verify-before.txt']);
    });

    it('apply gets the new bond mode and its primary into the kernel', () => {
      const log = main.extra['apply.txt'] ?? '';
      assert.doesNotMatch(log, /rc=/, log);
      assert.match(log, /bond0/, log);
      const b = main.extra['bond-applied.txt'] ?? '';
      assert.match(b, /Bonding Mode: fault-tolerance \(active-backup\)/, b);
      assert.match(b, /Primary Slave: eno2/, b);
      const v = JSON.parse(main.extra['verify-applied.json'] ?? '{}') as { ok?: boolean };
      assert.equal(v.ok, true, main.extra['verify-applied.json']);
    });

    it('rollback restores the previous state exactly', () => {
      assert.doesNotMatch(main.extra['rollback.txt'] ?? '', /rc=/, main.extra['rollback.txt']);
      assert.doesNotMatch(main.extra['verify-after.txt'] ?? '', /rc=/, main.extra['verify-after.txt']);
      const before = JSON.parse(main.extra['state-before.json'] ?? 'null');
      const after = JSON.parse(main.extra['state-after.json'] ?? 'null');
      assert.ok(before && after);
      assert.deepEqual(after, before);
      assert.equal(bonding(main, 'bond0').mode, 'load balancing (round-robin)');
      const hist = JSON.parse(main.extra['history.json'] ?? '[]') as { action?: string }[];
      assert.ok(hist.length >= 2, main.extra['history.json']);
    });

    it('verify reports a bond whose kernel mode differs from the file (exit 1)', () => {
      const v = drift.extra['verify.txt'] ?? '';
      assert.match(v, /rc=1/, v);
      assert.match(v, /bond0: bond mode is balance-rr, the file says 802\.3ad/, v);
    });
  },
);
