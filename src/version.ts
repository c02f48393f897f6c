/**
 * nodenet's version: the `version` of the package.json one directory above this module (the
 * repository's, from src/ under tsx and from dist/), else two above: the .deb's bundle
 * /usr/lib/nodenet/dist/cli/main.js reads /usr/lib/nodenet/package.json. Read once.
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
    cached = null;
    for (const p of ['../package.json', '../../package.json']) {
      try {
        cached = (JSON.parse(readFileSync(fileURLToPath(new URL(p, import.meta.url)), 'utf8')) as { version: string })
          .version;
        break;
      } catch {
        continue;
      }
    }
  }
  return cached ?? fallback;
}
