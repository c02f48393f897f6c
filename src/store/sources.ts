import { promises as fs } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { decodeBytes } from '../interfaces/bytes.ts';
import type { SourceNode } from '../interfaces/syntax.ts';
import type { Paths } from './paths.ts';

export interface SourcedFile {
  /** Path relative to the root's etc/network (`interfaces.d/90-lab`). */
  name: string;
  text: string;
}

function globToRe(pattern: string): RegExp {
  const esc = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${esc}$`);
}

/**
 * Read the files that `source` lines pull in, resolved under the root
 * (an absolute `/etc/network/interfaces.d/*` means `ROOT/etc/network/interfaces.d/*`).
 * Only a glob in the last path component is supported, as in the files PVE and Debian write.
 * These files are shown and validated, never rewritten. A `source-directory` line pulls in
 * nothing: ifupdown2 3.0 has no such keyword (the parser makes it an option of the stanza above).
 */
export async function readSourced(paths: Paths, sources: readonly SourceNode[]): Promise<SourcedFile[]> {
  const out: SourcedFile[] = [];
  for (const s of sources) {
    for (const pattern of s.path.split(/\s+/)) {
      if (!pattern) continue;
      const abs = isAbsolute(pattern) ? join(paths.root, pattern) : join(paths.etcNetwork, pattern);
      const dir = dirname(abs);
      const re = globToRe(basename(abs));
      let names: string[];
      try {
        names = (await fs.readdir(dir)).sort();
      } catch {
        continue;
      }
      for (const n of names) {
        if (!re.test(n)) continue;
        const file = join(dir, n);
        try {
          const st = await fs.stat(file);
          if (!st.isFile()) continue;
          out.push({ name: relative(paths.etcNetwork, file), text: decodeBytes(await fs.readFile(file)) });
        } catch {
          // vanished between readdir and read: skip
        }
      }
    }
  }
  return out;
}
