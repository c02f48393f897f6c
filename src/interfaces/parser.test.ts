/**
 * Unit facts of the parser (beside the module; the corpus, differential and property suites
 * under test/engine check it against real files and ifupdown2's own parser).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from './parser.ts';
import { print } from './printer.ts';

/** Text made of the pieces interfaces files are made of, in any order. */
const piece = fc.constantFrom(
  'auto lo\n',
  'iface lo inet loopback\n',
  'iface vmbr0 inet static\n',
  '\taddress 192.0.2.1/24\n',
  '\tbridge-ports eno1\n',
  '# a comment\n',
  '\n',
  '\r\n',
  'source /etc/network/interfaces.d/*\n',
  '\tpost-up echo \\\n',
  '  \t',
  'allow-hotplug eno1\n',
  'iface eno1 inet6 auto\n',
  'mapping eth0\n',
  '\u00e9',
  '\ufeff',
);

describe('parser', () => {
  it('prints every text back byte for byte (print(parse(s)) === s)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 30 }).map((a) => a.join('')),
        (s) => {
          assert.equal(print(parse(s)), s);
        },
      ),
      { numRuns: 500, seed: 14 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => assert.equal(print(parse(s)), s)),
      { numRuns: 500, seed: 15 },
    );
  });

  it('numbers lines as a text editor does', () => {
    const src = 'auto lo\niface lo inet loopback\n\n# x\r\niface vmbr0 inet static\n\taddress 10.0.0.1/24\n';
    const doc = parse(src);
    const byName = doc.nodes.filter((n) => n.kind === 'iface').map((n) => [n.name?.text, n.header.lineNo]);
    // The oracle: the position of each header among the text's lines split by JavaScript.
    const lines = src.split(/\r?\n/);
    assert.deepEqual(byName, [
      ['lo', lines.indexOf('iface lo inet loopback') + 1],
      ['vmbr0', lines.indexOf('iface vmbr0 inet static') + 1],
    ]);
  });

  it('keeps a stanza open across blank lines, as ifupdown2 does', () => {
    const doc = parse('iface vmbr0 inet manual\n\tbridge-ports none\n\n\tpost-up true\n');
    const ifaces = doc.nodes.filter((n) => n.kind === 'iface');
    assert.equal(ifaces.length, 1);
    const opts =
      ifaces[0]!.kind === 'iface' ? ifaces[0]!.body.filter((b) => b.kind === 'option').map((b) => b.name) : [];
    assert.deepEqual(opts, ['bridge-ports', 'post-up']);
  });

  it('joins a line ending in a backslash with the next', () => {
    const doc = parse('iface eno1 inet manual\n\tpost-up ip link set \\\n\teno1 up\n');
    const n = doc.nodes.find((x) => x.kind === 'iface');
    assert.ok(n && n.kind === 'iface');
    const opt = n.body.find((b) => b.kind === 'option');
    assert.ok(opt && opt.kind === 'option');
    assert.equal(opt.value, 'ip link set eno1 up');
  });

  it('never throws and reports a stray option at its line', () => {
    const doc = parse('\taddress 10.0.0.1/24\nauto lo\n');
    assert.equal(print(doc), '\taddress 10.0.0.1/24\nauto lo\n');
    assert.ok(
      doc.diagnostics.some((d) => d.line === 1),
      JSON.stringify(doc.diagnostics),
    );
  });
});
