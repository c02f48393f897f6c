/** The real `bin/nodenet` executable: output formats, exit codes, errors on stderr. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const BIN = new URL('../../bin/nodenet', import.meta.url).pathname;
const DIST = new URL('../../dist/cli/main.js', import.meta.url).pathname;
let dir = '';

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--root', dir, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(() => {
  assert.ok(existsSync(DIST), 'dist/ is missing: run `npm run build` first (npm test does)');
  dir = mkdtempSync(join(tmpdir(), 'nodenet-cli-'));
  mkdirSync(join(dir, 'etc/network'), { recursive: true });
  writeFileSync(
    join(dir, 'etc/network/interfaces'),
    readFileSync(new URL('../fixtures/corpus/01-installer-default.interfaces', import.meta.url)),
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/nodenet', () => {
  it('--help teaches: commands, global options, examples per command', () => {
    const top = run('--help');
    assert.equal(top.code, 0);
    for (const c of ['list', 'create', 'set', 'delete', 'diff', 'revert', 'check', 'apply'])
      assert.match(top.out, new RegExp(`\\n  ${c} `));
    const create = run('create', '--help');
    assert.equal(create.code, 0);
    assert.match(create.out, /Examples:\n {2}nodenet create vmbr1 --type bridge/);
    assert.match(create.out, /--bridge_ports/);
  });

  it('list --output-format json prints the PVE list array with PVE value types', () => {
    const r = run('list', '--output-format', 'json');
    assert.equal(r.code, 0, r.err);
    const data = JSON.parse(r.out) as Record<string, unknown>[];
    const vmbr0 = data.find((o) => o.iface === 'vmbr0')!;
    assert.equal(vmbr0.type, 'bridge');
    assert.equal(vmbr0.autostart, 1);
    assert.equal(typeof vmbr0.priority, 'number');
    assert.equal(vmbr0.bridge_ports, 'eno1');
    assert.equal(vmbr0.netmask, '24');
    assert.ok(!data.some((o) => o.iface === 'lo'), 'lo is never listed');
  });

  it('create, diff, check, revert; exit codes 0/1/2', () => {
    assert.equal(
      run('create', 'vmbr1', '--type', 'bridge', '--bridge_ports', 'eno2', '--cidr', '10.1.0.1/24', '--autostart', '1')
        .code,
      0,
    );
    const d = run('diff');
    assert.match(d.out, /^\+iface vmbr1 inet static$/m);
    assert.equal(run('check').code, 0);
    const bad = run('create', 'vmbr2', '--type', 'bridge', '--mtu', 'big');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--mtu: type check \('integer'\) failed - got 'big'/);
    const usage = run('create', 'vmbr2');
    assert.equal(usage.code, 2);
    assert.match(usage.err, /--type/);
    const unknown = run('frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command 'frobnicate'/);
    const io = run('check', join(dir, 'does-not-exist'));
    assert.equal(io.code, 2);
    assert.match(io.err, /cannot read/);
    assert.equal(run('revert').code, 0);
    assert.equal(existsSync(join(dir, 'etc/network/interfaces.new')), false);
  });

  it('json errors are machine-readable', () => {
    const r = run('get', 'nosuch0', '--output-format', 'json');
    assert.equal(r.code, 1);
    const e = JSON.parse(r.err) as { error: { code: string; errors: Record<string, string> } };
    assert.equal(e.error.code, 'PARAM');
    assert.equal(e.error.errors.iface, 'interface does not exist');
  });

  it('check FILE reports parse errors compiler-style and exits 1', () => {
    const f = join(dir, 'broken');
    writeFileSync(f, 'auto lo\niface lo inet loopback\n\niface eno1 inet statik\n');
    const r = run('check', f);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /broken:4:17: error UNKNOWN_METHOD eno1: unknown inet method 'statik'; did you mean 'static'\?\n {2}iface eno1 inet statik\n {2}\s{16}\^/,
    );
    const j = run('check', f, '--output-format', 'json');
    const parsed = JSON.parse(j.out) as {
      diagnostics: { severity: string; code: string; line: number; column: number; iface: string }[];
    };
    assert.deepEqual(
      parsed.diagnostics.filter((x) => x.code === 'UNKNOWN_METHOD').map((x) => [x.severity, x.line, x.column, x.iface]),
      [['error', 4, 17, 'eno1']],
    );
  });
});
