/** A short, seeded run of the mutation fuzzer (the 100k-input run is `bench/fuzz.ts`). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fuzz, loadCorpus } from '../../bench/fuzz.ts';

it('5000 mutated corpus inputs: no exception, every input round-trips', () => {
  const corpus = loadCorpus();
  assert.ok(corpus.length > 40);
  for (const seed of [1, 2, 3, 4, 5]) fuzz(1000, seed, corpus);
});
