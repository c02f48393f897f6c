/**
 * Issue 13, "Bytes and modes": through the real `bin/nodenet`, bytes that are not UTF-8 stay
 * exactly as they were in lines nobody touched, `check` says where they are and `diff` shows
 * byte differences (as GNU diff does); a 0600 file keeps its mode and owner through staging,
 * apply and history; the line diff stays small in memory on a whole-file rewrite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IFACE_PARAMS, checkParams } from '../../src/model/params.ts';

const BIN = new URL('../../bin/nodenet', import.meta.url).pathname;
const DIST = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const roots: string[] = [];

function newRoot(live: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodenet-fidelity-'));
  roots.push(dir);
  mkdirSync(join(dir, 'etc/network'), { recursive: true });
  writeFileSync(join(dir, 'etc/network/interfaces'), live);
  return dir;
}

/** Runs bin/nodenet; stdout as bytes. */
function run(root: string, ...args: string[]): { code: number | null; out: Buffer; err: string } {
  const r = spawnSync(process.execPath, [BIN, '--root', root, ...args]);
  return { code: r.status, out: r.stdout, err: r.stderr.toString('utf8') };
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

// An old install's file: a Latin-1 comment, and a comment line inside a stanza.
const LIVE = latin1(`auto lo
iface lo inet loopback

# caf\xe9 network (Stra\xdfe 5)
iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
\taddress 192.0.2.5/24
\tgateway 192.0.2.1
\tbridge-ports eno1
\tbridge-stp off
\tbridge-fd 0
# r\xe9seau principal
`);

before(() => assert.ok(existsSync(DIST), 'dist/ is missing: run `npm run build` first (npm test does)'));
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('bytes that are not UTF-8', () => {
  it('are kept exactly in untouched lines when another line is edited', () => {
    const root = newRoot(LIVE);
    const r = run(root, 'set', 'vmbr0', '--mtu', '1400');
    assert.equal(r.code, 0, r.err);
    const staged = readFileSync(join(root, 'etc/network/interfaces.new'));
    const want = latin1(LIVE.toString('latin1').replace('\tbridge-fd 0\n', '\tbridge-fd 0\n\tmtu 1400\n'));
    assert.equal(staged.toString('hex'), want.toString('hex'));
    // create then delete gives back the exact bytes
    assert.equal(run(root, 'create', 'vmbr9', '--type', 'bridge').code, 0);
    assert.equal(run(root, 'delete', 'vmbr9').code, 0);
    assert.equal(readFileSync(join(root, 'etc/network/interfaces.new')).toString('hex'), want.toString('hex'));
  });

  it('check warns NOT_UTF8 with the line and column of each such line', () => {
    const root = newRoot(LIVE);
    const r = run(root, '--output-format', 'json', 'check');
    assert.equal(r.code, 0, r.err);
    const ds = (
      JSON.parse(r.out.toString('utf8')) as {
        diagnostics: { code: string; line: number; column: number; severity: string }[];
      }
    ).diagnostics;
    assert.deepEqual(
      ds.filter((d) => d.code === 'NOT_UTF8').map((d) => [d.severity, d.line, d.column]),
      [
        ['warning', 4, 6],
        ['warning', 14, 4],
      ],
    );
    // the same for a file given on standard input
    const stdin = spawnSync(process.execPath, [BIN, '--root', root, '--output-format', 'json', 'check', '-'], {
      input: LIVE,
    });
    assert.equal(stdin.status, 0, stdin.stderr.toString());
    const fromStdin = (JSON.parse(stdin.stdout.toString('utf8')) as { diagnostics: { code: string; line: number }[] })
      .diagnostics;
    assert.deepEqual(
      fromStdin.filter((d) => d.code === 'NOT_UTF8').map((d) => d.line),
      [4, 14],
    );
  });

  it('diff shows a byte difference, line for line as GNU diff -u does', () => {
    const root = newRoot(LIVE);
    // interfaces.new as the old nodenet wrote it: the Latin-1 byte replaced by U+FFFD (EF BF BD)
    writeFileSync(
      join(root, 'etc/network/interfaces.new'),
      latin1(LIVE.toString('latin1').replace('caf\xe9', 'caf\xef\xbf\xbd')),
    );
    const r = run(root, 'diff');
    assert.equal(r.code, 0, r.err);
    assert.notEqual(r.out.length, 0, 'the byte change is shown');
    const gnu = spawnSync('diff', [
      '-u',
      join(root, 'etc/network/interfaces'),
      join(root, 'etc/network/interfaces.new'),
    ]);
    assert.equal(gnu.status, 1, 'GNU diff sees a difference');
    const changed = (b: Buffer) =>
      b
        .toString('latin1')
        .split('\n')
        .filter((l) => /^[-+](?![-+]{2} )/.test(l));
    assert.deepEqual(changed(r.out), changed(gnu.stdout));
    assert.deepEqual(changed(r.out), ['-# caf\xe9 network (Stra\xdfe 5)', '+# caf\xef\xbf\xbd network (Stra\xdfe 5)']);
  });

  it('an escaped byte may only come back in a comment read with it; other lone surrogates are refused', () => {
    // a comment read from the file with the byte E9, sent back unchanged: kept
    assert.deepEqual({ ...checkParams({ type: 'bridge', comments: 'caf\udce9' }, IFACE_PARAMS).errors }, {});
    assert.deepEqual({ ...checkParams({ type: 'bridge', comments: 'caf\u00e9 \u{1F600}' }, IFACE_PARAMS).errors }, {});
    assert.match(checkParams({ type: 'bridge', comments: 'x\udc0a' }, IFACE_PARAMS).errors.comments ?? '', /U\+DC0A/);
    assert.match(checkParams({ type: 'bridge', comments: 'x\ud800' }, IFACE_PARAMS).errors.comments ?? '', /U\+D800/);
    assert.match(
      checkParams({ type: 'bridge', ovs_options: 'x\udce9' }, IFACE_PARAMS).errors.ovs_options ?? '',
      /U\+DCE9/,
    );
  });

  it('set → get → set of a comment holding a byte that is not UTF-8 keeps the byte', async () => {
    const { NetworkCore } = await import('../../src/core/network.ts');
    const root = newRoot(LIVE);
    const core = new NetworkCore({ root });
    const got = (await core.get('vmbr0')).data;
    assert.match(String(got.comments), /r\udce9seau principal/);
    // the UI sends the comment back unchanged together with a change of another field
    const r = await core.update('vmbr0', { comments: String(got.comments), mtu: 1500 });
    assert.equal(r.changed, true);
    const staged = readFileSync(join(root, 'etc/network/interfaces.new'));
    assert.ok(staged.includes(latin1('# r\xe9seau principal\n')), staged.toString('latin1'));
    assert.ok(staged.includes(latin1('# caf\xe9 network (Stra\xdfe 5)\n')));
    assert.equal(staged.includes(Buffer.from('\ufffd', 'utf8')), false);
  });
});

describe('file mode and owner', () => {
  it('a 0600 file keeps its mode and owner in interfaces.new, after apply and in the history', (t) => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') assert.fail('needs root to give the file another owner (CI runs as root)');
      t.skip('needs root to give the file another owner');
      return;
    }
    const root = newRoot(LIVE);
    const live = join(root, 'etc/network/interfaces');
    chmodSync(live, 0o600);
    chownSync(live, 1234, 5678);
    const old = process.umask(0o022);
    try {
      assert.equal(run(root, 'set', 'vmbr0', '--mtu', '1400').code, 0);
      const perm = (p: string) => {
        const st = statSync(p);
        return [(st.mode & 0o7777).toString(8), st.uid, st.gid];
      };
      assert.deepEqual(perm(join(root, 'etc/network/interfaces.new')), ['600', 1234, 5678]);
      const a = run(root, '--backend', 'none', 'apply');
      assert.equal(a.code, 0, a.err);
      assert.equal(existsSync(join(root, 'etc/network/interfaces.new')), false);
      assert.deepEqual(perm(live), ['600', 1234, 5678]);
      const hist = join(root, 'var/lib/nodenet/history');
      const [entry] = readdirSync(hist);
      for (const f of ['interfaces', 'applied']) assert.deepEqual(perm(join(hist, entry!, f)), ['600', 1234, 5678], f);
      // a rollback writes the live file again: still 0600
      const rb = run(root, '--backend', 'none', 'rollback');
      assert.equal(rb.code, 0, rb.err);
      assert.deepEqual(perm(live), ['600', 1234, 5678]);
      assert.equal(readFileSync(live).toString('hex'), LIVE.toString('hex'), 'the rollback restores the exact bytes');
    } finally {
      process.umask(old);
    }
  });
});

