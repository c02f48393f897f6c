/**
 * Language: one catalogue per language (web/src/i18n/en.ts, zh-CN.ts). Fails when a key is
 * missing in either, a string is empty, or the {placeholders} differ; the browser's language is
 * the default and the header switch changes it (real Chromium, locale zh-CN).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { en } from '../../web/src/i18n/en.ts';
import { zhCN } from '../../web/src/i18n/zh-CN.ts';
import { CHROMIUM, PASSWORD, prereqs, shot, startWeb } from './harness.ts';
import type { WebHarness } from './harness.ts';

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

test('every key is in both catalogues, none empty, the same placeholders', () => {
  const a = Object.keys(en).sort();
  const b = Object.keys(zhCN).sort();
  assert.deepEqual(a.filter((k) => !b.includes(k)), [], 'keys missing in zh-CN');
  assert.deepEqual(b.filter((k) => !a.includes(k)), [], 'keys missing in en');
  for (const k of a) {
    const e = (en as Record<string, string>)[k]!;
    const z = (zhCN as Record<string, string>)[k]!;
    assert.ok(e.trim() && z.trim(), `empty string for ${k}`);
    assert.deepEqual(placeholders(z), placeholders(e), `placeholders of ${k}`);
  }
});

let h: WebHarness | undefined;
before(async () => {
  if (existsSync(CHROMIUM)) h = await startWeb();
});
after(async () => {
  await h?.close();
});

test('the browser language picks Simplified Chinese; the header switch goes back to English', async (t) => {
  if (!prereqs(t) || !h) return;
  const ctx = await h.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await ctx.newPage();
  await page.goto(h.url);
  await page.waitForSelector('#login-form');
  assert.equal(await page.textContent('#login-submit'), '登录');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  await page.fill('#login-user', 'root');
  await page.fill('#login-password', PASSWORD);
  await page.selectOption('#login-realm', 'pam');
  await page.click('#login-submit');
  await page.waitForSelector('[data-testid="row-vmbr0"]');
  assert.equal(await page.textContent('#tab-interfaces'), '网络接口');
  assert.equal(await page.textContent('#btn-apply'), '应用配置');
  await page.waitForSelector('#drift-badge:has-text("已同步")');
  await shot(page, 'i18n-zh');
  await page.selectOption('#lang-switch', 'en');
  await page.waitForSelector('#tab-interfaces:has-text("Interfaces")');
  assert.equal(await page.textContent('#btn-apply'), 'Apply Configuration');
  // the choice is kept across a reload
  await page.reload();
  await page.waitForSelector('#tab-interfaces:has-text("Interfaces")');
  await ctx.close();
});
