/**
 * One parameter ↔ file option table (src/model/param-options.ts) for the API, the edit planner
 * and the web UI. Every row is checked end to end: created through the core, found as its
 * option in the written file (in the row's family stanza), read back by GET under its name;
 * the simple rows are updated and deleted too. Problems the API reports at a parameter are
 * shown by the web at the same field (before the table, the API put `bridge-fd` where the web
 * looked for `bridge_fd`, and disagreed on `netmask`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NetworkCore } from '../../src/core/network.ts';
import { NodenetError } from '../../src/errors.ts';
import { IFACE_PARAMS, PARAM_OPTIONS } from '../../src/model/params.ts';
import { optionToParam as webField, words } from '../../web/src/logic.ts';
import { BASE as PVE_BASE } from './pve-params.ts';

/** The round-trip tests' base file (NICs eno1..eno5) with an OVS bridge, int port and bond. */
const BASE = `${PVE_BASE}${[
  '',
  'auto ovsbr0',
  'iface ovsbr0 inet manual',
  '\tovs_type OVSBridge',
  '\tovs_ports ovsp1 ovsbond0',
  '',
  'auto ovsp1',
  'iface ovsp1 inet manual',
  '\tovs_type OVSIntPort',
  '\tovs_bridge ovsbr0',
  '\tovs_options tag=5 vlan_mode=access',
  '',
  'auto ovsbond0',
  'iface ovsbond0 inet manual',
  '\tovs_type OVSBond',
  '\tovs_bridge ovsbr0',
  '\tovs_bonds eno5',
  '',
].join('\n')}`;

