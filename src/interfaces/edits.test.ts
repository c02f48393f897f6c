/** Unit facts of the text edits (beside the module). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyEdits, mergeDeletions, removeLineRanges, type TextEdit } from './edits.ts';
import { parse } from './parser.ts';

/** Non-overlapping edits over a text of length n, in random order. */
function editsOver(n: number): fc.Arbitrary<TextEdit[]> {
  return fc
    .uniqueArray(fc.integer({ min: 0, max: n }), { maxLength: 8 })
    .chain((cuts) => {
      const sorted = [...cuts].sort((a, b) => a - b);
      return fc.tuple(
        ...sorted.map((at, i) => {
          const room = (sorted[i + 1] ?? n) - at;
          return fc.record({
            offset: fc.constant(at),
            length: fc.integer({ min: 0, max: room }),
            content: fc.string({ maxLength: 5 }),
          });
        }),
      );
    })
    .chain((es) => fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length }));
}

describe('text edits', () => {
  it('apply as splices from the end of the text backwards (Array.prototype.splice as the oracle)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).chain((s) => fc.tuple(fc.constant(s), editsOver(s.length))),
        ([s, edits]) => {
          const chars = [...s.split('')];
          for (const e of [...edits].sort((a, b) => b.offset - a.offset)) chars.splice(e.offset, e.length, e.content);
          assert.equal(applyEdits(s, edits), chars.join(''));
        },
      ),
      { numRuns: 1000, seed: 14 },
    );
  });

  it('refuses overlapping edits (a caller bug, never user input)', () => {
    assert.throws(
      () =>
        applyEdits('abcdef', [
          { offset: 1, length: 3, content: '' },
          { offset: 2, length: 1, content: 'x' },
        ]),
      /overlapping/,
    );
  });

  it('puts an insertion before a replacement that starts at the same offset', () => {
    assert.equal(
      applyEdits('abc', [
        { offset: 1, length: 1, content: 'X' },
        { offset: 1, length: 0, content: '+' },
      ]),
      'a+Xc',
    );
  });

  it('merges touching deletions unless something is inserted between them', () => {
    const dels = [
      { offset: 0, length: 2, content: '' },
      { offset: 2, length: 2, content: '' },
    ];
    assert.deepEqual(mergeDeletions(dels), [{ offset: 0, length: 4, content: '' }]);
    const ins = { offset: 2, length: 0, content: 'new\n' };
    assert.equal(mergeDeletions([...dels, ins]).length, 3);
    assert.equal(applyEdits('aabbcc', mergeDeletions([...dels, ins])), 'new\ncc');
  });

  it('keeps a file without a final newline without one when its last lines go', () => {
    const src = 'auto lo\niface lo inet loopback';
    const doc = parse(src);
    const out = applyEdits(src, removeLineRanges(doc, [[8, src.length]]));
    assert.equal(out, 'auto lo');
  });
});
