/**
 * `nodenet apply` (the real bin/nodenet, a separate process) on a root where a server listens on
 * the apply socket: the apply runs in the server's backend, in its warm ifupdown2 worker; with
 * no server, a socket that is not private, or another backend, the CLI applies cold in its own
 * process and says why. Needs `npm run build` (bin/nodenet runs dist/).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend } from '../../src/apply/backend.ts';
import { applySocketPath, serveApplySocket, type ApplySocketServer } from '../../src/apply/local-socket.ts';
import { ConfigStore } from '../../src/store/store.ts';
import { LO, makeRoot, removeRoot, skipUnlessReady } from './helpers.ts';

const BIN = new URL('../../bin/nodenet', import.meta.url).pathname;
const DIST = new URL('../../dist/cli/main.js', import.meta.url).pathname;

function bridge(name: string, address: string): string {
  return `auto ${name}\niface ${name} inet static\n\taddress ${address}\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
function file(extra = ''): string {
  return `${LO}iface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.168.100.2/24\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\n${extra}source /etc/network/interfaces.d/*\n`;
}

function cli(
  root: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, '--root', root, ...args], { env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const missing = !existsSync(DIST)
  ? process.env['CI'] === 'true'
    ? (() => {
        throw new Error('dist/ missing: npm run build');
      })()
    : 'dist/ missing: npm run build'
  : false;

describe('CLI apply through nodenet serve', { skip: skipUnlessReady() || missing }, () => {
  let root = '';
  let be: NetnsBackend | undefined;
  let srv: ApplySocketServer | undefined;
  let extra = '';
  const stageNext = async (n: number): Promise<string> => {
    extra += bridge(`vmbr${n}`, `10.${n}.0.1/24`);
    await new ConfigStore(root).update(() => file(extra));
    return `vmbr${n}`;
  };
  const isUp = async (name: string): Promise<boolean> =>
    (await be?.readState([name]))?.interfaces.find((i) => i.name === name)?.up === true;

  before(async () => {
    root = makeRoot(file());
    be = createNetnsBackend({ root });
    await be.prepare(['eno1']);
    await be.reload({ all: true }, () => undefined);
    srv = await serveApplySocket({ root, backend: be });
    assert.ok(srv !== undefined);
  });

  after(async () => {
    await srv?.close().catch(() => undefined);
    await be?.destroy().catch(() => undefined);
    removeRoot(root);
  });

  test('the socket is private: 0700 directory, 0600 socket', () => {
    const p = applySocketPath(root);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(p)).mode & 0o777, 0o700);
  });

  test('apply runs in the server, in its warm worker', async () => {
    assert.ok(be !== undefined);
    const warmBefore = (await be.warm())?.stats.warm ?? 0;
    const name = await stageNext(6);
    const r = await cli(root, ['--backend', 'netns', 'apply']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /applied: history entry #\d+/);
    assert.match(r.err, /nodenet: applying through nodenet serve/);
    assert.match(r.err, /\$ ifup -w vmbr6/);
    assert.equal((await be.warm())?.stats.warm, warmBefore + 1, "the ifup ran in the server's warm worker");
    assert.ok(await isUp(name));
  });

  test('--reload all reaches the server: ifreload -a although one bridge changed; a bad value is a usage error', async () => {
    const name = await stageNext(20);
    const r = await cli(root, ['--backend', 'netns', 'apply', '--reload', 'all']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /nodenet: applying through nodenet serve/);
    assert.match(r.err, /reload: all interfaces \(a full reload was asked for\)/);
    assert.match(r.err, /\$ ifreload -a/);
    assert.ok(await isUp(name));
    const bad = await cli(root, ['--backend', 'netns', 'apply', '--reload', 'some']);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /--reload takes all or targeted, not "some"/);
  });

  test("an error of the server's apply comes back with its message, no cold retry", async () => {
    await new ConfigStore(root).update(() =>
      file(`${extra}auto vmbr99\niface vmbr99 inet static\n\taddress 300.1.1.1/24\n\n`),
    );
    try {
      const r = await cli(root, ['--backend', 'netns', 'apply']);
      assert.notEqual(r.code, 0, r.err);
      assert.match(r.err, /applying through nodenet serve/);
      assert.match(r.err, /the change was refused:\n.*error ADDRESS_INVALID vmbr99/);
      assert.doesNotMatch(r.err, /applying in this process/);
    } finally {
      await new ConfigStore(root).update(() => file(extra));
    }
  });

  test('another backend: the server refuses, the CLI applies in its own process', async () => {
    await stageNext(7);
    const r = await cli(root, ['--backend', 'none', 'apply']);
    assert.equal(r.code, 0, r.err);
    // the none backend never asks the server
    assert.doesNotMatch(r.err, /through nodenet serve/);
  });

  test('a socket directory that is not private is not used: cold apply, said on stderr', async () => {
    assert.ok(be !== undefined);
    const warmBefore = (await be.warm())?.stats.warm ?? 0;
    const dir = dirname(applySocketPath(root));
    chmodSync(dir, 0o755);
    try {
      const name = await stageNext(8);
      const r = await cli(root, ['--backend', 'netns', 'apply']);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.err,
        /nodenet: not using the apply socket: .* has mode 755, not private: applying in this process/,
      );
      assert.equal((await be.warm())?.stats.warm, warmBefore, 'not through the server');
      assert.ok(await isUp(name));
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  test('no server: cold apply in the CLI process, said on stderr', async () => {
    await srv?.close();
    srv = undefined;
    const name = await stageNext(9);
    const r = await cli(root, ['--backend', 'netns', 'apply']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /nodenet: no nodenet serve for this root \(ENOENT\): applying in this process/);
    assert.match(r.err, /\$ ifup -w vmbr9/);
    assert.ok(await isUp(name));
  });
});
