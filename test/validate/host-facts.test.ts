/**
 * Facts from the node's other files: every sysctl file applied at boot (IPV6_DISABLED, `ipv6
 * status`) and corosync.conf (BOND_CLUSTER_BALANCE), read under the root by the store and
 * passed to the pure rules by the core.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { NetworkCore } from '../../src/core/network.ts';
import { readCorosync, readSysctl } from '../../src/store/host-files.ts';
import { ipv6DisabledBy, parseCorosync, sysctlPath } from '../../src/validate/facts.ts';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function rootWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-facts-'));
  roots.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const V6 =
  'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\niface vmbr0 inet6 static\n\taddress 2001:db8::10/64\n\tgateway 2001:db8::1\n';

const COROSYNC = `logging {
  debug: off
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.40.0.1
    ring1_addr: pve1-backup.example
  }
  node {
    name: pve2
    nodeid: 2
    ring0_addr: 10.40.0.2
  }
}

totem {
  cluster_name: lab
  interface {
    linknumber: 0
  }
  version: 2
}
`;

/** A bond that nothing in the interfaces file labels as the cluster network. */
const BONDS =
  'auto lo\niface lo inet loopback\n\nauto bond0\niface bond0 inet manual\n\tbond-slaves eno1 eno2\n\tbond-miimon 100\n\tbond-mode 802.3ad\n\tbond-lacp-rate fast\n\nauto vmbr1\niface vmbr1 inet static\n\taddress 10.40.0.2/24\n\tbridge-ports bond0\n\tbridge-stp off\n\tbridge-fd 0\n';

describe('sysctl files', () => {
  test('keys with . or / separators', () => {
    assert.deepEqual(sysctlPath('net.ipv6.conf.eno1/100.disable_ipv6'), [
      'net',
      'ipv6',
      'conf',
      'eno1.100',
      'disable_ipv6',
    ]);
    assert.deepEqual(sysctlPath('net/ipv6/conf/eno1.100/disable_ipv6'), [
      'net',
      'ipv6',
      'conf',
      'eno1.100',
      'disable_ipv6',
    ]);
  });

  test('every file, any name, in boot order: a name in /etc hides /usr/lib; /etc/sysctl.conf last', async () => {
    const root = rootWith({
      'usr/lib/sysctl.d/50-default.conf': 'net.ipv6.conf.all.disable_ipv6 = 0\n',
      'usr/lib/sysctl.d/10-hidden.conf': 'net.ipv6.conf.all.disable_ipv6 = 1\n',
      'etc/sysctl.d/10-hidden.conf': '# overrides the vendor file\n',
      'etc/sysctl.d/zz-no-ipv6.conf': '; comment\n-net/ipv6/conf/default/disable_ipv6=1\n',
      'etc/sysctl.d/README': 'net.ipv6.conf.all.disable_ipv6 = 1\n',
      'etc/sysctl.conf': 'net.ipv4.ip_forward = 1\n',
    });
    const s = await readSysctl(root);
    assert.deepEqual(
      s.map((x) => `${x.file}:${x.line} ${x.key}=${x.value}`),
      [
        '/usr/lib/sysctl.d/50-default.conf:1 net.ipv6.conf.all.disable_ipv6=0',
        '/etc/sysctl.d/zz-no-ipv6.conf:2 net/ipv6/conf/default/disable_ipv6=1',
        '/etc/sysctl.conf:1 net.ipv4.ip_forward=1',
      ],
    );
    assert.equal(ipv6DisabledBy({ sysctl: s }, 'vmbr0')?.file, '/etc/sysctl.d/zz-no-ipv6.conf');
    // An interface's own later line wins over all/default; a later 0 enables again.
    assert.equal(
      ipv6DisabledBy(
        { sysctl: [...s, { file: 'x', line: 1, key: 'net.ipv6.conf.vmbr0.disable_ipv6', value: '0' }] },
        'vmbr0',
      ),
      undefined,
    );
    assert.equal(
      ipv6DisabledBy(
        { sysctl: [...s, { file: 'x', line: 1, key: 'net.ipv6.conf.all.disable_ipv6', value: '0' }] },
        'vmbr0',
      ),
      undefined,
    );
  });

  test("Debian's 99-sysctl.conf symlink to ../sysctl.conf is read once", async () => {
    const root = rootWith({ 'etc/sysctl.conf': 'net.ipv6.conf.all.disable_ipv6 = 1\n', 'etc/sysctl.d/.keep': '' });
    symlinkSync('../sysctl.conf', join(root, 'etc/sysctl.d/99-sysctl.conf'));
    assert.deepEqual(
      (await readSysctl(root)).map((x) => x.file),
      ['/etc/sysctl.d/99-sysctl.conf'],
    );
  });

  test('IPV6_DISABLED through the core, under any file name; ipv6 status names the file', async () => {
    const root = rootWith({ 'etc/network/interfaces': V6 });
    const core = new NetworkCore({ root });
    assert.deepEqual(
      (await core.check()).filter((d) => d.code === 'IPV6_DISABLED'),
      [],
    );
    mkdirSync(join(root, 'etc/sysctl.d'));
    writeFileSync(
      join(root, 'etc/sysctl.d/60-local-hardening.conf'),
      'kernel.kptr_restrict = 1\nnet.ipv6.conf.all.disable_ipv6 = 1\n',
    );
    const ds = (await core.check()).filter((d) => d.code === 'IPV6_DISABLED');
    assert.equal(ds.length, 1);
    assert.equal(ds[0]!.severity, 'warning');
    assert.equal(ds[0]!.iface, 'vmbr0');
    assert.equal(ds[0]!.line, 14);
    assert.match(ds[0]!.message, /IPv6 is disabled at boot by \/etc\/sysctl\.d\/60-local-hardening\.conf line 2/);
    let out = '';
    const code = await main(['--root', root, 'ipv6', 'status'], {
      out: (s) => (out += s),
      err: (s) => (out += s),
      tty: false,
    });
    assert.equal(code, 0);
    assert.match(out, /^boot: +\/etc\/sysctl\.d\/60-local-hardening\.conf:2: net\.ipv6\.conf\.all\.disable_ipv6 = 1$/m);
    assert.match(out, /IPv6 is disabled at boot \(by \/etc\/sysctl\.d\/60-local-hardening\.conf line 2\)/);
    out = '';
    await main(['--root', root, '--output-format', 'json', 'ipv6', 'status'], {
      out: (s) => (out += s),
      err: () => undefined,
      tty: false,
    });
    const j = JSON.parse(out);
    assert.equal(j.disabled_at_boot, true);
    assert.equal(j.disabled_by_file, false, "nodenet's own file is absent");
    assert.deepEqual(j.settings, [
      { file: '/etc/sysctl.d/60-local-hardening.conf', line: 2, key: 'net.ipv6.conf.all.disable_ipv6', value: '1' },
    ]);
  });
});

