/**
 * Regenerate test/fixtures/rules/CODE.bad.diagnostics.json from the bad fixtures.
 * Run: node --import tsx test/validate/update-golden.ts   (then review the diff!)
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { RULES_DIR, checkFixture } from './helpers.ts';

let n = 0;
for (const f of readdirSync(RULES_DIR)
  .filter((x) => x.endsWith('.bad.interfaces'))
  .sort()) {
  const ds = checkFixture(f, readFileSync(new URL(f, RULES_DIR), 'utf8'));
  writeFileSync(
    new URL(f.replace(/\.interfaces$/, '.diagnostics.json'), RULES_DIR),
    `${JSON.stringify(ds, null, 2)}\n`,
  );
  n++;
}
console.log(`wrote ${n} golden files`);
