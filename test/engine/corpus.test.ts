/**
 * The fixture corpus: every file round-trips byte for byte, matches its golden model, and
 * survives `create vmbr77` + `delete vmbr77` through the CLI with no pending change left.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from '../../src/interfaces/parser.ts';
import { print } from '../../src/interfaces/printer.ts';
import { main } from '../../src/cli/main.ts';
import { CORPUS, goldenModel } from './golden.ts';

const files = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.interfaces'))
  .sort();

async function cli(root: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['--root', root, ...argv], { out: (s) => (out += s), err: (s) => (err += s), tty: false });
  return { code, out, err };
}

describe('fixture corpus', () => {
  it('has at least 40 files, each with a golden model', () => {
    assert.ok(files.length >= 40, `only ${files.length} corpus files`);
    for (const f of files)
      assert.ok(existsSync(new URL(f.replace(/\.interfaces$/, '.model.json'), CORPUS)), `${f} has no golden model`);
  });

  for (const f of files) {
    const text = readFileSync(new URL(f, CORPUS), 'utf8');
    it(`${f}: round-trips and matches its golden model`, () => {
      assert.equal(print(parse(text)), text);
      const golden = JSON.parse(readFileSync(new URL(f.replace(/\.interfaces$/, '.model.json'), CORPUS), 'utf8'));
      assert.deepEqual(JSON.parse(JSON.stringify(goldenModel(text))), golden);
    });
  }

  it('create vmbr77 then delete vmbr77 leaves no pending change on every file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'nodenet-corpus-'));
    try {
      for (const f of files) {
        const root = join(base, f);
        mkdirSync(join(root, 'etc/network'), { recursive: true });
        const text = readFileSync(new URL(f, CORPUS), 'utf8');
        writeFileSync(join(root, 'etc/network/interfaces'), text);
        const c = await cli(root, 'create', 'vmbr77', '--type', 'bridge');
        assert.equal(c.code, 0, `${f}: create failed: ${c.err}`);
        assert.ok(existsSync(join(root, 'etc/network/interfaces.new')), `${f}: nothing staged`);
        const staged = readFileSync(join(root, 'etc/network/interfaces.new'), 'utf8');
        assert.match(staged, /^iface vmbr77 inet manual\r?$/m, f);
        const d = await cli(root, 'delete', 'vmbr77');
        assert.equal(d.code, 0, `${f}: delete failed: ${d.err}`);
        assert.ok(
          !existsSync(join(root, 'etc/network/interfaces.new')),
          `${f}: a change is still pending after delete`,
        );
        assert.equal(readFileSync(join(root, 'etc/network/interfaces'), 'utf8'), text, `${f}: live file changed`);
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('the demo config round-trips', () => {
    const demo = new URL('../../demo/', import.meta.url);
    const dir = mkdtempSync(join(tmpdir(), 'nodenet-demo-'));
    try {
      cpSync(demo, dir, { recursive: true });
      const text = readFileSync(join(dir, 'etc/network/interfaces'), 'utf8');
      assert.equal(print(parse(text)), text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
