/** The planning modes' pure planners: exact text, idempotence, in-place edits, refusals. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { NetworkCore } from '../../src/core/network.ts';
import { isNodenetError } from '../../src/errors.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { planBridged } from '../../src/setup/bridged.ts';
import { IPV6_DISABLE_TEXT, disablesIpv6, ipv6Apply, planIpv6 } from '../../src/setup/ipv6.ts';
import { planNat } from '../../src/setup/nat.ts';
import { planRouted } from '../../src/setup/routed.ts';
import { parseForward, recogniseNatLine } from '../../src/setup/rules.ts';
import { stageSetup } from '../../src/setup/stage.ts';
import { validate } from '../../src/validate/index.ts';

const corpus = (name: string) =>
  readFileSync(new URL(`../fixtures/corpus/${name}.interfaces`, import.meta.url), 'utf8');
const INSTALLER = corpus('01-installer-default');

/** Validation of a planned text: nothing above info. */
function clean(text: string): void {
  const doc = parse(text);
  const ds = [...doc.diagnostics, ...validate({ doc, model: buildModel(doc), file: 'interfaces.new' })].filter(
    (d) => d.severity !== 'info',
  );
  assert.deepEqual(
    ds.map((d) => `${d.code} ${d.message}`),
    [],
  );
}

/** Run fn, expect a refusal whose field message matches. */
function refused(fn: () => unknown, field: string, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isNodenetError(e), String(e));
    assert.ok(e.errors?.[field] !== undefined, `field ${field} in ${JSON.stringify(e.errors)}`);
    assert.match(e.errors[field]!, re);
    return;
  }
  assert.fail('not refused');
}

const NAT_BLOCK = `auto vmbr1
iface vmbr1 inet static
\taddress 10.10.10.1/24
\tbridge-ports none
\tbridge-stp off
\tbridge-fd 0
\tbridge-ports-condone-regex ^(tap|veth|fwpr)
\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward
\tpost-up iptables -t nat -C POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE
\tpost-down iptables -t nat -D POSTROUTING -s 10.10.10.0/24 -o vmbr0 -j MASQUERADE 2>/dev/null || true
\tpost-up iptables -t raw -C PREROUTING -i fwbr+ -j CT --zone 1 2>/dev/null || iptables -t raw -I PREROUTING -i fwbr+ -j CT --zone 1
\tpost-down iptables -t raw -D PREROUTING -i fwbr+ -j CT --zone 1 2>/dev/null || true
\tpost-up iptables -t nat -C PREROUTING -i vmbr0 -p tcp --dport 2222 -j DNAT --to-destination 10.10.10.100:22 2>/dev/null || iptables -t nat -A PREROUTING -i vmbr0 -p tcp --dport 2222 -j DNAT --to-destination 10.10.10.100:22
\tpost-down iptables -t nat -D PREROUTING -i vmbr0 -p tcp --dport 2222 -j DNAT --to-destination 10.10.10.100:22 2>/dev/null || true
`;

const natFirst = () =>
  planNat(INSTALLER, {
    bridge: 'vmbr1',
    uplink: 'vmbr0',
    cidr: '10.10.10.1/24',
    forwards: ['tcp/2222=10.10.10.100:22'],
  });

