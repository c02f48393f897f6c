/**
 * Open vSwitch through the core (issue 17): create/update/delete of OVSBridge, OVSBond, OVSPort
 * and OVSIntPort write Proxmox VE's stanza shape (`ovs_type`, members in the bridge's
 * `ovs_ports`, `tag=`/`bond_mode=` inside `ovs_options`), the read view lifts `ovs_tag` and
 * `bond_mode` out of `ovs_options` and counts `allow-ovs`/`allow-BRIDGE` as autostart, and a
 * member's bridge follows it (create adds it to `ovs_ports`, delete removes it). ifupdown2's own
 * parser reads the written file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { NetworkCore } from '../../src/core/network.ts';
import { NodenetError } from '../../src/errors.ts';
import { applyEdits } from '../../src/interfaces/edits.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { planCreate, planDelete } from '../../src/model/edit.ts';
import { oracleParse, skipUnlessOracle } from './oracle.ts';

const BASE = 'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\niface eno2 inet manual\n';

/** What the four creates below write: every line Proxmox VE's shape. */
const ALL_FOUR = `${BASE}
auto eno3
iface eno3 inet manual
\tovs_type OVSPort
\tovs_bridge vmbr1
\tovs_options vlan_mode=native-untagged

auto int1
iface int1 inet static
\taddress 10.0.0.2/24
\tgateway 10.0.0.1
\tovs_type OVSIntPort
\tovs_bridge vmbr1
\tovs_options tag=10

auto bond0
iface bond0 inet manual
\tovs_bonds eno1 eno2
\tovs_type OVSBond
\tovs_bridge vmbr1
\tovs_options bond_mode=balance-tcp lacp=active

auto vmbr1
iface vmbr1 inet manual
\tovs_type OVSBridge
\tovs_ports bond0 int1 eno3
`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function rootWith(text: string): { root: string; core: NetworkCore; file: () => string } {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-ovs-'));
  dirs.push(root);
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  writeFileSync(join(root, 'etc/network/interfaces'), text);
  const staged = join(root, 'etc/network/interfaces.new');
  return {
    root,
    core: new NetworkCore({ root, nics: new Set(['eno1', 'eno2', 'eno3']) }),
    file: () => readFileSync(existsSync(staged) ? staged : join(root, 'etc/network/interfaces'), 'utf8'),
  };
}

async function createAllFour(core: NetworkCore): Promise<void> {
  await core.create('vmbr1', { type: 'OVSBridge', autostart: 1 });
  await core.create('bond0', {
    type: 'OVSBond',
    ovs_bridge: 'vmbr1',
    ovs_bonds: 'eno1 eno2',
    bond_mode: 'lacp-balance-tcp',
  });
  await core.create('int1', {
    type: 'OVSIntPort',
    ovs_bridge: 'vmbr1',
    ovs_tag: 10,
    cidr: '10.0.0.2/24',
    gateway: '10.0.0.1',
  });
  await core.create('eno3', { type: 'OVSPort', ovs_bridge: 'vmbr1', ovs_options: 'vlan_mode=native-untagged' });
}

async function get(core: NetworkCore, name: string): Promise<Record<string, unknown>> {
  return (await core.get(name)).data as Record<string, unknown>;
}

/** Lines of `b` not in `a` and of `a` not in `b` (the lines an edit changed). */
function changedLines(a: string, b: string): { added: string[]; removed: string[] } {
  const la = a.split('\n');
  const lb = b.split('\n');
  return { added: lb.filter((l) => !la.includes(l)), removed: la.filter((l) => !lb.includes(l)) };
}

async function refusedAt(p: Promise<unknown>, field: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NodenetError, String(e));
    assert.ok(e.errors?.[field], `no error at ${field}: ${JSON.stringify(e.errors ?? e.message)}`);
    assert.match(e.errors[field]!, re);
    return true;
  });
}

