import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressMove,
  allCidrs,
  bondMode,
  bondModeLabel,
  checkField,
  dependents,
  diffLines,
  freeName,
  layoutTopology,
  splitDifference,
  vlanFromName,
} from '../../web/src/logic.ts';
import { modelOf } from '../../src/apply/pipeline.ts';
import { emptyKernelState } from '../../src/apply/state.ts';
import { verifyState } from '../../src/apply/verify.ts';
import type { Iface } from '../../web/src/logic.ts';

const list: Iface[] = [
  { iface: 'eno1', type: 'eth' },
  { iface: 'eno2', type: 'eth' },
  { iface: 'vmbr0', type: 'bridge', bridge_ports: 'eno1', cidr: '192.0.2.50/24' },
  { iface: 'bond0', type: 'bond', slaves: 'eno2 eno3', 'bond-primary': 'eno2' },
  { iface: 'bond0.50', type: 'vlan' },
  { iface: 'v9', type: 'vlan', 'vlan-raw-device': 'bond0', 'vlan-id': '9' },
];

test('dependents names bridge ports, bond slaves/primary and VLAN raw devices', () => {
  assert.deepEqual(dependents(list, 'eno1'), [{ iface: 'vmbr0', how: 'bridge port' }]);
  assert.deepEqual(dependents(list, 'eno2'), [
    { iface: 'bond0', how: 'bond slave' },
    { iface: 'bond0', how: 'bond primary' },
  ]);
  assert.deepEqual(
    dependents(list, 'bond0').map((d) => d.iface),
    ['bond0.50', 'v9'],
  );
});

test('VLAN names fill raw device and tag', () => {
  assert.deepEqual(vlanFromName('eno1.50'), { raw: 'eno1', tag: 50 });
  assert.deepEqual(vlanFromName('vlan7'), { tag: 7 });
  assert.equal(vlanFromName('storage'), null);
  assert.equal(vlanFromName('eno1.5000'), null);
});

test('bond modes: hash policy only for balance-xor/802.3ad, primary only for active-backup', () => {
  assert.equal(bondMode('802.3ad').hashPolicy, true);
  assert.equal(bondMode('balance-xor').hashPolicy, true);
  assert.equal(bondMode('active-backup').primary, true);
  assert.equal(bondMode('balance-rr').primary || bondMode('balance-rr').hashPolicy, false);
});

test('field checks and free names', () => {
  assert.equal(checkField('cidr', '10.0.0.1/24', 'bridge'), null);
  assert.ok(checkField('cidr', '10.0.0.1/33', 'bridge'));
  assert.ok(checkField('bridge_vids', '1-10', 'bridge'));
  assert.equal(checkField('bridge_vids', '2-10 100', 'bridge'), null);
  assert.ok(checkField('iface', 'toolongbridge1', 'bridge'));
  assert.equal(freeName(list, 'vmbr'), 'vmbr1');
});

test('diff lines are classified', () => {
  assert.deepEqual(
    diffLines('--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n z\n').map((l) => l.kind),
    ['meta', 'meta', 'hunk', 'del', 'add', 'ctx'],
  );
});

test('addressMove finds where the page address goes', () => {
  const diff =
    '--- a\n+++ b\n@@ -1,4 +1,4 @@\n auto vmbr0\n iface vmbr0 inet static\n-\taddress 192.0.2.50/24\n+\taddress 192.0.2.60/24\n';
  const staged = list.map((i) => (i.iface === 'vmbr0' ? { ...i, cidr: '192.0.2.60/24' } : i));
  const m = addressMove('192.0.2.50', diff, staged);
  assert.equal(m?.to, '192.0.2.60');
  assert.equal(m?.iface, 'vmbr0');
  assert.equal(addressMove('192.0.2.50', '', list), null);
  assert.equal(addressMove('pve.example', diff, staged), null);
});