describe('setup nat', () => {
  test('writes the NAT bridge after the last bridge, before the source line; the rest is byte-identical', () => {
    const r = natFirst();
    assert.equal(
      r.text,
      INSTALLER.replace('source /etc/network/interfaces.d/*', `${NAT_BLOCK}\nsource /etc/network/interfaces.d/*`),
    );
    clean(r.text);
    assert.match(
      r.notes[0]!,
      /new NAT bridge vmbr1 .* out of vmbr0 with iptables; forwards: tcp\/2222=10\.10\.10\.100:22/,
    );
  });

  test('running it again with the same options changes nothing', () => {
    const once = natFirst().text;
    assert.equal(
      planNat(once, { bridge: 'vmbr1', uplink: 'vmbr0', cidr: '10.10.10.1/24', forwards: ['tcp/2222=10.10.10.100:22'] })
        .text,
      once,
    );
    assert.equal(planNat(once, { bridge: 'vmbr1' }).text, once, 'uplink and cidr default to the existing ones');
  });

  test('adding and removing forwards edits the lines in place; other lines stay', () => {
    const once = natFirst().text;
    const two = planNat(once, { bridge: 'vmbr1', forwards: ['udp/5353=10.10.10.7:53'] }).text;
    const added =
      '\tpost-up iptables -t nat -C PREROUTING -i vmbr0 -p udp --dport 5353 -j DNAT --to-destination 10.10.10.7:53 2>/dev/null || iptables -t nat -A PREROUTING -i vmbr0 -p udp --dport 5353 -j DNAT --to-destination 10.10.10.7:53\n' +
      '\tpost-down iptables -t nat -D PREROUTING -i vmbr0 -p udp --dport 5353 -j DNAT --to-destination 10.10.10.7:53 2>/dev/null || true\n';
    assert.equal(two, once.replace('\n\nsource', `\n${added}\nsource`));
    clean(two);
    // Change the target of tcp/2222: its two lines change where they are.
    const moved = planNat(two, { bridge: 'vmbr1', forwards: ['tcp/2222=10.10.10.101:22'] });
    assert.equal(moved.text, two.replaceAll('10.10.10.100:22', '10.10.10.101:22'));
    assert.match(
      moved.notes.join('\n'),
      /iptables -t nat -D PREROUTING -i vmbr0 -p tcp --dport 2222 -j DNAT --to-destination 10\.10\.10\.100:22/,
    );
    // Remove the first forward: exactly its two lines go.
    const removed = planNat(two, { bridge: 'vmbr1', removeForwards: ['tcp/2222'] }).text;
    assert.equal(
      removed,
      two
        .split('\n')
        .filter((l) => !l.includes('--dport 2222'))
        .join('\n'),
    );
  });

  test("a hand-written rule line is not nodenet's and is kept as it is", () => {
    const hand = '\tpost-up iptables -t nat -A PREROUTING -i vmbr0 -p tcp --dport 80 -j DNAT --to 10.10.10.5:80\n';
    const once = natFirst().text.replace('\tbridge-ports-condone-regex', `${hand}\tbridge-ports-condone-regex`);
    assert.equal(recogniseNatLine('post-up', hand.trim().slice('post-up '.length), 'vmbr1'), null);
    const next = planNat(once, { bridge: 'vmbr1', removeForwards: ['tcp/2222'] }).text;
    assert.ok(next.includes(hand));
    assert.ok(!next.includes('--dport 2222'));
  });

  test('--remove takes out the bridge and every rule line: the original bytes come back', () => {
    assert.equal(planNat(natFirst().text, { bridge: 'vmbr1', remove: true }).text, INSTALLER);
    assert.equal(planNat(INSTALLER, { bridge: 'vmbr1', remove: true }).text, INSTALLER, 'nothing to remove');
    refused(() => planNat(INSTALLER, { bridge: 'vmbr0', remove: true }), 'bridge', /no NAT rules written by nodenet/);
  });

  test("the docs' hand-written NAT rules are rewritten in place, never doubled", () => {
    const docs = corpus('05-nat-masquerade');
    const r = planNat(docs, { bridge: 'vmbr1' });
    // Uplink and subnet come from the docs' own rule; every line changed is one of theirs.
    assert.equal(
      r.text,
      docs
        .replace(
          '\tbridge-fd 0\n'.replace('\t', '        '),
          '        bridge-fd 0\n        bridge-ports-condone-regex ^(tap|veth|fwpr)\n',
        )
        .replace(
          "post-up   iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE",
          'post-up iptables -t nat -C POSTROUTING -s 10.10.10.0/24 -o eno1 -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -s 10.10.10.0/24 -o eno1 -j MASQUERADE',
        )
        .replace(
          "post-down iptables -t nat -D POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE",
          'post-down iptables -t nat -D POSTROUTING -s 10.10.10.0/24 -o eno1 -j MASQUERADE 2>/dev/null || true',
        )
        .replace(
          'post-up   iptables -t raw -I PREROUTING -i fwbr+ -j CT --zone 1',
          'post-up iptables -t raw -C PREROUTING -i fwbr+ -j CT --zone 1 2>/dev/null || iptables -t raw -I PREROUTING -i fwbr+ -j CT --zone 1',
        )
        .replace(
          'post-down iptables -t raw -D PREROUTING -i fwbr+ -j CT --zone 1',
          'post-down iptables -t raw -D PREROUTING -i fwbr+ -j CT --zone 1 2>/dev/null || true',
        ),
    );
    assert.equal(
      (r.text.match(/MASQUERADE/g) ?? []).length,
      3,
      'one up line (-C || -A: two mentions) and one down line',
    );
    assert.match(r.notes.join('\n'), /rewrote 4 hand-written NAT line\(s\) of vmbr1/);
    clean(r.text);
    assert.equal(planNat(r.text, { bridge: 'vmbr1' }).text, r.text, 'idempotent');
    // Another uplink: the old rule stays in the kernel until vmbr1 goes down; the note says how to drop it.
    const moved = planNat(docs.replace(/-o eno1/g, '-o eno9'), { bridge: 'vmbr1', uplink: 'eno1' });
    assert.match(moved.notes.join('\n'), /iptables -t nat -D POSTROUTING -s 10\.10\.10\.0\/24 -o eno9 -j MASQUERADE/);
    assert.equal(moved.text, r.text);
    // Option order and long options are the same rule.
    const reordered = docs.replace(
      "-s '10.10.10.0/24' -o eno1 -j MASQUERADE\n        post-down",
      '--out-interface eno1 -j MASQUERADE --source "10.10.10.0/24"\n        post-down',
    );
    assert.equal(planNat(reordered, { bridge: 'vmbr1' }).text, r.text);
  });

  test("a hand-written masquerade of the subnet that is not the docs' rule is refused, not doubled", () => {
    const docs = corpus('05-nat-masquerade');
    const snat = docs.replace(
      "-A POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE",
      '-A POSTROUTING -s 10.10.10.0/24 -o eno1 -j SNAT --to-source 198.51.100.44',
    );
    refused(
      () => planNat(snat, { bridge: 'vmbr1', uplink: 'eno1' }),
      'bridge',
      /already has a hand-written masquerade rule for 10\.10\.10\.0\/24 .*line 21.*SNAT/,
    );
    const script = docs.replace(
      "iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE",
      '/usr/local/sbin/nat.sh 10.10.10.0/24 MASQUERADE',
    );
    refused(() => planNat(script, { bridge: 'vmbr1', uplink: 'eno1' }), 'bridge', /does not recognise/);
    // The docs' rule moved under another interface (as Proxmox VE's rewrite does): refused too.
    const moved = docs
      .replace("        post-up   iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE\n", '')
      .replace(
        '        gateway  198.51.100.1\n',
        "        gateway  198.51.100.1\n        post-up   iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE\n",
      );
    refused(
      () => planNat(moved, { bridge: 'vmbr1', uplink: 'eno1' }),
      'bridge',
      /line 11 on eno1 already masquerades 10\.10\.10\.0\/24/,
    );
    // A masquerade of another subnet on the same bridge is the user's and stays.
    const other = docs.replace(
      "post-up   iptables -t nat -A POSTROUTING -s '10.10.10.0/24'",
      "post-up   iptables -t nat -A POSTROUTING -s '10.20.0.0/16'",
    );
    const r = planNat(other, { bridge: 'vmbr1', uplink: 'eno1' });
    assert.ok(r.text.includes("post-up   iptables -t nat -A POSTROUTING -s '10.20.0.0/16' -o eno1 -j MASQUERADE"));
  });

  test('the nft variant: one line that replaces its own table, recognised and idempotent', () => {
    const r = planNat(INSTALLER, {
      bridge: 'vmbr1',
      uplink: 'vmbr0',
      cidr: '10.10.10.1/24',
      firewall: 'nft',
      forwards: ['tcp/2222=10.10.10.100:22', 'tcp/8080=10.10.10.100:80'],
    });
    assert.ok(
      r.text.includes(
        `\tpost-up nft 'add table ip nodenet_vmbr1; delete table ip nodenet_vmbr1; table ip nodenet_vmbr1 { chain prerouting { type nat hook prerouting priority dstnat; policy accept; iifname "vmbr0" tcp dport 2222 dnat to 10.10.10.100:22; iifname "vmbr0" tcp dport 8080 dnat to 10.10.10.100:80; }; chain postrouting { type nat hook postrouting priority srcnat; policy accept; ip saddr 10.10.10.0/24 oifname "vmbr0" masquerade; }; chain raw { type filter hook prerouting priority raw; policy accept; iifname "fwbr*" ct zone set 1; }; }'\n` +
          '\tpost-down nft delete table ip nodenet_vmbr1 2>/dev/null || true\n',
      ),
      r.text,
    );
    clean(r.text);
    assert.equal(planNat(r.text, { bridge: 'vmbr1' }).text, r.text);
    const fewer = planNat(r.text, { bridge: 'vmbr1', removeForwards: ['tcp/8080'] }).text;
    assert.ok(!fewer.includes('8080') && fewer.includes('dport 2222'));
    assert.equal(planNat(fewer, { bridge: 'vmbr1', remove: true }).text, INSTALLER);
  });

  test('refusals', () => {
    const once = natFirst().text;
    refused(
      () => planNat(INSTALLER, { bridge: 'vmbr1', uplink: 'eno1', cidr: '10.10.10.1/24' }),
      'uplink',
      /eno1 is a port of bridge vmbr0.*use vmbr0/,
    );
    refused(
      () => planNat(corpus('06-bond-storage-network'), { bridge: 'vmbr9', uplink: 'enp3s0f0', cidr: '10.10.10.1/24' }),
      'uplink',
      /enp3s0f0 is a slave of bond bond0/,
    );
    refused(
      () => planNat(INSTALLER, { bridge: 'vmbr1', uplink: 'vmbr9', cidr: '10.10.10.1/24' }),
      'uplink',
      /not configured/,
    );
    refused(
      () => planNat(INSTALLER, { bridge: 'vmbr1', uplink: 'vmbr0', cidr: '192.0.2.200/25' }),
      'cidr',
      /overlaps vmbr0's 192\.0\.2\.0\/24/,
    );
    refused(
      () => planNat(once, { bridge: 'vmbr2', uplink: 'vmbr0', cidr: '10.10.10.129/25' }),
      'cidr',
      /overlaps vmbr1/,
    );
    refused(
      () => planNat(INSTALLER, { bridge: 'vmbr0', uplink: 'vmbr0', cidr: '10.10.10.1/24' }),
      'bridge',
      /vmbr0 is a bridge with ports/,
    );
    refused(
      () =>
        planNat(INSTALLER + 'iface vmbr5 inet manual\n\tbond-slaves none\n', {
          bridge: 'vmbr5',
          uplink: 'vmbr0',
          cidr: '10.10.10.1/24',
        }),
      'bridge',
      /already configured as a bond/,
    );
    refused(
      () => planNat(INSTALLER, { bridge: 'eno2', uplink: 'vmbr0', cidr: '10.10.10.1/24' }),
      'bridge',
      /physical NIC/,
    );
    refused(
      () => planNat(INSTALLER, { bridge: 'vmbr1', uplink: 'vmbr0', cidr: '10.10.10.0/24' }),
      'cidr',
      /network address/,
    );
    refused(() => planNat(INSTALLER, { bridge: 'vmbr1', cidr: '10.10.10.1/24' }), 'uplink', /--uplink is needed/);
    refused(() => planNat(once, { bridge: 'vmbr1', forwards: ['ssh=10.10.10.5'] }), 'forward', /PROTO\/PORT=IP:PORT/);
    refused(() => planNat(once, { bridge: 'vmbr1', forwards: ['tcp/70000=10.10.10.5:22'] }), 'forward', /out of range/);
    refused(
      () => planNat(once, { bridge: 'vmbr1', forwards: ['tcp/22=192.168.1.5:22'] }),
      'forward',
      /outside vmbr1's subnet 10\.10\.10\.0\/24/,
    );
    refused(
      () => planNat(once, { bridge: 'vmbr1', forwards: ['tcp/22=10.10.10.1:22'] }),
      'forward',
      /address of vmbr1 itself/,
    );
    refused(
      () => planNat(once, { bridge: 'vmbr1', forwards: ['tcp/22=10.10.10.5:22', 'tcp/22=10.10.10.6:22'] }),
      'forward',
      /forwarded twice/,
    );
    refused(
      () => planNat(once, { bridge: 'vmbr1', cidr: '10.20.0.1/24' }),
      'forward',
      /outside vmbr1's subnet 10\.20\.0\.0\/24/,
    );
  });

  test('forward syntax', () => {
    assert.deepEqual(parseForward('tcp/2222=10.10.10.100:22'), {
      proto: 'tcp',
      port: 2222,
      ip: '10.10.10.100',
      toPort: 22,
    });
    assert.deepEqual(parseForward('UDP/53=10.10.10.5'), { proto: 'udp', port: 53, ip: '10.10.10.5', toPort: 53 });
    assert.equal(typeof parseForward('tcp/22=10.10.10.300:22'), 'string');
    assert.equal(typeof parseForward('icmp/1=10.10.10.3'), 'string');
  });
});