describe('OVS create writes Proxmox VE stanzas', () => {
  it('all four types: exact text, members listed in the bridge, auto lines', async () => {
    const { core, file } = rootWith(BASE);
    await createAllFour(core);
    assert.equal(file(), ALL_FOUR);
  });

  it('GET shows ovs_tag, bond_mode, ovs_bonds, ovs_ports as Proxmox VE does', async () => {
    const { core } = rootWith(ALL_FOUR);
    const br = await get(core, 'vmbr1');
    assert.equal(br.type, 'OVSBridge');
    assert.equal(br.ovs_ports, 'bond0 int1 eno3');
    assert.equal(br.autostart, 1);
    const bond = await get(core, 'bond0');
    assert.equal(bond.bond_mode, 'lacp-balance-tcp');
    assert.equal(bond.ovs_bonds, 'eno1 eno2');
    assert.equal(bond.ovs_bridge, 'vmbr1');
    assert.equal(bond.ovs_options, undefined, 'bond_mode and lacp=active are not left in ovs_options');
    assert.equal(bond.slaves, undefined, 'an OVS bond has no Linux slaves');
    const int = await get(core, 'int1');
    assert.equal(int.ovs_tag, '10');
    assert.equal(int.ovs_options, undefined);
    assert.equal(int.cidr, '10.0.0.2/24');
    assert.equal(int.gateway, '10.0.0.1');
    const port = await get(core, 'eno3');
    assert.equal(port.type, 'OVSPort');
    assert.equal(port.ovs_options, 'vlan_mode=native-untagged');
    const list = (await core.list()).data as Record<string, unknown>[];
    assert.equal(list.find((i) => i.iface === 'int1')?.ovs_tag, '10');
  });

  it('create then delete of each member gives back the bytes before', async () => {
    const { core, file } = rootWith(ALL_FOUR);
    for (const [name, params] of [
      ['int2', { type: 'OVSIntPort', ovs_bridge: 'vmbr1', ovs_tag: 30, cidr: '10.3.0.2/24' }],
      ['bond1', { type: 'OVSBond', ovs_bridge: 'vmbr1', ovs_bonds: 'eno4 eno5', bond_mode: 'balance-slb' }],
      ['eno4', { type: 'OVSPort', ovs_bridge: 'vmbr1' }],
    ] as const) {
      const before = file();
      await core.create(name, params);
      assert.match(file(), new RegExp(`ovs_ports bond0 int1 eno3 ${name}\\n`));
      await core.remove(name);
      assert.equal(file(), before, name);
    }
  });

  it('refuses a member without an OVS bridge, Linux bond modes, settings of other OVS types', async () => {
    const { core } = rootWith(`${ALL_FOUR}\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports none\n`);
    await refusedAt(core.create('int2', { type: 'OVSIntPort' }), 'ovs_bridge', /needs the OVS bridge/);
    await refusedAt(core.create('int2', { type: 'OVSIntPort', ovs_bridge: 'vmbr0' }), 'ovs_bridge', /not an OVS/);
    await refusedAt(core.create('int2', { type: 'OVSIntPort', ovs_bridge: 'vmbr7' }), 'ovs_bridge', /not exist/);
    await refusedAt(
      core.create('bond1', { type: 'OVSBond', ovs_bridge: 'vmbr1', ovs_bonds: 'eno4', bond_mode: '802.3ad' }),
      'bond_mode',
      /not an Open vSwitch bond mode/,
    );
    await refusedAt(core.create('bond1', { type: 'OVSBond', ovs_bridge: 'vmbr1' }), 'ovs_bonds', /needs/);
    await refusedAt(core.create('vmbr2', { type: 'OVSBridge', ovs_tag: 5 }), 'ovs_tag', /not a setting of OVSBridge/);
    await refusedAt(core.update('int1', { ovs_ports: 'eno3' }), 'ovs_ports', /not a setting of OVSIntPort/);
    await refusedAt(core.update('int1', { slaves: 'eno3' }), 'slaves', /setting of bonds/);
    await refusedAt(core.update('bond0', { bond_mode: 'balance-rr' }), 'bond_mode', /Open vSwitch bond mode/);
  });
});

