/** `nodenet setup` and `nodenet ipv6` through the CLI entry point: output, json, exit codes. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';

const INSTALLER = readFileSync(new URL('../fixtures/corpus/01-installer-default.interfaces', import.meta.url), 'utf8');

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), tty: false });
  return { code, out, err };
}

describe('nodenet setup / ipv6 (CLI)', () => {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-setup-cli-'));
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  writeFileSync(join(root, 'etc/network/interfaces'), INSTALLER);
  after(() => rmSync(root, { recursive: true, force: true }));

  test('setup nat stages, prints what and how to apply; again: nothing to change', async () => {
    const r = await run([
      '--root',
      root,
      'setup',
      'nat',
      '--uplink',
      'vmbr0',
      '--bridge',
      'vmbr1',
      '--cidr',
      '10.10.10.1/24',
      '--forward',
      'tcp/2222=10.10.10.100:22',
      '--forward',
      'udp/53=10.10.10.5',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^staged: NAT mode on vmbr1$/m);
    assert.match(r.out, /nodenet apply/);
    assert.equal(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), INSTALLER);
    assert.ok(existsSync(join(root, 'etc/network/interfaces.new')));
    const j = await run(['--root', root, '--output-format', 'json', 'setup', 'nat', '--bridge', 'vmbr1']);
    assert.equal(j.code, 0);
    assert.equal(JSON.parse(j.out).changed, false);
  });

  test('refusals exit 1 with the reason; usage errors exit 2', async () => {
    const r = await run(['--root', root, 'setup', 'nat', '--bridge', 'vmbr1', '--forward', 'tcp/22=172.16.0.1']);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /--forward: the forward tcp\/22=172\.16\.0\.1:22 goes to 172\.16\.0\.1, which is outside vmbr1's subnet/,
    );
    assert.equal((await run(['--root', root, 'setup', 'bogus'])).code, 2);
    assert.equal((await run(['--root', root, 'setup', 'routed', '--bridge', 'vmbr2'])).code, 2);
    assert.equal((await run(['--root', root, 'setup', 'nat', '--bridge', 'vmbr1', '--firewall', 'pf'])).code, 2);
  });

  test('setup nat --remove brings the staged file back to the live one', async () => {
    const r = await run(['--root', root, 'setup', 'nat', '--bridge', 'vmbr1', '--remove']);
    assert.equal(r.code, 0, r.err);
    assert.equal(existsSync(join(root, 'etc/network/interfaces.new')), false, 'staged == live: nothing pending');
  });

  test('ipv6 disable writes the file; --now with a non-/ root is not applied and says why (exit 1)', async () => {
    const r = await run(['--root', root, 'ipv6', 'disable']);
    assert.equal(r.code, 0);
    assert.match(
      readFileSync(join(root, 'etc/sysctl.d/disable-ipv6.conf'), 'utf8'),
      /^net\.ipv6\.conf\.all\.disable_ipv6 = 1$/m,
    );
    const now = await run(['--root', root, 'ipv6', 'disable', '--now']);
    assert.equal(now.code, 1);
    assert.match(now.err, /not applied: --root is .* not \//);
    const st = await run(['--root', root, '--output-format', 'json', 'ipv6', 'status']);
    const j = JSON.parse(st.out);
    assert.equal(j.disabled_by_file, true);
    assert.equal(j.running, null);
    assert.equal((await run(['--root', root, 'ipv6', 'enable'])).code, 0);
    assert.equal(existsSync(join(root, 'etc/sysctl.d/disable-ipv6.conf')), false);
  });
});