describe('setup routed', () => {
  const uplinkOnly = LOFILE('auto eno1\niface eno1 inet static\n\taddress 198.51.100.5/24\n\tgateway 198.51.100.1\n');

  test('writes what the Proxmox VE docs show, idempotently', () => {
    const r = planRouted(uplinkOnly, { uplink: 'eno1', bridge: 'vmbr0', cidr: '203.0.113.17/28' });
    assert.equal(
      r.text,
      LOFILE(
        'auto eno1\niface eno1 inet static\n\taddress 198.51.100.5/24\n\tgateway 198.51.100.1\n' +
          '\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward\n\tpost-up echo 1 > /proc/sys/net/ipv4/conf/eno1/proxy_arp\n\n' +
          'auto vmbr0\niface vmbr0 inet static\n\taddress 203.0.113.17/28\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\tbridge-ports-condone-regex ^(tap|veth|fwpr)\n',
      ),
    );
    clean(r.text);
    assert.equal(planRouted(r.text, { uplink: 'eno1', bridge: 'vmbr0', cidr: '203.0.113.17/28' }).text, r.text);
  });

  test("on the docs' routed file only the condone regex is added (the hook lines are recognised)", () => {
    const doc = corpus('04-routed');
    const r = planRouted(doc, { uplink: 'eno1', bridge: 'vmbr0', cidr: '203.0.113.17/28' });
    assert.equal(
      r.text,
      doc.replace('\tbridge-fd 0\n', '\tbridge-fd 0\n\tbridge-ports-condone-regex ^(tap|veth|fwpr)\n'),
    );
  });

  test('refusals', () => {
    refused(
      () => planRouted(INSTALLER, { uplink: 'eno1', bridge: 'vmbr1', cidr: '203.0.113.17/28' }),
      'uplink',
      /port of bridge vmbr0/,
    );
    refused(
      () => planRouted(uplinkOnly, { uplink: 'eno1', bridge: 'vmbr0', cidr: '198.51.100.200/28' }),
      'cidr',
      /overlaps eno1/,
    );
    refused(
      () => planRouted(natFirst().text, { uplink: 'vmbr0', bridge: 'vmbr1', cidr: '10.10.10.1/24' }),
      'bridge',
      /NAT bridge/,
    );
  });
});

