/** scripts/check-layers.mjs, the layer rule of `npm run lint`: imports point downward only. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';

const SCRIPT = new URL('../../scripts/check-layers.mjs', import.meta.url).pathname;
// The checker is plain JavaScript (lint runs it without tsx): its one function, typed here.
const { checkLayers } = (await import(SCRIPT)) as { checkLayers: (root: string) => string[] };
const REPO = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A scratch tree of the given files (path → text). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'nodenet-layers-'));
  dirs.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

/** The checker's findings on a scratch tree: code 0 when clean, 1 otherwise (as the CLI exits). */
function check(files: Record<string, string>) {
  const problems = checkLayers(tree(files));
  return { code: problems.length ? 1 : 0, err: problems.join('\n') };
}

const BASE = {
  'src/interfaces/syntax.ts': 'export type Line = { n: number };\n',
  'src/model/build.ts': "import type { Line } from '../interfaces/syntax.ts';\nexport const build = (l: Line) => l;\n",
  'src/api/server.ts': "import { build } from '../model/build.ts';\nexport const serve = build;\n",
  'web/src/main.ts': "import { t } from './i18n.ts';\nexport const m = t;\n",
  'web/src/i18n.ts': 'export const t = 1;\n',
};

describe('check-layers', () => {
  it('the command passes on the repository itself and fails (exit 1) on an upward import', () => {
    const ok = spawnSync(process.execPath, [SCRIPT, REPO], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const root = tree({ ...BASE, 'src/interfaces/x.ts': "import '../model/build.ts';\n" });
    const bad = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^src\/interfaces\/x\.ts:1: layer interfaces imports model, a layer above it/m);
  });

  it('passes downward imports and fails an upward one, naming file and line', () => {
    assert.equal(check(BASE).code, 0);
    const x = "// a comment\nimport { serve } from '../api/server.ts';\nexport const x = serve;\n";
    const r = check({ ...BASE, 'src/model/x.ts': x });
    assert.equal(r.code, 1);
    assert.match(r.err, /^src\/model\/x\.ts:2: layer model imports api, a layer above it/m);
  });

  it('counts import type, export from and import(); ignores imports spelled in comments and strings', () => {
    const up = "'../api/server.ts'";
    const texts = [
      `import type { serve } from ${up};\n`,
      `export { serve } from ${up};\n`,
      `export const l = () => import(${up});\n`,
    ];
    for (const text of texts) {
      assert.equal(check({ ...BASE, 'src/model/x.ts': text }).code, 1, text);
    }
    const quiet = `// import { serve } from ${up};\nexport const s = "import x from ${up.replace(/'/g, '')}";\n`;
    assert.equal(check({ ...BASE, 'src/model/x.ts': quiet }).code, 0);
  });

  it('keeps errors.ts above interfaces and below model', () => {
    const errors = "import type { Line } from './interfaces/syntax.ts';\nexport class E extends Error { l?: Line }\n";
    const reexport = "export * from '../errors.ts';\n";
    assert.equal(check({ ...BASE, 'src/errors.ts': errors, 'src/model/e.ts': reexport }).code, 0);
    const r = check({ ...BASE, 'src/errors.ts': errors, 'src/interfaces/e.ts': reexport });
    assert.equal(r.code, 1);
    assert.match(r.err, /src\/interfaces\/e\.ts:1: layer interfaces imports errors/);
  });

  it('keeps web/src and src/ apart, and src/ off test/ and bench/', () => {
    assert.equal(
      check({
        ...BASE,
        'web/src/generated/params.ts': 'export const P = 1;\n',
        'web/src/logic.ts': "import { P } from './generated/params.ts';\nexport const q = P;\n",
      }).code,
      0,
    );
    const logic = "import { build } from '../../src/model/build.ts';\nexport const q = build;\n";
    const web = check({ ...BASE, 'web/src/logic.ts': logic });
    assert.equal(web.code, 1);
    assert.match(web.err, /web\/src\/logic\.ts:1: web\/src imports src\/model\/build\.ts outside web\/src/);
    assert.equal(check({ ...BASE, 'src/model/y.ts': "import '../../web/src/i18n.ts';\n" }).code, 1);
    assert.equal(check({ ...BASE, 'src/core/z.ts': "import '../../test/engine/golden.ts';\n" }).code, 1);
    assert.equal(check({ ...BASE, 'src/nowhere/z.ts': "import '../model/build.ts';\n" }).code, 1);
  });

  it('exempts tests beside the modules, which cross layers on purpose', () => {
    const test = "import { serve } from '../api/server.ts';\n";
    assert.equal(check({ ...BASE, 'src/interfaces/syntax.test.ts': test }).code, 0);
  });
});
