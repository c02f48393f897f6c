/**
 * Issue 15: the notes of the setup wizards (src/setup/*.ts) in zh-CN. The real planners run on
 * inputs that produce every wording of a note; each must be translated by a pattern of
 * web/src/server-text.ts, with no English left but names, addresses and file words. A note no
 * pattern knows fails here, so a new note added without a translation fails too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setLang } from '../../web/src/i18n.ts';
import { NOTE, apiText, driftPart, wizardNote } from '../../web/src/server-text.ts';
import { splitDifference } from '../../web/src/logic.ts';
import { modelOf } from '../../src/apply/pipeline.ts';
import { emptyKernelState } from '../../src/apply/state.ts';
import { verifyState } from '../../src/apply/verify.ts';
import { lockoutRisk, lockoutRule } from '../../src/apply/lockout.ts';
import { noSuchInterface } from '../../src/errors.ts';
import type { NodenetError } from '../../src/errors.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { planCreate } from '../../src/model/edit.ts';
import { planBridged } from '../../src/setup/bridged.ts';
import { planIfupdown2Fix } from '../../src/setup/ifupdown2-fix.ts';
import { planNat } from '../../src/setup/nat.ts';
import { planRouted } from '../../src/setup/routed.ts';

const corpus = (name: string) =>
  readFileSync(new URL(`../fixtures/corpus/${name}.interfaces`, import.meta.url), 'utf8');
const INSTALLER = corpus('01-installer-default');
const LO = 'auto lo\niface lo inet loopback\n\n';
const DEBIAN = `source /etc/network/interfaces.d/*\n\n${LO}allow-hotplug eno1\niface eno1 inet dhcp\niface eno1 inet6 auto\n`;
const BOND_OLD =
  `${LO}auto eno1\niface eno1 inet manual\n\tbond-master bond0\n\nauto eno2\niface eno2 inet manual\n\tbond-master bond0\n\n` +
  'auto bond0\niface bond0 inet static\n\taddress 192.0.2.10/24\n\tbond-slaves none\n\tbond-mode active-backup\n' +
  '\tbond-miimon 100\n\nallow-auto eno3\niface eno3 inet manual\n\nsource-directory /etc/network/interfaces.d\n';

/** Every note the real planners write for these inputs. */
function notes(): string[] {
  const out: string[] = [];
  const run = (f: () => { notes: string[] }) => out.push(...f().notes);
  // bridged: the first NIC of the file / of the host; addresses, gateways and methods taken over
  run(() => planBridged(`${LO}iface eno1 inet manual\n`, { bridge: 'vmbr0', cidr: '192.0.2.10/24' }));
  run(() => planBridged(LO, { bridge: 'vmbr0', cidr: '192.0.2.10/24' }, { nics: new Set(['eno7']) }));
  run(() =>
    planBridged(`${LO}auto eno1\niface eno1 inet static\n\taddress 192.0.2.5/24\n\tgateway 192.0.2.1\n`, {
      bridge: 'vmbr0',
      ports: ['eno1'],
    }),
  );
  run(() =>
    planBridged(`${LO}auto eno1\niface eno1 inet static\n\taddress 192.0.2.5/24\n`, {
      bridge: 'vmbr0',
      ports: ['eno1'],
      cidr: '192.0.2.10/24',
    }),
  );
  run(() => planBridged(DEBIAN, { bridge: 'vmbr0' }));
  run(() => planBridged(DEBIAN, { bridge: 'vmbr0', cidr: '192.0.2.10/24', gateway: '192.0.2.1' }));
  run(() =>
    planBridged(
      `${LO}auto eno1\niface eno1 inet dhcp\n\niface eno1 inet6 static\n\taddress 2001:db8::5/64\n\tgateway 2001:db8::1\n`,
      { bridge: 'vmbr0', ports: ['eno1'] },
    ),
  );
  run(() => planBridged(`${LO}auto eno1\niface eno1 inet manual\niface eno1 inet6 dhcp\n`, { bridge: 'vmbr0' }));
  run(() => planBridged(INSTALLER, { bridge: 'vmbr0', ports: ['eno1'], cidr: '192.0.2.10/24', gateway: '192.0.2.1' }));
  // fix ifupdown2
  run(() => planIfupdown2Fix(BOND_OLD));
  run(() => planIfupdown2Fix(`${BOND_OLD}\nauto vmbr1\niface vmbr1 inet manual\n\tbridge-ports eno1\n`));
  run(() => planIfupdown2Fix(`${BOND_OLD}\nauto bond1\niface bond1 inet manual\n\tbond-slaves eno1\n`));
  run(() => planIfupdown2Fix(`${LO}auto eno4\niface eno4 inet manual\n\tbond-master bond4\n`));
  run(() => planIfupdown2Fix(`${LO}mapping eno1\n\tscript /bin/echo\n\tmap home eno1-home\n\nrename eno2=lab0\n`));
  run(() => planIfupdown2Fix(DEBIAN));
  run(() => planIfupdown2Fix(`${DEBIAN}\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n`));
  run(() => planIfupdown2Fix(`${LO}iface eno1 inet6 auto\n\taccept_ra 2\n`));
  // NAT
  const nat = planNat(INSTALLER, { bridge: 'vmbr1', uplink: 'vmbr0', cidr: '10.10.10.1/24' });
  out.push(...nat.notes);
  run(() =>
    planNat(INSTALLER, { bridge: 'vmbr2', uplink: 'vmbr0', cidr: '10.10.20.1/24', forwards: ['tcp/22=10.10.20.5:22'] }),
  );
  run(() => planNat(nat.text, { bridge: 'vmbr1' }));
  const fwd = planNat(nat.text, { bridge: 'vmbr1', forwards: ['tcp/2222=10.10.10.100:22'] });
  out.push(...fwd.notes);
  run(() => planNat(fwd.text, { bridge: 'vmbr1', forwards: ['tcp/2222=10.10.10.101:22'] }));
  run(() => planNat(fwd.text, { bridge: 'vmbr1', removeForwards: ['udp/53'] }));
  run(() => planNat(fwd.text, { bridge: 'vmbr1', remove: true }));
  const nft = planNat(INSTALLER, { bridge: 'vmbr3', uplink: 'vmbr0', cidr: '10.10.30.1/24', firewall: 'nft' });
  out.push(...nft.notes);
  run(() => planNat(nft.text, { bridge: 'vmbr3', remove: true }));
  run(() => planNat(nat.text, { bridge: 'vmbr1', firewall: 'nft' }));
  run(() => planNat(INSTALLER, { bridge: 'vmbr9', remove: true }));
  run(() => planNat(corpus('05-nat-masquerade'), { bridge: 'vmbr1' }));
  // routed
  const uplink = `${LO}auto eno1\niface eno1 inet static\n\taddress 198.51.100.5/24\n\tgateway 198.51.100.1\n`;
  const routed = planRouted(uplink, { uplink: 'eno1', bridge: 'vmbr0', cidr: '203.0.113.17/28' });
  out.push(...routed.notes);
  run(() => planRouted(routed.text, { uplink: 'eno1', bridge: 'vmbr0', cidr: '203.0.113.33/28' }));
  run(() =>
    planRouted(uplink.replace('auto eno1\n', ''), { uplink: 'eno1', bridge: 'vmbr0', cidr: '203.0.113.17/28' }),
  );
  return out;
}

