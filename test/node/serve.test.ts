/**
 * `nodenet serve` as systemd runs it: settings from the environment (/etc/default/nodenet),
 * the port of a Proxmox VE node, readiness over NOTIFY_SOCKET, journald priority prefixes,
 * SIGHUP reloading the certificate, and the rollback at start of an apply whose window ran out
 * while nothing watched it. Each runs the real command as its own process.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, test } from 'node:test';
import { listenAddress } from '../../src/cli/commands/serve.ts';

const CLI = join(import.meta.dirname, 'cli.ts');
const roots: string[] = [];
const procs: ChildProcess[] = [];

after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function makeRoot(pve = false): string {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-serve-'));
  roots.push(root);
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  writeFileSync(join(root, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n');
  if (pve) mkdirSync(join(root, 'etc/pve'));
  return root;
}

function nodenet(
  args: string[],
  env: Record<string, string> = {},
): ChildProcess & { output: () => string; exited: Promise<number | null> } {
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(p);
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  return Object.assign(p, { output: () => out, exited });
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function fingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

test('listen address: flags win over NODENET_LISTEN/NODENET_PORT; 8006 by default, 8007 on Proxmox VE where 8006 is refused', () => {
  const plain = makeRoot();
  const pve = makeRoot(true);
  assert.deepEqual(listenAddress(undefined, {}, plain), { host: '127.0.0.1', port: 8006 });
  assert.deepEqual(listenAddress(undefined, { NODENET_LISTEN: '0.0.0.0', NODENET_PORT: '9443' }, plain), {
    host: '0.0.0.0',
    port: 9443,
  });
  assert.deepEqual(listenAddress(undefined, { NODENET_LISTEN: '::' }, plain), { host: '::', port: 8006 });
  assert.deepEqual(listenAddress('127.0.0.2:1234', { NODENET_LISTEN: '0.0.0.0', NODENET_PORT: '9443' }, plain), {
    host: '127.0.0.2',
    port: 1234,
  });
  assert.deepEqual(listenAddress(undefined, { NODENET_LISTEN: '0.0.0.0' }, pve), { host: '0.0.0.0', port: 8007 });
  assert.throws(
    () => listenAddress(undefined, { NODENET_PORT: '8006' }, pve),
    /pveproxy.*NODENET_PORT.*\/etc\/default\/nodenet/,
  );
  assert.throws(() => listenAddress('0.0.0.0:8006', {}, pve), /pveproxy/);
  assert.throws(() => listenAddress(undefined, { NODENET_PORT: '80x' }, plain), /NODENET_PORT/);
});

test('serve on a Proxmox VE root refuses 8006 naming the setting; a taken port fails with the same hint', async () => {
  const pve = makeRoot(true);
  const p = nodenet(['--root', pve, 'serve'], { NODENET_PORT: '8006' });
  assert.equal(await p.exited, 2);
  assert.match(p.output(), /port 8006 belongs to Proxmox VE's pveproxy.*NODENET_PORT=8007/);
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as AddressInfo).port;
  const q = nodenet(['--root', makeRoot(), 'serve'], { NODENET_LISTEN: '127.0.0.1', NODENET_PORT: String(port) });
  assert.equal(await q.exited, 2);
  assert.match(q.output(), new RegExp(`127\\.0\\.0\\.1:${port} is already in use.*NODENET_PORT`));
  taken.close();
});

test('under systemd: READY=1 with MAINPID over NOTIFY_SOCKET, <N> priority prefixes, SIGHUP reloads the certificate', async () => {
  const root = makeRoot();
  const port = await freePort();
  // A notify socket as systemd's (Node has no Unix datagram sockets: python3 receives).
  const sock = join(root, 'notify');
  const rx = spawn(
    '/usr/bin/python3',
    [
      '-c',
      `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nprint(s.recv(4096).decode().replace('\\n',' '),flush=True)`,
      sock,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  procs.push(rx);
  let got = '';
  rx.stdout.on('data', (d: Buffer) => (got += d.toString()));
  await until('the notify socket', () => got.includes('bound'));
  const p = nodenet(['--root', root, 'serve'], {
    NODENET_LISTEN: '127.0.0.1',
    NODENET_PORT: String(port),
    NOTIFY_SOCKET: sock,
    JOURNAL_STREAM: '8:1234',
  });
  await until('READY=1', () => got.includes('READY=1'));
  assert.match(got, new RegExp(`READY=1 MAINPID=${p.pid}`));
  await until('the listening line', () => p.output().includes('"msg":"listening"'));
  for (const line of p.output().trim().split('\n')) assert.match(line, /^<[3-7]>\{"time"/, line);
  assert.match(p.output(), /^<6>\{[^\n]*"msg":"listening"/m);
  const first = await fingerprint(port);
  // A new pair at the same paths, then SIGHUP.
  const key = join(root, 'etc/nodenet/nodenet-ssl.key');
  const cert = join(root, 'etc/nodenet/nodenet-ssl.pem');
  const r = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=renewed',
  ]);
  assert.equal(r.status, 0);
  p.kill('SIGHUP');
  await until('the reload line', () => p.output().includes('reloaded the TLS key and certificate'));
  const second = await fingerprint(port);
  assert.notEqual(second, first);
  assert.equal(p.exitCode, null, 'SIGHUP does not stop the server');
  p.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('serve at start rolls back an apply whose window ran out while its guard was gone', async () => {
  const root = makeRoot();
  const run = (...a: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, '--root', root, ...a], { encoding: 'utf8' });
  assert.equal(run('create', 'vmbr5', '--type', 'bridge', '--autostart', '1').status, 0);
  const a = run('--backend', 'none', 'apply', '--confirm-timeout', '600');
  assert.equal(a.status, 0, a.stderr);
  const journal = join(root, 'var/lib/nodenet/pending-apply.json');
  const j = JSON.parse(readFileSync(journal, 'utf8')) as { guardPid: number };
  // The node "was down": the guard is gone (killed), the journal stays.
  process.kill(j.guardPid, 'SIGKILL');
  await until('the guard to die', () => {
    try {
      process.kill(j.guardPid, 0);
      return !readFileSync(`/proc/${j.guardPid}/stat`, 'utf8').includes(') Z');
    } catch {
      return true;
    }
  });
  assert.ok(existsSync(journal));
  assert.match(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), /vmbr5/);
  const port = await freePort();
  const p = nodenet(['--root', root, '--backend', 'none', 'serve', '--listen', `127.0.0.1:${port}`]);
  await until('listening', () => p.output().includes('"msg":"listening"'));
  assert.ok(!existsSync(journal), 'the journal is gone');
  assert.doesNotMatch(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), /vmbr5/);
  assert.match(p.output(), /rolled back the unconfirmed apply/);
  const h = run('--output-format', 'json', 'history');
  assert.match(h.stdout, /rollback|rolled/i);
  p.kill('SIGTERM');
  await p.exited;
});
