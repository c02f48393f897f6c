/**
 * nodenet's version: the `version` of the package.json one directory above this module — the
 * repository's from src/ (tsx) and dist/, /usr/lib/nodenet/package.json from the .deb's bundle
 * (cli/main.js). Read once.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let cached: string | null | undefined;

/**
 * The version, or `fallback` when no package.json can be read (the CLI says `unknown`; the API
 * answers `0.0.0`, a version clients can still parse).
 */
export function version(fallback = 'unknown'): string {
  if (cached === undefined) {
    try {
      cached = (JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string }).version;
    } catch {
      cached = null;
    }
  }
  return cached ?? fallback;
}
