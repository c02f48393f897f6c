#!/usr/bin/env node
/**
 * The layer rule of `npm run lint`: imports point downward only.
 *
 *   node scripts/check-layers.mjs [root]      (root defaults to the repository)
 *
 * Layers of src/, lowest first (derived from the imports of f5ea2dd; docs/architecture.md):
 * a module may import its own layer and the layers below it, never one above. src/ imports
 * nothing from web/, test/, bench/ or scripts/, and web/src/ imports only web/src/ (it talks to
 * src/ through the REST API and web/src/generated/, which a script writes from src/).
 * Tests (*.test.ts) are exempt: they cross layers on purpose. Imports are read with
 * TypeScript's own pre-processor, so `import type`, `export … from` and `import()` all count,
 * and an import spelled in a comment or a string does not.
 * Exit status: 0 clean, 1 on any violation (each printed as file:line: message), 2 on misuse.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** src/ layers, lowest first. `errors` is src/errors.ts, `version` src/version.ts. */
export const LAYERS = [
  'interfaces',
  'errors',
  'version',
  'model',
  'validate',
  'store',
  'core',
  'setup',
  'apply',
  'api',
  'fleet',
  'cli',
];

/** Every .ts/.mts/.mjs/.js file under dir (relative to root, with '/'), skipping tests. */
function sources(root, dir) {
  const out = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch (e) {
      if (e.code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !/\.(test|d)\.ts$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The layer of a path relative to root: 'interfaces', …, 'web', or another top folder. */
function layerOf(rel) {
  const parts = rel.split('/');
  if (parts[0] === 'web' && parts[1] === 'src') return 'web';
  if (parts[0] !== 'src') return parts[0] ?? '';
  if (parts.length === 2) return parts[1].replace(/\.[^.]+$/, '');
  return parts[1];
}

/** Why `from` may not import `to` (both relative to root), or null when it may. */
function violation(from, to) {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === 'web') return b === 'web' ? null : `web/src imports ${to} outside web/src`;
  if (b === 'web' || !to.startsWith('src/')) return `src/ imports ${to} outside src/`;
  const ra = LAYERS.indexOf(a);
  const rb = LAYERS.indexOf(b);
  if (ra < 0) return `${from} is in no known layer (add its folder to LAYERS in scripts/check-layers.mjs)`;
  if (rb < 0) return `${to} is in no known layer (add its folder to LAYERS in scripts/check-layers.mjs)`;
  if (rb > ra) return `layer ${a} imports ${b}, a layer above it (${LAYERS.join(' < ')})`;
  return null;
}

/** All violations under root, as 'file:line: message' strings. */
export function checkLayers(root) {
  const problems = [];
  for (const file of [...sources(root, 'src'), ...sources(root, 'web/src')]) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const info = ts.preProcessFile(text, true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue; // packages and node: builtins
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), ref.fileName));
      const why = violation(file, target);
      if (why === null) continue;
      const line = text.slice(0, ref.pos).split('\n').length;
      problems.push(`${file}:${line}: ${why} ('${ref.fileName}')`);
    }
  }
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.length > 1 || args[0]?.startsWith('-')) {
    console.error('usage: node scripts/check-layers.mjs [root]');
    process.exit(2);
  }
  const root = path.resolve(args[0] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  if (!fs.existsSync(path.join(root, 'src'))) {
    console.error(`check-layers: no src/ under ${root}`);
    process.exit(2);
  }
  const problems = checkLayers(root);
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-layers: ${problems.length} upward import(s); imports point downward only`);
    process.exit(1);
  }
  console.log(`check-layers: ok (${LAYERS.join(' < ')}; web/src imports only web/src)`);
}
