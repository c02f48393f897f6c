/**
 * A document that reparse re-parsed into a newer one is retired: its nodes after the change
 * were moved onto the newer text, so every use of it must fail loudly instead of printing or
 * placing things in the wrong text. A full-parse fallback leaves the old document valid.
 * (Equality of reparse with parse is test/engine/incremental.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from './parser.ts';
import { print } from './printer.ts';
import { isRetired, reparse, reparseStats, StaleDocumentError } from './reparse.ts';

function bridges(n: number, extra = ''): string {
  let text = 'auto lo\niface lo inet loopback\n\n';
  for (let i = 0; i < n; i++) {
    text += `auto vmbr${i}\niface vmbr${i} inet static\n\taddress 10.0.${i}.1/24\n\tbridge-ports none\n`;
    if (i === 3) text += extra;
    text += '\n';
  }
  return text;
}

const stale = (field: string) => (e: unknown) =>
  e instanceof StaleDocumentError && e.message.includes(`'${field}'`) && /re-parsed into a newer one/.test(e.message);

describe('reparse retires the document it re-parsed', () => {
  it('throws a clear error on every use of the old document after a window re-parse', () => {
    const a = bridges(20);
    const b = bridges(20, '\tmtu 9000\n'); // an option added to vmbr3: every later node moves
    const old = parse(a);
    const nodesBefore = old.nodes.length;
    const before = { ...reparseStats };
    const doc = reparse(old, b);
    assert.equal(reparseStats.incremental - before.incremental, 1, 'the window path was taken');
    assert.equal(print(doc), b);
    assert.equal(isRetired(old), true);
    assert.equal(isRetired(doc), false);
    for (const field of ['src', 'nodes', 'diagnostics', 'eol', 'indent'] as const) {
      assert.throws(() => old[field], stale(field));
    }
    assert.throws(() => print(old), stale('nodes'));
    assert.throws(() => reparse(old, a), stale('src'));
    // The new document is whole and equals a fresh parse of its text.
    assert.equal(doc.nodes.length, nodesBefore);
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), JSON.parse(JSON.stringify(parse(b))));
  });

  it('leaves the old document valid when it parses in full or the text is the same', () => {
    const a = bridges(20);
    const old = parse(a);
    // An edit before the first iface stanza parses in full: nothing of `old` was moved.
    const before = { ...reparseStats };
    const doc = reparse(old, `# header\n${a}`);
    assert.equal(reparseStats.full - before.full, 1, 'the full-parse fallback was taken');
    assert.equal(isRetired(old), false);
    assert.equal(print(old), a);
    assert.equal(print(doc), `# header\n${a}`);
    // The same text gives the same document back, still valid.
    assert.equal(reparse(old, a), old);
    assert.equal(print(old), a);
  });
});
