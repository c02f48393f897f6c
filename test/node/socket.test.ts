/**
 * The CLI's fast path: read-only commands answered by a running `nodenet serve` over its
 * root-only Unix socket (src/cli/socket.ts), tried first by bin/nodenet.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { socketArgv } from '../../src/cli/socket.ts';
import { main } from '../../src/cli/main.ts';

const repo = join(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'nodenet-sock-'));
let server: ChildProcess | undefined;
after(() => {
  server?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('socketArgv: only read-only commands, paths made absolute against the client cwd', () => {
  assert.deepEqual(socketArgv(['check', 'a.interfaces'], '/x'), ['check', '/x/a.interfaces']);
  assert.deepEqual(socketArgv(['check', '/abs/f'], '/x'), ['check', '/abs/f']);
  assert.deepEqual(socketArgv(['--root', 'r', 'list', '--type', 'bridge'], '/x'), [
    '--root',
    '/x/r',
    'list',
    '--type',
    'bridge',
  ]);
  assert.deepEqual(socketArgv(['--root=r', '--output-format', 'json', 'history'], '/x'), [
    '--root',
    '/x/r',
    '--output-format',
    'json',
    'history',
  ]);
  for (const refused of [
    ['apply'],
    ['set', 'vmbr0', '--mtu', '9000'],
    ['--help'],
    ['--version'],
    ['check', '--help'],
    ['check', '-'],
    ['user', 'list'],
    ['serve'],
    [],
    ['--root'],
  ]) {
    assert.equal(socketArgv(refused, '/x'), null, refused.join(' '));
  }
});

test('bin/nodenet asks a running serve over its 0600 socket; other commands never go there', async () => {
  const root = join(work, 'root');
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  writeFileSync(
    join(root, 'etc/network/interfaces'),
    'auto lo\niface lo inet loopback\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.1/24\n\tbridge-ports none\n',
  );
  const sock = join(work, 'run/cli.sock');
  server = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'cli.ts'),
      '--root',
      root,
      '--backend',
      'none',
      'serve',
      '--listen',
      '127.0.0.1:0',
    ],
    { env: { ...process.env, NODENET_CLI_SOCKET: sock }, stdio: 'ignore' },
  );
  const end = Date.now() + 60_000;
  while (!existsSync(sock) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(sock), 'the socket appeared');
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  // A launcher with no program beside it: whatever it answers came from the server.
  mkdirSync(join(work, 'lone/bin'), { recursive: true });
  const bin = join(work, 'lone/bin/nodenet');
  copyFileSync(join(repo, 'bin/nodenet'), bin);
  writeFileSync(join(work, 'lone/package.json'), '{"type":"module"}\n');
  const env = { ...process.env, NODENET_CLI_SOCKET: sock };
  const local = async (argv: string[]) => {
    let out = '';
    const code = await main(argv, { out: (s) => (out += s), err: (s) => (out += s), tty: false });
    return { code, out };
  };
  // A relative FILE is the client's, not the server's.
  const r = spawnSync(process.execPath, [bin, 'check', 'etc/network/interfaces'], { cwd: root, env, encoding: 'utf8' });
  const want = await local(['check', join(root, 'etc/network/interfaces')]);
  assert.equal(r.status, want.code, r.stderr);
  assert.equal(r.stdout + r.stderr, want.out);
  const l = spawnSync(process.execPath, [bin, '--root', root, '--output-format', 'json', 'list'], {
    env,
    encoding: 'utf8',
  });
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /"iface":"vmbr0"/);
  // A byte that is not UTF-8 (a Latin-1 comment) reaches the client's stdout as that byte.
  const latin1 = Buffer.concat([
    Buffer.from('auto lo\niface lo inet loopback\n\nauto vmbr1\niface vmbr1 inet manual\n\tbridge-ports none\n# caf'),
    Buffer.from([0xe9]),
    Buffer.from('\n'),
  ]);
  writeFileSync(join(root, 'etc/network/interfaces.new'), latin1);
  const d = spawnSync(process.execPath, [bin, '--root', root, 'diff'], { env });
  assert.equal(d.status, 0, String(d.stderr));
  assert.ok(
    d.stdout.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])),
    `the byte E9 came through: ${d.stdout.toString('latin1')}`,
  );
  rmSync(join(root, 'etc/network/interfaces.new'));
  // Not read-only: run locally, so the lone launcher has nothing to run.
  const a = spawnSync(process.execPath, [bin, '--root', root, 'apply'], { env, encoding: 'utf8' });
  assert.equal(a.status, 2);
  assert.match(a.stderr, /not built yet/);
  // No socket: the same read-only command runs locally (here: nothing to run).
  const n = spawnSync(process.execPath, [bin, 'check', 'x'], {
    env: { ...process.env, NODENET_CLI_SOCKET: join(work, 'none.sock') },
    encoding: 'utf8',
  });
  assert.match(n.stderr, /not built yet/);
});
