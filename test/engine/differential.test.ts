/**
 * Differential test against ifupdown2's own parser (issue 12; bench/differential.ts runs more
 * with `npm run fuzz`). nodenet's reading of a file — interfaces, auto set, allow classes,
 * options, addresses — must equal what ifupdown2 3.0's parser reads with mako rendering on, as
 * Debian's ifupdown2.conf sets it: for the whole corpus and rule fixtures, for seeded fuzzed
 * files, and for every file that random edit sequences with hostile values produce through
 * NetworkCore (the API's and the CLI's code path). No template payload may run.
 * Seed: NODENET_PROPERTY_SEED (default fixed). Needs /usr/bin/python3 with python3-mako and
 * ifupdown2's .deb (unpacked into .cache/ifupdown2); in CI a missing prerequisite fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { differential, editSequences, fuzzedFiles } from '../../bench/differential.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { compareWithOracle, oracleParse, skipUnlessOracle } from './oracle.ts';

const SEED = Number(process.env.NODENET_PROPERTY_SEED ?? 20261203);
const FIXTURE_DIRS = [new URL('../fixtures/corpus/', import.meta.url), new URL('../fixtures/rules/', import.meta.url)];

function explain(diffs: { text: string; why: string }[]): string {
  return diffs
    .slice(0, 3)
    .map((d) => `${d.why}\n  input: ${JSON.stringify(d.text)}`)
    .join('\n');
}

describe('nodenet reads interfaces files as ifupdown2 does', { skip: skipUnlessOracle() }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nodenet-oracle-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('the oracle runs template code (positive control) and reads continuations as documented', async () => {
    const marker = join(tmp, 'control-ran');
    const texts = [
      // Hand-written template code: ifupdown2 runs it. The test below must be able to see a run.
      `# 100% \${__import__('os').system('touch ${marker}')}\nauto lo\niface lo inet loopback\n`,
      // The case: a comment ending in a backslash swallows the next stanza's `auto`.
      'auto lo\niface lo inet loopback\n# spare port \\\nauto vmbr0\niface vmbr0 inet manual\n\tbridge-ports eno1\n',
      // A backslash anywhere joins; a line starting with one continues the line before.
      'auto lo\niface lo inet loopback\niface vmbr0 inet manual\n\tbridge-ports eno1\\eno2\n\n\t\\ eno3\n',
      // With a `%` in the file mako removes `\`+newline first: no space between the parts.
      '# 100%\niface vmbr0 inet manual\n\tbridge-ports eno1\\\neno2\n',
    ];
    const res = await oracleParse(texts);
    assert.ok(existsSync(marker), 'the oracle did not run the template payload: it would not notice one');
    assert.equal(compareWithOracle(texts[0]!, res[0]!), 'template');
    assert.deepEqual(res[1]!.auto, ['lo']);
    assert.deepEqual(res[2]!.ifaces[1]!.config['bridge-ports'], ['eno1 eno2 eno3']);
    assert.deepEqual(res[3]!.ifaces[0]!.config['bridge-ports'], ['eno1eno2']);
    for (let i = 1; i < texts.length; i++)
      assert.equal(compareWithOracle(texts[i]!, res[i]!), null, JSON.stringify(texts[i]));
    // nodenet sees what ifupdown2 sees, and says why.
    const doc = parse(texts[1]!);
    assert.ok(doc.diagnostics.some((d) => d.code === 'COMMENT_CONTINUES' && d.line === 3));
  });

  it('every corpus and rule fixture', async () => {
    const texts: string[] = [];
    for (const dir of FIXTURE_DIRS)
      for (const f of readdirSync(dir)
        .filter((x) => x.endsWith('.interfaces'))
        .sort())
        texts.push(readFileSync(new URL(f, dir), 'utf8'));
    assert.ok(texts.length > 150, `only ${texts.length} fixtures`);
    const r = await differential(texts);
    assert.equal(r.differences.length, 0, explain(r.differences));
    assert.equal(r.agree, texts.length);
  });

  it(`3000 fuzzed files with hostile tokens (seed ${SEED})`, async () => {
    const texts = fuzzedFiles(3000, SEED);
    const r = await differential(texts, tmp);
    assert.equal(r.differences.length, 0, explain(r.differences));
    // Most fuzzed files are compared in full; the rest hold mako code (TEMPLATE_SYNTAX).
    assert.ok(r.agree > 2000, `only ${r.agree} files compared`);
  });

  it(`random edit sequences with hostile values (seed ${SEED}): ifupdown2 reads what nodenet wrote, no payload runs`, async () => {
    const run = await editSequences(120, SEED);
    try {
      assert.ok(run.accepted > 150, `only ${run.accepted} edits accepted (${run.refused} refused)`);
      assert.ok(run.refused > 50, `only ${run.refused} edits refused: the hostile values are not reaching the checks`);
      const r = await differential(run.texts, run.dir);
      assert.equal(r.differences.length, 0, explain(r.differences));
      assert.equal(r.templates, 0, 'an edit produced a file that renders as a template with code in it');
      assert.ok(!existsSync(run.marker), 'a payload written by an edit ran in ifupdown2');
    } finally {
      rmSync(run.dir, { recursive: true, force: true });
    }
  });
});