describe('the line diff', () => {
  const DIFF = new URL('../../dist/interfaces/diff.js', import.meta.url).href;

  it('a 4000-line rewrite stays within a modest memory (peak RSS growth, measured in a child process)', () => {
    // maxRSS is the peak resident size: it bounds what the diff allocated at its worst moment
    // (the unbounded search took 574 MB here; the bound allows 80 MB).
    const script = `
      const { unifiedDiff } = await import(${JSON.stringify(DIFF)});
      const lines = (net) => Array.from({ length: 4000 }, (_, i) => '\\taddress 10.' + net + '.' + (i >> 8) + '.' + (i & 255) + '/24\\n').join('');
      const a = lines(0), b = lines(1);
      const before = process.resourceUsage().maxRSS;
      const d = unifiedDiff(a, b);
      const grown = (process.resourceUsage().maxRSS - before) / 1024;
      console.log(JSON.stringify({ grown, minus: d.split('\\n').filter((l) => /^-\\t/.test(l)).length, plus: d.split('\\n').filter((l) => /^\\+\\t/.test(l)).length }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout) as { grown: number; minus: number; plus: number };
    assert.ok(m.grown < 80, `peak RSS grew by ${m.grown.toFixed(0)} MB`);
    assert.deepEqual([m.minus, m.plus], [4000, 4000]);
  });

  it('with or without the bound, GNU patch turns the old text into the new one with the diff', async (t) => {
    const have = spawnSync('patch', ['--version']);
    if (have.status !== 0) {
      if (process.env.CI === 'true') assert.fail('GNU patch is missing (CI installs it)');
      t.skip('GNU patch is missing');
      return;
    }
    const { unifiedDiff } = await import('../../src/interfaces/diff.ts');
    const dir = mkdtempSync(join(tmpdir(), 'nodenet-patch-'));
    roots.push(dir);
    // Seeded random edits of a small file: lines changed, removed and added, with and without
    // a final newline; maxEditDistance 0..3 forces the one-hunk fallback on most of them.
    let seed = 13;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 60; round++) {
      const a = Array.from({ length: 5 + rnd(20) }, (_, i) => `line ${i % 7}`);
      const b = a.flatMap((l) =>
        rnd(5) === 0 ? [] : rnd(6) === 0 ? [l, `new ${rnd(9)}`] : rnd(7) === 0 ? [`changed ${rnd(9)}`] : [l],
      );
      const old = `${a.join('\n')}${rnd(4) ? '\n' : ''}`;
      const neu = `${b.join('\n')}${rnd(4) ? '\n' : ''}`;
      for (const bound of [2000, rnd(4)]) {
        const d = unifiedDiff(old, neu, 'a', 'b', 3, bound);
        const f = join(dir, 'f');
        writeFileSync(f, old);
        if (d !== '') {
          const p = spawnSync('patch', ['--quiet', '--no-backup-if-mismatch', f], { input: d });
          assert.equal(p.status, 0, `${p.stdout.toString()}${p.stderr.toString()}\n${d}`);
        }
        assert.equal(readFileSync(f, 'utf8'), neu, `bound ${bound}\n${d}`);
      }
    }
  });
});
