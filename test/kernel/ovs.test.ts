/**
 * Open vSwitch on a real kernel, as Proxmox VE runs it: Debian's `openvswitch-switch` (fetched
 * and unpacked by ovs-prepare.sh, never installed on the host) runs in the guest (ovsdb-server +
 * ovs-vswitchd, the kernel's `openvswitch` module), and ifupdown2's openvswitch add-ons bring up
 * an OVS bridge with an OVS bond of two NICs and a tagged IntPort with an address:
 *
 * 1. from a file in Proxmox VE's shape written by hand (what `pvesh create` writes);
 * 2. made by `nodenet create` (OVSBridge, OVSBond, OVSIntPort) and `nodenet apply`; then the tag
 *    edited (`nodenet set --ovs_tag`) and the IntPort deleted, each applied and read back with
 *    `ovs-vsctl`. `nodenet verify` must not report drift for OVS objects (it does not check them).
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOT_TIMEOUT_MS, CACHE_DIR, kernelTierSkip, runInGuest, type StepResult } from './harness.ts';
import { LOOK_INSTALLED } from './files.ts';
import { addresses, describeStep } from './state.ts';

// The guest cannot auto-load modules: prepare.sh's initramfs loads openvswitch (and its
// conntrack/NAT dependencies) for every suite, so all suites share one initramfs.

const HERE = fileURLToPath(new URL('.', import.meta.url));

const BASE = `auto lo
iface lo inet loopback

iface eno1 inet manual

iface eno2 inet manual

iface eno3 inet manual
`;

// Proxmox VE's shape (ifupdown2 flavour: `auto` lines; members listed in the bridge's ovs_ports)
const PVE_SHAPE = `${BASE}
auto bond0
iface bond0 inet manual
	ovs_bonds eno2 eno3
	ovs_type OVSBond
	ovs_bridge vmbr1
	ovs_options bond_mode=balance-slb

auto mgmt50
iface mgmt50 inet static
	address 10.50.0.2/24
	ovs_type OVSIntPort
	ovs_bridge vmbr1
	ovs_options tag=50

auto vmbr1
iface vmbr1 inet manual
	ovs_type OVSBridge
	ovs_ports bond0 mgmt50
`;

/** Guest bash: Open vSwitch from the unpacked packages on the guest's throw-away overlay, started. */
const ovsStart = (ovs: string): string => `set -e
cp -as ${ovs}/usr/. /usr/ 2>/dev/null || cp -rsn ${ovs}/usr/. /usr/
mkdir -p /etc/openvswitch /var/run/openvswitch /var/log/openvswitch
ovsdb-tool create /etc/openvswitch/conf.db /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server --remote=punix:/var/run/openvswitch/db.sock --pidfile --detach --log-file
ovs-vsctl --no-wait init
/usr/lib/openvswitch-switch/ovs-vswitchd --pidfile --detach --log-file
ovs-vsctl --timeout=30 show
`;

/** Guest bash: the OVS state as key=value lines in $KT_OUT/ovs.txt. */
const OVS_DUMP = `ovsdump() {
  {
    echo "bridges=$(ovs-vsctl list-br | xargs)"
    for b in $(ovs-vsctl list-br); do
      echo "$b.ports=$(ovs-vsctl list-ports "$b" | sort | xargs)"
      for p in $(ovs-vsctl list-ports "$b"); do
        echo "$p.tag=$(ovs-vsctl get Port "$p" tag)"
        echo "$p.bond_mode=$(ovs-vsctl get Port "$p" bond_mode)"
      done
    done
    for i in $(ovs-vsctl --bare --columns=name list Interface | sort); do
      echo "$i.br=$(ovs-vsctl iface-to-br "$i" 2>/dev/null || true)"
      echo "$i.type=$(ovs-vsctl get Interface "$i" type)"
    done
  } >"$KT_OUT/$1"
}
`;

const PRELUDE = `set -e
${LOOK_INSTALLED}N() { /usr/bin/node "$KT_REPO/bin/nodenet" --root / --backend ifupdown2 "$@"; }
${OVS_DUMP}`;