test('the CIDR column shows every address: cidr, cidr-extra, cidr6, cidr6-extra', () => {
  assert.deepEqual(
    allCidrs({
      iface: 'vmbr0',
      type: 'bridge',
      cidr: '192.0.2.2/24',
      'cidr-extra': '192.0.2.3/24 198.51.100.2/24',
      cidr6: '2001:db8::2/64',
      'cidr6-extra': 'fd00::2/64',
    }),
    ['192.0.2.2/24', '192.0.2.3/24', '198.51.100.2/24', '2001:db8::2/64', 'fd00::2/64'],
  );
  assert.deepEqual(allCidrs({ iface: 'eno1', type: 'eth' }), []);
});

test('drift panel: each verify difference splits into interface, what the file says, what the kernel has', () => {
  const model = modelOf(
    'auto vmbr0\niface vmbr0 inet static\n\taddress 10.0.0.1/24\n\tgateway 10.0.0.254\n\tbridge-ports eno1\n\tmtu 9000\n\nauto vmbr1\niface vmbr1 inet manual\n\tbridge-ports none\n',
  );
  const st = emptyKernelState();
  st.interfaces.push(
    { name: 'vmbr0', kind: 'bridge', up: false, mtu: 1500, addresses: ['10.9.9.9/24'] },
    { name: 'eno1', kind: 'veth', up: true, mtu: 1500, addresses: [] },
  );
  // messages from the server's own verify, not written here
  const diffs = verifyState(model, st).differences;
  assert.ok(diffs.length >= 5, JSON.stringify(diffs));
  const split = diffs.map((d) => ({ d, s: splitDifference(d.message) }));
  for (const { d, s } of split) {
    assert.equal(s.iface, d.iface ?? '', d.message);
    assert.notEqual(s.file, '', `known message kept whole: ${d.message}`);
    assert.notEqual(s.kernel, '');
  }
  const by = (re: RegExp) => split.find((x) => re.test(x.d.message))!.s;
  assert.deepEqual(by(/vmbr1: does not exist/), {
    iface: 'vmbr1',
    file: 'an interface that comes up at boot (auto)',
    kernel: 'no such interface',
  });
  assert.deepEqual(by(/mtu/), { iface: 'vmbr0', file: 'mtu 9000', kernel: 'mtu 1500' });
  assert.deepEqual(by(/port eno1/), { iface: 'vmbr0', file: 'port eno1', kernel: 'eno1 in no bridge or bond' });
  assert.deepEqual(splitDifference('vmbr0: bridge port eno9 does not exist in the kernel'), {
    iface: 'vmbr0',
    file: 'bridge port eno9',
    kernel: 'no interface eno9',
  });
  assert.deepEqual(splitDifference('vmbr0: something new'), { iface: 'vmbr0', file: '', kernel: 'something new' });
});

test("dependents: hook lines naming the interface, the default gateway, the admin's own connection", () => {
  const l: Iface[] = [
    { iface: 'eno1', type: 'eth' },
    { iface: 'vmbr0', type: 'bridge', bridge_ports: 'eno1', cidr: '192.0.2.50/24', gateway: '192.0.2.1' },
    { iface: 'vmbr0.5', type: 'vlan' },
    {
      iface: 'vmbr2',
      type: 'bridge',
      cidr: '10.10.10.1/24',
      options: [
        'post-up iptables -t nat -A POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE',
        'post-up ip route add 10.20.0.0/16 via 10.10.10.2 dev vmbr2',
        'post-up echo vmbr0x',
      ],
    },
    { iface: 'vmbr3', type: 'bridge', options: ['post-up ip route add 203.0.113.7/32 dev vmbr0'] },
  ];
  const d = dependents(l, 'vmbr0', '192.0.2.50');
  const hows = d.map((x) => `${x.iface}: ${x.how}`);
  assert.ok(
    hows.includes(
      'vmbr2: NAT rule naming vmbr0: iptables -t nat -A POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE',
    ),
    hows.join('\n'),
  );
  assert.ok(hows.includes('vmbr3: route naming vmbr0: ip route add 203.0.113.7/32 dev vmbr0'));
  assert.ok(hows.some((x) => x.startsWith("vmbr0: the node's default gateway 192.0.2.1")));
  assert.ok(hows.some((x) => x.startsWith('vmbr0: your own connection to this page (192.0.2.50) goes through vmbr0')));
  assert.ok(hows.includes('vmbr0.5: VLAN raw device'));
  // vmbr0x is another name; vmbr0.5 is the VLAN, not a hook
  assert.equal(hows.filter((x) => x.includes('echo')).length, 0);
  // the port under the management bridge carries the connection too
  assert.ok(
    dependents(l, 'eno1', '192.0.2.50').some((x) =>
      /your own connection .* goes through vmbr0, which runs over eno1/.test(x.how),
    ),
  );
  assert.ok(!dependents(l, 'eno1', '10.0.0.9').some((x) => /your own connection/.test(x.how)));
  // its own NAT rule goes with vmbr2
  assert.ok(dependents(l, 'vmbr2').some((x) => x.iface === 'vmbr2' && /^its own NAT rule goes with it/.test(x.how)));
});

