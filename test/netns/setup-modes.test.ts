/**
 * The planning modes under the REAL ifupdown2 and iptables/nft in the netns backend: each mode's
 * planned file applied three times in a row leaves one copy of each rule, the sysctls as
 * intended and the ports enslaved; `ifquery --check` passes. End to end for NAT: an outside
 * host (the uplink NIC's peer namespace) reaches a guest's TCP server through a port forward,
 * the guest reaches the outside through masquerade, and removing the NAT setup removes every
 * rule. (The apply pipeline is not used: the planned text is written as the live file.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend, type ReloadResult } from '../../src/apply/backend.ts';
import type { KernelState } from '../../src/apply/state.ts';
import { planBridged } from '../../src/setup/bridged.ts';
import { planNat } from '../../src/setup/nat.ts';
import { ipv6Apply, ipv6Running } from '../../src/setup/ipv6.ts';
import { planRouted } from '../../src/setup/routed.ts';
import { LO, makeRoot, namespaces, removeRoot, skipUnlessReady, writeInterfaces } from './helpers.ts';

const iface = (s: KernelState, name: string) => s.interfaces.find((i) => i.name === name);

/** The public side: eno1 with the node's address and the provider's gateway. */
const UPLINK = LO + 'auto eno1\niface eno1 inet static\n\taddress 198.51.100.5/24\n\tgateway 198.51.100.1\n';

/** A one-connection TCP server: prints `ready`, answers `<tag> <peer address>`, exits. */
const SERVER = `import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen(1); s.settimeout(20)
print('ready', flush=True)
c, a = s.accept(); c.sendall((sys.argv[2] + ' ' + a[0] + '\\n').encode()); c.close()`;

const CLIENT = `import socket,sys
c=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(c.recv(200).decode().strip())`;