// Words a translation keeps on purpose: commands, options, methods, file words, program names.
const KEEP = new Set(
  (
    'ifupdown2 nodenet setup bridged check link systemd auto inet inet6 manual dhcp SLAAC NAT nft iptables ' +
    'table post up post-up post down post-down bond master slaves source directory mapping allow ports ' +
    'proxy_arp IPv4 Debian Proxmox VE a iface rename accept_ra'
  ).split(' '),
);

test('in zh-CN every note of the setup wizards reads in Chinese, the English original as tooltip', () => {
  const all = notes();
  const used = new Set<number>();
  setLang('zh-CN');
  try {
    for (const note of all) {
      const i = NOTE.findIndex(([re]) => re.test(note));
      assert.notEqual(i, -1, `no pattern for the note: ${note}`);
      used.add(i);
      const shown = wizardNote(note);
      assert.equal(shown.title, `原始消息：${note}`);
      // what is left once the values the note carries are taken out: no English word
      let rest = shown.text;
      const values = NOTE[i]![0].exec(note)!.slice(1).filter(Boolean) as string[];
      for (const g of values.sort((x, y) => y.length - x.length)) rest = rest.split(g).join(' ');
      const words = (rest.match(/[A-Za-z][A-Za-z0-9_]*/g) ?? []).filter((w) => !KEEP.has(w));
      assert.deepEqual(words, [], `English left in "${shown.text}" (from "${note}")`);
    }
    // an unknown note stays as the server wrote it, never lost
    assert.deepEqual(wizardNote('something new'), { text: 'something new', title: '' });
  } finally {
    setLang('en');
  }
  const missing = NOTE.map(([re]) => re.source).filter((_, i) => !used.has(i));
  assert.deepEqual(missing, [], 'every pattern is produced by a real planner here');
  assert.deepEqual(wizardNote(all[0]!), { text: all[0], title: '' }, 'English: as the server wrote it');
});