/** Segment (p1,p2) crosses segment (p3,p4) strictly inside both. */
function cross(p1: number[], p2: number[], p3: number[], p4: number[]): boolean {
  const d = (a: number[], b: number[], c: number[]) =>
    (b[0]! - a[0]!) * (c[1]! - a[1]!) - (b[1]! - a[1]!) * (c[0]! - a[0]!);
  const d1 = d(p3, p4, p1),
    d2 = d(p3, p4, p2),
    d3 = d(p1, p2, p3),
    d4 = d(p1, p2, p4);
  return d1 * d2 < 0 && d3 * d4 < 0;
}

test('topology layout: layered, no line crosses a box or another line (demo file shapes)', () => {
  const demo: Iface[] = [
    { iface: 'eno1', type: 'eth' },
    { iface: 'eno2', type: 'eth' },
    { iface: 'eno3', type: 'eth' },
    { iface: 'vmbr0', type: 'bridge', bridge_ports: 'eno1', cidr: '192.0.2.50/24', gateway: '192.0.2.1' },
    { iface: 'bond0', type: 'bond', slaves: 'eno2 eno3' },
    { iface: 'bond0.50', type: 'vlan' },
    { iface: 'vmbr1', type: 'bridge', bridge_ports: 'bond0' },
    {
      iface: 'vmbr2',
      type: 'bridge',
      options: [
        'post-up iptables -t nat -A POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE',
        'post-up iptables -t nat -A PREROUTING -i vmbr0 -p tcp --dport 8022 -j DNAT --to-destination 10.10.10.20:22',
      ],
    },
    { iface: 'vmbr9', type: 'bridge' },
    { iface: 'eno1.7', type: 'vlan' },
    { iface: 'vmbr7', type: 'bridge', bridge_ports: 'eno1.7 eno3' },
  ];
  const lay = layoutTopology(demo);
  const at = (n: string) => lay.nodes.find((x) => x.id === n)!;
  // stacking goes left to right
  assert.ok(
    at('eno2').layer < at('bond0').layer &&
      at('bond0').layer < at('vmbr1').layer &&
      at('bond0').layer < at('bond0.50').layer,
  );
  assert.ok(at('vmbr0').layer < at('vmbr2').layer, 'NAT bridge right of the bridge it goes out through');
  assert.ok(lay.edges.some((e) => e.kind === 'nat' && e.from === 'vmbr0' && e.to === 'vmbr2'));
  assert.ok(lay.edges.some((e) => e.kind === 'forward'));
  assert.ok(lay.edges.some((e) => e.kind === 'gateway' && e.from === 'vmbr0'));
  assertPlanar(lay);
});

