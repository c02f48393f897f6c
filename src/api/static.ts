/**
 * Static files of the web UI (served at `/`, everything outside `/api2`). The UI talks only to
 * the REST API. Files come from a fixed list of directories; the request path is resolved
 * inside them and refused if it escapes (no `..`, no symlinks out, no dotfiles).
 */
import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** Headers every UI response carries: no framing, no sniffing, scripts only from here. */
export const UI_SECURITY_HEADERS: Record<string, string> = {
  // connect-src https: lets the page probe the node's new address after an apply moved the
  // address it was reached on; scripts still come only from here.
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' https:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/** The default UI directories: the compiled app (dist/web) and the static files (web/static). */
export function defaultUiRoots(): string[] {
  // this module is src/api/static.ts (tsx) or dist/api/static.js (built): the repo is two up
  const here = fileURLToPath(new URL('.', import.meta.url));
  const repo = resolve(here, '..', '..');
  return [join(repo, 'dist', 'web'), join(repo, 'web', 'static')];
}

/**
 * A handler for GET/HEAD requests outside `/api2`: resolves `true` when it answered.
 * `/` serves `index.html`.
 */
export function staticHandler(
  roots: readonly string[],
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const bases = roots.map((r) => resolve(r));
  return async (req, res) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    let path = (req.url ?? '/').split('?')[0]!;
    try {
      path = decodeURIComponent(path);
    } catch {
      return false;
    }
    if (path === '/' || path === '') path = '/index.html';
    if (path.includes('\0') || path.split('/').some((seg) => seg.startsWith('.'))) return false;
    for (const base of bases) {
      const file = normalize(join(base, path));
      if (!file.startsWith(base + sep)) continue;
      let real: string;
      try {
        real = await fs.realpath(file);
        if (!real.startsWith(base + sep) && real !== base) continue;
        const st = await fs.stat(real);
        if (!st.isFile()) continue;
      } catch {
        continue;
      }
      const body = await fs.readFile(real);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(real)] ?? 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': path === '/index.html' ? 'no-cache' : 'max-age=300',
        ...UI_SECURITY_HEADERS,
      });
      res.end(method === 'HEAD' ? undefined : body);
      return true;
    }
    return false;
  };
}
