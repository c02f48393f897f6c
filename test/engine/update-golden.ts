/** Rewrite the golden model files of the corpus: `node --import tsx test/engine/update-golden.ts`. Review the diff! */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { CORPUS, goldenModel } from './golden.ts';

for (const f of readdirSync(CORPUS)
  .filter((f) => f.endsWith('.interfaces'))
  .sort()) {
  const text = readFileSync(new URL(f, CORPUS), 'utf8');
  writeFileSync(
    new URL(f.replace(/\.interfaces$/, '.model.json'), CORPUS),
    `${JSON.stringify(goldenModel(text), null, 2)}\n`,
  );
}
console.log('golden model files written');