/** No line crosses a box or another line; boxes do not overlap. */
function assertPlanar(lay: ReturnType<typeof layoutTopology>): void {
  const segs = lay.edges.flatMap((e) => e.points.slice(1).map((p, k) => ({ e, a: e.points[k]!, b: p })));
  for (const { e, a, b } of segs) {
    for (const n of lay.nodes) {
      if (n.id === e.from || n.id === e.to) continue;
      const corners = [
        [n.x, n.y],
        [n.x + n.w, n.y],
        [n.x + n.w, n.y + n.h],
        [n.x, n.y + n.h],
      ];
      const inside = (p: number[]) => p[0]! > n.x && p[0]! < n.x + n.w && p[1]! > n.y && p[1]! < n.y + n.h;
      const hits = inside(a) || inside(b) || corners.some((c, k) => cross(a, b, c, corners[(k + 1) % 4]!));
      assert.ok(!hits, `edge ${e.from}→${e.to} crosses the box of ${n.id}`);
    }
  }
  for (let i = 0; i < segs.length; i++)
    for (let j = i + 1; j < segs.length; j++) {
      if (segs[i]!.e === segs[j]!.e) continue;
      assert.ok(
        !cross(segs[i]!.a, segs[i]!.b, segs[j]!.a, segs[j]!.b),
        `${segs[i]!.e.from}→${segs[i]!.e.to} crosses ${segs[j]!.e.from}→${segs[j]!.e.to}`,
      );
    }
  // boxes do not overlap
  for (const a of lay.nodes)
    for (const b of lay.nodes)
      if (a !== b)
        assert.ok(
          a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y,
          `${a.id} overlaps ${b.id}`,
        );
}

test("topology: guests' ports are small nodes right of their bridge, and nothing crosses", () => {
  const list: Iface[] = [
    { iface: 'eno1', type: 'eth' },
    { iface: 'eno2', type: 'eth' },
    {
      iface: 'vmbr0',
      type: 'bridge',
      bridge_ports: 'eno1',
      cidr: '192.0.2.50/24',
      gateway: '192.0.2.1',
      guest_ports: 'tap100i0 fwpr101p0 tap102i1',
    },
    { iface: 'bond0', type: 'bond', slaves: 'eno2' },
    { iface: 'vmbr1', type: 'bridge', bridge_ports: 'bond0', guest_ports: 'veth200i0' },
    { iface: 'vmbr0.5', type: 'vlan' },
    {
      iface: 'vmbr2',
      type: 'bridge',
      options: ['post-up iptables -t nat -A POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE'],
      guest_ports: 'tap300i0',
    },
  ];
  const lay = layoutTopology(list);
  const at = (n: string) => lay.nodes.find((x) => x.id === n)!;
  const guests = lay.nodes.filter((n) => n.kind === 'guest');
  assert.deepEqual(guests.map((g) => g.label).sort(), ['fwpr101p0', 'tap100i0', 'tap102i1', 'tap300i0', 'veth200i0']);
  for (const g of guests) {
    const br = at(g.bridge!);
    assert.ok(g.layer === br.layer + 1 && g.x > br.x + br.w, `${g.label} right of ${br.id}`);
    assert.ok(g.w < br.w, `${g.label} is small`);
    assert.ok(lay.edges.some((e) => e.kind === 'guest' && e.from === br.id && e.to === g.id));
  }
  assertPlanar(lay);
  assert.ok(
    lay.width >= Math.max(...lay.nodes.map((n) => n.x + n.w)) &&
      lay.height >= Math.max(...lay.nodes.map((n) => n.y + n.h)),
  );
});

test('bond mode labels: Linux and OVS modes as Proxmox VE shows them; the OVS tag and bond name are checked', () => {
  const b = (type: string, bond_mode: string): Iface => ({ iface: 'bond0', type, bond_mode }) as Iface;
  assert.equal(bondModeLabel(b('bond', '802.3ad')), 'LACP (802.3ad)');
  assert.equal(bondModeLabel(b('OVSBond', 'lacp-balance-tcp')), 'LACP (balance-tcp)');
  assert.equal(bondModeLabel(b('OVSBond', 'balance-slb')), 'balance-slb');
  // a mode the UI does not know is shown as it is, never as another mode
  assert.equal(bondModeLabel(b('bond', 'balance-slb')), 'balance-slb');
  assert.equal(bondModeLabel({ iface: 'eno1', type: 'eth' } as Iface), '');
  assert.equal(checkField('ovs_tag', '4094', 'OVSIntPort'), null);
  assert.notEqual(checkField('ovs_tag', '4095', 'OVSIntPort'), null);
  assert.notEqual(checkField('ovs_tag', '0', 'OVSBond'), null);
  assert.notEqual(checkField('iface', 'ovsbond0', 'OVSBond'), null);
  assert.equal(checkField('iface', 'bond3', 'OVSBond'), null);
});
