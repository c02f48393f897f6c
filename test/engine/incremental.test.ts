/**
 * Incremental re-parse and model: `reparse(parse(a), b)` must equal `parse(b)` for every edit,
 * including chains of edits (nodes after an edit are moved in place, so errors would compound),
 * the incrementally built model must equal the one built from scratch, and validation with
 * per-interface cached rules must equal a fresh validation.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import fc from 'fast-check';
import { parse } from '../../src/interfaces/parser.ts';
import { reparse, reparseStats } from '../../src/interfaces/reparse.ts';
import type { Document } from '../../src/interfaces/syntax.ts';
import { buildModel, modelStats } from '../../src/model/build.ts';
import type { Model } from '../../src/model/types.ts';
import { applyEdits } from '../../src/interfaces/edits.ts';
import { validate } from '../../src/validate/index.ts';
import { planCreate, planDelete, planUpdate } from '../../src/model/edit.ts';

const RUNS = Number(process.env.NODENET_PROPERTY_RUNS ?? 300);
const SEED = Number(process.env.NODENET_PROPERTY_SEED ?? 20261128);

/** The corpus and the validation fixtures (which hold a finding of every rule). */
const files = ['corpus', 'rules'].flatMap((d) => {
  const dir = join(import.meta.dirname, '..', 'fixtures', d);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.interfaces'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
});

/** A document as plain data (lines through their toJSON), for deep comparison. */
function plain(doc: Document): unknown {
  return JSON.parse(
    JSON.stringify({ nodes: doc.nodes, diagnostics: doc.diagnostics, eol: doc.eol, indent: doc.indent, src: doc.src }),
  );
}

/** A model as plain data: names, kinds, options with their positions, autos, priorities. */
function plainModel(m: Model): unknown {
  return JSON.parse(
    JSON.stringify({
      ifaces: [...m.ifaces.values()].map((i) => ({
        ...i,
        stanzas: i.stanzas.map((s) => ({ ...s, node: s.node.start })),
      })),
      autoOnly: [...m.autoOnly.keys()],
      sources: m.sources,
    }),
  );
}

/** Snippets biased towards the file's syntax. */
const snippet = fc.oneof(
  fc.constantFrom(
    '',
    '\n',
    '\r\n',
    '\n\n',
    'auto vmbr9\n',
    'iface vmbr9 inet static\n',
    '\taddress 10.9.9.1/24\n',
    '\tbridge-ports eno1\n',
    'iface eno9 inet manual\n',
    '# comment\n',
    '\t# indented comment\n',
    '\\\n',
    'source /etc/network/interfaces.d/*\n',
    'mapping eth0\n',
    'bogus line\n',
    '\tpost-up echo 1\n',
    'allow-hotplug eno1\n',
    ' ',
    'x',
    '\\',
    // ifupdown2's reader: every backslash joins, a `%` makes the file a mako template.
    '# spare port \\\n',
    '\n\\',
    '\\\r\n',
    '%',
    '${x}',
    '## c\n',
    '% if x:\n',
    'vlan v1\n',
    '\u2028',
    '\v',
  ),
  fc.string({ maxLength: 8 }),
);

// Positions as integers: fast-check biases doubles towards 0 and 1 (the file's very ends).
const edit = fc.record({
  at: fc.integer({ min: 0, max: 1_000_000 }),
  del: fc.integer({ min: 0, max: 80 }),
  ins: fc.array(snippet, { maxLength: 4 }).map((a) => a.join('')),
  lineAligned: fc.boolean(),
});

function applyRandom(text: string, e: { at: number; del: number; ins: string; lineAligned: boolean }): string {
  let pos = text.length === 0 ? 0 : e.at % (text.length + 1);
  if (e.lineAligned) {
    const nl = text.lastIndexOf('\n', pos - 1);
    pos = nl + 1;
  }
  return text.slice(0, pos) + e.ins + text.slice(Math.min(text.length, pos + e.del));
}

