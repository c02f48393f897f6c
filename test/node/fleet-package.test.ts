/**
 * The fleet from the Debian package (npm run package): the PACKAGED `nodenet agent` and
 * `nodenet serve --etcd` (the esbuild bundle, with etcd3's gRPC client and its .proto files
 * inside the package) against a real etcd (Debian's, started by test/fleet/harness.ts). The
 * server sees the node online, a change through the API lands in the agent's files (the oracle),
 * and a stopped agent revokes its lease (a 64-bit etcd lease id through the bundled protobufjs):
 * the node goes offline. Also: the agent unit, its settings, the maintainer scripts, and every
 * npm package inside the bundle named in the copyright file.
 * Needs dpkg-deb and etcd (under CI=true a missing one fails).
 */
import { test, before, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETCD, PASSWORD, api, freePort, login, startFleet, until } from '../fleet/harness.ts';
import type { Fleet } from '../fleet/harness.ts';

const repo = join(import.meta.dirname, '..', '..');
let work = '';
let deb = '';
let x = '';
let fleet: Fleet | undefined;
const procs: ChildProcess[] = [];

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function missing(t: TestContext): boolean {
  const m: string[] = [];
  if (!has('dpkg-deb')) m.push('dpkg-deb');
  if (!existsSync(ETCD)) m.push('etcd (apt-get install etcd-server)');
  if (!m.length) return false;
  if (process.env.CI === 'true') assert.fail(`prerequisite missing: ${m.join(', ')}`);
  t.skip(`prerequisite missing: ${m.join(', ')}`);
  return true;
}

before(() => {
  if (!has('dpkg-deb') || !existsSync(ETCD)) return;
  work = mkdtempSync(join(tmpdir(), 'nodenet-fleetpkg-'));
  const r = spawnSync(process.execPath, [join(repo, 'scripts/package.mjs'), '--out', work], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  deb = r.stdout.trim().split('\n').pop()!;
  x = join(work, 'x');
  assert.equal(spawnSync('dpkg-deb', ['-x', deb, x]).status, 0);
});

after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(
    procs.map((p) =>
      p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined,
    ),
  );
  await fleet?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The unpacked package's /usr/bin/nodenet, as a process whose output is kept. */
function packaged(argv: string[]): { proc: ChildProcess; log: () => string } {
  const proc = spawn(join(x, 'usr/bin/nodenet'), argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODENET_WARM: '0' },
  });
  procs.push(proc);
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  return { proc, log: () => out };
}