test("in zh-CN every part of verify's differences reads in Chinese: bonds, VLANs, bridges, sysctls", () => {
  const model = modelOf(
    'auto bond0\niface bond0 inet manual\n\tbond-slaves eno1 eno2\n\tbond-mode 802.3ad\n\tbond-miimon 100\n' +
      '\tbond-lacp-rate 1\n\tbond-xmit-hash-policy layer3+4\n\n' +
      'auto bond1\niface bond1 inet manual\n\tbond-slaves eno3\n\tbond-mode active-backup\n\tbond-primary eno3\n\n' +
      'auto vlan10\niface vlan10 inet manual\n\tvlan-raw-device eno4\n\tvlan-id 10\n\n' +
      'auto vmbr0\niface vmbr0 inet manual\n\tbridge-ports none\n\tbridge-stp on\n\tbridge-vlan-aware yes\n' +
      '\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward\n\n' +
      'iface vmbr1 inet manual\n\tbridge-ports eno9\n\n' +
      'auto vmbr2\niface vmbr2 inet manual\n\tbridge-ports none\n\tbridge-stp off\n\n' +
      'auto bond2\niface bond2 inet manual\n\tbond-slaves eno5\n\nauto vlan20\niface vlan20 inet manual\n\tvlan-raw-device eno6\n',
  );
  const st = emptyKernelState();
  const bond = (mode: string, options: Record<string, string>) => ({ mode, options });
  st.interfaces.push(
    { name: 'bond0', kind: 'bond', up: true, mtu: 1500, addresses: [], bond: bond('balance-rr', {}) },
    {
      name: 'bond1',
      kind: 'bond',
      up: true,
      mtu: 1500,
      addresses: [],
      bond: bond('active-backup', { miimon: '0' }),
    },
    {
      name: 'vlan10',
      kind: 'vlan',
      up: true,
      mtu: 1500,
      addresses: [],
      vlan: { id: 11, protocol: '802.1ad', link: 'eno7' },
    },
    {
      name: 'vmbr0',
      kind: 'bridge',
      up: true,
      mtu: 1500,
      addresses: [],
      bridge: { stp_state: 0, forward_delay: 0, vlan_filtering: 0 },
    },
    {
      name: 'vmbr1',
      kind: 'bridge',
      up: true,
      mtu: 1500,
      addresses: [],
      bridge: { stp_state: 1, forward_delay: 0, vlan_filtering: 1 },
    },
    {
      name: 'vmbr2',
      kind: 'bridge',
      up: true,
      mtu: 0,
      addresses: [],
      bridge: { stp_state: 1, forward_delay: 0, vlan_filtering: 1 },
    },
    { name: 'bond2', kind: 'bridge', up: true, mtu: 1500, addresses: [] },
    { name: 'vlan20', kind: 'veth', up: true, mtu: 1500, addresses: [] },
  );
  st.sysctls['net.ipv4.ip_forward'] = '0';
  const more = emptyKernelState();
  more.interfaces.push(
    {
      name: 'bond0',
      kind: 'bond',
      up: true,
      mtu: 1500,
      addresses: [],
      bond: bond('802.3ad', { miimon: '200', ad_lacp_rate: 'slow', xmit_hash_policy: 'layer2' }),
    },
    {
      name: 'vmbr0',
      kind: 'bridge',
      up: true,
      mtu: 1500,
      addresses: [],
      bridge: { stp_state: 0, forward_delay: 0, vlan_filtering: 1 },
    },
  );
  // messages from the server's own verify, not written here
  const messages = [...verifyState(model, st).differences, ...verifyState(model, more).differences].map(
    (d) => d.message,
  );
  const parts = messages.flatMap((m) => {
    const sp = splitDifference(m);
    return [sp.file, sp.kernel];
  });
  for (const want of [
    /bond mode/,
    /miimon/,
    /primary slave/,
    /lacp-rate/,
    /xmit-hash/,
    /VLAN id/,
    /VLAN protocol/,
    /IPv4's minimum/,
  ])
    assert.ok(
      messages.some((m) => want.test(m)),
      `${want} among ${messages.join('\n')}`,
    );
  for (const want of [/VLAN filtering is on/, /VLAN filtering is off/, /STP is on/, /STP is off/, /sysctl/, /at boot/])
    assert.ok(
      messages.some((m) => want.test(m)),
      `${want} among ${messages.join('\n')}`,
    );
  setLang('zh-CN');
  try {
    for (const part of parts.filter(Boolean)) {
      const shown = driftPart(part);
      assert.notEqual(shown.text, part, `not translated: ${part}`);
      assert.equal(shown.title, `原始消息：${part}`);
    }
  } finally {
    setLang('en');
  }
});

