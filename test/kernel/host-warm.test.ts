/**
 * The host `ifupdown2` backend's warm worker under `nodenet serve`, on a real kernel (inside the
 * QEMU guest, where `/` is a throw-away overlay, so `--root / --backend ifupdown2` is safe).
 *
 * The file is installer-shaped (`source /etc/network/interfaces.d/*`, a bridge and a VLAN in the
 * sourced file) with a bond under a bridge. Two applies, each made through `nodenet apply`:
 *   1. a new VLAN on the bond (bond0.60) and a new bridge on it (vmbr6);
 *   2. the bond's miimon changed and vmbr6 deleted.
 * Warm: `nodenet serve` runs; `nodenet apply` goes through its socket, so its host backend runs
 * the targeted `ifup`/`ifdown` in its warm worker. Cold: the same file reset with `ifreload -a`,
 * no server, the same CLI commands: `nodenet apply` applies in its own process, one ifupdown2
 * process per command. The normalised kernel states before, after 1 and after 2 must be equal;
 * the warm applies must be targeted, must not have fallen back to cold commands, and the worker
 * must have run commands (the second apply's log line `backend: ...; warm worker: N command(s)
 * warm, 0 cold`), and must be gone once serve stopped.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';
import { BOND_BRIDGE_VLAN, LOOK_INSTALLED } from './files.ts';

/** The installer's shape: BOND_BRIDGE_VLAN's bond and bridge, then the `source` line (the VLAN is sourced). */
const MAIN = `${BOND_BRIDGE_VLAN.slice(0, BOND_BRIDGE_VLAN.indexOf('auto bond0.40'))}source /etc/network/interfaces.d/*\n`;

const SOURCED = `auto bond0.40
iface bond0.40 inet static
	address 10.40.0.2/24

auto vmbr1
iface vmbr1 inet manual
	bridge-ports none
	bridge-stp off
	bridge-fd 0
`;

const FILES = { interfaces: MAIN, 'interfaces.d/vlans': SOURCED };

const SOCK = '/var/lib/nodenet/serve/apply.sock';

const PRELUDE = `set -e
${LOOK_INSTALLED}N() { /usr/bin/node "$KT_REPO/bin/nodenet" --root / --backend ifupdown2 "$@"; }
state() { /usr/bin/node --input-type=module -e "
  const s = await import('$KT_REPO/dist/apply/state.js');
  const r = await import('$KT_REPO/dist/apply/runner.js');
  console.log(JSON.stringify((await s.readKernelState(s.hostExec(r.createRunner()))).state));"; }
workers() { for p in /proc/[0-9]*; do tr '\\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q 'ifupdown2-worker[.]py' && echo "\${p#/proc/}"; done; true; }
`;

/** The two applies, the same in both runs. */
const APPLIES = `state >"$KT_OUT/state-0.json"
N create bond0.60 --type vlan --autostart 1 >>"$KT_OUT/stage.txt" 2>&1
N create vmbr6 --type bridge --autostart 1 --bridge_ports bond0.60 --cidr 10.60.0.2/24 >>"$KT_OUT/stage.txt" 2>&1
N apply >"$KT_OUT/apply-1.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/apply-1.txt"
state >"$KT_OUT/state-1.json"
N set bond0 --bond_miimon 250 >>"$KT_OUT/stage.txt" 2>&1
N delete vmbr6 >>"$KT_OUT/stage.txt" 2>&1
N apply >"$KT_OUT/apply-2.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/apply-2.txt"
state >"$KT_OUT/state-2.json"
`;

const WARM = `${PRELUDE}
# node itself in the background (not the N function: $! would be a subshell)
/usr/bin/node "$KT_REPO/bin/nodenet" --root / --backend ifupdown2 serve --listen 127.0.0.1:18006 >"$KT_OUT/serve.log" 2>&1 &
SERVE=$!
for i in $(seq 1 600); do [ -S ${SOCK} ] && break; sleep 0.5; done
[ -S ${SOCK} ] || { echo "serve did not listen on ${SOCK}" >&2; cat "$KT_OUT/serve.log" >&2; exit 1; }
${APPLIES}
workers >"$KT_OUT/workers-serving.txt"
kill -TERM "$SERVE"
wait "$SERVE" || echo "serve rc=$?" >>"$KT_OUT/serve.log"
workers >"$KT_OUT/workers-stopped.txt"`;

// The reset: everything taken down and brought up from the file, as at the first step. Not an
// \`ifreload -a\` from the warm run's end: that changes bond0's miimon back, and ifupdown2 (cold
// too) can then read bond0's MTU from the packet it sent (no IFLA_MTU) before the kernel's
// notification replaces it, and set the VLANs' MTU to 0 (seen once on f5ea2dd's code).
const COLD = `${PRELUDE}
[ ! -S ${SOCK} ] || rm -f ${SOCK}
ifdown -a -X lo >"$KT_OUT/reset.txt" 2>&1
ifup -a >>"$KT_OUT/reset.txt" 2>&1
${APPLIES}
workers >"$KT_OUT/workers-cold.txt"`;