test('the packaged agent and serve --etcd: the node online, a change on its files, offline once stopped', async (t) => {
  if (missing(t)) return;
  fleet = await startFleet(1);
  const f = fleet;
  // The agent: node n1 on its own root, files only (backend none).
  const root = join(work, 'n1');
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  writeFileSync(join(root, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n');
  const agent = packaged(['--root', root, '--node', 'n1', '--backend', 'none', 'agent', '--etcd', f.endpoints]);
  await until(
    'the packaged agent to run',
    () => agent.log().includes('"agent running"') || agent.proc.exitCode !== null,
  );
  assert.equal(agent.proc.exitCode, null, agent.log());
  assert.doesNotMatch(agent.log(), /Dynamic require|ENOENT|internal error/);

  // The server: another root with admin@pve, fleet mode on the same etcd.
  const srvRoot = join(work, 'srv');
  mkdirSync(srvRoot, { recursive: true });
  const u = spawnSync(join(x, 'usr/bin/nodenet'), ['--root', srvRoot, 'user', 'add', 'admin@pve', '--password-stdin'], {
    input: `${PASSWORD}\n`,
    encoding: 'utf8',
  });
  assert.equal(u.status, 0, u.stderr);
  const port = await freePort();
  const srv = packaged([
    '--root',
    srvRoot,
    '--node',
    'api1',
    'serve',
    '--listen',
    `127.0.0.1:${port}`,
    '--etcd',
    f.endpoints,
    '--fail-delay',
    '0',
  ]);
  await until('the packaged server to listen', () => srv.log().includes('"listening"') || srv.proc.exitCode !== null);
  assert.equal(srv.proc.exitCode, null, srv.log());
  const base = `https://127.0.0.1:${port}/api2/json`;
  const auth = await login(base);

  const online = await until('n1 online through the packaged server', async () => {
    const r = await api(base, 'GET', '/nodes', {}, auth);
    const list = r.json.data as { node: string; status: string }[] | undefined;
    return list?.find((n) => n.node === 'n1' && n.status === 'online');
  });
  assert.equal(online.status, 'online');

  // A request through etcd to the packaged agent: the bridge is staged in n1's files.
  const c = await api(base, 'POST', '/nodes/n1/network', { iface: 'vmbr9', type: 'bridge', autostart: 1 }, auth);
  assert.equal(c.status, 200, JSON.stringify(c.json));
  const staged = readFileSync(join(root, 'etc/network/interfaces.new'), 'utf8');
  assert.match(staged, /^iface vmbr9 inet manual$/m);
  const l = await api(base, 'GET', '/nodes/n1/network', {}, auth);
  assert.ok(
    (l.json.data as { iface: string }[]).some((i) => i.iface === 'vmbr9'),
    JSON.stringify(l.json),
  );

  // SIGTERM: the agent revokes its lease and ends; the node is offline (TTL 10 s is not waited for).
  agent.proc.kill('SIGTERM');
  const code = await new Promise<number | null>((r) =>
    agent.proc.exitCode !== null ? r(agent.proc.exitCode) : agent.proc.once('exit', (c) => r(c)),
  );
  assert.equal(code, 0, agent.log());
  const alive = await f.client.getAll().prefix('/nodenet/v1/nodes/n1/alive').keys();
  assert.deepEqual(alive, [], 'the alive key went with the revoked lease');
  const off = await api(base, 'GET', '/nodes', {}, auth);
  assert.equal((off.json.data as { node: string; status: string }[]).find((n) => n.node === 'n1')?.status, 'offline');
});

test('the package ships the agent unit, the etcd .proto files and the NODENET_ETCD setting', (t) => {
  if (missing(t)) return;
  const list = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).stdout;
  for (const p of [
    './lib/systemd/system/nodenet-agent.service',
    './usr/lib/nodenet/dist/proto/etcd3/rpc.proto',
    './usr/lib/nodenet/dist/proto/etcd3/kv.proto',
    './usr/lib/nodenet/dist/proto/etcd3/auth.proto',
  ])
    assert.ok(list.includes(p), `missing ${p}`);
  const unit = readFileSync(join(x, 'lib/systemd/system/nodenet-agent.service'), 'utf8');
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^EnvironmentFile=-\/etc\/default\/nodenet$/m);
  assert.match(unit, /^KillMode=process$/m);
  // systemd's own parser: no unknown key, no bad value (warnings go to stderr, the status stays 0).
  if (has('systemd-analyze')) {
    const v = spawnSync(
      'systemd-analyze',
      ['verify', '--man=no', join(x, 'lib/systemd/system/nodenet-agent.service')],
      { encoding: 'utf8' },
    );
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stderr.trim(), '');
  } else if (process.env.CI === 'true') assert.fail('systemd-analyze is missing (systemd)');
  const def = readFileSync(join(x, 'etc/default/nodenet'), 'utf8');
  assert.match(def, /^#NODENET_ETCD=/m);
  assert.match(def, /^#NODENET_NODE=/m);
  const ctrl = join(work, 'ctrl');
  assert.equal(spawnSync('dpkg-deb', ['-e', deb, ctrl]).status, 0);
  for (const s of ['postinst', 'postrm'])
    assert.match(readFileSync(join(ctrl, s), 'utf8'), /nodenet-agent\.service/, s);
  assert.match(readFileSync(join(ctrl, 'prerm'), 'utf8'), /stop nodenet-agent\.service/);
});

test("the agent unit's commands, run by sh as systemd would: skipped without NODENET_ETCD, --node from NODENET_NODE", (t) => {
  if (missing(t)) return;
  const unit = readFileSync(join(x, 'lib/systemd/system/nodenet-agent.service'), 'utf8');
  // systemd turns `$$` into `$` and leaves the rest to sh -c.
  const cmd = (key: string) => {
    const m = new RegExp(`^${key}=/bin/sh -c '(.*)'$`, 'm').exec(unit);
    assert.ok(m, `${key} is a sh -c command: ${unit}`);
    return m[1]!.replaceAll('$$', '$');
  };
  const sh = (script: string, env: Record<string, string>) =>
    spawnSync('sh', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  const cond = cmd('ExecCondition');
  assert.notEqual(sh(cond, {}).status, 0, 'no NODENET_ETCD: the unit is skipped');
  assert.notEqual(sh(cond, { NODENET_ETCD: '' }).status, 0);
  assert.equal(sh(cond, { NODENET_ETCD: 'http://127.0.0.1:2379' }).status, 0);
  // The command line it execs (echo in place of exec shows the argv, one word a line).
  const argv = (env: Record<string, string>) =>
    sh(cmd('ExecStart').replace(/^exec \/usr\/bin\/nodenet/, 'printf "%s\\n"'), env)
      .stdout.trim()
      .split('\n');
  assert.deepEqual(argv({}), ['--root', '/', 'agent']);
  assert.deepEqual(argv({ NODENET_NODE: 'pve 2' }), ['--root', '/', '--node', 'pve 2', 'agent']);
});

test('postinst enables the agent only when NODENET_ETCD is set, or as the admin left it', (t) => {
  if (missing(t)) return;
  if (process.getuid?.() !== 0 || !has('unshare')) {
    if (process.env.CI === 'true') assert.fail('needs root and unshare');
    return t.skip('needs root and unshare');
  }
  const ctrl = join(work, 'ctrl-postinst');
  assert.equal(spawnSync('dpkg-deb', ['-e', deb, ctrl]).status, 0);
  // Fakes of deb-systemd-helper, deb-systemd-invoke and systemctl record their calls; the real
  // postinst runs with "abort-upgrade" (the unit block only: no key, no state directory) in a
  // private mount namespace whose /etc/default is a temp dir, so the host is never touched.
  const fakes = join(work, 'fakes');
  mkdirSync(fakes, { recursive: true });
  const fake = `#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_LOG"
case "$1 $2" in
  "debian-installed "*) [ -n "$FAKE_INSTALLED" ] ;;
  "--quiet was-enabled") [ -n "$FAKE_WAS_ENABLED" ] ;;
esac
`;
  for (const n of ['deb-systemd-helper', 'deb-systemd-invoke', 'systemctl']) {
    writeFileSync(join(fakes, n), fake);
    chmodSync(join(fakes, n), 0o755);
  }
  const agentCalls = (defaults: string, env: Record<string, string>) => {
    const dir = mkdtempSync(join(work, 'default-'));
    writeFileSync(join(dir, 'nodenet'), defaults);
    const log = join(dir, 'calls.log');
    const r = spawnSync(
      'unshare',
      [
        '-m',
        'sh',
        '-c',
        `mount --bind "$1" /etc/default && exec sh "$2" abort-upgrade`,
        'sh',
        dir,
        join(ctrl, 'postinst'),
      ],
      {
        env: {
          PATH: `${fakes}:/usr/sbin:/usr/bin:/sbin:/bin`,
          FAKE_LOG: log,
          FAKE_INSTALLED: '',
          FAKE_WAS_ENABLED: '',
          ...env,
        },
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => /^deb-systemd-helper (enable|update-state) nodenet-agent\.service$/.test(l));
  };
  const def = readFileSync(join(x, 'etc/default/nodenet'), 'utf8');
  // First install, the shipped settings (NODENET_ETCD commented out): not enabled.
  assert.deepEqual(agentCalls(def, {}), ['deb-systemd-helper update-state nodenet-agent.service']);
  // First install (or an upgrade from a package without the agent) with NODENET_ETCD set: enabled.
  const withEtcd = `${def}NODENET_ETCD=http://10.0.0.5:2379\n`;
  assert.deepEqual(agentCalls(withEtcd, {}), ['deb-systemd-helper enable nodenet-agent.service']);
  assert.deepEqual(agentCalls(`${def}NODENET_ETCD=\n`, {}), ['deb-systemd-helper update-state nodenet-agent.service']);
  // Upgrades: kept as the admin left it, whatever NODENET_ETCD says.
  assert.deepEqual(agentCalls(def, { FAKE_INSTALLED: '1', FAKE_WAS_ENABLED: '1' }), [
    'deb-systemd-helper enable nodenet-agent.service',
  ]);
  assert.deepEqual(agentCalls(withEtcd, { FAKE_INSTALLED: '1' }), [
    'deb-systemd-helper update-state nodenet-agent.service',
  ]);
});

test('every npm package bundled into the program is named in the copyright file', (t) => {
  if (missing(t)) return;
  const copyright = readFileSync(join(x, 'usr/share/doc/nodenet/copyright'), 'utf8');
  const bundled = new Set<string>();
  for (const f of ['dist/cli/main.js', 'dist/apply/guard.js', 'dist/web/app/main.js']) {
    const text = readFileSync(join(x, 'usr/lib/nodenet', f), 'utf8');
    // esbuild heads each bundled module with a `// path` comment.
    for (const m of text.matchAll(/^\/\/ \S*node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\//gm)) bundled.add(m[1]!);
  }
  assert.ok(bundled.has('etcd3') && bundled.has('@grpc/grpc-js'), [...bundled].join(' '));
  for (const p of bundled) {
    const scope = p.startsWith('@') ? `node_modules/${p.split('/')[0]}/*` : '';
    assert.ok(
      copyright.includes(`node_modules/${p}/*`) || (scope !== '' && copyright.includes(scope)),
      `${p} is bundled but not in the copyright file`,
    );
  }
});
