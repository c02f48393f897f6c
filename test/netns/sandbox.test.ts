/**
 * The netns sandbox's life cycle: create, ensure (idempotent, adds NICs), run commands inside with
 * private mounts, destroy — and nothing left behind on the host: no namespaces, no mounts, no
 * processes, and the host's /etc/network and /run/network untouched.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { prepareUnpackedIfupdown2, type Ifupdown2Install } from '../../src/apply/ifupdown2.ts';
import { NetnsSandbox, sandboxNames } from '../../src/apply/netns.ts';
import {
  LO,
  hostMountsMentioning,
  makeRoot,
  namespaceInode,
  namespaces,
  processesInNamespace,
  removeRoot,
  skipUnlessReady,
} from './helpers.ts';

describe('netns sandbox', { skip: skipUnlessReady() }, () => {
  let root: string | undefined;
  let install: Ifupdown2Install;
  let sb: NetnsSandbox | undefined;
  const hostHadEtcNetwork = existsSync('/etc/network');
  const hostHadRunNetwork = existsSync('/run/network');

  before(async () => {
    install = await prepareUnpackedIfupdown2();
    root = makeRoot(LO);
    sb = new NetnsSandbox({ root, install });
  });

  after(async () => {
    // even when a test failed half-way: no namespace may outlive the test
    await sb?.destroy().catch(() => undefined);
    removeRoot(root);
  });

  test('names derive from the realpath of the root', () => {
    assert.ok(root !== undefined && sb !== undefined);
    assert.match(sb.name, /^nodenet-[0-9a-f]{8}$/);
    assert.deepEqual(sandboxNames(join(root, 'etc', '..')), sb.names);
    assert.equal(sb.names.peer, `${sb.name}-peer`);
  });

  test('ensure creates both namespaces and the NICs, idempotently', async () => {
    assert.ok(sb !== undefined);
    await sb.ensure(['eno1']);
    await sb.ensure(['eno1', 'eno2']); // adds eno2, keeps eno1
    await sb.ensure(['eno1']); // never removes
    const ns = namespaces();
    assert.ok(ns.includes(sb.names.ns) && ns.includes(sb.names.peer), `namespaces: ${ns.join(' ')}`);
    const links = JSON.parse((await sb.execNet(['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
    assert.deepEqual(links.map((l) => l.ifname).sort(), ['eno1', 'eno2', 'lo']);
    const peer = JSON.parse((await sb.execPeer(['ip', '-j', 'link', 'show', 'eno1'])).stdout) as { flags: string[] }[];
    assert.ok(peer[0]?.flags.includes('UP'), 'the peer end is up so the NIC gets carrier');
    // nothing of it in the host's namespace
    assert.ok(!hostMountsMentioning(root ?? '!').some((l) => !l.includes('/run/netns/')));
  });

  test('exec sees the root as /etc/network, a private /run and our ifupdown2 conf', async () => {
    assert.ok(sb !== undefined && root !== undefined);
    const r = await sb.exec([
      'sh',
      '-c',
      'cat /etc/network/interfaces; grep ^state_dir= /etc/network/ifupdown2/ifupdown2.conf; ls /run; command -v ifreload; touch /run/network/probe',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith(LO), r.stdout);
    assert.match(r.stdout, /^state_dir=\/run\/network\/$/m);
    assert.match(r.stdout, /^network$/m);
    assert.ok(r.stdout.includes(install.binDir));
    // /run/network is persistent under the root, not the host's
    assert.ok(existsSync(join(sb.stateDir, 'run-network', 'probe')));
    // the conf dir lives in the sandbox's files, never in the user's etc/network
    assert.ok(!existsSync(join(root, 'etc', 'network', 'ifupdown2')));
    assert.equal(existsSync('/etc/network'), hostHadEtcNetwork);
    assert.equal(existsSync('/run/network'), hostHadRunNetwork);
  });

  test('destroy leaves no namespace, mount or process behind', async () => {
    assert.ok(sb !== undefined && root !== undefined);
    await sb.ensure(['eno1']);
    // a daemon left running inside, like a `post-up ... &` line would leave
    const r = await sb.exec(['sh', '-c', 'sleep 300 </dev/null >/dev/null 2>&1 &']);
    assert.equal(r.code, 0, r.stderr);
    const ino = namespaceInode(sb.names.ns);
    const peerIno = namespaceInode(sb.names.peer);
    assert.ok(processesInNamespace(ino).length > 0, 'the daemon runs in the namespace');

    await sb.destroy();

    const ns = namespaces();
    assert.ok(!ns.includes(sb.names.ns) && !ns.includes(sb.names.peer), `left: ${ns.join(' ')}`);
    assert.deepEqual(processesInNamespace(ino), []);
    assert.deepEqual(processesInNamespace(peerIno), []);
    assert.deepEqual(hostMountsMentioning(sb.names.ns), []);
    assert.deepEqual(hostMountsMentioning(root), []);
    assert.ok(!existsSync(sb.stateDir), 'the sandbox files are gone');
    assert.equal(existsSync('/etc/network'), hostHadEtcNetwork);
    assert.equal(existsSync('/run/network'), hostHadRunNetwork);
    await sb.destroy(); // idempotent
  });
});
