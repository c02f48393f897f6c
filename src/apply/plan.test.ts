import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathsFor } from '../store/paths.ts';
import { modelOf } from './pipeline.ts';
import { decideReload, narrowUpFile, planApply, readAppliedSources, recordAppliedSources, scopeOf } from './plan.ts';
import { emptyKernelState, type KernelState } from './state.ts';

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

test('narrowUpFile: the stanzas connected to what ifup brings up, in file order, and lo', () => {
  const text =
    `${LO}iface eno1 inet manual\n\niface eno2 inet manual\n\n` +
    'auto bond0\niface bond0 inet manual\n\tbond-slaves eno2 eno3\n\tbond-mode active-backup\n\n' +
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.2/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\n' +
    'auto vmbr0.40\niface vmbr0.40 inet static\n\taddress 10.40.0.2/24\n\n' +
    'allow-hotplug vmbr1\niface vmbr1 inet static\n\taddress 10.1.0.1/24\n\tbridge-ports bond0 \\\n\t\tnone\n# a comment\n' +
    'iface vmbr1 inet6 static\n\taddress fd00::1/64\n\n' +
    'auto vlan50\niface vlan50 inet manual\n\tvlan-raw-device vmbr1\n\n' +
    `${br(2)}${br(3)}${SOURCE}`;
  const m = modelOf(text);
  const state = emptyKernelState();
  const names = (up: string[], st: KernelState = state): string[] | string =>
    narrowUpFile(m, [text], up, { state: st }).file?.names ?? 'whole';
  assert.deepEqual(names(['vmbr2']), ['lo', 'vmbr2']);
  // ports, dotted VLANs above, in both directions and transitively
  assert.deepEqual(names(['vmbr0']), ['lo', 'eno1', 'vmbr0', 'vmbr0.40']);
  assert.deepEqual(names(['vmbr0.40']), ['lo', 'eno1', 'vmbr0', 'vmbr0.40']);
  assert.deepEqual(names(['vlan50']), ['lo', 'eno2', 'bond0', 'vmbr1', 'vlan50']);
  const f = narrowUpFile(m, [text], ['vmbr1'], { state });
  assert.equal(f.file?.of, 10);
  assert.equal(
    f.file?.text,
    `${LO}iface eno2 inet manual\n\nauto bond0\niface bond0 inet manual\n\tbond-slaves eno2 eno3\n\tbond-mode active-backup\n\n` +
      'allow-hotplug vmbr1\niface vmbr1 inet static\n\taddress 10.1.0.1/24\n\tbridge-ports bond0 none\n\n' +
      'iface vmbr1 inet6 static\n\taddress fd00::1/64\n\n' +
      'auto vlan50\niface vlan50 inet manual\n\tvlan-raw-device vmbr1\n\n',
  );
  // the ports a bridge has now: from the previous configuration and from the kernel
  assert.deepEqual(
    narrowUpFile(m, [text], ['vmbr2'], {
      state,
      before: modelOf(text.replace(br(2), br(2).replace('bridge-ports none', 'bridge-ports eno1'))),
    }).file?.names,
    ['lo', 'eno1', 'vmbr0', 'vmbr0.40', 'vmbr2'],
  );
  const enslaved: KernelState = {
    ...state,
    interfaces: [{ name: 'eno2', kind: 'veth', master: 'vmbr3' } as KernelState['interfaces'][number]],
  };
  assert.deepEqual(names(['vmbr3'], enslaved), ['lo', 'eno2', 'bond0', 'vmbr1', 'vlan50', 'vmbr3']);
  // the whole file when the closure is unclear
  const why = (t: string, up: string[], o: Parameters<typeof narrowUpFile>[3] = { state }): string | undefined =>
    narrowUpFile(modelOf(t), [t], up, o).reason;
  assert.match(why(text, ['vmbr2'], {}) ?? '', /running ports were not read/);
  assert.match(why(text, ['vmbr1'], { state, scope: ['vlan50'] }) ?? '', /running ports of bond0 vmbr1 were not read/);
  assert.equal(why(text, ['vmbr2'], { state, scope: ['vmbr2'] }), undefined);
  assert.match(why(`${LO}${br(1).replace('none', 'glob eno*')}${br(2)}`, ['vmbr2']) ?? '', /port expression \(glob\)/);
  assert.match(why(`${LO}${br(1)}${br(2)}\n% for i in range(3):\n% endfor\n`, ['vmbr2']) ?? '', /template/);
  assert.match(why(`${LO}${br(1).replace('none', '${p}')}${br(2)}`, ['vmbr2']) ?? '', /template/);
  assert.match(
    why(`${LO}${br(1)}${br(2)}vlan vmbr1.10\n\tbridge-igmp-querier-src 10.0.0.1\n`, ['vmbr2']) ?? '',
    /vlan/,
  );
  assert.match(why(`${LO}${br(1)}`, ['vmbr1']) ?? '', /every interface/);
});
