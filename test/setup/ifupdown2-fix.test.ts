/**
 * `nodenet fix ifupdown2`: the ifupdown (1) forms ifupdown2 ignores, rewritten as a staged
 * change (pure planner, CLI, API). What ifupdown2 itself reads before and after is checked
 * with the real one in test/netns/ifupdown1-forms.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { planIfupdown2Fix } from '../../src/setup/ifupdown2-fix.ts';
import { validate } from '../../src/validate/index.ts';
import { form, raw, startServer } from '../api/helpers.ts';

const OLD = `auto lo
iface lo inet loopback

auto eno1
iface eno1 inet manual
	bond-master bond0

auto eno2
iface eno2 inet manual
	bond-master bond0

auto bond0
iface bond0 inet static
	address 192.0.2.10/24
	bond-slaves none
	bond-mode active-backup
	bond-miimon 100

allow-auto eno3
iface eno3 inet manual

source-directory /etc/network/interfaces.d
`;

const NEW = `auto lo
iface lo inet loopback

auto eno1
iface eno1 inet manual

auto eno2
iface eno2 inet manual

auto bond0
iface bond0 inet static
	address 192.0.2.10/24
	bond-slaves eno1 eno2
	bond-mode active-backup
	bond-miimon 100

auto eno3
iface eno3 inet manual

source /etc/network/interfaces.d/*
`;

const diags = (text: string) => {
  const doc = parse(text);
  return validate({ doc, model: buildModel(doc), file: 'x' }).map((d) => `${d.severity} ${d.code} ${d.iface}`);
};

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s), tty: false });
  return { code, out, err };
}

describe('fix ifupdown2', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('rewrites bond-master, allow-auto and source-directory; nothing else changes; idempotent', () => {
    assert.deepEqual(diags(OLD), [
      'warning IFUPDOWN1_BOND_MASTER eno1',
      'warning IFUPDOWN1_BOND_MASTER eno2',
      'warning IFUPDOWN1_BOND_MASTER bond0',
      'warning IFUPDOWN1_ALLOW_AUTO eno3',
      'warning IFUPDOWN1_SOURCE_DIRECTORY eno3',
    ]);
    const r = planIfupdown2Fix(OLD);
    assert.equal(r.text, NEW);
    assert.deepEqual(diags(r.text), []);
    assert.deepEqual(planIfupdown2Fix(r.text), { text: NEW, notes: [] });
  });

  test('slaves already listed keep their order; a slave used elsewhere is left and named', () => {
    const some = OLD.replace('bond-slaves none', 'bond-slaves eno2');
    assert.equal(planIfupdown2Fix(some).text, NEW.replace('bond-slaves eno1 eno2', 'bond-slaves eno2 eno1'));
    const taken = `${OLD}\nauto vmbr1\niface vmbr1 inet manual\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n`;
    assert.ok(diags(taken).includes('error BOND_MASTER_CONFLICT eno1'));
    const r = planIfupdown2Fix(taken);
    assert.match(r.text, /iface eno1 inet manual\n\tbond-master bond0\n/, 'eno1 is left for the admin to decide');
    assert.match(r.text, /\tbond-slaves eno2\n/);
    assert.match(r.notes.join('\n'), /eno1 names bond0 by bond-master but is a port of vmbr1: left as it is/);
  });

  test("inet6 auto becomes SLAAC by accept_ra 2 on the inet stanza; a bridge port's is left", () => {
    const debian =
      'auto lo\niface lo inet loopback\n\nallow-hotplug eno1\niface eno1 inet dhcp\niface eno1 inet6 auto\n';
    const r = planIfupdown2Fix(debian);
    assert.equal(
      r.text,
      'auto lo\niface lo inet loopback\n\nallow-hotplug eno1\niface eno1 inet dhcp\n\tpost-up echo 2 > /proc/sys/net/ipv6/conf/eno1/accept_ra\n',
    );
    assert.deepEqual(diags(r.text), []);
    assert.equal(planIfupdown2Fix(r.text).text, r.text);
    const port = `${debian}\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n`;
    const p = planIfupdown2Fix(port);
    assert.equal(p.text, port);
    assert.match(p.notes.join('\n'), /eno1: 'inet6 auto' is left as it is \(eno1 is in vmbr0/);
  });

  test('mapping and rename are not rewritten; the notes say what to do', () => {
    const text =
      'auto lo\niface lo inet loopback\n\nmapping eno1\n\tscript /bin/echo\n\tmap home eno1-home\n\nrename eno2=lab0\n';
    const r = planIfupdown2Fix(text);
    assert.equal(r.text, text);
    assert.match(r.notes.join('\n'), /'mapping eno1' is left as it is/);
    assert.match(
      r.notes.join('\n'),
      /'rename eno2=lab0' is left as it is: ifupdown2 has no rename; name the NIC with a systemd \.link file/,
    );
  });

  test('source-directory before the first stanza (ifupdown2 ignores it) and indented: rewritten too; one warning each', () => {
    const text =
      'source-directory /etc/network/local.d/\nauto lo\niface lo inet loopback\n\tsource-directory interfaces.d\n';
    assert.deepEqual(
      diags(text).filter((d) => d.startsWith('warning')),
      ['warning IFUPDOWN1_SOURCE_DIRECTORY source-directory', 'warning IFUPDOWN1_SOURCE_DIRECTORY lo'],
    );
    const r = planIfupdown2Fix(text);
    assert.equal(r.text, 'source /etc/network/local.d/*\nauto lo\niface lo inet loopback\n\tsource interfaces.d/*\n');
    assert.deepEqual(diags(r.text), []);
    assert.match(
      r.notes.join('\n'),
      /line 1: source-directory \/etc\/network\/local\.d\/ → source \/etc\/network\/local\.d\/\*/,
    );
  });

  test('CLI: list says why bond0 has no slaves; create over a bond-master slave is refused; fix stages the rewrite', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nodenet-fix-'));
    dirs.push(root);
    mkdirSync(join(root, 'etc/network'), { recursive: true });
    writeFileSync(join(root, 'etc/network/interfaces'), OLD);
    const l = await cli('--root', root, 'list');
    assert.match(l.out, /^bond0 +bond +yes +active-backup/m, 'no slaves, as ifupdown2 will see it');
    assert.match(l.err, /bond0: eno1, eno2 name bond0 by bond-master, which ifupdown2 ignores; bond0 gets no slaves/);
    const c = await cli('--root', root, 'create', 'vmbr1', '--type', 'bridge', '--bridge_ports', 'eno1');
    assert.equal(c.code, 1);
    assert.match(c.err, /BOND_MASTER_CONFLICT eno1 names bond0 as its bond/);
    const f = await cli('--root', root, 'fix', 'ifupdown2');
    assert.equal(f.code, 0, f.err);
    assert.match(f.out, /^staged: /m);
    assert.equal(readFileSync(join(root, 'etc/network/interfaces.new'), 'utf8'), NEW);
    assert.equal(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), OLD, 'nothing is live');
    assert.match((await cli('--root', root, 'list')).out, /^bond0 +bond +yes +eno1 eno2 +active-backup/m);
    assert.equal((await cli('--root', root, 'fix', 'bogus')).code, 2);
  });

  test('API: POST .../network/fix/ifupdown2 stages the same text', async (t) => {
    const h = await startServer('', { text: OLD });
    t.after(() => h.close());
    const r = await raw(h, 'POST', '/nodes/pve/network/fix/ifupdown2', { body: form({}) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.data.changed, 1);
    assert.equal(await h.staged(), NEW);
  });
});
