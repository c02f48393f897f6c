/**
 * The harness itself: scripts run inside the guest with the repo, node and a
 * scratch dir; the host stays untouched; a guest that stops early or times
 * out is a GuestError carrying the console tail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BOOT_TIMEOUT_MS, GuestError, REPO_ROOT, kernelTierSkip, runInGuest } from './harness.ts';

describe('kernel: harness', { skip: kernelTierSkip(), timeout: 2 * BOOT_TIMEOUT_MS + 60_000 }, () => {
  it('runs scripts in the guest; a guest that stops early is a GuestError with the finished steps', async () => {
    const probe = `.kt-probe-${process.pid}`;
    const err = await runInGuest({
      steps: [
        {
          name: 'probe',
          script: `set -e
echo "repo=$KT_REPO"
/usr/bin/node -e 'console.log("node=" + process.version)'
test -r "$KT_REPO/package.json" && echo repo-readable
touch "$KT_SCRATCH/x" && echo scratch-writable
echo probe >/etc/network/kt-probe && echo etc-network-writable
touch "$KT_REPO/${probe}" && echo repo-write-stays-in-guest
echo '{"ok":true}' >"$KT_OUT/probe.json"`,
          check: false,
        },
        // powers the guest off mid-run, as a crash would
        { name: 'crash', script: 'echo o >/proc/sysrq-trigger; sleep 30', check: false },
      ],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof GuestError, String(err));
    assert.match(err.message, /after 1 of 2 steps/);
    assert.match(err.message, /--- console tail ---/);
    const [probeStep] = err.steps;
    assert.ok(probeStep);
    assert.equal(probeStep.script?.rc, 0, probeStep.script?.stderr);
    const out = probeStep.script?.stdout ?? '';
    assert.match(out, new RegExp(`^repo=${REPO_ROOT}$`, 'm'));
    assert.match(out, /^node=v\d+/m);
    for (const w of ['repo-readable', 'scratch-writable', 'etc-network-writable', 'repo-write-stays-in-guest'])
      assert.match(out, new RegExp(`^${w}$`, 'm'));
    assert.equal(probeStep.extra['probe.json'], '{"ok":true}\n');
    assert.ok(
      probeStep.link.some((l) => l.ifname === 'eno1'),
      'fake NICs exist',
    );
    assert.equal(existsSync(join(REPO_ROOT, probe)), false, 'guest writes never reach the host');
  });

  it('a guest that times out is killed and reported with the console tail', async () => {
    const t0 = Date.now();
    await assert.rejects(runInGuest({ steps: [{ script: 'true' }], timeoutMs: 1500 }), (e: unknown) => {
      assert.ok(e instanceof GuestError);
      assert.match(e.message, /timed out after 1\.5 s \(QEMU killed\)/);
      assert.match(e.message, /--- console tail ---/);
      return true;
    });
    assert.ok(Date.now() - t0 < 30_000);
  });
});
