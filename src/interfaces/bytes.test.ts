/**
 * Lossless bytes ↔ text: every byte string survives decode + encode, valid UTF-8 decodes as
 * the platform's strict decoder does, and invalid bytes map as Python's `surrogateescape`
 * (an oracle nobody here wrote) maps them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeBytes, encodeText, hasEscapedBytes, nonUtf8Diagnostics } from './bytes.ts';

test('decode then encode gives back every byte string exactly', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      assert.deepEqual(encodeText(decodeBytes(bytes)), Buffer.from(bytes));
    }),
    { numRuns: 3000 },
  );
});

test('valid UTF-8 decodes as TextDecoder (fatal) does, with no escapes', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      const bytes = Buffer.from(s, 'utf8');
      const text = decodeBytes(bytes);
      assert.equal(text, new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      assert.equal(hasEscapedBytes(text), false);
    }),
  );
});

test("invalid bytes map as Python's surrogateescape does", (t) => {
  const py = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' });
  if (py.status !== 0) {
    if (process.env.CI === 'true') assert.fail('python3 is missing (CI must have it)');
    t.skip('python3 is missing');
    return;
  }
  // Byte strings mixing ASCII, valid multi-byte sequences and every kind of invalid byte
  // (stray continuation, truncated sequence, overlong form, encoded surrogate, > U+10FFFF).
  const pieces = [
    [0x61],
    [0xc3, 0xa9],
    [0xe2, 0x82, 0xac],
    [0xf0, 0x9f, 0x98, 0x80],
    [0xe9],
    [0x80],
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xe2, 0x82],
    [0xff],
    [0x0a],
  ];
  const samples = fc
    .sample(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), { numRuns: 300, seed: 13 })
    .map((ps) => Buffer.from(ps.flat()));
  const script = `import sys, json
for line in sys.stdin.read().split():
    print(json.dumps(bytes.fromhex(line).decode('utf-8', 'surrogateescape')))`;
  const r = spawnSync('python3', ['-c', script], {
    input: samples.map((b) => b.toString('hex') || '00').join('\n'),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const expected = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string);
  samples.forEach((b, i) =>
    assert.equal(decodeBytes(b.length ? b : Buffer.of(0)), expected[i], `bytes ${b.toString('hex')}`),
  );
});

test('NOT_UTF8: one warning per line, at the first byte that is not UTF-8', () => {
  const text = decodeBytes(Buffer.from('auto lo\n# caf\xe9 \xe0 la carte\niface lo inet loopback\n#\xff\n', 'latin1'));
  const ds = nonUtf8Diagnostics(text, 'interfaces');
  assert.deepEqual(
    ds.map((d) => [d.code, d.severity, d.line, d.column]),
    [
      ['NOT_UTF8', 'warning', 2, 6],
      ['NOT_UTF8', 'warning', 4, 2],
    ],
  );
  assert.match(ds[0]!.message, /byte \\xe9 in "# caf\\xe9 \\xe0 la carte"/);
  assert.deepEqual(nonUtf8Diagnostics('# café\n'), []);
});