test('in zh-CN the commonest API errors read in Chinese: no interface, exists, stale digest, lock-out', () => {
  // messages from the server's own code, not written here
  const thrown = (f: () => unknown): NodenetError => {
    try {
      f();
    } catch (e) {
      return e as NodenetError;
    }
    throw new Error('nothing thrown');
  };
  const before = modelOf(
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n',
  );
  const doc = parse('auto vmbr0\niface vmbr0 inet manual\n\tbridge-ports none\n');
  const conn = { local: '192.0.2.10', remote: '192.0.2.50' };
  const far = { local: '192.0.2.10', remote: '198.51.100.7' };
  const risks = [
    lockoutRisk(before, modelOf(''), conn),
    lockoutRisk(before, modelOf('auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.11/24\n'), conn),
    lockoutRisk(before, modelOf('iface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tbridge-ports eno1\n'), conn),
    lockoutRisk(
      before,
      modelOf('auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tbridge-ports eno2\n'),
      conn,
    ),
    lockoutRisk(
      before,
      modelOf(
        'auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.2\n\tbridge-ports eno1\n',
      ),
      far,
    ),
  ];
  assert.ok(
    risks.every((r) => r !== null),
    JSON.stringify(risks),
  );
  const messages = [
    noSuchInterface('vmbr7').message,
    ...Object.values(noSuchInterface('vmbr7').errors ?? {}),
    ...Object.values(thrown(() => planCreate(doc, buildModel(doc), 'vmbr0', { type: 'bridge' })).errors ?? {}),
    ...risks.map((r) => thrown(() => lockoutRule(r, undefined)).message),
    'detected modified configuration - file changed by other user? Try again.',
    'the configuration was changed by someone else since you read it; reload and retry',
  ];
  setLang('zh-CN');
  try {
    for (const m of messages) {
      const shown = apiText(m);
      assert.equal(shown.title, `原始消息：${m}`, `not translated: ${m}`);
      const words = (shown.text.match(/[A-Za-z][A-Za-z_-]*/g) ?? []).filter(
        (w) => !['vmbr0', 'vmbr', 'eno', 'confirm-timeout', 'e', 'g', 'confirm', 'timeout'].includes(w),
      );
      assert.deepEqual(words, [], `English left in "${shown.text}"`);
    }
    assert.deepEqual(apiText('something new'), { text: 'something new', title: '' });
  } finally {
    setLang('en');
  }
});