async function withCore(f: (core: NetworkCore, file: () => string) => Promise<void>, text = BASE): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nodenet-params-'));
  try {
    mkdirSync(join(dir, 'etc/network'), { recursive: true });
    writeFileSync(join(dir, 'etc/network/interfaces'), text);
    await f(new NetworkCore({ root: dir }), () => readFileSync(join(dir, 'etc/network/interfaces.new'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The option lines (`key value`) of `iface NAME FAMILY` in a file. */
function stanzaLines(text: string, name: string, family: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) inside = line.startsWith(`iface ${name} ${family} `);
    else if (inside && line.trim()) out.push(line.trim().replace(/\s+/g, ' '));
  }
  return out;
}

interface Case {
  iface: string;
  params: Record<string, string>;
  /** Per parameter: the line it is written as, and what GET answers for it. */
  expect: Record<string, { line: string; get: string | number }>;
}

/** One creation per kind; together they set every writable parameter of the table. */
const CASES: Case[] = [
  {
    iface: 'vmbr5',
    params: {
      type: 'bridge',
      bridge_ports: 'eno1',
      bridge_stp: 'on',
      bridge_fd: '15',
      bridge_vlan_aware: '1',
      bridge_vids: '2-100',
      mtu: '1400',
      cidr: '10.1.0.2/24',
      gateway: '10.1.0.1',
      'cidr-extra': '10.2.0.2/24',
      cidr6: '2001:db8::2/64',
      gateway6: '2001:db8::1',
      'cidr6-extra': '2001:db8:1::2/64',
    },
    expect: {
      bridge_ports: { line: 'bridge-ports eno1', get: 'eno1' },
      bridge_stp: { line: 'bridge-stp on', get: 'on' },
      bridge_fd: { line: 'bridge-fd 15', get: '15' },
      bridge_vlan_aware: { line: 'bridge-vlan-aware yes', get: 1 },
      bridge_vids: { line: 'bridge-vids 2-100', get: '2-100' },
      mtu: { line: 'mtu 1400', get: '1400' },
      cidr: { line: 'address 10.1.0.2/24', get: '10.1.0.2/24' },
      gateway: { line: 'gateway 10.1.0.1', get: '10.1.0.1' },
      'cidr-extra': { line: 'address 10.2.0.2/24', get: '10.2.0.2/24' },
      cidr6: { line: 'address 2001:db8::2/64', get: '2001:db8::2/64' },
      gateway6: { line: 'gateway 2001:db8::1', get: '2001:db8::1' },
      'cidr6-extra': { line: 'address 2001:db8:1::2/64', get: '2001:db8:1::2/64' },
    },
  },
  {
    iface: 'bond0',
    params: {
      type: 'bond',
      slaves: 'eno2',
      bond_mode: '802.3ad',
      bond_xmit_hash_policy: 'layer3+4',
      bond_miimon: '200',
      bond_lacp_rate: 'fast',
    },
    expect: {
      slaves: { line: 'bond-slaves eno2', get: 'eno2' },
      bond_mode: { line: 'bond-mode 802.3ad', get: '802.3ad' },
      bond_xmit_hash_policy: { line: 'bond-xmit-hash-policy layer3+4', get: 'layer3+4' },
      bond_miimon: { line: 'bond-miimon 200', get: '200' },
      bond_lacp_rate: { line: 'bond-lacp-rate fast', get: 'fast' },
    },
  },
  {
    iface: 'bond1',
    params: {
      type: 'bond',
      slaves: 'eno3',
      bond_mode: 'active-backup',
      'bond-primary': 'eno3',
      address: '10.3.0.2',
      netmask: '255.255.0.0',
      address6: '2001:db8:3::2',
      netmask6: '64',
    },
    expect: {
      'bond-primary': { line: 'bond-primary eno3', get: 'eno3' },
      // PVE writes the pair in CIDR form and reads the mask back as a prefix length.
      address: { line: 'address 10.3.0.2/16', get: '10.3.0.2' },
      netmask: { line: 'address 10.3.0.2/16', get: '16' },
      address6: { line: 'address 2001:db8:3::2/64', get: '2001:db8:3::2' },
      netmask6: { line: 'address 2001:db8:3::2/64', get: '64' },
    },
  },
  {
    iface: 'v7',
    params: { type: 'vlan', 'vlan-raw-device': 'bond0', 'vlan-id': '7' },
    expect: {
      'vlan-raw-device': { line: 'vlan-raw-device bond0', get: 'bond0' },
      'vlan-id': { line: 'vlan-id 7', get: '7' },
    },
  },
];

/** OVS rows checked reading a file (test/engine/ovs.test.ts writes them); `tag=` reads as ovs_tag. */
const OVS_READ: Record<string, { iface: string; get: string }> = {
  ovs_ports: { iface: 'ovsbr0', get: 'ovsp1 ovsbond0' },
  ovs_bridge: { iface: 'ovsp1', get: 'ovsbr0' },
  ovs_options: { iface: 'ovsp1', get: 'vlan_mode=access' },
  ovs_tag: { iface: 'ovsp1', get: '5' },
  ovs_bonds: { iface: 'ovsbond0', get: 'eno5' },
};

describe('the parameter table', () => {
  it('names parameters of the API and options of the file, each row covered here', () => {
    const params = new Set(IFACE_PARAMS.map((p) => p.name));
    for (const r of PARAM_OPTIONS) {
      assert.ok(params.has(r.param), `${r.param} is an API parameter`);
      assert.match(r.option, /^[a-z0-9]+(-[a-z0-9]+)*$/, 'options in canonical (dashed) spelling');
      const covered = CASES.some((c) => c.expect[r.param]) || OVS_READ[r.param] !== undefined;
      assert.ok(covered, `${r.param} has a round-trip case`);
    }
  });

  it('every row: create → its option in the file (right family) → GET under the parameter name', async () => {
    await withCore(async (core, file) => {
      for (const c of CASES) await core.create(c.iface, c.params);
      const text = file();
      for (const r of PARAM_OPTIONS) {
        const c = CASES.find((x) => x.expect[r.param]);
        if (!c) continue;
        const e = c.expect[r.param]!;
        const written = r.field ? PARAM_OPTIONS.find((x) => x.param === r.field)!.option : r.option;
        assert.equal(e.line.split(' ')[0], written, `${r.param} is written as ${written}`);
        assert.ok(
          stanzaLines(text, c.iface, r.family ?? 'inet').includes(e.line),
          `${r.param}: '${e.line}' in iface ${c.iface} ${r.family ?? 'inet'}\n${text}`,
        );
        const { data } = await core.get(c.iface);
        assert.deepEqual((data as Record<string, unknown>)[r.param], e.get, `GET ${c.iface} ${r.param}`);
      }
      for (const [param, o] of Object.entries(OVS_READ)) {
        const { data } = await core.get(o.iface);
        assert.equal((data as Record<string, unknown>)[param], o.get, `GET ${o.iface} ${param}`);
      }
    });
  });

  it('every simple row: update rewrites the option line, GET follows; delete removes the line', async () => {
    const NEW: Record<string, [string, string]> = {
      mtu: ['vmbr5', '1300'],
      bridge_vids: ['vmbr5', '5-6'],
      bridge_stp: ['vmbr5', 'off'],
      bridge_fd: ['vmbr5', '20'],
      bond_mode: ['bond0', 'balance-xor'],
      bond_xmit_hash_policy: ['bond0', 'layer2'],
      bond_miimon: ['bond0', '300'],
      bond_lacp_rate: ['bond0', 'slow'],
      'bond-primary': ['bond1', 'eno4'],
      'vlan-raw-device': ['v7', 'bond1'],
      'vlan-id': ['v7', '8'],
    };
    const KEEP = new Set(['vlan-raw-device', 'vlan-id', 'bond_mode']); // a VLAN needs both; a bond without mode is balance-rr
    await withCore(async (core, file) => {
      for (const c of CASES) await core.create(c.iface, c.params);
      await core.update('bond1', { slaves: 'eno3 eno4' });
      const simple = PARAM_OPTIONS.filter((r) => r.simple);
      assert.deepEqual(simple.map((r) => r.param).sort(), Object.keys(NEW).sort());
      for (const r of simple) {
        const [iface, value] = NEW[r.param]!;
        await core.update(iface, { [r.param]: value });
        assert.ok(
          stanzaLines(file(), iface, 'inet').includes(`${r.option} ${value}`),
          `${r.param}=${value} writes '${r.option} ${value}'\n${file()}`,
        );
        assert.equal((await core.get(iface)).data[r.param as never], value, `GET ${iface} ${r.param}`);
      }
      for (const r of simple.filter((x) => !KEEP.has(x.param))) {
        const [iface] = NEW[r.param]!;
        await core.update(iface, {}, [r.param]);
        assert.ok(
          !stanzaLines(file(), iface, 'inet').some((l) => l.split(' ')[0] === r.option),
          `delete=${r.param} removes ${r.option}\n${file()}`,
        );
      }
    });
  });
});

describe('the API and the web place a problem at the same parameter', () => {
  /** The refusal of an edit, with the fields the API named and the fields the web shows its diagnostics at. */
  async function refusal(edit: Promise<unknown>): Promise<{ api: string[]; web: string[] }> {
    try {
      await edit;
    } catch (e) {
      assert.ok(e instanceof NodenetError && e.errors && e.diagnostics, String(e));
      return {
        api: Object.keys(e.errors).sort(),
        web: e.diagnostics.map((d) => (d.option ? webField(d.option) : 'iface')).sort(),
      };
    }
    assert.fail('the edit was not refused');
  }

  it('bridge_fd (STP on with forward delay 0): the API named it bridge-fd, a name no dialog field has', async () => {
    await withCore(async (core) => {
      const r = await refusal(core.create('vmbr6', { type: 'bridge', bridge_stp: 'on', bridge_fd: '0' }));
      assert.deepEqual(r.api, ['bridge_fd']);
      assert.deepEqual(r.web, r.api);
    });
  });

  it('netmask: a mask that is not contiguous is a problem of cidr in the API as in the web', async () => {
    await withCore(async (core) => {
      const vmbr7 =
        'auto vmbr7\niface vmbr7 inet static\n\taddress 10.7.0.2\n\tnetmask 255.0.255.0\n\tbridge-ports none\n';
      const r = await refusal(core.editText(undefined, (t) => `${t}\n${vmbr7}`));
      assert.deepEqual(r.api, ['cidr']);
      assert.deepEqual(r.web, r.api);
    });
  });

  it('every option of the table, in either spelling, maps to the same field in both', () => {
    for (const r of PARAM_OPTIONS) {
      // A diagnostic names the option, not the family: the first row naming it decides.
      const first = PARAM_OPTIONS.find((x) => x.option === r.option)!;
      for (const key of [r.option, r.option.replace(/-/g, '_')])
        assert.equal(webField(key), first.field ?? first.param, key);
    }
    const expected = [
      ['bridge-ports', 'bridge_ports'],
      ['bond-slaves', 'slaves'],
      ['address', 'cidr'],
      ['netmask', 'cidr'],
      ['gateway', 'gateway'],
      ['bridge-stp', 'bridge_stp'],
      ['bridge-fd', 'bridge_fd'],
      ['bond-miimon', 'bond_miimon'],
      ['bond-lacp-rate', 'bond_lacp_rate'],
      ['bond-primary', 'bond-primary'],
      ['vlan-id', 'vlan-id'],
      ['ovs-ports', 'ovs_ports'],
      ['post-up', 'post-up'],
    ];
    for (const [option, f] of expected) assert.equal(webField(option!), f, option);
    // Parameter names the API reports for the address pair land on the dialog's CIDR fields.
    for (const [k, f] of [
      ['netmask', 'cidr'],
      ['address', 'cidr'],
      ['netmask6', 'cidr6'],
      ['address6', 'cidr6'],
      ['gateway6', 'gateway6'],
    ])
      assert.equal(webField(k!), f);
  });

  it("lists read from the file split the same everywhere (the web's words, the model's ports)", async () => {
    assert.deepEqual(words(' eno1,eno2;\teno3  none '), ['eno1', 'eno2', 'eno3']);
    assert.deepEqual(words('none'), []);
    assert.deepEqual(words(undefined), []);
    await withCore(async (core) => {
      const { data } = await core.get('ovsbr0');
      assert.deepEqual(words(String(data.ovs_ports)), ['ovsp1', 'ovsbond0']);
    });
  });
});