describe(
  'kernel: the host backend warm under serve equals cold',
  { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 900_000 },
  () => {
    let warm: StepResult;
    let cold: StepResult;
    before(async () => {
      const run = await runInGuest({
        // two node processes per CLI call and a serve start under TCG: slow on a loaded machine
        timeoutMs: BOOT_TIMEOUT_MS + 840_000,
        steps: [
          { name: 'warm (serve)', files: FILES, script: WARM, check: false },
          { name: 'cold (CLI alone)', files: FILES, ifreload: false, script: COLD, check: false },
        ],
      });
      [warm, cold] = run.steps as [StepResult, StepResult];
    });

    const context = (s: StepResult): string =>
      `script rc ${s.script?.rc}\nstderr: ${s.script?.stderr}\n` +
      Object.entries(s.extra)
        .filter(([k]) => !k.startsWith('state-'))
        .map(([k, v]) => `--- ${k}\n${v.slice(0, 3000)}`)
        .join('\n');

    it('both runs stage and apply without error', () => {
      for (const s of [warm, cold]) {
        assert.equal(s.script?.rc, 0, context(s));
        assert.doesNotMatch(s.extra['stage.txt'] ?? '', /nodenet: /, context(s));
        for (const f of ['apply-1.txt', 'apply-2.txt'])
          assert.doesNotMatch(s.extra[f] ?? '', /rc=|^error: /m, context(s));
      }
    });

    it('the warm applies went through serve and its worker, targeted, with no cold fallback', () => {
      for (const f of ['apply-1.txt', 'apply-2.txt']) {
        const log = warm.extra[f] ?? '';
        assert.doesNotMatch(log, /applying in this process/, log);
        assert.doesNotMatch(log, /warm ifupdown2 worker/, log);
        assert.doesNotMatch(log, /\$ ifreload -a/, log);
        assert.match(log, /\$ ifup -w /, log);
      }
      assert.match(warm.extra['apply-2.txt'] ?? '', /\$ ifdown vmbr6/);
      // the first apply's commands, counted by the worker before the second apply
      const m = /warm worker: (\d+) command\(s\) warm, (\d+) cold/.exec(warm.extra['apply-2.txt'] ?? '');
      assert.ok(m, warm.extra['apply-2.txt']);
      assert.ok(Number(m[1]) >= 1, m[0]);
      assert.equal(m[2], '0', m[0]);
      assert.match(warm.extra['workers-serving.txt'] ?? '', /^\d+$/m, context(warm));
    });

    it('serve stops its worker on shutdown; the CLI alone starts none', () => {
      assert.equal((warm.extra['workers-stopped.txt'] ?? 'x').trim(), '', context(warm));
      assert.match(warm.extra['serve.log'] ?? '', /"stopped"/, warm.extra['serve.log']);
      assert.equal((cold.extra['workers-cold.txt'] ?? 'x').trim(), '', context(cold));
      for (const f of ['apply-1.txt', 'apply-2.txt']) {
        const log = cold.extra[f] ?? '';
        assert.match(log, /\$ ifup -w /, log);
        assert.doesNotMatch(log, /warm worker/, log);
      }
    });

    for (const k of [0, 1, 2]) {
      it(`kernel state ${k === 0 ? 'before the applies' : `after apply ${k}`}: warm equals cold`, () => {
        const w = JSON.parse(warm.extra[`state-${k}.json`] ?? 'null') as unknown;
        const c = JSON.parse(cold.extra[`state-${k}.json`] ?? 'null') as unknown;
        assert.ok(w !== null && c !== null, context(warm));
        assert.deepEqual(w, c);
      });
    }

    it('the kernel has the applied bridges, bond and VLANs', () => {
      type I = {
        name: string;
        kind: string;
        master?: string;
        up: boolean;
        addresses: string[];
        bond?: { options: Record<string, string> };
      };
      const s1 = JSON.parse(warm.extra['state-1.json'] ?? '{}') as { interfaces?: I[] };
      const s2 = JSON.parse(warm.extra['state-2.json'] ?? '{}') as { interfaces?: I[] };
      const get = (s: { interfaces?: I[] }, n: string): I | undefined => s.interfaces?.find((i) => i.name === n);
      assert.equal(get(s1, 'vmbr6')?.kind, 'bridge');
      assert.equal(get(s1, 'vmbr6')?.up, true);
      assert.deepEqual(get(s1, 'vmbr6')?.addresses, ['10.60.0.2/24']);
      assert.equal(get(s1, 'bond0.60')?.kind, 'vlan');
      assert.equal(get(s1, 'bond0.60')?.master, 'vmbr6');
      assert.equal(get(s1, 'bond0')?.master, 'vmbr0');
      assert.equal(get(s1, 'bond0.40')?.kind, 'vlan');
      assert.equal(get(s1, 'vmbr1')?.kind, 'bridge');
      assert.equal(get(s1, 'bond0')?.bond?.options['miimon'], '100');
      assert.equal(get(s2, 'vmbr6'), undefined);
      assert.equal(get(s2, 'bond0')?.bond?.options['miimon'], '250');
    });
  },
);
