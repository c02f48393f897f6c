/**
 * Values written to the interfaces file (issue 12): mako template syntax and backslashes are
 * refused at the field, parameters of another interface type are refused, lines that a
 * backslash would join are never written, a template file is never edited, and `check` warns
 * about template syntax and comments that swallow the next line. Through the core (the API's
 * code path) and the CLI.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { NetworkCore } from '../../src/core/network.ts';
import { NodenetError } from '../../src/errors.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { applyGuardedEdits } from '../../src/model/guard.ts';
import { IFACE_PARAMS, checkParams } from '../../src/model/params.ts';

const BASE =
  'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function rootWith(text: string): { root: string; core: NetworkCore; staged: () => string | null } {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-values-'));
  dirs.push(root);
  mkdirSync(join(root, 'etc/network'), { recursive: true });
  writeFileSync(join(root, 'etc/network/interfaces'), text);
  const staged = join(root, 'etc/network/interfaces.new');
  return {
    root,
    core: new NetworkCore({ root, nics: new Set(['eno1', 'eno2', 'eno3']) }),
    staged: () => (existsSync(staged) ? readFileSync(staged, 'utf8') : null),
  };
}

async function refusedAt(p: Promise<unknown>, field: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NodenetError, String(e));
    assert.ok(e.errors?.[field], `no error at ${field}: ${JSON.stringify(e.errors ?? e.message)}`);
    assert.match(e.errors[field]!, re);
    return true;
  });
}

describe('free-text values never carry template code or a backslash', () => {
  const TEMPLATE = [
    '${x}',
    "uplink 100% ${__import__('os').system('id')}",
    '<% x = 1 %>',
    '<%! import os %>',
    '<%inherit file="x"/>',
    '</%def>',
    'a %> b',
    '<&x',
    '</&x',
  ];
  for (const v of TEMPLATE) {
    it(`comments, comments6 and ovs_options refuse ${JSON.stringify(v)}`, () => {
      for (const f of ['comments', 'comments6', 'ovs_options']) {
        const { values, errors } = checkParams({ type: 'bridge', [f]: v }, IFACE_PARAMS);
        assert.equal(values[f], undefined);
        assert.match(errors[f] ?? '', /mako template/, `${f}: ${errors[f]}`);
      }
    });
  }
  for (const v of ['spare port \\', 'a\\b', '\\']) {
    it(`a backslash is refused: ${JSON.stringify(v)}`, () => {
      for (const f of ['comments', 'ovs_options'])
        assert.match(checkParams({ [f]: v }, IFACE_PARAMS).errors[f] ?? '', /backslash/);
    });
  }
  it("a comment line starting with '#' is refused (it would be a mako '##' line); other '#' and '%' are fine", () => {
    assert.match(checkParams({ comments: '#x' }, IFACE_PARAMS).errors['comments'] ?? '', /may not start with '#'/);
    assert.match(
      checkParams({ comments: 'ok\n## y' }, IFACE_PARAMS).errors['comments'] ?? '',
      /may not start with '#'/,
    );
    for (const v of ['uplink 100%', 'port #3', '50 % of the links\n% is fine here', 'x\n%% y'])
      assert.deepEqual({ ...checkParams({ type: 'bridge', comments: v }, IFACE_PARAMS).errors }, {}, v);
  });

  it('the core refuses at the field and writes nothing; a harmless % is written as given', async () => {
    const { core, staged } = rootWith(BASE);
    await refusedAt(
      core.update('vmbr0', { comments: "100% ${__import__('os').system('touch /tmp/x')}" }),
      'comments',
      /mako template/,
    );
    await refusedAt(core.create('vmbr1', { type: 'bridge', comments: 'spare port \\' }), 'comments', /backslash/);
    assert.equal(staged(), null);
    await core.update('vmbr0', { comments: 'uplink 100%' });
    assert.match(staged() ?? '', /^\s*#\s?uplink 100%$/m);
  });

  it('the CLI says it in one sentence at the option', async () => {
    const { root, staged } = rootWith(BASE);
    let err = '';
    const code = await main(['--root', root, 'create', 'vmbr1', '--type', 'bridge', '--comments', '${x}'], {
      out: () => {},
      err: (s) => (err += s),
      tty: false,
    });
    assert.equal(code, 1);
    assert.match(
      err,
      /^nodenet: --comments: value contains '\$\{', which is not allowed: ifupdown2 reads the interfaces file as a mako template/,
    );
    assert.equal(err.trim().split('\n').length, 1);
    assert.equal(staged(), null);
  });
});

describe('parameters of another interface type are refused', () => {
  const CASES: [string, Record<string, unknown>, string][] = [
    ['bridge', { slaves: 'eno2' }, 'slaves'],
    ['bridge', { 'vlan-raw-device': 'eno2' }, 'vlan-raw-device'],
    ['bridge', { bond_mode: 'active-backup' }, 'bond_mode'],
    ['bond', { bridge_ports: 'eno2' }, 'bridge_ports'],
    ['bond', { bridge_vlan_aware: 1 }, 'bridge_vlan_aware'],
    ['eth', { slaves: 'eno2' }, 'slaves'],
    ['vlan', { bridge_ports: 'eno2', 'vlan-raw-device': 'eno1' }, 'bridge_ports'],
    ['bridge', { ovs_options: 'tag=5' }, 'ovs_options'],
  ];
  for (const [type, params, field] of CASES) {
    it(`create ${type} with ${field}`, async () => {
      const { core, staged } = rootWith(BASE);
      const name = type === 'vlan' ? 'eno1.70' : type === 'eth' ? 'eno3' : type === 'bond' ? 'bond1' : 'vmbr1';
      await refusedAt(core.create(name, { type, ...params }), field, /is a setting of/);
      assert.equal(staged(), null);
    });
  }
  it('update of an existing bridge with slaves (the issue: written as bond-slaves, check silent)', async () => {
    const { core, staged } = rootWith(BASE);
    await refusedAt(
      core.update('vmbr0', { slaves: 'eno2' }),
      'slaves',
      /'slaves' is a setting of bonds, not of vmbr0 \(type 'bridge'\)/,
    );
    assert.equal(staged(), null);
    await core.update('vmbr0', { bridge_ports: 'eno1 eno2' });
    assert.match(staged() ?? '', /bridge-ports eno1 eno2/);
  });
});

describe('backslash continuations are read as ifupdown2 reads them', () => {
  const SWALLOW =
    'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n# spare port \\\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tbridge-ports eno1\n';
  it('a comment ending in a backslash swallows the next line: vmbr0 is not auto, and check says why', () => {
    const doc = parse(SWALLOW);
    const model = buildModel(doc);
    assert.equal(model.ifaces.get('vmbr0')?.autostart, false);
    const d = doc.diagnostics.find((x) => x.code === 'COMMENT_CONTINUES');
    assert.ok(d, JSON.stringify(doc.diagnostics));
    assert.equal(d.line, 5);
    assert.equal(d.severity, 'warning');
  });
  it('an option line ending in a backslash swallows a keyword line: check says so', () => {
    const doc = parse('iface vmbr0 inet manual\n\tpost-up true \\\nauto vmbr0\n');
    assert.equal(buildModel(doc).ifaces.get('vmbr0')?.autostart, false);
    const d = doc.diagnostics.find((x) => x.code === 'CONTINUATION_SWALLOWS_KEYWORD');
    assert.equal(`${d?.line}:${d?.column}`, '3:1');
  });
  it('a backslash anywhere joins the words around it; a line starting with one continues the line before', () => {
    const doc = parse('iface vmbr0 inet manual\n\tbridge-ports eno1\\eno2\n\n\t\\ eno3\n\tmtu 9000\n');
    const i = buildModel(doc).ifaces.get('vmbr0')!;
    assert.deepEqual(i.bridge?.ports, ['eno1', 'eno2', 'eno3']);
    assert.equal(i.mtu, '9000');
  });
  it('a stanza is never appended after a last line ending in a backslash: ifupdown2 sees it', async () => {
    const { core, staged } = rootWith(`${BASE}\tpost-up ip route add 10.9.0.0/16 via 192.0.2.254 \\\n`);
    await core.create('vmbr1', { type: 'bridge', autostart: 1 });
    const model = buildModel(parse(staged() ?? ''));
    assert.equal(model.ifaces.get('vmbr1')?.autostart, true);
    assert.match(model.ifaces.get('vmbr0')?.options.find((o) => o.key === 'post-up')?.value ?? '', /192\.0\.2\.254$/);
  });
  it('the last guard: lines that a neighbouring backslash would join are never written', () => {
    const text = 'iface eno1 inet manual\n# spare port \\\n';
    assert.throws(
      () =>
        applyGuardedEdits(text, [{ offset: text.length, length: 0, content: 'auto vmbr1\niface vmbr1 inet manual\n' }]),
      (e: unknown) =>
        e instanceof NodenetError && /line 2 of the file ends with a backslash/.test(e.errors?.['iface'] ?? ''),
    );
    const t2 = 'iface eno1 inet manual\n\t\\ mtu 9000\n';
    assert.throws(() => applyGuardedEdits(t2, [{ offset: 23, length: 0, content: '\tmtu 1500\n' }]), NodenetError);
    assert.equal(
      applyGuardedEdits('iface eno1 inet manual\n', [{ offset: 23, length: 0, content: '\tmtu 1500\n' }]),
      'iface eno1 inet manual\n\tmtu 1500\n',
    );
  });
});

describe('files that ifupdown2 renders as a mako template', () => {
  const TEMPLATE_FILE =
    'auto lo\niface lo inet loopback\n\n% for n in range(1, 3):\nauto vmbr${n}\niface vmbr${n} inet manual\n\tbridge-ports none\n% endfor\n';
  it('check warns TEMPLATE_SYNTAX at each template line', () => {
    const ds = parse(TEMPLATE_FILE).diagnostics.filter((d) => d.code === 'TEMPLATE_SYNTAX');
    assert.deepEqual(
      ds.map((d) => `${d.line}:${d.column}`),
      ['4:1', '5:10', '6:11', '8:1'],
    );
  });
  it("mako's encoding declaration on line 1 counts too (mako drops that line)", () => {
    const ds = parse('# -*- coding: utf-8 -*- \\\nauto vmbr0\n# 100%\n').diagnostics.filter(
      (d) => d.code === 'TEMPLATE_SYNTAX',
    );
    assert.deepEqual(
      ds.map((d) => `${d.line}:${d.column}`),
      ['1:1'],
    );
  });
  it('template syntax is inert without a %, so no warning then', () => {
    assert.equal(parse('# cost ${x}\nauto lo\niface lo inet loopback\n').diagnostics.length, 0);
  });
  it('a template file is shown but never edited', async () => {
    const { core, staged } = rootWith(TEMPLATE_FILE);
    await refusedAt(core.create('vmbr9', { type: 'bridge' }), 'iface', /mako template .* does not edit it/);
    await refusedAt(core.update('lo', { comments: 'x' }), 'iface', /mako template/);
    assert.equal(staged(), null);
  });
  it('a % that would wake dormant template code elsewhere in the file is refused', async () => {
    const { core, staged } = rootWith("auto lo\niface lo inet loopback\n# cost ${__import__('os').system('id')}\n");
    await refusedAt(
      core.create('vmbr1', { type: 'bridge', comments: 'uplink 100%' }),
      'iface',
      /would render the file as a mako template/,
    );
    assert.equal(staged(), null);
  });
});
