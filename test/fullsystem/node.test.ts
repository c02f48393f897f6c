/**
 * The full-system tier: nodenet as an admin installs it, on a booted Debian with systemd as
 * PID 1 (this machine's root under QEMU, persistent overlay disk, two virtio NICs), driven
 * from outside the guest. Steps run in order on one guest; each is a subtest, so the output
 * shows how far it got. Runs under CI=true or FULLSYSTEM=1 (npm run test:fullsystem); see
 * test/fullsystem/README.md.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Guest, REPO_ROOT, missingPrerequisites, prepare } from './vm.ts';

const run = promisify(execFile);
const CI = process.env.CI === 'true';
const CLIENT = join(import.meta.dirname, 'client.py');

interface Meta {
  id: number;
  action: string;
  rollbackOf?: number;
  outcome: string;
  detail?: string;
}

test('full system: install, login, apply, hard reset, restart, SSH, remove', async (t) => {
  const missing = missingPrerequisites();
  if (spawnSync('/usr/bin/python3', ['-c', 'import proxmoxer']).status !== 0) missing.push('python3-proxmoxer');
  if (missing.length) {
    if (CI) throw new Error(`full-system tier: missing ${missing.join(', ')}`);
    return t.skip(`missing ${missing.join(', ')}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nodenet-fullsystem-'));
  const say = (s: string) => t.diagnostic(s);
  const prep = await prepare();
  const g = new Guest(prep, dir, say);
  await g.init();
  t.after(async () => {
    await g.stop().catch(() => undefined);
    if (process.env.FS_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    else say(`kept ${dir}`);
  });
  // The package under test, built from this checkout.
  const built = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/package.mjs'), '--out', join(dir, 'pkg')], {
    encoding: 'utf8',
  });
  assert.equal(built.status, 0, built.stderr);
  const deb = built.stdout.trim().split('\n').pop()!;
  copyFileSync(deb, join(g.work, 'nodenet.deb'));

  const api = async (ops: unknown[], user = 'root@pam', pw = g.rootPassword): Promise<unknown[]> => {
    const { stdout } = await run('/usr/bin/python3', [CLIENT, JSON.stringify(ops)], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PORT: String(g.httpsPort),
        PUSER: user,
        PW: pw,
        PYTHONWARNINGS: 'ignore',
      },
      timeout: 300_000,
    }).catch((e: { stderr?: string; message: string }) => assert.fail(`proxmoxer: ${e.stderr ?? e.message}`));
    return JSON.parse(stdout.trim().split('\n').pop()!) as unknown[];
  };
  const history = async (): Promise<Meta[]> => JSON.parse(await g.sh('nodenet --output-format json history')) as Meta[];
  const addrOf = async (dev: string): Promise<string[]> =>
    (
      JSON.parse(await g.sh(`ip -j addr show dev ${dev}`)) as {
        addr_info: { family: string; local: string; prefixlen: number }[];
      }[]
    )[0]!.addr_info
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.local}/${a.prefixlen}`);
  const waitFor = async (what: string, cond: () => Promise<boolean>, ms: number) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  // Generous limits: under TCG a login (key exchange, PAM session, systemd --user) takes tens of seconds.
  const ssh = (cmd: string, timeoutS = 150) =>
    spawnSync(
      'timeout',
      [
        String(timeoutS),
        'ssh',
        '-i',
        g.key,
        '-p',
        String(g.sshPort),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'ConnectTimeout=10',
        '-o',
        'ServerAliveInterval=3',
        '-o',
        'ServerAliveCountMax=3',
        '-o',
        'LogLevel=ERROR',
        'root@127.0.0.1',
        cmd,
      ],
      { encoding: 'utf8' },
    );

  await t.test('boot: systemd is PID 1, two virtio NICs', async () => {
    await g.boot();
    say(`boot: ${(await g.exec('systemctl is-system-running --wait', 420_000)).out.trim()}`);
    assert.equal((await g.sh('ps -p 1 -o comm=')).trim(), 'systemd');
    const links = await g.sh('ip -br link');
    assert.match(links, /^eth0 /m);
    assert.match(links, /^eth1 /m);
    assert.match(
      await g.sh('readlink /sys/class/net/eth0/device/driver; readlink /sys/class/net/eth1/device/driver'),
      /virtio_net[\s\S]*virtio_net/,
    );
  });

  await t.test('1. dpkg -i ifupdown2 (+ openssh-server) and the nodenet .deb: real maintainer scripts', async () => {
    say(await g.sh('dpkg -i /mnt/kt/debs/*.deb 2>&1 | tail -3', 600_000));
    await g.sh('systemctl is-active networking || systemctl start networking', 300_000);
    assert.deepEqual(await addrOf('eth0'), ['10.0.2.15/24']);
    say(await g.sh('dpkg -i /mnt/kt/nodenet.deb 2>&1 | tail -3', 600_000));
    assert.equal((await g.sh('stat -c %a /etc/nodenet/nodenet-ssl.key')).trim(), '600');
    assert.equal((await g.sh('stat -c %a /var/lib/nodenet')).trim(), '700');
    assert.equal(
      (await g.sh('systemctl is-enabled nodenet.service nodenet-rollback.service')).trim(),
      'enabled\nenabled',
    );
    // The fleet agent is installed but not enabled: /etc/default/nodenet sets no NODENET_ETCD.
    assert.equal((await g.exec('systemctl is-enabled nodenet-agent.service')).out.trim(), 'disabled');
  });

  await t.test(
    '2. the service starts (Type=notify) and root@pam logs in with the guest root password (proxmoxer)',
    async () => {
      await waitFor(
        'nodenet.service active',
        async () => (await g.exec('systemctl is-active nodenet')).out.trim() === 'active',
        180_000,
      );
      assert.match(
        await g.sh('systemctl show nodenet -p Type -p KillMode -p NRestarts'),
        /Type=notify[\s\S]*KillMode=process/,
      );
      // journald got the priority of each line.
      assert.match(await g.sh('journalctl -u nodenet -p info -o cat --no-pager | grep listening'), /"msg":"listening"/);
      const [list] = await api([['list']]);
      assert.ok((list as string[]).includes('eth0'), JSON.stringify(list));
      // A wrong password is refused.
      await assert.rejects(api([['list']], 'root@pam', 'wrong-password'));
    },
  );

  await t.test(
    '3. a bridge on eth1 applied with the host ifupdown2 backend, confirmed, kernel state read back',
    async () => {
      const [, applied, confirmed] = await api([
        ['create', { iface: 'vmbr1', type: 'bridge', bridge_ports: 'eth1', cidr: '192.0.2.1/24', autostart: 1 }],
        ['apply', 120],
        ['confirm'],
      ]);
      assert.equal((applied as { exitstatus: string }).exitstatus, 'OK', JSON.stringify(applied));
      assert.equal((confirmed as { confirmed: number }).confirmed, 1);
      const link = JSON.parse(await g.sh('ip -j -d link show eth1')) as { master?: string }[];
      assert.equal(link[0]!.master, 'vmbr1');
      assert.deepEqual(await addrOf('vmbr1'), ['192.0.2.1/24']);
      assert.equal((await history()).at(-1)?.outcome, 'committed');
    },
  );

  await t.test(
    '4. an unconfirmed apply, hard reset inside the window: the previous config is live after boot, rolled back before networking',
    async () => {
      const [applied] = await api([
        ['update', 'vmbr1', { type: 'bridge', cidr: '192.0.2.2/24' }],
        ['apply', 600],
      ]).then((r) => r.slice(1));
      assert.equal((applied as { exitstatus: string }).exitstatus, 'OK');
      assert.deepEqual(await addrOf('vmbr1'), ['192.0.2.2/24']);
      await g.sh('test -e /var/lib/nodenet/pending-apply.json');
      say('pulling the plug');
      await g.hardReset();
      await g.boot();
      say(`boot: ${(await g.exec('systemctl is-system-running --wait', 420_000)).out.trim()}`);
      await waitFor(
        'networking',
        async () => (await g.exec('systemctl is-active networking')).out.trim() === 'active',
        180_000,
      );
      assert.deepEqual(await addrOf('vmbr1'), ['192.0.2.1/24']);
      assert.match(await g.sh('cat /etc/network/interfaces'), /192\.0\.2\.1\/24/);
      await g.sh('test ! -e /var/lib/nodenet/pending-apply.json');
      // History: the apply's entry ends rolled back, restored at boot without a reload.
      const h = await history();
      assert.equal(h.at(-1)?.outcome, 'rolled-back', JSON.stringify(h.at(-1)));
      assert.match(h.at(-1)?.detail ?? '', /without reload/);
      // The rollback unit ran in this boot, and finished before networking.service started.
      const show = await g.sh(
        'systemctl show nodenet-rollback -p ExecMainExitTimestampMonotonic -p ExecMainStatus; systemctl show networking -p ExecMainStartTimestampMonotonic',
      );
      const num = (k: string) => Number(new RegExp(`^${k}=(\\d+)$`, 'm').exec(show)?.[1]);
      assert.match(show, /^ExecMainStatus=0$/m);
      assert.ok(num('ExecMainExitTimestampMonotonic') > 0, show);
      assert.ok(num('ExecMainExitTimestampMonotonic') < num('ExecMainStartTimestampMonotonic'), show);
    },
  );

  await t.test(
    '5. the service restarts inside a window: the guard keeps counting and rolls back at the deadline',
    async () => {
      await waitFor(
        'nodenet.service active',
        async () => (await g.exec('systemctl is-active nodenet')).out.trim() === 'active',
        180_000,
      );
      const [applied] = await api([
        ['update', 'vmbr1', { type: 'bridge', cidr: '192.0.2.3/24' }],
        ['apply', 60],
      ]).then((r) => r.slice(1));
      assert.equal((applied as { exitstatus: string }).exitstatus, 'OK');
      const pid = Number(
        await g.sh('sed -n \'s/.*"guardPid": *\\([0-9]*\\).*/\\1/p\' /var/lib/nodenet/pending-apply.json'),
      );
      assert.ok(pid > 0);
      await g.sh('systemctl restart nodenet', 180_000);
      assert.equal((await g.sh('systemctl is-active nodenet')).trim(), 'active');
      await g.sh(`kill -0 ${pid} && grep -q guard.js /proc/${pid}/cmdline`);
      assert.deepEqual(await addrOf('vmbr1'), ['192.0.2.3/24']);
      await waitFor(
        'the guard to roll back',
        async () => (await g.exec('test ! -e /var/lib/nodenet/pending-apply.json')).rc === 0,
        300_000,
      );
      const last = (await history()).at(-1)!;
      assert.equal(last.outcome, 'rolled-back', JSON.stringify(last));
      const guardLog = await g.sh('cat /var/lib/nodenet/guard.log');
      assert.match(guardLog, new RegExp(`\\[${pid}\\].*rolled back`));
      // The previous address is back in the kernel (the guard reloads after restoring the file).
      await waitFor(
        `192.0.2.1 back on vmbr1 (guard log:\n${guardLog})`,
        async () => (await addrOf('vmbr1')).join() === '192.0.2.1/24',
        120_000,
      );
    },
  );

  await t.test(
    '6. over SSH: changing the address carrying the session is refused without a window; with one it rolls back when nobody confirms',
    async () => {
      try {
        await waitFor('sshd', async () => ssh('true').status === 0, 400_000);
      } catch (e) {
        const diag = await g.exec(
          'systemctl status ssh --no-pager 2>&1 | tail -15; ss -ltnp; ls -l /etc/ssh /root/.ssh',
        );
        const v = ssh('true');
        throw new Error(`${(e as Error).message}\n${diag.out}\nssh: ${v.status} ${v.stderr}`);
      }
      const env = ssh('echo $SSH_CONNECTION');
      assert.match(env.stdout, /^10\.0\.2\.2 \d+ 10\.0\.2\.15 22$/m);
      assert.equal(ssh('nodenet set eth0 --cidr 10.0.2.99/24').status, 0);
      const refused = ssh('nodenet apply');
      assert.equal(refused.status, 1, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /confirm/);
      assert.deepEqual(await addrOf('eth0'), ['10.0.2.15/24']);
      // With a window: the apply runs, the session's path breaks (ssh gives up), nobody confirms.
      ssh('nodenet apply --confirm-timeout 150', 140);
      assert.deepEqual(await addrOf('eth0'), ['10.0.2.99/24'], 'the path of the session changed');
      assert.notEqual(ssh('true', 20).status, 0, 'SSH is cut while the new address is live');
      await waitFor('SSH back after the rollback', async () => ssh('true').status === 0, 400_000);
      assert.deepEqual(await addrOf('eth0'), ['10.0.2.15/24']);
      // SSH is back as soon as the guard's reload is; it records the outcome after verifying.
      await waitFor(
        'the rollback in history',
        async () => (await history()).at(-1)?.outcome === 'rolled-back',
        120_000,
      );
    },
  );

  await t.test(
    '7. the fleet agent under systemd: skipped without NODENET_ETCD, registers in the guest etcd with it',
    async () => {
      // Without NODENET_ETCD the unit's ExecCondition skips it: inactive, not failed, and the
      // agent never started (systemd 252 reports the skip as Result=success).
      await g.exec('systemctl start nodenet-agent', 180_000);
      const skipped = await g.sh(
        'systemctl show nodenet-agent -p ActiveState -p Result -p ExecMainStartTimestampMonotonic',
      );
      assert.match(skipped, /^ActiveState=inactive$/m);
      assert.match(skipped, /^Result=success$/m);
      assert.match(skipped, /^ExecMainStartTimestampMonotonic=0$/m);
      // A one-member etcd in the guest (Debian's etcd-server, as on the host; its own unit is masked).
      await g.sh(
        'systemd-run --unit kt-etcd /usr/bin/etcd --name fs --data-dir /var/lib/kt-etcd ' +
          '--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 ' +
          '--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 ' +
          '--initial-cluster fs=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:0',
      );
      const etcdctl = 'ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:2379';
      await waitFor('etcd in the guest', async () => (await g.exec(`${etcdctl} endpoint health`)).rc === 0, 180_000);
      await g.sh('echo NODENET_ETCD=http://127.0.0.1:2379 >> /etc/default/nodenet');
      // Type=notify: `enable --now` returns once the agent said READY=1 (registered in etcd).
      await g.sh('systemctl enable --now nodenet-agent', 300_000);
      assert.equal((await g.sh('systemctl is-active nodenet-agent')).trim(), 'active');
      assert.match(
        await g.sh('systemctl show nodenet-agent -p Type -p KillMode'),
        /Type=notify[\s\S]*KillMode=process/,
      );
      // sh exec'd nodenet: the main process is the agent itself, on the host name's node.
      const pid = (await g.sh('systemctl show nodenet-agent -p MainPID --value')).trim();
      assert.match(await g.sh(`tr '\\0' ' ' < /proc/${pid}/cmdline`), /nodenet --root \/ agent/);
      assert.match(await g.sh('journalctl -u nodenet-agent -o cat --no-pager'), /"msg":"agent running"/);
      assert.match(
        await g.sh(`${etcdctl} get --prefix --keys-only /nodenet/v1/nodes/fsguest/`),
        /^\/nodenet\/v1\/nodes\/fsguest\/alive$/m,
      );
      // Stopped: the lease is revoked, the node is no longer alive.
      await g.sh('systemctl stop nodenet-agent', 120_000);
      assert.doesNotMatch(await g.sh(`${etcdctl} get --prefix --keys-only /nodenet/v1/nodes/fsguest/`), /\/alive$/m);
      await g.sh('systemctl stop kt-etcd', 120_000);
    },
  );

  await t.test('8. apt remove nodenet leaves the network untouched', async () => {
    const snapshot =
      'cat /etc/network/interfaces; ip -br addr; ip -br link; systemctl show networking -p ExecMainStartTimestampMonotonic';
    const before = await g.sh(snapshot);
    say(await g.sh('apt-get remove -y nodenet 2>&1 | tail -2', 600_000));
    assert.equal(await g.sh(snapshot), before);
    assert.notEqual((await g.exec('systemctl is-active nodenet')).out.trim(), 'active');
    assert.notEqual((await g.exec('test -e /usr/bin/nodenet')).rc, 0);
  });
});
