/**
 * The Debian package (npm run package): its contents and control fields, lintian, the man page
 * and bash completion against `nodenet --help`, and the unpacked program running — the bundled
 * CLI, the web UI, and the rollback guard as its own bundled process.
 * Needs dpkg-deb (and lintian: under CI=true a missing one fails).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { main } from '../../src/cli/main.ts';

const repo = join(import.meta.dirname, '..', '..');
const CI = process.env.CI === 'true';
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
let work = '';
let deb = '';
let x = '';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

async function help(argv: string[]): Promise<string> {
  let s = '';
  await main(argv, { out: (t) => (s += t), err: (t) => (s += t), tty: false });
  return s;
}

before(() => {
  if (!has('dpkg-deb')) throw new Error('dpkg-deb is missing');
  work = mkdtempSync(join(tmpdir(), 'nodenet-pkg-'));
  const r = spawnSync(process.execPath, [join(repo, 'scripts/package.mjs'), '--out', work], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  deb = lines[lines.length - 1]!;
  x = join(work, 'x');
  assert.equal(spawnSync('dpkg-deb', ['-x', deb, x]).status, 0);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('npm run package prints the path of nodenet_<version>_all.deb last', () => {
  assert.equal(deb, join(work, `nodenet_${version}_all.deb`));
  assert.ok(existsSync(deb));
});

test('the package holds the program, units, man page, completion, config, logrotate, PAM, copyright, changelog', () => {
  const list = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' }).stdout;
  for (const p of [
    './usr/bin/nodenet -> ../lib/nodenet/bin/nodenet',
    './usr/lib/nodenet/dist/cli/main.js',
    './usr/lib/nodenet/dist/apply/guard.js',
    './usr/lib/nodenet/dist/web/app/main.js',
    './usr/lib/nodenet/web/static/index.html',
    './usr/lib/nodenet/libexec/ifupdown2-worker.py',
    './lib/systemd/system/nodenet.service',
    './lib/systemd/system/nodenet-rollback.service',
    './usr/share/man/man8/nodenet.8.gz',
    './usr/share/bash-completion/completions/nodenet',
    './etc/default/nodenet',
    './etc/logrotate.d/nodenet',
    './etc/pam.d/nodenet',
    './usr/share/doc/nodenet/copyright',
    './usr/share/doc/nodenet/changelog.gz',
  ])
    assert.ok(list.includes(p), `missing ${p}`);
  // Bundled: no per-module tree, no sources, no node_modules.
  assert.doesNotMatch(list, /node_modules|\.ts\b|\.map\b/);
  const field = (f: string) => spawnSync('dpkg-deb', ['-f', deb, f], { encoding: 'utf8' }).stdout.trim();
  assert.equal(field('Package'), 'nodenet');
  assert.equal(field('Version'), version);
  assert.equal(field('Architecture'), 'all');
  const depends = field('Depends').split(/,\s*/);
  for (const d of ['nodejs (>= 20.19)', 'ifupdown2', 'iproute2'])
    assert.ok(depends.includes(d), `Depends lacks ${d}: ${depends.join(', ')}`);
  const conffiles = spawnSync('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xO ./conffiles`], {
    encoding: 'utf8',
  }).stdout;
  assert.deepEqual(conffiles.trim().split('\n').sort(), [
    '/etc/default/nodenet',
    '/etc/logrotate.d/nodenet',
    '/etc/pam.d/nodenet',
  ]);
});

test('the maintainer scripts never reload the network and make the key 0600', () => {
  const ctrl = join(work, 'ctrl');
  assert.equal(spawnSync('dpkg-deb', ['-e', deb, ctrl]).status, 0);
  for (const s of ['postinst', 'prerm', 'postrm']) {
    const text = readFileSync(join(ctrl, s), 'utf8').replace(/^\s*#.*$/gm, '');
    assert.doesNotMatch(text, /ifreload|ifup|ifdown|networking|ip (link|addr)/, s);
    assert.equal(spawnSync('sh', ['-n', join(ctrl, s)]).status, 0, `${s} is not valid sh`);
  }
  const postinst = readFileSync(join(ctrl, 'postinst'), 'utf8');
  assert.match(postinst, /install -d -m 0700 \/var\/lib\/nodenet/);
  assert.match(postinst, /chmod 0600 \/etc\/nodenet\/nodenet-ssl\.key/);
  assert.match(postinst, /deb-systemd-helper enable/);
});

test('lintian reports no errors and no warnings', (t) => {
  if (!has('lintian')) {
    if (CI) throw new Error('lintian is missing (apt-get install lintian)');
    t.skip('lintian not installed');
    return;
  }
  const r = spawnSync('lintian', ['--tag-display-limit', '0', deb], { encoding: 'utf8' });
  const tags = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^[EW]: /.test(l));
  assert.deepEqual(tags, []);
});

