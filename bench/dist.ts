/**
 * Benchmarks measure the code that ships: the tsc output in dist/ (`npm run bench` builds
 * first). tsx's on-the-fly transform of src/ runs measurably slower (about 1.6x on the
 * parser), so timing src/ would understate nodenet.
 */
import { existsSync } from 'node:fs';

const DIST = new URL('../dist/', import.meta.url);

/** Import a module of dist/ (path relative to dist, `.js`), typed as its source module `T`. */
export async function fromDist<T>(path: string): Promise<T> {
  const url = new URL(path, DIST);
  if (!existsSync(url)) throw new Error(`${url.pathname} is missing: run \`npm run build\` first (npm run bench does)`);
  return (await import(url.href)) as T;
}