describe('corosync.conf', () => {
  test('ringN_addr of every node, with the node name; host names skipped', () => {
    assert.deepEqual(parseCorosync(COROSYNC, '/etc/pve/corosync.conf'), [
      { file: '/etc/pve/corosync.conf', line: 10, link: 0, addr: '10.40.0.1', node: 'pve1' },
      { file: '/etc/pve/corosync.conf', line: 16, link: 0, addr: '10.40.0.2', node: 'pve2' },
    ]);
  });

  test('the bindnetaddr of an older totem interface block counts, with its ringnumber', () => {
    const old = 'totem {\n  version: 2\n  interface {\n    bindnetaddr: 10.7.0.0\n    ringnumber: 1\n  }\n}\n';
    assert.deepEqual(parseCorosync(old, 'f'), [{ file: 'f', line: 4, link: 1, addr: '10.7.0.0' }]);
  });

  test('/etc/pve wins over /etc/corosync', async () => {
    const root = rootWith({
      'etc/corosync/corosync.conf': COROSYNC.replace(/10\.40/g, '10.99'),
      'etc/pve/corosync.conf': COROSYNC,
    });
    assert.equal((await readCorosync(root))?.file, '/etc/pve/corosync.conf');
    assert.equal((await readCorosync(rootWith({ 'etc/corosync/corosync.conf': COROSYNC })))?.addrs.length, 2);
    assert.equal(await readCorosync(rootWith({})), undefined);
  });

  test('a bond under the corosync subnet is warned about in 802.3ad (no name or comment says so)', async () => {
    const root = rootWith({ 'etc/network/interfaces': BONDS });
    const core = new NetworkCore({ root });
    assert.deepEqual(
      (await core.check()).filter((d) => d.code === 'BOND_CLUSTER_BALANCE'),
      [],
      'nothing to go by without corosync.conf',
    );
    mkdirSync(join(root, 'etc/corosync'));
    writeFileSync(join(root, 'etc/corosync/corosync.conf'), COROSYNC);
    const ds = (await core.check()).filter((d) => d.code === 'BOND_CLUSTER_BALANCE');
    assert.equal(ds.length, 1);
    assert.equal(ds[0]!.iface, 'bond0');
    assert.match(
      ds[0]!.message,
      /bond0 carries cluster \(corosync\) traffic for vmbr1 in mode 802\.3ad \(vmbr1: corosync link 0 address 10\.40\.0\.1 of pve1 \(\/etc\/corosync\/corosync\.conf line 10\) is in its subnet 10\.40\.0\.2\/24\)/,
    );
    // active-backup is the one mode the docs advise: no warning.
    writeFileSync(
      join(root, 'etc/network/interfaces'),
      BONDS.replace('bond-mode 802.3ad\n\tbond-lacp-rate fast', 'bond-mode active-backup'),
    );
    assert.deepEqual(
      (await core.check()).filter((d) => d.code === 'BOND_CLUSTER_BALANCE'),
      [],
    );
  });
});
