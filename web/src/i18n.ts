/**
 * The UI's language: English or Simplified Chinese, from the header switch (kept in
 * localStorage) or else the browser's languages. Strings live in one catalogue per language
 * (i18n/en.ts, i18n/zh-CN.ts); dates and numbers use the chosen locale.
 */
import { en, type Key } from './i18n/en.ts';
import { zhCN } from './i18n/zh-CN.ts';

export type Lang = 'en' | 'zh-CN';
export const LANGS: Record<Lang, Record<Key, string>> = { en, 'zh-CN': zhCN };
const STORE = 'nodenet.lang';

/** The language for a list of browser languages (navigator.languages). */
export function pickLang(stored: string | null, browser: readonly string[]): Lang {
  if (stored === 'en' || stored === 'zh-CN') return stored;
  for (const l of browser) {
    if (/^zh(-(cn|hans|sg)|$)/i.test(l) || /^zh-hans/i.test(l)) return 'zh-CN';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'en';
}

let current: Lang = 'en';
try {
  current = pickLang(localStorage.getItem(STORE), navigator.languages ?? [navigator.language]);
} catch {
  current = 'en';
}

export function lang(): Lang {
  return current;
}

/** The string for `key` in the current language, `{name}` replaced from `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const s = LANGS[current][key] ?? en[key];
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

export function setLang(l: Lang): void {
  localStorage.setItem(STORE, l);
  current = l;
  document.documentElement.lang = l;
}

export function fmtDate(d: Date): string {
  return d.toLocaleString(current);
}

export function fmtNumber(n: number): string {
  return n.toLocaleString(current);
}
