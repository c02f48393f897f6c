/** The staged-config store and the core edit path. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NetworkCore } from '../../src/core/network.ts';
import { NodenetError } from '../../src/errors.ts';
import { sha256 } from '../../src/store/store.ts';

const LIVE =
  'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.2/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n';
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function root(live = LIVE): { core: NetworkCore; dir: string; live: string; staged: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nodenet-store-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'etc/network'), { recursive: true });
  writeFileSync(join(dir, 'etc/network/interfaces'), live);
  return {
    core: new NetworkCore({ root: dir }),
    dir,
    live: join(dir, 'etc/network/interfaces'),
    staged: join(dir, 'etc/network/interfaces.new'),
  };
}

async function rejects(p: Promise<unknown>, code: string, re?: RegExp): Promise<NodenetError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NodenetError, `expected NodenetError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message + JSON.stringify(e.errors ?? {}), re);
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('store', () => {
  it('edits go to interfaces.new; the live file is never touched', async () => {
    const r = root();
    const res = await r.core.create('vmbr1', { type: 'bridge', bridge_ports: 'none', cidr: '10.0.0.1/24' });
    assert.equal(res.changed, true);
    assert.equal(readFileSync(r.live, 'utf8'), LIVE);
    assert.match(
      readFileSync(r.staged, 'utf8'),
      /iface vmbr1 inet static\n\taddress 10.0.0.1\/24\n\tbridge-ports none/,
    );
    assert.equal(res.digest, sha256(readFileSync(r.staged, 'utf8')));
  });

  it('a no-op edit stages nothing', async () => {
    const r = root();
    const res = await r.core.update('vmbr0', { gateway: '192.0.2.1' });
    assert.equal(res.changed, false);
    assert.equal(existsSync(r.staged), false);
  });

  it('interfaces.new disappears when the staged text equals the live file again', async () => {
    const r = root();
    await r.core.update('vmbr0', { mtu: '1400' });
    assert.ok(existsSync(r.staged));
    await r.core.update('vmbr0', {}, 'mtu');
    assert.equal(existsSync(r.staged), false);
    assert.equal(existsSync(join(r.dir, 'var/lib/nodenet/staged.json')), false);
  });

  it('a stale digest is refused with a message that says to reload', async () => {
    const r = root();
    const { digest } = await r.core.list();
    await r.core.update('vmbr0', { mtu: '1400', digest });
    const e = await rejects(r.core.update('vmbr0', { mtu: '1500', digest }), 'STALE');
    assert.match(e.message, /reload and retry/);
    const fresh = (await r.core.list()).digest;
    assert.equal((await r.core.update('vmbr0', { mtu: '1500', digest: fresh })).changed, true);
  });

  it('reports a hand edit of the live file made while changes are staged', async () => {
    const r = root();
    await r.core.update('vmbr0', { mtu: '1400' });
    writeFileSync(r.live, `${LIVE}\n# edited by hand\n`);
    const l = await r.core.list();
    assert.equal(l.warnings.length, 1);
    assert.match(l.warnings[0]!, /edited by hand/);
    const res = await r.core.update('vmbr0', { mtu: '1450' });
    assert.match(res.warnings.join(' '), /edited by hand/);
    assert.equal(
      readFileSync(r.live, 'utf8'),
      `${LIVE}\n# edited by hand\n`,
      'the hand edit is never overwritten by an edit',
    );
  });

  it('errors already in a hand-edited file do not block unrelated edits; new errors are refused', async () => {
    const r = root(
      `${LIVE}\nauto vmbr1\niface vmbr1 inet static\n\taddress 10.9.0.1/24\n\tgateway 10.9.0.254\n\tbridge-ports none\n`,
    );
    const before = await r.core.check();
    assert.ok(
      before.some((d) => d.severity === 'error' && d.code === 'DUPLICATE_DEFAULT_GATEWAY'),
      JSON.stringify(before),
    );
    assert.equal((await r.core.update('vmbr0', { comments: 'unrelated' })).changed, true);
    const e = await rejects(
      r.core.create('vmbr2', { type: 'bridge', bridge_ports: 'eno1' }),
      'INVALID',
      /eno1 is already a port of vmbr0/,
    );
    assert.equal(e.diagnostics?.[0]?.code, 'PORT_IN_USE');
    assert.equal(e.errors?.bridge_ports !== undefined, true, 'the error is placed at its API field');
  });

  it('interfaces of sourced files are listed with their file and never rewritten', async () => {
    const r = root(`${LIVE}\nsource /etc/network/interfaces.d/*\n`);
    mkdirSync(join(r.dir, 'etc/network/interfaces.d'), { recursive: true });
    writeFileSync(
      join(r.dir, 'etc/network/interfaces.d/90-lab'),
      'auto vmbr9\niface vmbr9 inet static\n\taddress 10.9.9.1/24\n\tbridge-ports none\n',
    );
    const l = await r.core.list();
    const v = l.data.find((o) => o.iface === 'vmbr9');
    assert.equal(v?.source, 'interfaces.d/90-lab');
    assert.equal((await r.core.get('vmbr9')).data.source, 'interfaces.d/90-lab');
    await rejects(
      r.core.update('vmbr9', { mtu: '1400' }),
      'PARAM',
      /defined in etc\/network\/interfaces\.d\/90-lab, which nodenet keeps as it is/,
    );
    await rejects(r.core.remove('vmbr9'), 'PARAM', /edit that file by hand/);
    await rejects(
      r.core.create('vmbr9', { type: 'bridge' }),
      'PARAM',
      /already exists \(in etc\/network\/interfaces\.d\/90-lab\)/,
    );
    // A bridge in the main file may use a port that only a sourced file defines.
    assert.equal((await r.core.create('vmbr10', { type: 'bridge', bridge_ports: 'vmbr9' })).changed, true);
  });

  it('a source-directory line pulls in nothing, as in ifupdown2 3.0 (no such keyword)', async () => {
    const r = root(`${LIVE}\nsource-directory /etc/network/interfaces.d\n`);
    mkdirSync(join(r.dir, 'etc/network/interfaces.d'), { recursive: true });
    writeFileSync(
      join(r.dir, 'etc/network/interfaces.d/90-lab'),
      'auto vmbr9\niface vmbr9 inet static\n\taddress 10.9.9.1/24\n\tbridge-ports none\n',
    );
    const l = await r.core.list();
    assert.equal(
      l.data.find((o) => o.iface === 'vmbr9'),
      undefined,
      'ifupdown2 never reads 90-lab',
    );
    assert.ok((await r.core.check()).some((d) => d.code === 'IFUPDOWN1_SOURCE_DIRECTORY'));
    // The same directory by `source DIR/*` is read.
    const s = root(`${LIVE}\nsource /etc/network/interfaces.d/*\n`);
    mkdirSync(join(s.dir, 'etc/network/interfaces.d'), { recursive: true });
    writeFileSync(
      join(s.dir, 'etc/network/interfaces.d/90-lab'),
      'auto vmbr9\niface vmbr9 inet manual\n\tbridge-ports none\n',
    );
    assert.equal((await s.core.list()).data.find((o) => o.iface === 'vmbr9')?.source, 'interfaces.d/90-lab');
  });

  it('the list shows the pending diff as changes', async () => {
    const r = root();
    assert.equal((await r.core.list()).changes, undefined);
    await r.core.update('vmbr0', { mtu: '1400' });
    const l = await r.core.list();
    assert.match(l.changes!, /^--- interfaces\n\+\+\+ interfaces.new\n@@ .* @@\n(.|\n)*\+\tmtu 1400\n/);
    assert.equal(await r.core.revert(), true);
    assert.equal((await r.core.list()).changes, undefined);
  });

  it('refuses duplicates, unknown interfaces and bad parameters with PVE messages', async () => {
    const r = root();
    await rejects(r.core.create('vmbr0', { type: 'bridge' }), 'PARAM', /interface already exists/);
    await rejects(r.core.update('nosuch0', { mtu: '1400' }), 'PARAM', /interface does not exist/);
    await rejects(r.core.update('vmbr0', { mtu: '100' }), 'PARAM', /minimum value of 1280/);
    await rejects(r.core.update('vmbr0', { cidr: '10.0.0.1/33' }), 'PARAM', /CIDR/);
    await rejects(r.core.create('vmbr1', { type: 'bridge', bogus: '1' }), 'PARAM', /not defined in schema/);
    await rejects(r.core.create('../etc', { type: 'bridge' }), 'PARAM', /invalid network interface name/);
  });

  it('refuses control characters in every value; a newline in comments only makes comment lines', async () => {
    const r = root();
    for (const [k, v] of [
      ['cidr', '10.0.0.1/24\npost-up touch /tmp/pwned'],
      ['bridge_ports', 'eno1\rpost-up x'],
      ['gateway', '192.0.2.1\u0000'],
      ['mtu', '9000\n'],
      ['bridge_vids', '2-10\tpost-up'],
      ['comments', 'hello\rpost-up x'],
      ['comments', 'nul\u0000'],
    ] as const) {
      await rejects(r.core.update('vmbr0', { [k]: v }), 'PARAM', /control character/);
    }
    assert.equal(existsSync(r.staged), false);
    await r.core.update('vmbr0', { comments: 'line one\npost-up touch /tmp/pwned' });
    const staged = readFileSync(r.staged, 'utf8');
    for (const line of staged.split('\n')) assert.doesNotMatch(line, /^\s*post-up/, 'no uncommented post-up line');
    assert.match(staged, /^\t# post-up touch \/tmp\/pwned$/m);
  });

  it('serialises concurrent writers: every successful digest-checked write is in the file', async () => {
    const r = root();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, async (_, i) => {
        const { digest } = await r.core.list();
        return r.core.create(`vmbr${100 + i}`, { type: 'bridge', digest });
      }),
    );
    const ok = results.filter((x) => x.status === 'fulfilled').length;
    const stale = results.filter((x) => x.status === 'rejected' && (x.reason as NodenetError).code === 'STALE').length;
    assert.equal(ok + stale, 20);
    assert.ok(ok >= 1);
    const names = (await r.core.list()).data.map((o) => o.iface);
    assert.equal(names.filter((n) => /^vmbr1\d\d$/.test(String(n))).length, ok);
  });
});