describe('incremental re-parse', () => {
  it('equals a full parse after every edit of a chain, on corpus files and their concatenations', () => {
    const before = { ...reparseStats };
    const models = { ...modelStats };
    fc.assert(
      // Several corpus files in a row: edits mostly land in the middle of a larger file, where
      // only a window is re-parsed (most of a small file is re-parsed in full).
      fc.property(
        fc.array(fc.integer({ min: 0, max: files.length - 1 }), { minLength: 1, maxLength: 6 }),
        fc.array(edit, { minLength: 1, maxLength: 6 }),
        (fis, edits) => {
          let text = fis.map((fi) => files[fi]!).join('\n');
          let doc = parse(text);
          let model = buildModel(doc);
          for (const e of edits) {
            text = applyRandom(text, e);
            doc = reparse(doc, text);
            assert.deepEqual(plain(doc), plain(parse(text)));
            model = buildModel(doc, {}, model);
            const full = parse(text);
            const fullModel = buildModel(full);
            assert.deepEqual(plainModel(model), plainModel(fullModel));
            // Rules cached per interface give what a fresh validation gives, line numbers included.
            assert.deepEqual(validate({ doc, model, file: 'f' }), validate({ doc: full, model: fullModel, file: 'f' }));
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    // Most random edits land after the first stanza: the window path must be what was tested.
    const inc = reparseStats.incremental - before.incremental;
    const full = reparseStats.full - before.full;
    assert.ok(inc > full, `only ${inc} incremental re-parses against ${full} full ones`);
    assert.ok(modelStats.patched - models.patched > RUNS, `only ${modelStats.patched - models.patched} patched models`);
  });

  it('equals a full parse after the edits the API makes, in sequence, on a large file', () => {
    let text = 'auto lo\niface lo inet loopback\n\n';
    for (let i = 0; i < 300; i++)
      text += `auto vmbr${i}\niface vmbr${i} inet static\n\taddress 10.0.${i}.1/24\n\tbridge-ports none\n\n`;
    let doc = parse(text);
    let model = buildModel(doc);
    const steps: ((d: Document, m: Model) => ReturnType<typeof planCreate>)[] = [
      (d, m) => planUpdate(d, m, 'vmbr10', { comments: 'uplink' }, []),
      (d, m) => planUpdate(d, m, 'vmbr299', { cidr: '10.1.0.1/24', mtu: '9000' }, []),
      (d, m) => planCreate(d, m, 'vmbr300', { type: 'bridge', autostart: '1', bridge_ports: 'eno1' }),
      (d, m) => planDelete(d, m, 'vmbr150'),
      (d, m) => planUpdate(d, m, 'vmbr10', {}, ['comments']),
      (d, m) => planUpdate(d, m, 'vmbr20', { autostart: '0' }, []),
      (d, m) => planDelete(d, m, 'vmbr300'),
    ];
    const before = { ...reparseStats };
    const models = { ...modelStats };
    for (const step of steps) {
      text = applyEdits(text, step(doc, model));
      doc = reparse(doc, text);
      model = buildModel(doc, {}, model);
      assert.deepEqual(plain(doc), plain(parse(text)));
      assert.deepEqual(plainModel(model), plainModel(buildModel(parse(text))));
      assert.deepEqual(
        validate({ doc, model, file: 'f' }),
        validate({ doc: parse(text), model: buildModel(parse(text)), file: 'f' }),
      );
    }
    assert.equal(reparseStats.full, before.full, 'every API edit of this file re-parses a window only');
    // The four updates patch the model; the create and the two deletes (priorities) build it.
    assert.equal(modelStats.patched - models.patched, 4);
    // Unchanged interfaces keep their model objects: the point of building incrementally.
    const again = buildModel(doc, {}, model);
    assert.equal(again.ifaces.get('vmbr5'), model.ifaces.get('vmbr5'));
  });

  it('keeps no earlier version of the file alive (window strings are sliced from a copy)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let text = 'auto lo\niface lo inet loopback\n\n';
    for (let i = 0; i < 2000; i++)
      text += `auto vmbr${i}\niface vmbr${i} inet static\n\taddress 10.${i >> 8}.${i & 255}.1/24\n\tbridge-ports none\n\t# the bridge number ${i} of many\n\n`;
    let doc = parse(text);
    let model = buildModel(doc);
    const edit = (n: number): void => {
      text = applyEdits(
        text,
        planUpdate(doc, model, `vmbr${1 + ((n * 7) % 1990)}`, { comments: `changed ${n} times over` }, []),
      );
      doc = reparse(doc, text);
      model = buildModel(doc, {}, model);
    };
    for (let n = 0; n < 50; n++) edit(n);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let n = 50; n < 350; n++) edit(n);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // One version of this file is ~170 KB: 300 leaked versions would be ~50 MB.
    assert.ok(grown < 15e6, `heap grew by ${(grown / 1e6).toFixed(1)} MB over 300 edits`);
  });
});
