/**
 * Issue 13, "The CLI never loses work", through the real `bin/nodenet`: help anywhere does
 * nothing else, unknown options and stray arguments are usage errors that change nothing,
 * values are checked against the command table, `check -` reads stdin, `help CMD` works, a
 * closed pipe ends output quietly, and `verify` without a kernel says nothing was checked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/spec.ts';

const BIN = new URL('../../bin/nodenet', import.meta.url).pathname;
const DIST = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const FIXTURE = new URL('../fixtures/corpus/01-installer-default.interfaces', import.meta.url);
let dir = '';
let staged = '';

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, '--root', dir, ...args], {
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(() => {
  assert.ok(existsSync(DIST), 'dist/ is missing: run `npm run build` first (npm test does)');
  dir = mkdtempSync(join(tmpdir(), 'nodenet-cli-strict-'));
  mkdirSync(join(dir, 'etc/network'), { recursive: true });
  writeFileSync(join(dir, 'etc/network/interfaces'), readFileSync(FIXTURE));
  staged = join(dir, 'etc/network/interfaces.new');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('help and version never run the command', () => {
  beforeEach(() => {
    if (!existsSync(staged)) assert.equal(run(['create', 'vmbr7', '--type', 'bridge']).code, 0);
  });

  for (const argv of [
    ['revert', '-h'],
    ['revert', '--help'],
    ['-h', 'revert'],
    ['revert', '--output-format', 'json', '-h'],
    ['help', 'revert'],
  ]) {
    it(`nodenet ${argv.join(' ')} shows help and keeps the staged change`, () => {
      const r = run(argv);
      assert.equal(r.code, 0, r.err);
      if (argv.includes('json')) assert.equal((JSON.parse(r.out) as { name: string }).name, 'revert');
      else assert.match(r.out, /^Usage: nodenet \[global options\] revert\n/);
      assert.ok(existsSync(staged), 'the staged change is still there');
    });
  }

  it('set IFACE --comments -h is help, not a comment "-h"', () => {
    const before = readFileSync(staged, 'utf8');
    const r = run(['set', 'vmbr7', '--comments', '-h']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Usage: nodenet \[global options\] set IFACE/);
    assert.equal(readFileSync(staged, 'utf8'), before);
  });

  it('confirm -h explains confirm (and ends no window)', () => {
    const r = run(['confirm', '-h']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Usage: nodenet \[global options\] confirm\n/);
  });

  it('-V and --version anywhere print the version', () => {
    const version = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
    for (const argv of [['-V'], ['--version'], ['revert', '-V'], ['list', '--version']]) {
      const r = run(argv);
      assert.equal(r.code, 0, argv.join(' '));
      assert.equal(r.out, `nodenet ${version}\n`);
    }
    assert.ok(existsSync(staged));
  });

  it('help CMD is CMD --help; help alone is the command list; help of an unknown command is a usage error', () => {
    assert.equal(run(['help', 'check']).out, run(['check', '--help']).out);
    assert.match(run(['help']).out, /\n {2}revert +drop the staged change\n/);
    const bad = run(['help', 'frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown command 'frobnicate'/);
  });
});

describe('strict parsing: usage errors (exit 2) change nothing', () => {
  beforeEach(() => {
    if (!existsSync(staged)) assert.equal(run(['create', 'vmbr7', '--type', 'bridge']).code, 0);
  });

  const cases: [string[], RegExp][] = [
    [['revert', 'now'], /revert: unexpected argument 'now' \(it takes none\)/],
    [['revert', '--force'], /revert: unknown option --force/],
    [['revert', '-f'], /revert: unknown option -f/],
    [['confirm', 'yes'], /confirm: unexpected argument 'yes'/],
    [['list', '--type', 'bogus'], /--type must be one of bridge, bond, eth, .* not 'bogus'/],
    [['list', '--tpye', 'bridge'], /list: unknown option --tpye \(did you mean --type\?\)/],
    [['list', 'extra'], /list: unexpected argument 'extra'/],
    [['get'], /get needs IFACE/],
    [['get', 'vmbr0', 'vmbr1'], /get: unexpected argument 'vmbr1'/],
    [['set', 'vmbr7', '--comments'], /option --comments needs a value/],
    [
      ['set', 'vmbr7', '--mtu', '--comments', 'x'],
      /option --mtu needs a value \(N\); to give one starting with '-', write --mtu=--comments/,
    ],
    [['delete', 'vmbr7', '--digest', 'a', '--digest', 'b'], /--digest was given twice/],
    [['--output-format', 'yaml', 'list'], /--output-format must be one of text, json/],
    [['setup', 'bridged', '--bridge', 'vmbr0', 'eno1'], /setup: unexpected argument 'eno1'/],
    [['setup', 'bridging', '--bridge', 'vmbr0'], /setup: MODE must be one of bridged, routed, nat, not 'bridging'/],
    [['apply', '--confirm-timeout'], /option --confirm-timeout needs a value/],
    [['rollback', '--no-reload=1'], /--no-reload takes no value/],
  ];
  for (const [argv, msg] of cases) {
    it(`nodenet ${argv.join(' ')}`, () => {
      const before = readFileSync(staged, 'utf8');
      const r = run(argv);
      assert.equal(r.code, 2, `${r.out}${r.err}`);
      assert.match(r.err, msg);
      assert.equal(r.out, '');
      assert.equal(readFileSync(staged, 'utf8'), before, 'nothing changed');
    });
  }

  it('a value may start with a dash when written with =, or when it is no option', () => {
    assert.equal(run(['set', 'vmbr7', '--comments=--not an option--']).code, 0);
    assert.equal(run(['set', 'vmbr7', '--comments', '-x marks the spot']).code, 0);
    const j = JSON.parse(run(['--output-format', 'json', 'get', 'vmbr7']).out) as { comments?: string };
    assert.equal(j.comments?.trim(), '-x marks the spot');
  });

  it('json mode reports a usage error as json', () => {
    const r = run(['--output-format', 'json', 'revert', 'now']);
    assert.equal(r.code, 2);
    assert.equal((JSON.parse(r.err) as { error: { code: string } }).error.code, 'USAGE');
  });
});

describe('check - and verify without a kernel', () => {
  it('check - reads the file from standard input', () => {
    const r = run(['check', '-'], 'auto lo\niface lo inet loopback\n\niface eno1 inet statik\n');
    assert.equal(r.code, 1);
    assert.match(r.out, /^<stdin>:4:17: error UNKNOWN_METHOD /m);
    assert.equal(run(['check', '-'], readFileSync(FIXTURE, 'utf8')).code, 0);
  });

  it('verify --backend none says that nothing was checked and exits 1', () => {
    const r = run(['--backend', 'none', 'verify']);
    assert.equal(r.code, 1);
    assert.match(r.err, /nothing was checked/);
    assert.doesNotMatch(r.out + r.err, /matches/);
    const j = run(['--backend', 'none', '--output-format', 'json', 'verify']);
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.out), {
      ok: false,
      checked: false,
      differences: [],
      message: (JSON.parse(j.out) as { message: string }).message,
    });
  });
});

describe('a closed pipe', () => {
  it('ends the output quietly: no EPIPE stack, the command finishes with its own status', () => {
    // a big staged change, so the diff is far larger than the pipe's buffer
    let text = readFileSync(FIXTURE, 'utf8');
    for (let i = 100; i < 3100; i++) text += `\nauto vmbr${i}\niface vmbr${i} inet manual\n\tbridge-ports none\n`;
    writeFileSync(staged, text);
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${BIN}" --root "${dir}" diff | head -c 20 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`,
      ],
      { encoding: 'utf8' },
    );
    assert.doesNotMatch(r.stderr, /EPIPE|Error|at /);
    assert.match(r.stderr, /^status 0$/m);
  });
});

describe('the command table', () => {
  it('help --output-format json prints the table (for a man page or shell completion)', () => {
    const all = JSON.parse(run(['--output-format', 'json', 'help']).out) as {
      commands: { name: string; options: { name: string }[] }[];
      globalOptions: { name: string }[];
    };
    assert.deepEqual(
      all.commands.map((c) => c.name),
      COMMANDS.map((c) => c.name),
    );
    assert.ok(all.globalOptions.some((o) => o.name === 'help'));
    const one = JSON.parse(run(['--output-format', 'json', 'help', 'list']).out) as {
      name: string;
      options: { name: string; choices: string[] }[];
    };
    assert.equal(one.name, 'list');
    assert.ok(one.options[0]!.choices.includes('bridge'));
  });

  it('every command has usage, a description and examples, and a module that runs it', async () => {
    for (const c of COMMANDS) {
      assert.ok(c.usage.startsWith(c.name), c.name);
      assert.ok(c.description.length > 20, c.name);
      assert.ok(c.examples.length > 0 && c.examples.every((e) => e.includes(` ${c.name}`)), c.name);
      for (const o of c.options)
        assert.ok(o.help.length > 0 && /^[a-z][a-z0-9_-]*$/i.test(o.name), `${c.name} --${o.name}`);
      if (c.name === 'help') continue;
      const mod = (await import(`../../src/cli/commands/${c.module}.ts`)) as { commands: { name: string }[] };
      assert.ok(
        mod.commands.some((x) => x.name === c.name),
        `${c.module} runs ${c.name}`,
      );
    }
  });
});