describe(
  'setup modes: real ifupdown2 + iptables in a namespace',
  { skip: skipUnlessReady(['iptables-save', 'nft']) },
  () => {
    let root: string | undefined;
    let be: NetnsBackend | undefined;
    const guestNs = `nodenet-test-guest-${randomBytes(3).toString('hex')}`;
    const procs: ChildProcess[] = [];

    before(async () => {
      root = makeRoot(LO);
      be = createNetnsBackend({ root });
      await be.prepare(['eno1', 'eno2']);
    });

    after(async () => {
      for (const p of procs) if (p.exitCode === null && p.pid !== undefined) p.kill('SIGKILL');
      if (namespaces().includes(guestNs)) execFileSync('ip', ['netns', 'del', guestNs]);
      await be?.destroy().catch(() => undefined);
      removeRoot(root);
      assert.ok(!namespaces().includes(guestNs), 'the guest namespace is gone');
    });

    async function applyThrice(text: string): Promise<KernelState> {
      assert.ok(be !== undefined && root !== undefined);
      writeInterfaces(root, text);
      for (let n = 1; n <= 3; n++) {
        const r: ReloadResult = await be.reload({ all: true }, () => undefined);
        assert.equal(r.code, 0, `reload ${n}:\n${r.log.join('\n')}`);
        assert.deepEqual(r.errors, [], `reload ${n}`);
      }
      const check = await be.check();
      assert.equal(check.code, 0, JSON.stringify(check.ifaces));
      return be.readState();
    }

    async function net(argv: string[]): Promise<string> {
      assert.ok(be !== undefined);
      const r = await be.execNet(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      return r.stdout;
    }

    async function peer(argv: string[]): Promise<string> {
      assert.ok(be !== undefined);
      const r = await (await be.sandbox()).execPeer(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      return r.stdout;
    }

    /** Start a one-shot server in namespace `ns` and wait until it listens. */
    async function server(ns: string, port: number, tag: string): Promise<ChildProcess> {
      const p = spawn('ip', ['netns', 'exec', ns, '/usr/bin/python3', '-c', SERVER, String(port), tag], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(p);
      await new Promise<void>((resolve, reject) => {
        let err = '';
        p.stderr!.on('data', (b: Buffer) => (err += b.toString()));
        p.stdout!.once('data', () => resolve());
        p.once('exit', (code) => reject(new Error(`server in ${ns} exited (${code}): ${err}`)));
      });
      return p;
    }

    const client = (ns: string, host: string, port: number) =>
      execFileSync('ip', ['netns', 'exec', ns, '/usr/bin/python3', '-c', CLIENT, host, String(port)], {
        encoding: 'utf8',
        timeout: 15_000,
      }).trim();

    test('bridged: vmbr0 over eno1 with address and gateway; no forwarding', async () => {
      const { text } = planBridged(LO, {
        bridge: 'vmbr0',
        ports: ['eno1'],
        cidr: '192.168.100.2/24',
        gateway: '192.168.100.1',
      });
      const s = await applyThrice(text);
      assert.equal(iface(s, 'eno1')?.master, 'vmbr0');
      assert.equal(iface(s, 'eno1')?.up, true);
      assert.deepEqual(iface(s, 'vmbr0')?.addresses, ['192.168.100.2/24']);
      assert.deepEqual(iface(s, 'vmbr0')?.bridge, { stp_state: 0, forward_delay: 0, vlan_filtering: 0 });
      assert.equal(s.sysctls['net.ipv4.ip_forward'], '0');
      assert.ok(s.routes.some((r) => r.dst === 'default' && r.gateway === '192.168.100.1' && r.dev === 'vmbr0'));
    });

    test('bridged on a fresh Debian file: ifupdown2 reads DHCP and SLAAC on the bridge, none on the port', async () => {
      assert.ok(be !== undefined && root !== undefined);
      // ifupdown2's own parser is the oracle (no DHCP server here): what it will run per stanza.
      const query = async (text: string) => {
        writeInterfaces(root!, text);
        const r = await (await be!.sandbox()).exec(['ifquery', '-o', 'json', 'eno1', 'vmbr0']);
        assert.equal(r.code, 0, r.stderr);
        errors.push(r.stderr.trim());
        const list = JSON.parse(r.stdout) as {
          name: string;
          addr_family: string;
          addr_method: string;
          config: Record<string, unknown>;
        }[];
        return list.map(
          (x) =>
            `${x.name} ${x.addr_family} ${x.addr_method}${x.config['bridge-ports'] ? ` ports=${String(x.config['bridge-ports'])}` : ''}`,
        );
      };
      const errors: string[] = [];
      const debian =
        'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eno1\niface eno1 inet dhcp\niface eno1 inet6 auto\n';
      // Before: the bridge that `setup bridged` wrote on main (manual) over a DHCP port.
      const before = await query(debian + '\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n');
      assert.deepEqual(before, ['eno1 inet dhcp', 'eno1 inet6 auto', 'vmbr0 inet manual ports=eno1']);
      // Debian's ifupdown2 3.0 has no 'inet6 auto' method: a parse error on the original file.
      assert.match(errors[0]!, /iface eno1: unsupported address method 'auto'/);
      const { text } = planBridged(debian, { bridge: 'vmbr0' });
      assert.deepEqual(await query(text), ['eno1 inet manual', 'vmbr0 inet dhcp ports=eno1']);
      assert.equal(errors[1], '', 'ifupdown2 parses the planned file without an error');
      writeInterfaces(root, LO);
    });

    test('bridged over a static + SLAAC port, applied: the bridge has the address and does SLAAC, the port neither', async () => {
      const port =
        LO +
        'allow-hotplug eno1\niface eno1 inet static\n\taddress 192.168.100.2/24\n\tgateway 192.168.100.1\niface eno1 inet6 auto\n';
      const { text } = planBridged(port, { bridge: 'vmbr0' });
      const s = await applyThrice(text);
      assert.equal(iface(s, 'eno1')?.master, 'vmbr0');
      assert.deepEqual(
        iface(s, 'eno1')?.addresses.filter((a) => !a.startsWith('fe80:')),
        [],
      );
      assert.deepEqual(
        iface(s, 'vmbr0')?.addresses.filter((a) => !a.startsWith('fe80:')),
        ['192.168.100.2/24'],
      );
      assert.ok(s.routes.some((r) => r.dst === 'default' && r.gateway === '192.168.100.1' && r.dev === 'vmbr0'));
      // No 'inet6 auto' is written (ifupdown2 3.0 rejects it). ifupdown2 turns IPv6 forwarding on
      // for a bridge with an address, where accept_ra 1 would ignore router advertisements:
      // accept_ra 2 takes them anyway, autoconf is on.
      assert.equal((await net(['sysctl', '-n', 'net.ipv6.conf.vmbr0.forwarding'])).trim(), '1');
      assert.equal((await net(['sysctl', '-n', 'net.ipv6.conf.vmbr0.accept_ra'])).trim(), '2');
      assert.equal((await net(['sysctl', '-n', 'net.ipv6.conf.vmbr0.autoconf'])).trim(), '1');
    });

    test('routed: forwarding and proxy_arp on the uplink, a portless bridge with the subnet', async () => {
      const { text } = planRouted(UPLINK, { uplink: 'eno1', bridge: 'vmbr0', cidr: '203.0.113.17/28' });
      const s = await applyThrice(text);
      assert.equal(s.sysctls['net.ipv4.ip_forward'], '1');
      assert.equal(s.sysctls['net.ipv4.conf.eno1.proxy_arp'], '1');
      assert.deepEqual(iface(s, 'vmbr0')?.addresses, ['203.0.113.17/28']);
      assert.equal(iface(s, 'eno1')?.master, undefined, 'the uplink is not bridged');
      assert.deepEqual(iface(s, 'eno1')?.addresses, ['198.51.100.5/24']);
    });

    let natText = '';

    test('nat (iptables): three reloads leave exactly one copy of each rule', async () => {
      natText = planNat(UPLINK, {
        bridge: 'vmbr1',
        uplink: 'eno1',
        cidr: '10.10.10.1/24',
        forwards: ['tcp/2222=10.10.10.100:22'],
      }).text;
      const s = await applyThrice(natText);
      assert.equal(s.sysctls['net.ipv4.ip_forward'], '1');
      const rules = (s.firewall.iptables ?? []).filter((l) => l.startsWith('-A '));
      assert.deepEqual(rules.sort(), [
        '-A POSTROUTING -s 10.10.10.0/24 -o eno1 -j MASQUERADE',
        '-A PREROUTING -i eno1 -p tcp -m tcp --dport 2222 -j DNAT --to-destination 10.10.10.100:22',
        '-A PREROUTING -i fwbr+ -j CT --zone 1',
      ]);
      assert.equal(iface(s, 'vmbr0'), undefined, 'the routed bridge of the previous file was removed');
    });

    test('nat end to end: port forward in, masquerade out, guest port kept plugged across reloads', async () => {
      assert.ok(be !== undefined);
      // The guest: a namespace with a veth plugged into vmbr1, as the hypervisor would.
      execFileSync('ip', ['netns', 'add', guestNs]);
      await net(['ip', 'link', 'add', 'veth100i0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', guestNs]);
      await net(['ip', 'link', 'set', 'veth100i0', 'master', 'vmbr1', 'up']);
      const g = (argv: string[]) => execFileSync('ip', ['netns', 'exec', guestNs, ...argv], { encoding: 'utf8' });
      g(['ip', 'link', 'set', 'lo', 'up']);
      g(['ip', 'addr', 'add', '10.10.10.100/24', 'dev', 'eth0']);
      g(['ip', 'link', 'set', 'eth0', 'up']);
      g(['ip', 'route', 'add', 'default', 'via', '10.10.10.1']);
      // The outside: the peer end of eno1 is the provider's router.
      const peerNs = (await be.sandbox()).names.peer;
      await peer(['ip', 'addr', 'add', '198.51.100.1/24', 'dev', 'eno1']);

      // Reloads do not unplug the guest (bridge-ports-condone-regex) nor duplicate rules.
      for (let n = 0; n < 2; n++) assert.equal((await be.reload({ all: true }, () => undefined)).code, 0);
      const s = await be.readState();
      assert.equal(iface(s, 'veth100i0')?.master, 'vmbr1', 'the guest port stays plugged');
      assert.equal((s.firewall.iptables ?? []).filter((l) => l.includes('DNAT')).length, 1);

      // In: outside → 198.51.100.5:2222 → guest 10.10.10.100:22.
      await server(guestNs, 22, 'guest');
      assert.equal(client(peerNs, '198.51.100.5', 2222), 'guest 198.51.100.1');
      // Out: guest → outside server; the outside sees the uplink's address (masquerade).
      await server(peerNs, 8080, 'outside');
      assert.equal(client(guestNs, '198.51.100.1', 8080), 'outside 198.51.100.5');
    });

    test('nat: removing the NAT setup removes every rule', async () => {
      const { text } = planNat(natText, { bridge: 'vmbr1', remove: true });
      assert.equal(text, UPLINK, 'the file is back to the bytes before setup nat');
      const s = await applyThrice(text);
      assert.equal(iface(s, 'vmbr1'), undefined);
      const rules = (s.firewall.iptables ?? []).filter((l) => l.startsWith('-A '));
      assert.deepEqual(rules, [], 'post-down deleted masquerade, conntrack zone and DNAT');
    });

    test("nat on the docs' hand-written file: their rules are rewritten, one masquerade in the kernel", async () => {
      assert.ok(be !== undefined && root !== undefined);
      // The Proxmox VE docs' NAT example (`-A` without `-C`, quoted subnet), applied as it is.
      const docs = readFileSync(new URL('../fixtures/corpus/05-nat-masquerade.interfaces', import.meta.url), 'utf8');
      writeInterfaces(root, docs);
      const r = await be.reload({ all: true }, () => undefined);
      assert.equal(r.code, 0, r.log.join('\n'));
      const { text } = planNat(docs, { bridge: 'vmbr1' });
      assert.ok(!text.includes("'10.10.10.0/24'"), "the docs lines are replaced, not kept next to nodenet's");
      const s = await applyThrice(text);
      const rules = (s.firewall.iptables ?? []).filter((l) => l.startsWith('-A ')).sort();
      assert.deepEqual(rules, [
        '-A POSTROUTING -s 10.10.10.0/24 -o eno1 -j MASQUERADE',
        '-A PREROUTING -i fwbr+ -j CT --zone 1',
      ]);
      // Back to a file without vmbr1: its post-down lines take the rules away.
      const t = await applyThrice(UPLINK);
      assert.deepEqual(
        (t.firewall.iptables ?? []).filter((l) => l.startsWith('-A ')),
        [],
      );
    });

    test('nat (nft): one table of its own, rebuilt not duplicated; forwards edited; removed with the bridge', async () => {
      const first = planNat(UPLINK, {
        bridge: 'vmbr1',
        uplink: 'eno1',
        cidr: '10.10.10.1/24',
        firewall: 'nft',
        forwards: ['tcp/2222=10.10.10.100:22'],
      }).text;
      let s = await applyThrice(first);
      const table = (st: KernelState) => {
        const lines = st.firewall.nft ?? [];
        const start = lines.indexOf('table ip nodenet_vmbr1 {');
        if (start < 0) return [];
        const next = lines.findIndex((l, k) => k > start && l.startsWith('table '));
        return lines.slice(start, next < 0 ? lines.length : next);
      };
      const nftRules = (st: KernelState) => table(st).filter((l) => /masquerade|dnat|ct zone/.test(l));
      assert.deepEqual(nftRules(s), [
        'iifname "eno1" tcp dport 2222 dnat to 10.10.10.100:22',
        'ip saddr 10.10.10.0/24 oifname "eno1" masquerade',
        'iifname "fwbr*" ct zone set 1',
      ]);
      assert.deepEqual(
        (s.firewall.iptables ?? []).filter((l) => l.startsWith('-A ')),
        [],
        'no iptables rules in nft mode',
      );
      // Change the forwards: the table is rebuilt from the file on the next reload.
      const second = planNat(first, {
        bridge: 'vmbr1',
        forwards: ['udp/5353=10.10.10.7:53'],
        removeForwards: ['tcp/2222'],
      }).text;
      s = await applyThrice(second);
      assert.deepEqual(nftRules(s), [
        'iifname "eno1" udp dport 5353 dnat to 10.10.10.7:53',
        'ip saddr 10.10.10.0/24 oifname "eno1" masquerade',
        'iifname "fwbr*" ct zone set 1',
      ]);
      s = await applyThrice(planNat(second, { bridge: 'vmbr1', remove: true }).text);
      assert.deepEqual(table(s), [], 'the table went with the bridge');
    });

    test('ipv6 disable --now applied inside the namespace (never the host), enable undoes it', async () => {
      assert.ok(be !== undefined && root !== undefined);
      const hostBefore = execFileSync('sysctl', ['-n', 'net.ipv6.conf.all.disable_ipv6'], { encoding: 'utf8' }).trim();
      const inNs = (argv: string[]) => be!.execNet(argv);
      const d = await ipv6Apply(root, 'disable', inNs);
      assert.equal(d.applied, true);
      assert.deepEqual(await ipv6Running(inNs), {
        'net.ipv6.conf.all.disable_ipv6': '1',
        'net.ipv6.conf.default.disable_ipv6': '1',
      });
      assert.equal(
        execFileSync('sysctl', ['-n', 'net.ipv6.conf.all.disable_ipv6'], { encoding: 'utf8' }).trim(),
        hostBefore,
        'host untouched',
      );
      await ipv6Apply(root, 'enable', inNs);
      assert.deepEqual(await ipv6Running(inNs), {
        'net.ipv6.conf.all.disable_ipv6': '0',
        'net.ipv6.conf.default.disable_ipv6': '0',
      });
    });
  },
);
