import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathsFor } from '../store/paths.ts';
import { modelOf } from './pipeline.ts';
import { decideReload, planApply, readAppliedSources, recordAppliedSources, scopeOf } from './plan.ts';

const LO = 'auto lo\niface lo inet loopback\n\n';
const br = (n: number, a = `10.0.${n}.1/24`): string =>
  `auto vmbr${n}\niface vmbr${n} inet static\n\taddress ${a}\n\tbridge-ports none\n\n`;
const SOURCE = 'source /etc/network/interfaces.d/*\n';
const main = (extra = ''): string => `${LO}${br(0)}${br(1)}${br(2)}${extra}${SOURCE}`;

function withRoot(
  fn: (root: string, put: (name: string, text: string | null) => void) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'nodenet-plan-'));
    mkdirSync(join(root, 'etc/network/interfaces.d'), { recursive: true });
    const put = (name: string, text: string | null): void => {
      const p = join(root, 'etc/network/interfaces.d', name);
      if (text === null) rmSync(p);
      else writeFileSync(p, text);
    };
    try {
      await fn(root, put);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

async function plan(root: string, before: string, after: string): ReturnType<typeof planApply> {
  return planApply({
    paths: pathsFor(root),
    beforeText: before,
    before: modelOf(before),
    afterText: after,
    after: modelOf(after),
  });
}

test('decideReload says why it reloads everything', () => {
  assert.match(decideReload(modelOf(main()), modelOf(main(br(3)))).reason ?? '', /source lines/);
  assert.match(decideReload(modelOf(LO + br(0)), modelOf(LO + br(0))).reason ?? '', /nothing changed/);
  assert.match(
    decideReload(modelOf(LO + br(0) + br(1)), modelOf(LO + br(0).replace('auto vmbr0\n', '') + br(1))).reason ?? '',
    /no longer auto/,
  );
  assert.equal(
    decideReload(modelOf(LO + br(0) + br(1) + br(2)), modelOf(LO + br(0) + br(1) + br(2) + br(3))).reason,
    undefined,
  );
});

test(
  'planApply: the installer source line with an empty interfaces.d is a targeted reload',
  withRoot(async (root) => {
    const p = await plan(root, main(), main(br(3)));
    assert.deepEqual(p.plan, { up: ['vmbr3'], down: [] });
    assert.deepEqual(p.changed, ['vmbr3']);
    assert.deepEqual(p.notes, ['sourced files: (none)']);
  }),
);

test(
  'planApply: a sourced file edited since the recorded reload changes its interfaces only',
  withRoot(async (root, put) => {
    put('lab', br(7));
    const first = await plan(root, main(), main());
    assert.deepEqual(first.plan, { all: true }, 'nothing changed');
    assert.ok(
      first.notes.some((n) => n.includes('no record')),
      first.notes.join('\n'),
    );
    await recordAppliedSources(join(root, 'var/lib/nodenet'), first.sourced);
    assert.equal((await readAppliedSources(join(root, 'var/lib/nodenet')))?.[0]?.name, 'interfaces.d/lab');
    put('lab', br(7, '10.9.9.1/24'));
    const p = await plan(root, main(), main());
    assert.deepEqual(p.plan, { up: ['vmbr7'], down: [] });
    assert.ok(
      p.notes.some((n) => n.includes('changed since the last reload: interfaces.d/lab')),
      p.notes.join('\n'),
    );
    // removed from disk: ifdown from the recorded text
    put('lab', null);
    assert.deepEqual((await plan(root, main(), main())).plan, { up: [], down: ['vmbr7'] });
  }),
);

test(
  'planApply: an auto line in the main file for a stanza in a sourced file counts as one interface',
  withRoot(async (root, put) => {
    put('lab', 'iface vmbr7 inet manual\n\tbridge-ports none\n');
    await recordAppliedSources(
      join(root, 'var/lib/nodenet'),
      (await plan(root, main('auto vmbr7\n\n'), main('auto vmbr7\n\n'))).sourced,
    );
    put('lab', 'iface vmbr7 inet manual\n\tbridge-ports none\n\tmtu 1400\n');
    assert.deepEqual((await plan(root, main('auto vmbr7\n\n'), main('auto vmbr7\n\n'))).plan, {
      up: ['vmbr7'],
      down: [],
    });
  }),
);

test(
  'planApply: a sourced file with source lines of its own falls back to ifreload -a, saying why',
  withRoot(async (root, put) => {
    put('lab', `${br(7)}source /etc/network/other/*\n`);
    await recordAppliedSources(join(root, 'var/lib/nodenet'), (await plan(root, main(), main())).sourced);
    const p = await plan(root, main(), main(br(3)));
    assert.deepEqual(p.plan, { all: true });
    assert.match(p.reason ?? '', /interfaces\.d\/lab has source lines of its own/);
  }),
);

test('a targeted verify also covers what stands directly on an interface the reload touched', () => {
  // A new VLAN on bond0: ifup touches bond0, and the VLAN and the bridge already on bond0 are
  // verified too (a bad cache entry of bond0 has broken bond0.40's MTU and address before).
  const base =
    `${LO}auto eno1\niface eno1 inet manual\n\nauto bond0\niface bond0 inet manual\n\tbond-slaves eno1\n\tbond-mode active-backup\n\n` +
    'auto bond0.40\niface bond0.40 inet static\n\taddress 10.40.0.2/24\n\n' +
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.2/24\n\tbridge-ports bond0\n\n' +
    'auto vmbr9\niface vmbr9 inet manual\n\tbridge-ports none\n\n';
  const after = `${base}auto bond0.60\niface bond0.60 inet manual\n`;
  const scope = scopeOf({ up: ['bond0.60'], down: [] }, modelOf(base), modelOf(after));
  assert.deepEqual(scope, ['bond0', 'bond0.40', 'bond0.60', 'eno1', 'vmbr0']);
  // Only one level up: a bridge on bond0.40 is not in scope through bond0.
  const stacked = `${after}auto vmbr40\niface vmbr40 inet manual\n\tbridge-ports bond0.40\n`;
  assert.ok(!scopeOf({ up: ['bond0.60'], down: [] }, modelOf(stacked), modelOf(stacked))?.includes('vmbr40'));
});

test('a port joining a VLAN-aware bridge falls back to ifreload -a, saying why; a port-less one stays targeted', () => {
  const base =
    `${LO}auto eno1\niface eno1 inet manual\n\nauto eno2\niface eno2 inet manual\n\n` +
    'auto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n\n' +
    'auto vmbr1\niface vmbr1 inet manual\n\tbridge-ports none\n\n' +
    'auto vmbr2\niface vmbr2 inet manual\n\tbridge-ports none\n\n';
  const aware = (name: string, ports: string, vids = '2-100'): string =>
    `auto ${name}\niface ${name} inet manual\n\tbridge-ports ${ports}\n\tbridge-vlan-aware yes\n\tbridge-vids ${vids}\n\n`;
  const decide = (b: string, a: string) => decideReload(modelOf(b), modelOf(a));
  // a new VLAN-aware bridge with a port
  let d = decide(base, `${base}${aware('vmbr10', 'eno2')}`);
  assert.deepEqual(d.plan, { all: true });
  assert.equal(
    d.reason,
    "eno2 joins the VLAN-aware bridge vmbr10 (a targeted ifup leaves a port without the bridge's bridge-vids)",
  );
  // with no port: targeted
  d = decide(base, `${base}${aware('vmbr10', 'none')}`);
  assert.deepEqual(d.plan, { up: ['vmbr10'], down: [] });
  // a port added to an existing VLAN-aware bridge: only that port joins
  const withAware = `${base}${aware('vmbr10', 'eno1')}`;
  d = decide(withAware, withAware.replace('bridge-ports eno1\n\tbridge-vlan', 'bridge-ports eno1 eno2\n\tbridge-vlan'));
  assert.match(d.reason ?? '', /^eno2 joins the VLAN-aware bridge vmbr10 /);
  // its bridge-vids changed: every port gets the new ones
  d = decide(withAware, withAware.replace('bridge-vids 2-100', 'bridge-vids 2-200'));
  assert.match(d.reason ?? '', /^eno1 joins the VLAN-aware bridge vmbr10 /);
  // another change on a VLAN-aware bridge (an address): targeted
  d = decide(withAware, withAware.replace('bridge-vids 2-100\n', 'bridge-vids 2-100\n\taddress 192.0.2.9/24\n'));
  assert.equal('all' in d.plan, false, d.reason);
});