test('the man page and bash completion name every command and option of --help', async () => {
  const man = gunzipSync(readFileSync(join(x, 'usr/share/man/man8/nodenet.8.gz'))).toString('utf8');
  const comp = readFileSync(join(x, 'usr/share/bash-completion/completions/nodenet'), 'utf8');
  const top = await help(['--help']);
  const names = [...top.matchAll(/^ {2}([a-z0-9]+) {2,}/gm)].map((m) => m[1]!);
  assert.ok(names.length >= 15, `commands in --help: ${names.join(' ')}`);
  for (const n of names) {
    assert.match(man, new RegExp(`^\\.B ${n}$`, 'm'), `man page lacks ${n}`);
    assert.match(comp, new RegExp(`^ {4}${n}\\) `, 'm'), `completion lacks ${n}`);
    for (const o of (await help([n, '--help'])).split(/^Global options/m)[0]!.matchAll(/^ {2}(--[a-z0-9_-]+)/gm)) {
      assert.ok(man.includes(o[1]!.replace(/-/g, '\\-')), `man page lacks ${n} ${o[1]}`);
      assert.match(comp, new RegExp(`^ {4}${n}\\) [^\\n]*${o[1]}[ ']`, 'm'), `completion lacks ${n} ${o[1]}`);
    }
  }
  // The completion works in bash: `nodenet us<TAB>` → user, `nodenet user <TAB>` → add list delete.
  const complete = (line: string) =>
    spawnSync(
      'bash',
      [
        '-c',
        `source '${join(x, 'usr/share/bash-completion/completions/nodenet')}'; COMP_WORDS=(${line}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _nodenet; echo "\${COMPREPLY[*]}"`,
      ],
      { encoding: 'utf8' },
    ).stdout.trim();
  assert.equal(complete('nodenet us'), 'user');
  assert.equal(complete("nodenet user ''"), 'add list delete');
  assert.match(complete('nodenet serve --li'), /^--listen$/);
});

test('the unpacked nodenet runs: version, check, and an apply whose bundled guard rolls back', () => {
  const bin = join(x, 'usr/bin/nodenet');
  const run = (...a: string[]) => spawnSync(bin, a, { encoding: 'utf8' });
  assert.equal(run('--version').stdout, `nodenet ${version}\n`);
  const root = join(work, 'root');
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  writeFileSync(join(root, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n');
  const c = run('--root', root, 'check', join(root, 'etc/network/interfaces'));
  assert.equal(c.status, 0, c.stderr);
  assert.equal(run('--root', root, 'create', 'vmbr7', '--type', 'bridge', '--autostart', '1').status, 0);
  const a = run('--root', root, '--backend', 'none', 'apply', '--confirm-timeout', '3');
  assert.equal(a.status, 0, a.stderr);
  assert.match(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), /vmbr7/);
  const j = JSON.parse(readFileSync(join(root, 'var/lib/nodenet/pending-apply.json'), 'utf8')) as { guardPid: number };
  // The guard is the package's own bundled guard.js, so `rollback --if-unconfirmed` sees it alive.
  const cmdline = readFileSync(`/proc/${j.guardPid}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline.includes(join(x, 'usr/lib/nodenet/dist/apply/guard.js')), cmdline.join(' '));
  assert.equal(run('--root', root, 'rollback', '--if-unconfirmed', '--no-reload').status, 0);
  assert.ok(existsSync(join(root, 'var/lib/nodenet/pending-apply.json')), 'a live guard: nothing rolled back early');
  // Waits (bounded) for the guard to roll back at its deadline.
  const until = Date.now() + 60_000;
  while (existsSync(join(root, 'var/lib/nodenet/pending-apply.json')) && Date.now() < until)
    spawnSync('sleep', ['0.2']);
  assert.doesNotMatch(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), /vmbr7/);
  assert.match(readFileSync(join(root, 'var/lib/nodenet/guard.log'), 'utf8'), /rolled back/);
});
