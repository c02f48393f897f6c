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

export const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Skip (or fail under CI=true) when Chromium or the compiled UI is missing. */
export function prereqs(t: TestContext): boolean {
  const missing = [!existsSync(CHROMIUM) && `${CHROMIUM} (apt-get install chromium)`, !existsSync(join(REPO, 'dist/web/app/main.js')) && 'dist/web/app/main.js (npm run build)'].filter(Boolean);
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
    root, srv, browser, url: `http://127.0.0.1:${addr.port}/`,
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
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (400|401|409|501)\b/.test(m.text())) errors.push(`console: ${m.text()}`);
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
