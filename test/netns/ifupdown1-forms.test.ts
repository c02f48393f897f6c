/**
 * What the REAL ifupdown2 (3.0, unpacked, in a namespace sandbox) does with the forms of
 * Debian's old ifupdown that nodenet warns about (src/validate/ifupdown1.ts), and that the
 * rewrite of `nodenet fix ifupdown2` is what it reads: ifupdown2's own parser (`ifquery -a -o
 * json`) is the oracle, not our notes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createNetnsBackend, type NetnsBackend } from '../../src/apply/backend.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { planIfupdown2Fix } from '../../src/setup/ifupdown2-fix.ts';
import { validate } from '../../src/validate/index.ts';
import { LO, makeRoot, removeRoot, skipUnlessReady, writeInterfaces } from './helpers.ts';

type Entry = {
  name: string;
  addr_family: string;
  addr_method: string;
  auto: boolean;
  config: Record<string, string | string[]>;
};

const OLD = `${LO}
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
iface eno3 inet static
	address 198.51.100.3/24

source-directory /etc/network/interfaces.d
`;

const codes = (text: string) => {
  const doc = parse(text);
  return validate({ doc, model: buildModel(doc), file: 'x' })
    .map((d) => d.code)
    .filter((c) => c.startsWith('IFUPDOWN1_'));
};

describe('ifupdown (1) forms under the real ifupdown2', { skip: skipUnlessReady() }, () => {
  let root: string | undefined;
  let be: NetnsBackend | undefined;

  before(async () => {
    root = makeRoot(LO);
    // A file that only a working `source` of interfaces.d brings in.
    writeFileSync(
      join(root, 'etc/network/interfaces.d/lab'),
      'auto eno4\niface eno4 inet static\n\taddress 203.0.113.4/24\n',
    );
    be = createNetnsBackend({ root });
    await be.prepare(['eno1', 'eno2', 'eno3', 'eno4']);
  });

  after(async () => {
    await be?.destroy().catch(() => undefined);
    removeRoot(root);
  });

  async function queryAll(text: string, which: string[] = ['-a']): Promise<Entry[]> {
    assert.ok(be !== undefined && root !== undefined);
    writeInterfaces(root, text);
    const r = await (await be.sandbox()).exec(['ifquery', '-o', 'json', ...which]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Entry[];
  }

  test('what ifupdown2 reads from the old forms is what the warnings say', async () => {
    assert.deepEqual(codes(OLD).sort(), [
      'IFUPDOWN1_ALLOW_AUTO',
      'IFUPDOWN1_BOND_MASTER',
      'IFUPDOWN1_BOND_MASTER',
      'IFUPDOWN1_BOND_MASTER',
      'IFUPDOWN1_SOURCE_DIRECTORY',
    ]);
    const q = await queryAll(OLD);
    const by = new Map(q.map((e) => [e.name, e]));
    // bond-master is no attribute of ifupdown2's bond module: bond0's slaves are its own line, 'none'.
    assert.equal(by.get('bond0')?.config['bond-slaves'], 'none');
    // allow-auto is not auto: -a leaves eno3 out.
    assert.equal(by.has('eno3'), false);
    // source-directory is read as an option of the stanza above it (eno3); interfaces.d is not read.
    assert.equal(by.has('eno4'), false);
    const eno3 = await queryAll(OLD, ['eno3']);
    assert.equal(eno3[0]?.config['source-directory'], '/etc/network/interfaces.d');
    assert.equal(eno3[0]?.auto, false);
  });

  test('mapping and rename become options of the stanza above; nothing is mapped or renamed', async () => {
    const q = await queryAll(
      `${LO}\nmapping eno1\n\tscript /bin/echo\n\tmap home eno1-home\n\nrename eno2=lab0\n\nauto lab0\niface lab0 inet manual\n`,
    );
    const lo = q.find((e) => e.name === 'lo');
    assert.equal(lo?.config['mapping'], 'eno1');
    assert.equal(lo?.config['rename'], 'eno2=lab0');
    assert.deepEqual(codes(`${LO}\nmapping eno1\n\tscript /bin/echo\n\tmap home eno1-home\n\nrename eno2=lab0\n`), [
      'IFUPDOWN1_MAPPING',
      'IFUPDOWN1_RENAME',
    ]);
  });

  test('inet6 auto: a parse error for ifupdown2 3.0; the rewrite parses and gives accept_ra 2', async () => {
    assert.ok(be !== undefined && root !== undefined);
    const debian = `${LO}auto eno2\niface eno2 inet static\n\taddress 192.0.2.20/24\niface eno2 inet6 auto\n`;
    writeInterfaces(root, debian);
    const sb = await be.sandbox();
    const bad = await sb.exec(['ifreload', '-a']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /iface eno2: unsupported address method 'auto'/);
    assert.deepEqual(codes(debian), ['IFUPDOWN1_INET6_AUTO']);
    const { text } = planIfupdown2Fix(debian);
    writeInterfaces(root, text);
    const good = await sb.exec(['ifreload', '-a']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal((await be.execNet(['sysctl', '-n', 'net.ipv6.conf.eno2.accept_ra'])).stdout.trim(), '2');
    writeInterfaces(root, LO);
    assert.equal((await sb.exec(['ifreload', '-a'])).code, 0);
  });

  test('after `nodenet fix ifupdown2` ifupdown2 reads the bond slaves, auto eno3 and the sourced file', async () => {
    const { text } = planIfupdown2Fix(OLD);
    assert.deepEqual(codes(text), []);
    const q = await queryAll(text);
    const by = new Map(q.map((e) => [e.name, e]));
    assert.equal(by.get('bond0')?.config['bond-slaves'], 'eno1 eno2');
    assert.equal(by.get('eno1')?.config['bond-master'], undefined);
    assert.equal(by.get('eno3')?.config['address'], '198.51.100.3/24');
    assert.equal(by.get('eno4')?.config['address'], '203.0.113.4/24');
    assert.equal(by.get('eno3')?.config['source-directory'], undefined);
  });
});