describe('OVS update and delete: only the lines that must change', () => {
  it('a new tag rewrites only the ovs_options line', async () => {
    const { core, file } = rootWith(ALL_FOUR);
    await core.update('int1', { ovs_tag: 20 });
    assert.deepEqual(changedLines(ALL_FOUR, file()), {
      added: ['\tovs_options tag=20'],
      removed: ['\tovs_options tag=10'],
    });
    assert.equal((await get(core, 'int1')).ovs_tag, '20');
  });

  it('bond mode, mtu and options fold into ovs_options / ovs_mtu; deleting the tag drops the line', async () => {
    const { core, file } = rootWith(ALL_FOUR);
    await core.update('bond0', { bond_mode: 'balance-slb', mtu: 9000 });
    assert.deepEqual(changedLines(ALL_FOUR, file()), {
      added: ['\tovs_options bond_mode=balance-slb', '\tovs_mtu 9000'],
      removed: ['\tovs_options bond_mode=balance-tcp lacp=active'],
    });
    const bond = await get(core, 'bond0');
    assert.equal(bond.bond_mode, 'balance-slb');
    assert.equal(bond.mtu, '9000');
    await core.update('eno3', { ovs_tag: 7 });
    assert.match(file(), /\tovs_options tag=7 vlan_mode=native-untagged\n/);
    await core.update('eno3', { ovs_options: 'tag=8 other_config:x=y' });
    assert.match(file(), /\tovs_options tag=8 other_config:x=y\n/, 'tag= inside ovs_options is the tag');
    assert.equal((await get(core, 'eno3')).ovs_tag, '8');
    await core.update('int1', {}, 'ovs_tag');
    assert.doesNotMatch(file(), /tag=10/);
    assert.equal((await get(core, 'int1')).ovs_tag, undefined);
  });

  it('deleting a port takes it out of its bridge (the acceptance case)', async () => {
    const { core, file } = rootWith(ALL_FOUR);
    await core.remove('int1');
    assert.deepEqual((await get(core, 'vmbr1')).ovs_ports, 'bond0 eno3');
    const text = file();
    assert.doesNotMatch(text, /int1/);
    assert.deepEqual(changedLines(ALL_FOUR, text).added, ['\tovs_ports bond0 eno3']);
    await core.remove('bond0');
    await core.remove('eno3');
    assert.doesNotMatch(file(), /ovs_ports/, 'a bridge without ports has no ovs_ports line');
  });

  it('a member moved to another bridge leaves the old ovs_ports for the new', async () => {
    const { core, file } = rootWith(ALL_FOUR);
    await core.create('vmbr2', { type: 'OVSBridge', ovs_ports: 'eno4' });
    await core.update('int1', { ovs_bridge: 'vmbr2' });
    assert.equal((await get(core, 'vmbr1')).ovs_ports, 'bond0 eno3');
    assert.equal((await get(core, 'vmbr2')).ovs_ports, 'eno4 int1');
    assert.match(
      file(),
      /iface int1 inet static\n\taddress 10.0.0.2\/24\n\tgateway 10.0.0.1\n\tovs_type OVSIntPort\n\tovs_bridge vmbr2\n/,
    );
  });
});

describe('a NIC listed in an OVS bridge becomes its OVSPort, as in Proxmox VE', () => {
  it('create adopts it, a new port list moves it, deleting the bridge gives the bytes back', async () => {
    const { core, file } = rootWith(BASE);
    await core.create('vmbr1', { type: 'OVSBridge', ovs_ports: 'eno1', autostart: 1 });
    const adopted = `${BASE.replace(
      'iface eno1 inet manual\n',
      'iface eno1 inet manual\n\tovs_type OVSPort\n\tovs_bridge vmbr1\n',
    )}\nauto vmbr1\niface vmbr1 inet manual\n\tovs_type OVSBridge\n\tovs_ports eno1\n`;
    assert.equal(file(), adopted);
    assert.equal((await get(core, 'eno1')).type, 'OVSPort');
    await core.update('vmbr1', { ovs_ports: 'eno2' });
    assert.equal((await get(core, 'eno1')).type, 'eth', 'no longer listed: a plain NIC again');
    assert.equal((await get(core, 'eno1')).autostart, 0);
    assert.equal((await get(core, 'eno2')).type, 'OVSPort');
    assert.equal((await get(core, 'eno2')).ovs_bridge, 'vmbr1');
    await core.remove('vmbr1');
    assert.equal(file(), BASE);
  });

  it('a Linux bridge or bond cannot be an OVS bridge port', async () => {
    const { core } = rootWith(`${BASE}\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports none\n`);
    await refusedAt(core.create('vmbr1', { type: 'OVSBridge', ovs_ports: 'vmbr0' }), 'ovs_ports', /not an OVS port/);
  });
});