function ovsState(step: StepResult, file = 'ovs.txt'): Record<string, string> {
  const text = step.extra[file];
  assert.ok(text !== undefined, `no ${file}: ${describeStep(step)}\n${step.script?.stderr ?? ''}`);
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe(
  'kernel: Open vSwitch through ifupdown2',
  { skip: kernelTierSkip(), timeout: BOOT_TIMEOUT_MS + 180_000 },
  () => {
    let start: StepResult;
    let shape: StepResult;
    let made: StepResult;
    let tagged: StepResult;
    let deleted: StepResult;
    before(async () => {
      const out = execFileSync('bash', [join(HERE, 'ovs-prepare.sh'), CACHE_DIR], { encoding: 'utf8' });
      const ovs = /^OVS=(.+)$/m.exec(out)?.[1];
      assert.ok(ovs, `ovs-prepare.sh gave no path: ${out}`);
      const run = await runInGuest({
        timeoutMs: BOOT_TIMEOUT_MS + 120_000,
        steps: [
          { name: 'ovs-start', files: BASE, script: ovsStart(ovs), check: false },
          {
            name: 'pve-shape',
            files: PVE_SHAPE,
            script: `${PRELUDE}ovsdump ovs.txt
N verify >"$KT_OUT/verify.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/verify.txt"`,
          },
          {
            name: 'nodenet-create',
            files: BASE,
            script: `${PRELUDE}
ovs-vsctl --if-exists del-br vmbr1
N create vmbr1 --type OVSBridge --autostart 1 >"$KT_OUT/create.txt" 2>&1
N create bond0 --type OVSBond --ovs_bridge vmbr1 --ovs_bonds 'eno2 eno3' --bond_mode balance-slb --autostart 1 \\
  >>"$KT_OUT/create.txt" 2>&1
N create mgmt50 --type OVSIntPort --ovs_bridge vmbr1 --ovs_tag 50 --cidr 10.50.0.2/24 --autostart 1 \\
  >>"$KT_OUT/create.txt" 2>&1
N apply >"$KT_OUT/apply.txt" 2>&1
cp /etc/network/interfaces "$KT_OUT/interfaces"
ovsdump ovs.txt
N verify >"$KT_OUT/verify.txt" 2>&1`,
          },
          {
            name: 'nodenet-set-tag',
            script: `${PRELUDE}
N set mgmt50 --ovs_tag 60 >"$KT_OUT/set.txt" 2>&1
N apply >"$KT_OUT/apply.txt" 2>&1
ovsdump ovs.txt
N verify >"$KT_OUT/verify.txt" 2>&1`,
          },
          {
            name: 'nodenet-delete',
            script: `${PRELUDE}
N delete mgmt50 >"$KT_OUT/delete.txt" 2>&1
N apply >"$KT_OUT/apply.txt" 2>&1
cp /etc/network/interfaces "$KT_OUT/interfaces"
ovsdump ovs.txt
N verify >"$KT_OUT/verify.txt" 2>&1`,
          },
        ],
      });
      [start, shape, made, tagged, deleted] = run.steps as [StepResult, StepResult, StepResult, StepResult, StepResult];
    });

    it('ovsdb-server and ovs-vswitchd run in the guest', () => {
      assert.equal(start.script?.rc, 0, `${describeStep(start)}\n${start.script?.stderr}`);
    });

    it("a file in Proxmox VE's shape: bridge, bond of two NICs, tagged IntPort with its address", () => {
      assert.equal(shape.ifreload?.rc, 0, shape.ifreload?.log);
      const s = ovsState(shape);
      assert.equal(s['bridges'], 'vmbr1');
      assert.equal(s['vmbr1.ports'], 'bond0 mgmt50');
      assert.equal(s['eno2.br'], 'vmbr1');
      assert.equal(s['eno3.br'], 'vmbr1');
      assert.equal(s['bond0.bond_mode'], 'balance-slb');
      assert.equal(s['mgmt50.tag'], '50');
      assert.equal(s['mgmt50.type'], 'internal');
      assert.deepEqual(addresses(shape, 'mgmt50'), ['10.50.0.2/24']);
      assert.equal(shape.check?.rc, 0, `ifquery --check: ${shape.check?.raw}`);
    });

    it('nodenet verify reports no drift for the OVS objects (it does not check them)', () => {
      const v = shape.extra['verify.txt'] ?? '';
      assert.match(v, /verify: the kernel matches the live file/, v);
      assert.doesNotMatch(v, /rc=/, v);
    });

    it('made by nodenet create and applied: the same state', () => {
      const say = `${describeStep(made)}\n${JSON.stringify(made.extra, null, 1).slice(0, 4000)}\n${made.script?.stderr}`;
      assert.equal(made.script?.rc, 0, say);
      const s = ovsState(made);
      assert.equal(s['vmbr1.ports'], 'bond0 mgmt50', say);
      assert.equal(s['eno2.br'], 'vmbr1', say);
      assert.equal(s['eno3.br'], 'vmbr1', say);
      assert.equal(s['bond0.bond_mode'], 'balance-slb', say);
      assert.equal(s['mgmt50.tag'], '50', say);
      assert.deepEqual(addresses(made, 'mgmt50'), ['10.50.0.2/24']);
      assert.match(made.extra['interfaces'] ?? '', /ovs_options (.* )?tag=50\b/);
    });

    it('the tag edited and applied: OVS has the new tag', () => {
      assert.equal(tagged.script?.rc, 0, `${describeStep(tagged)}\n${JSON.stringify(tagged.extra, null, 1)}`);
      assert.equal(ovsState(tagged)['mgmt50.tag'], '60');
    });

    it("the IntPort deleted and applied: gone from OVS and from the bridge's ovs_ports", () => {
      assert.equal(deleted.script?.rc, 0, `${describeStep(deleted)}\n${JSON.stringify(deleted.extra, null, 1)}`);
      const s = ovsState(deleted);
      assert.equal(s['vmbr1.ports'], 'bond0');
      assert.equal(s['mgmt50.br'], undefined);
      assert.match(deleted.extra['interfaces'] ?? '', /ovs_ports bond0\n/);
      assert.doesNotMatch(deleted.extra['interfaces'] ?? '', /mgmt50/);
    });
  },
);
