/**
 * Browser-test harness: a real nodenet server (plain HTTP, in-process) over a temp copy of demo/
 * (or a corpus file / generated file), a user, and headless Debian Chromium via playwright-core.
 */
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { createServer } from '../../src/api/server.ts';
import type { NodenetServer } from '../../src/api/server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const USER = 'root@pam';
export const PASSWORD = 'secret-pw-1';
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS = join(REPO, 'test-results');

export const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Skip (or fail under CI=true) when Chromium or the compiled UI is missing. */
export function prereqs(t: TestContext): boolean {
  const missing = [
    !existsSync(CHROMIUM) && `${CHROMIUM} (apt-get install chromium)`,
    !existsSync(join(REPO, 'dist/web/app/main.js')) && 'dist/web/app/main.js (npm run build)',
  ].filter(Boolean);
  if (!missing.length) return true;
  const msg = `prerequisite missing: ${missing.join(', ')}`;
  if (process.env.CI === 'true') assert.fail(msg);
  t.skip(msg);
  return false;
}

export interface WebHarness {
  root: string;
  url: string;
  srv: NodenetServer;
  browser: Browser;
  close(): Promise<void>;
}

/** Start server + browser. `interfaces` is the live file's content (default: demo/). */
export async function startWeb(interfaces?: string): Promise<WebHarness> {
  const root = await fs.mkdtemp(join(tmpdir(), 'nodenet-web-'));
  await fs.cp(join(REPO, 'demo'), root, { recursive: true });
  if (interfaces !== undefined) await fs.writeFile(join(root, 'etc/network/interfaces'), interfaces);
  const srv = createServer({ root, node: 'pve', tls: false, failDelayMs: 10 });
  await srv.auth.addUser(USER, PASSWORD);
  const addr = await srv.listen(0, '127.0.0.1');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  await fs.mkdir(RESULTS, { recursive: true });
  return {
    root,
    srv,
    browser,
    url: `http://127.0.0.1:${addr.port}/`,
    async close() {
      await browser.close();
      await srv.close(2000);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** A page that records console errors and page errors into `errors`. */
export async function newPage(h: WebHarness, errors: string[], viewport = { width: 1280, height: 800 }): Promise<Page> {
  const ctx = await h.browser.newContext({ viewport });
  const page = await ctx.newPage();
  page.on('console', (m) => {
    // Chromium logs every non-2xx API answer as a failed resource; the UI handles those (a
    // refused login, a field diagnostic, a missing endpoint) and the tests check what it shows.
    if (
      m.type() === 'error' &&
      !/^Failed to load resource: the server responded with a status of (400|401|409|501)\b/.test(m.text())
    )
      errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return page;
}

export async function loginAs(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.fill('#login-user', 'root');
  await page.fill('#login-password', PASSWORD);
  await page.selectOption('#login-realm', 'pam');
  await page.click('#login-submit');
  await page.waitForSelector('[data-testid="row-vmbr0"]');
}

export function shot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(RESULTS, `web-${name}.png`), fullPage: false });
}

/**
 * The topology's geometry read from the DOM: no line crosses a box other than its two ends', no
 * two lines cross (at least 4 line segments drawn).
 */
export async function assertTopologyPlanar(page: Page): Promise<void> {
  const boxes = await page.$$eval('#topology-svg .topo-node', (gs) =>
    gs.map((g) => {
      const r = g.querySelector('rect')!;
      return {
        id: g.getAttribute('data-node') ?? '',
        x: Number(r.getAttribute('x')),
        y: Number(r.getAttribute('y')),
        w: Number(r.getAttribute('width')),
        h: Number(r.getAttribute('height')),
      };
    }),
  );
  const edges = await page.$$eval('#topology-svg .topo-edge', (ps) =>
    ps.map((p) => {
      const nums = (p.getAttribute('d') ?? '').match(/-?[\d.]+/g)!.map(Number);
      const pts: number[][] = [];
      for (let i = 0; i + 1 < nums.length; i += 2) pts.push([nums[i]!, nums[i + 1]!]);
      return { from: p.getAttribute('data-from') ?? '', to: p.getAttribute('data-to') ?? '', pts };
    }),
  );
  const geo = { boxes, edges };
  const cross = (p1: number[], p2: number[], p3: number[], p4: number[]): boolean => {
    const d = (a: number[], b: number[], c: number[]) =>
      (b[0]! - a[0]!) * (c[1]! - a[1]!) - (b[1]! - a[1]!) * (c[0]! - a[0]!);
    return d(p3, p4, p1) * d(p3, p4, p2) < 0 && d(p1, p2, p3) * d(p1, p2, p4) < 0;
  };
  // a line's own two boxes are those its first and last points lie on (from the geometry alone)
  const onBorder = (p: number[], b: { x: number; y: number; w: number; h: number }): boolean =>
    p[0]! >= b.x - 0.5 && p[0]! <= b.x + b.w + 0.5 && p[1]! >= b.y - 0.5 && p[1]! <= b.y + b.h + 0.5;
  const touching = (e: { pts: number[][] }, b: { x: number; y: number; w: number; h: number }): boolean =>
    onBorder(e.pts[0]!, b) || onBorder(e.pts[e.pts.length - 1]!, b);
  const segs = geo.edges.flatMap((e) => e.pts.slice(1).map((q, k) => ({ e, a: e.pts[k]!, b: q })));
  assert.ok(segs.length >= 4);
  for (const { e, a, b } of segs) {
    for (const bx of geo.boxes) {
      if (touching(e, bx)) continue;
      const c = [
        [bx.x, bx.y],
        [bx.x + bx.w, bx.y],
        [bx.x + bx.w, bx.y + bx.h],
        [bx.x, bx.y + bx.h],
      ];
      const inside = (p: number[]) => p[0]! > bx.x && p[0]! < bx.x + bx.w && p[1]! > bx.y && p[1]! < bx.y + bx.h;
      assert.ok(
        !(inside(a) || inside(b) || c.some((p, k) => cross(a, b, p, c[(k + 1) % 4]!))),
        `a line of ${e.from}→${e.to} crosses the box at ${bx.x},${bx.y}`,
      );
    }
  }
  for (let i = 0; i < segs.length; i++)
    for (let j = i + 1; j < segs.length; j++)
      if (segs[i]!.e !== segs[j]!.e)
        assert.ok(
          !cross(segs[i]!.a, segs[i]!.b, segs[j]!.a, segs[j]!.b),
          `${segs[i]!.e.from}→${segs[i]!.e.to} crosses ${segs[j]!.e.from}→${segs[j]!.e.to}`,
        );
}