describe('create then delete gives back the bytes at any file ending', () => {
  const plan = (text: string, f: typeof planDelete | typeof planCreate, ...a: [string, Record<string, string>?]) => {
    const doc = parse(text);
    const edits = a[1] ? planCreate(doc, buildModel(doc), a[0], a[1]) : planDelete(doc, buildModel(doc), a[0]);
    return applyEdits(text, edits);
  };
  const ENDINGS: [string, (t: string) => string][] = [
    ['final newline', (t) => t],
    ['no final newline', (t) => t.replace(/\n$/, '')],
    ['CRLF', (t) => t.replace(/\n/g, '\r\n')],
    ['CRLF, no final newline', (t) => t.replace(/\n$/, '').replace(/\n/g, '\r\n')],
  ];
  for (const [what, end] of ENDINGS) {
    it(what, () => {
      // A bridge taking the last NIC (its stanza the file's last), then a member of an empty bridge.
      const base = end(BASE);
      const withBridge = plan(base, planCreate, 'vmbr1', { type: 'OVSBridge', ovs_ports: 'eno2' });
      assert.match(withBridge, /ovs_bridge vmbr1/);
      assert.equal(plan(withBridge, planDelete, 'vmbr1'), base);
      const bare = end(`${BASE}\niface vmbr1 inet manual\n\tovs_type OVSBridge\n`);
      const withPort = plan(bare, planCreate, 'int1', { type: 'OVSIntPort', ovs_bridge: 'vmbr1', ovs_tag: '5' });
      assert.match(withPort, /ovs_ports int1/);
      assert.equal(plan(withPort, planDelete, 'int1'), bare);
      // A member written after its bridge, the file's last stanza: the bridge's emptied ovs_ports goes too.
      const after = `${BASE}\niface vmbr1 inet manual\n\tovs_type OVSBridge\n`;
      const tail = 'auto int1\niface int1 inet manual\n\tovs_type OVSIntPort\n\tovs_bridge vmbr1\n';
      const hand = end(`${after.replace(/\n$/, '\n\tovs_ports int1\n')}\n${tail}`);
      assert.equal(plan(hand, planDelete, 'int1'), end(after));
    });
  }
});

describe('OVS through the CLI', () => {
  async function cli(root: string, ...args: string[]): Promise<string> {
    let out = '';
    let err = '';
    const code = await main(['--root', root, ...args], {
      out: (s) => (out += s),
      err: (s) => (err += s),
      tty: false,
    });
    assert.equal(code, 0, `nodenet ${args.join(' ')}: ${err}`);
    return out;
  }

  it('create, list, set and delete give Proxmox VE shape and read back', async () => {
    const { root, file } = rootWith(BASE);
    await cli(root, 'create', 'vmbr1', '--type', 'OVSBridge', '--autostart', '1');
    await cli(root, 'create', 'bond0', '--type', 'OVSBond', '--ovs_bridge', 'vmbr1', '--ovs_bonds', 'eno1,eno2');
    await cli(root, 'set', 'bond0', '--bond_mode', 'lacp-balance-tcp');
    await cli(root, 'create', 'int1', '--type', 'OVSIntPort', '--ovs_bridge', 'vmbr1', '--ovs_tag', '10');
    await cli(root, 'set', 'int1', '--cidr', '10.0.0.2/24', '--gateway', '10.0.0.1');
    await cli(root, 'create', 'eno3', '--type', 'OVSPort', '--ovs_bridge', 'vmbr1');
    await cli(root, 'set', 'eno3', '--ovs_options', 'vlan_mode=native-untagged');
    assert.equal(file(), ALL_FOUR);
    const list = JSON.parse(await cli(root, '--output-format', 'json', 'list')) as Record<string, unknown>[];
    const by = new Map(list.map((i) => [i.iface, i]));
    assert.equal(by.get('int1')?.ovs_tag, '10');
    assert.equal(by.get('bond0')?.bond_mode, 'lacp-balance-tcp');
    assert.equal(by.get('vmbr1')?.ovs_ports, 'bond0 int1 eno3');
    assert.match(await cli(root, 'list'), /^vmbr1 +OVSBridge +yes +bond0 int1 eno3\b/m);
    await cli(root, 'delete', 'int1');
    assert.match(file(), /\tovs_ports bond0 eno3\n/);
    assert.doesNotMatch(file(), /int1/);
  });
});