describe('setup bridged', () => {
  test('the installer layout from a bare file: first physical NIC chosen and named', () => {
    const r = planBridged(
      LOFILE(''),
      { bridge: 'vmbr0', cidr: '192.0.2.10/24', gateway: '192.0.2.1' },
      { nics: new Set(['eno2', 'eno1', 'wlp3s0']) },
    );
    assert.equal(
      r.text,
      LOFILE(
        'iface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\tbridge-ports-condone-regex ^(tap|veth|fwpr)\n\n',
      ),
    );
    assert.match(r.notes.join('\n'), /chose eno1, the first physical NIC of the host/);
    clean(r.text);
    assert.equal(planBridged(r.text, { bridge: 'vmbr0', cidr: '192.0.2.10/24', gateway: '192.0.2.1' }).text, r.text);
  });

  test("the installer's file: only the condone regex is added", () => {
    const r = planBridged(INSTALLER, { bridge: 'vmbr0', ports: ['eno1'], cidr: '192.0.2.10/24', gateway: '192.0.2.1' });
    assert.equal(
      r.text,
      INSTALLER.replace('\tbridge-fd 0\n', '\tbridge-fd 0\n\tbridge-ports-condone-regex ^(tap|veth|fwpr)\n'),
    );
  });

  test("a port's address moves to the bridge", () => {
    const r = planBridged(LOFILE('auto eno1\niface eno1 inet static\n\taddress 192.0.2.5/24\n\tgateway 192.0.2.1\n'), {
      bridge: 'vmbr0',
      ports: ['eno1'],
    });
    assert.ok(r.text.includes('iface eno1 inet manual\n'), r.text);
    assert.ok(
      r.text.includes('iface vmbr0 inet static\n\taddress 192.0.2.5/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n'),
      r.text,
    );
    assert.match(r.notes.join('\n'), /moved 192\.0\.2\.5\/24 from eno1 to vmbr0/);
    clean(r.text);
  });

  // Issue 13: the first step of every Proxmox-on-Debian install. A fresh Debian file has DHCP
  // and SLAAC on the NIC; the bridge must take them over, or the node has no address after apply.
  const DEBIAN =
    'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eno1\niface eno1 inet dhcp\niface eno1 inet6 auto\n';

  test("a fresh Debian file: the bridge takes over the port's DHCP and SLAAC; the port becomes manual", () => {
    const r = planBridged(DEBIAN, { bridge: 'vmbr0' });
    assert.equal(
      r.text,
      'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eno1\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet dhcp\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\tbridge-ports-condone-regex ^(tap|veth|fwpr)\n\tpost-up echo 2 > /proc/sys/net/ipv6/conf/vmbr0/accept_ra\n',
    );
    assert.match(r.notes.join('\n'), /vmbr0 takes over eno1's 'dhcp' \(inet\)/);
    // SLAAC: the port's stanza goes; the bridge accepts router advertisements (Debian's
    // ifupdown2 3.0 rejects 'inet6 auto'): see the netns test.
    assert.match(r.notes.join('\n'), /vmbr0 takes over eno1's SLAAC \('inet6 auto'\)/);
    clean(r.text);
    assert.equal(planBridged(r.text, { bridge: 'vmbr0' }).text, r.text, 'idempotent');
    // The file before the fix is an error now, as a static address on a port is.
    const before =
      DEBIAN + '\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n';
    const doc = parse(before);
    const codes = validate({ doc, model: buildModel(doc), file: 'x' }).map((d) => `${d.severity} ${d.code} ${d.line}`);
    assert.deepEqual(codes, [
      'error PORT_DYNAMIC_ADDRESS 7',
      'error PORT_DYNAMIC_ADDRESS 8',
      'warning IFUPDOWN1_INET6_AUTO 8',
    ]);
  });

  test("--cidr wins over the port's DHCP; a static inet6 address and gateway move; a DHCP bond slave is an error", () => {
    const r = planBridged(DEBIAN, { bridge: 'vmbr0', cidr: '192.0.2.10/24', gateway: '192.0.2.1' });
    assert.ok(
      r.text.includes(
        'iface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n',
      ),
      r.text,
    );
    assert.ok(!r.text.includes('inet6'), r.text);
    assert.ok(r.text.includes('\tpost-up echo 2 > /proc/sys/net/ipv6/conf/vmbr0/accept_ra\n'), r.text);
    assert.match(r.notes.join('\n'), /eno1 was 'inet dhcp'; it becomes 'inet manual'/);
    clean(r.text);
    const v6 = LOFILE(
      'auto eno1\niface eno1 inet dhcp\n\niface eno1 inet6 static\n\taddress 2001:db8::5/64\n\tgateway 2001:db8::1\n',
    );
    const r6 = planBridged(v6, { bridge: 'vmbr0', ports: ['eno1'] });
    assert.ok(!/iface eno1 inet6/.test(r6.text), r6.text);
    assert.ok(r6.text.includes('iface vmbr0 inet dhcp\n'), r6.text);
    assert.match(r6.text, /iface vmbr0 inet6 static\n\taddress 2001:db8::5\/64\n\tgateway 2001:db8::1\n/);
    clean(r6.text);
    const bond = LOFILE(
      'auto eno1\niface eno1 inet dhcp\n\nauto bond0\niface bond0 inet manual\n\tbond-slaves eno1\n\tbond-miimon 100\n\tbond-mode active-backup\n',
    );
    const doc = parse(bond);
    assert.deepEqual(
      validate({ doc, model: buildModel(doc), file: 'x' }).map((d) => d.code),
      ['PORT_DYNAMIC_ADDRESS'],
    );
  });

  test('bonds are allowed as ports', () => {
    const bond = LOFILE(
      'iface eno1 inet manual\n\niface eno2 inet manual\n\nauto bond0\niface bond0 inet manual\n\tbond-slaves eno1 eno2\n\tbond-miimon 100\n\tbond-mode active-backup\n',
    );
    const r = planBridged(bond, { bridge: 'vmbr0', ports: ['bond0'], cidr: '192.0.2.10/24' });
    assert.ok(r.text.includes('\tbridge-ports bond0\n'));
    clean(r.text);
  });

  test('refusals', () => {
    refused(() => planBridged(INSTALLER, { bridge: 'vmbr1' }), 'ports', /already has bridges \(vmbr0\)/);
    refused(
      () => planBridged(INSTALLER, { bridge: 'vmbr1', ports: ['eno1'], cidr: '10.0.0.1/24' }),
      'ports',
      /eno1 is already a port of bridge vmbr0/,
    );
    refused(
      () => planBridged(INSTALLER, { bridge: 'vmbr1', ports: ['eno2'], cidr: '192.0.2.99/24' }),
      'cidr',
      /overlaps vmbr0/,
    );
    refused(
      () => planBridged(INSTALLER, { bridge: 'vmbr1', ports: ['vmbr0'] }),
      'ports',
      /is already a port|is a bridge/,
    );
    refused(() => planBridged(INSTALLER, { bridge: 'vmbr1', ports: ['bond7'] }), 'ports', /not configured/);
    refused(() => planBridged(LOFILE(''), { bridge: 'vmbr0' }), 'ports', /no physical NIC is known/);
  });
});

describe('ipv6', () => {
  test('planIpv6: disable writes the two lines of the docs; enable removes the file', () => {
    assert.equal(planIpv6(null, 'disable'), IPV6_DISABLE_TEXT);
    assert.ok(disablesIpv6(IPV6_DISABLE_TEXT));
    assert.ok(
      IPV6_DISABLE_TEXT.includes('net.ipv6.conf.all.disable_ipv6 = 1\nnet.ipv6.conf.default.disable_ipv6 = 1\n'),
    );
    const own = 'net.ipv6.conf.default.disable_ipv6=1\nnet.ipv6.conf.all.disable_ipv6=1\n';
    assert.equal(planIpv6(own, 'disable'), own, 'a file that already disables IPv6 is kept as it is');
    assert.equal(planIpv6(own, 'enable'), null);
  });

  test('ipv6Apply writes atomically under the root and applies only through the given runner', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nodenet-ipv6-'));
    try {
      const r = await ipv6Apply(root, 'disable');
      assert.equal(r.changed, true);
      assert.equal(r.applied, false);
      assert.equal(readFileSync(join(root, 'etc/sysctl.d/disable-ipv6.conf'), 'utf8'), IPV6_DISABLE_TEXT);
      assert.equal((await ipv6Apply(root, 'disable')).changed, false);
      const calls: string[][] = [];
      const run = (argv: string[]) => (calls.push(argv), Promise.resolve({ code: 0, stdout: '', stderr: '' }));
      const e = await ipv6Apply(root, 'enable', run);
      assert.equal(e.applied, true);
      assert.equal(existsSync(join(root, 'etc/sysctl.d/disable-ipv6.conf')), false);
      assert.deepEqual(calls, [
        ['sysctl', '-w', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0'],
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('stageSetup: through the store like any edit', () => {
  test('stages interfaces.new, leaves the live file, honours the digest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nodenet-setup-'));
    try {
      mkdirSync(join(root, 'etc/network'), { recursive: true });
      writeFileSync(join(root, 'etc/network/interfaces'), INSTALLER);
      const core = new NetworkCore({ root });
      const intent = {
        bridge: 'vmbr1',
        uplink: 'vmbr0',
        cidr: '10.10.10.1/24',
        forwards: ['tcp/2222=10.10.10.100:22'],
      };
      const r = await stageSetup(core, (t, ctx) => planNat(t, intent, ctx));
      assert.equal(r.changed, true);
      assert.match(r.diff, /^\+auto vmbr1$/m);
      assert.equal(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), INSTALLER, 'live file untouched');
      assert.equal(readFileSync(join(root, 'etc/network/interfaces.new'), 'utf8'), natFirst().text);
      assert.deepEqual(
        r.diagnostics.filter((d) => d.severity !== 'info'),
        [],
      );
      const again = await stageSetup(core, (t, ctx) => planNat(t, intent, ctx), r.digest);
      assert.equal(again.changed, false);
      await assert.rejects(
        stageSetup(
          core,
          (t, ctx) => planNat(t, { ...intent, forwards: ['tcp/80=10.10.10.5:80'] }, ctx),
          'f'.repeat(64),
        ),
        (e: unknown) => isNodenetError(e) && e.code === 'STALE',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

function LOFILE(rest: string): string {
  return `auto lo\niface lo inet loopback\n\n${rest}`;
}
