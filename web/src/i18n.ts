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

/** The browser globals this module uses (typed here: logic.ts imports it and is also run in Node). */
const web = globalThis as unknown as {
  localStorage?: { getItem(k: string): string | null; setItem(k: string, v: string): void };
  navigator?: { languages?: readonly string[]; language: string };
  document?: { documentElement: { lang: string }; title: string };
};

let current: Lang = 'en';
try {
  current = pickLang(
    web.localStorage?.getItem(STORE) ?? null,
    web.navigator?.languages ?? (web.navigator ? [web.navigator.language] : []),
  );
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
  web.localStorage?.setItem(STORE, l);
  current = l;
  if (web.document) {
    web.document.documentElement.lang = l;
    web.document.title = t('app.title');
  }
}

export function fmtDate(d: Date): string {
  return d.toLocaleString(current);
}

export function fmtNumber(n: number): string {
  return n.toLocaleString(current);
}

export function fmtTime(d: Date): string {
  return d.toLocaleTimeString(current);
}

/** A number with one decimal in the chosen locale (rates, sizes). */
export function fmtDecimal(n: number): string {
  return n.toLocaleString(current, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** Whether `key` is in the catalogue (for keys built from data: a type, a bond mode, a code). */
export function isKey(key: string): key is Key {
  return Object.hasOwn(en, key);
}

/** The catalogue string for a key built from data, or `fallback` when there is none. */
export function tOr(key: string, fallback: string, vars: Record<string, string | number> = {}): string {
  return isKey(key) ? t(key, vars) : fallback;
}

/** What the UI shows of a server diagnostic: the message by its code in the chosen language. */
export interface DiagLike {
  code: string;
  message: string;
  hint?: string;
  iface?: string;
  line?: number;
}

/**
 * A server diagnostic in the chosen language: English shows the server's message (and hint);
 * otherwise the catalogue's text for its `code`, or a generic "code on interface, line" template.
 * `title` keeps the server's original English text (shown as a tooltip) whenever it is replaced.
 */
export function diagText(d: DiagLike): { text: string; title: string } {
  const original = `${d.message}${d.hint ? ` — ${d.hint}` : ''}`;
  if (current === 'en') return { text: original, title: '' };
  const iface = d.iface ?? '?';
  const text = isKey(`diag.${d.code}`)
    ? t(`diag.${d.code}` as Key, { iface })
    : d.line !== undefined
      ? t('diag.genericLine', { code: d.code, iface, line: d.line })
      : t('diag.generic', { code: d.code, iface });
  return { text, title: t('diag.original', { msg: original }) };
}