describe('the read view of files Proxmox VE wrote for ifupdown', () => {
  const PVE = [
    'auto lo',
    'iface lo inet loopback',
    '',
    'allow-vmbr0 bond0',
    'iface bond0 inet manual',
    '\tovs_bonds eno1 eno2',
    '\tovs_type OVSBond',
    '\tovs_bridge vmbr0',
    '\tovs_options bond_mode=balance-slb lacp=active other_config:lacp-time=fast',
    '',
    'allow-vmbr0 vlan50',
    'iface vlan50 inet static',
    '\taddress 10.50.10.44',
    '\tnetmask 255.255.255.0',
    '\tovs_type OVSIntPort',
    '\tovs_bridge vmbr0',
    '\tovs_options tag=50',
    '',
    'allow-ovs vmbr0',
    'iface vmbr0 inet manual',
    '\tovs_type OVSBridge',
    '\tovs_ports bond0 vlan50',
    '',
  ].join('\n');

  it('allow-ovs and allow-BRIDGE are autostart; tag, bond mode and lacp lifted', async () => {
    const { core } = rootWith(PVE);
    const br = await get(core, 'vmbr0');
    assert.equal(br.autostart, 1);
    assert.equal(br.ovs_ports, 'bond0 vlan50');
    const bond = await get(core, 'bond0');
    assert.equal(bond.autostart, 1);
    assert.equal(bond.bond_mode, 'lacp-balance-slb');
    assert.equal(bond.ovs_options, 'other_config:lacp-time=fast');
    const v = await get(core, 'vlan50');
    assert.equal(v.autostart, 1);
    assert.equal(v.ovs_tag, '50');
    assert.equal(v.cidr, '10.50.10.44/24');
  });

  it('autostart 0 removes the allow-BRIDGE line; a tag edit keeps the other options', async () => {
    const { core, file } = rootWith(PVE);
    await core.update('vlan50', { autostart: 0 });
    assert.deepEqual(changedLines(PVE, file()), { added: [], removed: ['allow-vmbr0 vlan50'] });
    await core.update('bond0', { ovs_tag: 3 });
    assert.match(file(), /\tovs_options bond_mode=balance-slb lacp=active tag=3 other_config:lacp-time=fast\n/);
  });
});

describe('ifupdown2 reads what nodenet writes for OVS', { skip: skipUnlessOracle() }, () => {
  it("ifupdown2's parser sees the types, the ports, the bridge and the auto lines", async () => {
    const [r] = await oracleParse([ALL_FOUR]);
    assert.equal(r!.exception, null);
    const by = new Map(r!.ifaces.map((i) => [i.name, i.config]));
    assert.deepEqual(by.get('vmbr1')?.['ovs-type'], ['OVSBridge']);
    assert.deepEqual(by.get('vmbr1')?.['ovs-ports'], ['bond0 int1 eno3']);
    assert.deepEqual(by.get('bond0')?.['ovs-bonds'], ['eno1 eno2']);
    assert.deepEqual(by.get('bond0')?.['ovs-options'], ['bond_mode=balance-tcp lacp=active']);
    assert.deepEqual(by.get('int1')?.['ovs-bridge'], ['vmbr1']);
    assert.deepEqual(by.get('int1')?.['ovs-options'], ['tag=10']);
    for (const n of ['vmbr1', 'bond0', 'int1', 'eno3']) assert.ok(r!.auto.includes(n), `auto ${n}`);
  });
});

describe('OVS validation through the core', () => {
  it('a bridge listing a port that is gone is an error (hand-deleted stanza)', async () => {
    const dangling = ALL_FOUR.replace(/\nauto int1\n(?:.*\n)*?\n/, '\n');
    assert.doesNotMatch(dangling, /iface int1/);
    const { core } = rootWith(dangling);
    const ds = await core.check();
    const d = ds.find((x) => x.code === 'OVS_PORT_NOT_FOUND');
    assert.ok(d, JSON.stringify(ds));
    assert.equal(d.iface, 'vmbr1');
    assert.match(d.message, /'int1' does not exist/);
  });

  it('deleting a bridge that still has members is refused (their ovs_bridge would be gone)', async () => {
    const { core, file } = rootWith(ALL_FOUR);
    await assert.rejects(core.remove('vmbr1'), /ovs_bridge 'vmbr1' does not exist/);
    assert.equal(file(), ALL_FOUR);
  });

  it('a NIC in a Linux bridge and in an OVS bond is PORT_IN_USE', async () => {
    const shared = `${ALL_FOUR}\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n`;
    const { core } = rootWith(shared);
    const d = (await core.check()).find((x) => x.code === 'PORT_IN_USE');
    assert.ok(d);
    assert.match(d.message, /eno1/);
  });

  it('OVS_NOT_INSTALLED follows /usr/bin/ovs-vsctl under the root', async () => {
    const { root, core } = rootWith(ALL_FOUR);
    const codes = async () => (await core.check()).map((d) => d.code);
    assert.ok((await codes()).includes('OVS_NOT_INSTALLED'));
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'usr/bin/ovs-vsctl'), '');
    const fresh = new NetworkCore({ root, nics: new Set(['eno1', 'eno2', 'eno3']) });
    assert.ok(!(await fresh.check()).some((d) => d.code === 'OVS_NOT_INSTALLED'));
    const plain = rootWith(BASE);
    assert.ok(!(await plain.core.check()).some((d) => d.code === 'OVS_NOT_INSTALLED'), 'no OVS, no warning');
  });
});
