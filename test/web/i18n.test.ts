/**
 * Language: one catalogue per language (web/src/i18n/en.ts, zh-CN.ts). Fails when a key is
 * missing in either, a string is empty, or the {placeholders} differ; when a UI string of
 * web/src/*.ts is not in the catalogue (test/web/i18n-lint.ts); when a dialog opened in Chinese
 * still shows an English label of the catalogue. The browser's language is the default and the
 * header switch changes it (real Chromium, locale zh-CN).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { en } from '../../web/src/i18n/en.ts';
import { zhCN } from '../../web/src/i18n/zh-CN.ts';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM, PASSWORD, REPO, prereqs, shot, startWeb } from './harness.ts';
import type { WebHarness } from './harness.ts';
import { lintDir, lintFile } from './i18n-lint.ts';
import { diagText, fmtNumber, setLang, t } from '../../web/src/i18n.ts';
import { bondMode, checkField, dependents, splitDifference, typeLabel } from '../../web/src/logic.ts';
import { driftPart, logLine } from '../../web/src/server-text.ts';
import { modelOf } from '../../src/apply/pipeline.ts';
import { emptyKernelState } from '../../src/apply/state.ts';
import { verifyState } from '../../src/apply/verify.ts';
import { repairLowMtu } from '../../src/apply/settle.ts';
import type { Backend } from '../../src/apply/backend.ts';

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

test('every key is in both catalogues, none empty, the same placeholders', () => {
  const a = Object.keys(en).sort();
  const b = Object.keys(zhCN).sort();
  assert.deepEqual(
    a.filter((k) => !b.includes(k)),
    [],
    'keys missing in zh-CN',
  );
  assert.deepEqual(
    b.filter((k) => !a.includes(k)),
    [],
    'keys missing in en',
  );
  for (const k of a) {
    const e = (en as Record<string, string>)[k]!;
    const z = (zhCN as Record<string, string>)[k]!;
    assert.ok(e.trim() && z.trim(), `empty string for ${k}`);
    assert.deepEqual(placeholders(z), placeholders(e), `placeholders of ${k}`);
  }
});

test('in zh-CN the pure helpers speak Chinese: types, checks, dependents, diagnostics by code', () => {
  setLang('zh-CN');
  try {
    assert.equal(typeLabel('bond'), 'Linux 绑定');
    assert.equal(t(bondMode('active-backup').explain), zhCN['bond.active-backup']);
    assert.equal(checkField('mtu', '99', 'bridge'), 'MTU 是 1280 到 65520 之间的整数');
    assert.deepEqual(
      dependents(
        [
          { iface: 'eno1', type: 'eth' },
          { iface: 'vmbr0', type: 'bridge', bridge_ports: 'eno1' },
        ],
        'eno1',
      ),
      [{ iface: 'vmbr0', how: '桥接端口' }],
    );
    // a known code: its own sentence; an unknown one: the template; the English original as tooltip
    const known = diagText({ code: 'PORT_IN_USE', message: 'vmbr3: eno1 is already a port of vmbr0', iface: 'vmbr3' });
    assert.equal(known.text, 'vmbr3：某个端口或从属设备已被其他网桥或绑定使用。');
    assert.equal(known.title, '原始消息：vmbr3: eno1 is already a port of vmbr0');
    const other = diagText({ code: 'SOMETHING_NEW', message: 'x', iface: 'bond0', line: 7 });
    assert.equal(other.text, 'bond0：SOMETHING_NEW（第 7 行）');
    assert.match(fmtNumber(1234567), /^1,234,567$/);
  } finally {
    setLang('en');
  }
  assert.equal(typeLabel('bond'), 'Linux Bond');
  assert.deepEqual(diagText({ code: 'PORT_IN_USE', message: 'm', hint: 'h' }), { text: 'm — h', title: '' });
  assert.equal(fmtNumber(1234.5), '1,234.5');
});

const CJK = /[\u4e00-\u9fff]/;

test('in zh-CN the parts of a verify difference read in Chinese, the English original as tooltip', () => {
  const model = modelOf(
    'auto vmbr0\niface vmbr0 inet static\n\taddress 10.0.0.1/24\n\tgateway 10.0.0.254\n' +
      '\tbridge-ports eno1 eno9\n\tmtu 9000\n\nauto vmbr1\niface vmbr1 inet manual\n\tbridge-ports none\n',
  );
  const st = emptyKernelState();
  st.interfaces.push(
    { name: 'vmbr0', kind: 'bridge', up: false, mtu: 1500, addresses: ['10.9.9.9/24'] },
    { name: 'eno1', kind: 'veth', up: true, mtu: 1500, addresses: [] },
  );
  // messages from the server's own verify, not written here
  const parts = verifyState(model, st)
    .differences.flatMap((d) => {
      const sp = splitDifference(d.message);
      return [sp.file, sp.kernel];
    })
    .filter(Boolean);
  assert.ok(parts.length >= 10, JSON.stringify(parts));
  setLang('zh-CN');
  try {
    for (const part of parts) {
      const shown = driftPart(part);
      assert.notEqual(shown.text, part, `not translated: ${part}`);
      assert.equal(shown.title, `原始消息：${part}`);
    }
    // an unknown wording stays as the server wrote it (never lost)
    assert.deepEqual(driftPart('something new'), { text: 'something new', title: '' });
    assert.deepEqual(logLine('  info: vmbr0: something from ifupdown2'), {
      text: '  info: vmbr0: something from ifupdown2',
      title: '',
    });
  } finally {
    setLang('en');
  }
  assert.deepEqual(driftPart(parts[0]!), { text: parts[0], title: '' });
});

test('the lint finds UI text outside the catalogue (it is not blind)', () => {
  const src = [
    "h('label', { for: id }, 'Bridge ports');",
    "general.textContent = 'Please fix the marked fields.';",
    'const x = { title: `Edit: ${type}` };',
    "toast(`${i.iface} removed (staged).`, 'ok');",
    "const ok = { class: 'field check', 'data-testid': 'edit-ok' };",
    "h('option', { value: p }, 'layer2+3');",
    "h('label', {}, t('edit.name'));",
  ].join('\n');
  const found = lintFile('sample.ts', src).map((f) => f.line);
  assert.deepEqual(found, [1, 2, 3, 4]);
});

test('no UI string of web/src/*.ts is outside the catalogues', () => {
  const found = lintDir(join(REPO, 'web/src')).map(
    (f) => `${f.file.replace(/.*\/web\/src\//, '')}:${f.line}: ${f.text}`,
  );
  assert.deepEqual(found, [], `UI text outside web/src/i18n/:\n${found.join('\n')}`);
});

/** The English texts of the catalogue a Chinese page must not show (parts around {placeholders}). */
// lang.*: the switch names each language in itself ("English") and says "Language" on purpose
const englishParts: { key: string; part: string }[] = Object.entries(en)
  .filter(([key]) => !key.startsWith('lang.'))
  .flatMap(([key, e]) => {
    const z = (zhCN as Record<string, string>)[key]!;
    return (
      e
        .split(/\{\w+\}/)
        .map((p) => p.trim().replace(/^[(:—·,.\s]+|[):—·,.\s]+$/g, ''))
        // a lone lower-case word ("gateway", "interfaces") is too often part of the data (comments, file names)
        .filter((p) => p.length >= 4 && /[a-z]{3}/.test(p) && (/\s/.test(p) || /^[A-Z]/.test(p)) && !z.includes(p))
        .map((part) => ({ key, part }))
    );
  });

/** Text shown by the element `sel`: its rendered text and its labels, tooltips and placeholders. */
async function shownText(page: Page, sel: string): Promise<string> {
  return page.$eval(sel, (el) => {
    const attrs = [...el.querySelectorAll('[placeholder], [title], [aria-label]'), el].flatMap((x) =>
      ['placeholder', 'title', 'aria-label'].map((a) => x.getAttribute(a) ?? ''),
    );
    // the server's original English message is kept on purpose, as a tooltip marked 原始消息
    return [
      (el as unknown as { innerText: string }).innerText,
      ...attrs.filter((a) => !a.startsWith('原始消息：')),
    ].join('\n');
  });
}

function leftoverEnglish(text: string): string[] {
  return englishParts
    .filter(({ part }) =>
      new RegExp(`(^|[^A-Za-z])${part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z]|$)`).test(text),
    )
    .map(({ key, part }) => `${key}: ${part}`);
}

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
  assert.equal(await page.title(), zhCN['app.title']);
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
  assert.equal(await page.title(), en['app.title']);
  // the choice is kept across a reload
  await page.reload();
  await page.waitForSelector('#tab-interfaces:has-text("Interfaces")');
  await ctx.close();
});

test('in Chinese every dialog speaks Chinese: create bridge/bond/VLAN, edit, remove, wizard, details, apply', async (t) => {
  if (!prereqs(t) || !h) return;
  // the oracle is not empty: the English page shows the catalogue's English labels
  assert.ok(englishParts.length > 200, `${englishParts.length} English parts`);
  const ctx = await h.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(h.url);
  await page.fill('#login-user', 'root');
  await page.fill('#login-password', PASSWORD);
  await page.selectOption('#login-realm', 'pam');
  await page.click('#login-submit');
  await page.waitForSelector('[data-testid="row-vmbr0"]');
  const check = async (what: string, sel: string): Promise<string> => {
    const text = await shownText(page, sel);
    assert.deepEqual(leftoverEnglish(text), [], `English left in ${what}:\n${text}`);
    return text;
  };
  await check('the interface grid', '.grid-wrap');
  await check('the header', 'header');
  await check('the tab bar', '.tabs');
  assert.match((await page.textContent('[data-testid="sort-bond_mode"]')) ?? '', /绑定模式/);

  // create bridge, with a server diagnostic shown in Chinese (the English original as tooltip)
  await page.click('#btn-create');
  await check('the create menu', '.create-wrap');
  await page.click('#create-bridge');
  await page.waitForSelector('#edit-dialog');
  await page.fill('#f-cidr', '10.20.0.1/33');
  await page.waitForSelector('#f-cidr-err:has-text("IPv4")');
  assert.match((await page.textContent('#f-cidr-err')) ?? '', /带前缀长度的 IPv4 地址/);
  await page.fill('#f-cidr', '10.20.0.1/24');
  await page.fill('#f-bridge_ports', 'eno1');
  await page.click('#edit-ok');
  await page.waitForSelector('#f-bridge_ports-err:not(:empty)');
  const diag = (await page.textContent('#f-bridge_ports-err')) ?? '';
  assert.match(diag, /[\u4e00-\u9fff]/, `the diagnostic is in Chinese: ${diag}`);
  assert.match((await page.getAttribute('#f-bridge_ports-err', 'title')) ?? '', /原始消息：.*already a port/);
  assert.deepEqual(leftoverEnglish(diag), []);
  await check('the create bridge dialog', '#edit-dialog .dlg-head, #edit-dialog');
  await shot(page, 'i18n-zh-bridge-diagnostic');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#edit-dialog', { state: 'detached' });

  // create bond: every mode's explanation
  await page.click('#btn-create');
  await page.click('#create-bond');
  await page.waitForSelector('#edit-dialog');
  for (const mode of [
    'balance-rr',
    'active-backup',
    'balance-xor',
    'broadcast',
    '802.3ad',
    'balance-tlb',
    'balance-alb',
  ]) {
    await page.selectOption('#f-bond_mode', mode);
    const help = (await page.textContent('#bond-mode-help')) ?? '';
    assert.match(help, /[\u4e00-\u9fff]/, `${mode}: ${help}`);
    await check(`the create bond dialog (${mode})`, '#edit-dialog');
  }
  await page.selectOption('#f-bond_mode', '802.3ad');
  await shot(page, 'i18n-zh-bond');
  await page.keyboard.press('Escape');

  // create VLAN
  await page.click('#btn-create');
  await page.click('#create-vlan');
  await page.waitForSelector('#edit-dialog');
  await check('the create VLAN dialog', '#edit-dialog');
  assert.match((await page.textContent('#edit-dialog')) ?? '', /VLAN 原始设备/);
  await page.keyboard.press('Escape');

  // edit: a bond, a NIC, a bridge
  for (const row of ['bond0', 'eno1', 'vmbr0']) {
    await page.dblclick(`[data-testid="row-${row}"]`);
    await page.waitForSelector('#edit-dialog');
    const text = await check(`the edit dialog of ${row}`, '#edit-dialog');
    assert.match(text, /编辑：/);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#edit-dialog', { state: 'detached' });
  }

  // remove, with dependents
  await page.click('[data-testid="row-vmbr0"]');
  await page.click('#btn-remove');
  await page.waitForSelector('#remove-deps');
  const rm = await check('the remove dialog', '#remove-dialog');
  assert.match(rm, /节点的默认网关 192\.0\.2\.1/);
  await shot(page, 'i18n-zh-remove');
  await page.click('[data-testid="remove-dialog-no"]');

  // details
  await page.click('[data-testid="row-vmbr0"]');
  await page.click('#btn-details');
  await page.waitForSelector('#details-dialog');
  await check('the details dialog', '#details-dialog');
  await page.click('[data-testid="details-close"]');

  // wizard: each mode
  await page.click('#tab-setup');
  for (const mode of ['bridged', 'routed', 'nat']) {
    await page.click(`[data-testid="wizard-${mode}"]`);
    await page.waitForSelector('#wizard-form-el');
    await check(`the wizard (${mode})`, '#view-setup');
  }
  await shot(page, 'i18n-zh-wizard');

  // history, IPv6, topology
  for (const [tab, ready] of [
    ['history', '#history-empty, .hist'],
    ['system', '#ipv6-state, #ipv6-unsupported'],
    ['topology', '#topology-svg'],
  ] as const) {
    await page.click(`#tab-${tab}`);
    await page.waitForSelector(`#view-${tab} :is(${ready})`);
    await check(`the ${tab} tab`, `#view-${tab}`);
  }

  // a staged change, then the apply dialog (cancelled)
  await page.click('#tab-interfaces');
  await page.click('#btn-create');
  await page.click('#create-bridge');
  await page.click('#edit-ok');
  await page.waitForSelector('#pending-diff');
  await check('the pending changes', '#pending');
  await check('the toolbar', '.toolbar');
  await page.click('#btn-apply');
  await page.waitForSelector('#apply-dialog');
  await check('the apply dialog', '#apply-dialog');
  await shot(page, 'i18n-zh-apply');
  await page.keyboard.press('Escape');
  await page.click('#btn-revert');
  await check('the revert dialog', '#revert-dialog');
  await page.click('[data-testid="revert-dialog-yes"]');
  await page.waitForSelector('#pending', { state: 'hidden' });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("in Chinese the task log of an apply reads in Chinese (the server's English as tooltip)", async (t) => {
  if (!prereqs(t) || !h) return;
  const ctx = await h.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await ctx.newPage();
  await page.goto(h.url);
  await page.fill('#login-user', 'root');
  await page.fill('#login-password', PASSWORD);
  await page.selectOption('#login-realm', 'pam');
  await page.click('#login-submit');
  await page.waitForSelector('[data-testid="row-vmbr0"]');
  await page.click('#btn-create');
  await page.click('#create-bridge');
  await page.click('#edit-ok');
  await page.waitForSelector('#pending-diff');
  await page.click('#btn-apply');
  await page.fill('#apply-timeout', '30');
  await page.click('#apply-go');
  await page.waitForSelector('#apply-keep');
  await page.click('#apply-keep');
  await page.waitForSelector('#apply-close');
  // the lines the real server wrote for this apply (its own output, indented, is left as it is)
  const lines = await page.$$eval('#apply-log div', (els) =>
    els.map((e) => ({ text: e.textContent ?? '', title: e.getAttribute('title') ?? '' })),
  );
  const own = lines.filter((l) => !/^\s/.test(l.text));
  assert.ok(own.length >= 5, JSON.stringify(lines));
  assert.deepEqual(
    own.filter((l) => !CJK.test(l.text)).map((l) => l.text),
    [],
    'task log lines left in English',
  );
  for (const l of own) assert.match(l.title, /^原始消息：[^\u4e00-\u9fff]+$/, l.text);
  await shot(page, 'i18n-zh-tasklog');
  await page.click('#apply-close');
  await ctx.close();
});

test("in zh-CN the MTU repair's log lines read in Chinese (lines from settle.ts itself)", async () => {
  const lines: string[] = [];
  const st = emptyKernelState();
  st.interfaces.push(
    { name: 'bond0.40', kind: 'vlan', up: true, mtu: 0, addresses: [] },
    { name: 'bond0.60', kind: 'vlan', up: true, mtu: 0, addresses: [] },
  );
  const backend = {
    kind: 'netns',
    readState: () => Promise.resolve(st),
    reload: () => Promise.resolve({ code: 1, log: [], errors: [] }),
  } as unknown as Backend;
  const model = modelOf('auto bond0.40\niface bond0.40 inet manual\n\nauto bond0.60\niface bond0.60 inet manual\n');
  await repairLowMtu(backend, model, (l) => lines.push(l), undefined);
  assert.equal(lines.length, 2, lines.join('\n'));
  setLang('zh-CN');
  try {
    for (const l of lines) assert.notEqual(logLine(l).text, l, `not translated: ${l}`);
  } finally {
    setLang('en');
  }
});
