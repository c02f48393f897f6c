/**
 * The Fleet page in real Chromium against a real fleet: one etcd member, two `nodenet agent`
 * processes (n1, n2) and one `nodenet serve --etcd` (bin/nodenet over dist/: `npm run build`
 * first). Driven by visible labels: both nodes listed online, a click opens a node's own network
 * view, a bridge staged on both nodes shows two diffs (start=0), Start ends with both nodes
 * confirmed (their live files on disk are the oracle), a killed agent shows offline; axe finds
 * no serious violation on the page and its dialogs. Screenshots: test-results/web-fleet-*.png.
 */
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, loginAs, newPage, prereqs, shot, startWeb } from './harness.ts';
import { PASSWORD, nodeFile, readLive, requireFleet, startFleet } from '../fleet/harness.ts';
import type { Fleet, Proc } from '../fleet/harness.ts';

let fleet: Fleet | undefined;
let browser: Browser | undefined;
let ok = false;

before((t) => {
  const ctx = t as unknown as TestContext;
  ok = requireFleet(ctx) && prereqs(ctx);
});
after(async () => {
  await browser?.close();
  await fleet?.close();
});

function axeSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
}

/** Serious and critical axe violations on the page (or inside `scope`), as text. */
async function axe(page: Page, what: string, scope?: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: axeSource() });
  const v = await page.evaluate(async (sel) => {
    const a = (
      globalThis as unknown as {
        axe: {
          run(
            c: unknown,
            o: unknown,
          ): Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const r = await a.run(sel ? { include: [sel] } : { exclude: [] }, { resultTypes: ['violations'] });
    return r.violations.map((x) => ({ id: x.id, impact: x.impact, at: x.nodes.map((n) => n.target.join(' ')) }));
  }, scope ?? null);
  return v
    .filter((x) => x.impact === 'serious' || x.impact === 'critical')
    .map((x) => `${what}: ${x.impact} ${x.id} at ${x.at.join(', ')}`);
}

async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Realm').selectOption('pve');
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** The row of `node` in the Fleet page's node table. */
const nodeRow = (page: Page, node: string) =>
  page.locator('#fleet-nodes tbody tr').filter({ has: page.getByRole('rowheader', { name: node, exact: true }) });

test('fleet page: nodes online, stage a bridge on two nodes, two diffs, start, both confirmed; offline', async (t) => {
  if (!ok) return t.skip('no fleet');
  fleet = await startFleet(1);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  const f = fleet;
  const agents: (Proc & { root: string })[] = [];
  for (const [i, n] of ['n1', 'n2'].entries()) agents.push(await f.agent(n, nodeFile(`10.0.${i}.1/24`)));
  const srv = await f.server('api1');
  const url = `https://127.0.0.1:${srv.port}/`;
  const errors: string[] = [];
  const ctx = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    ignoreHTTPSErrors: true,
    bypassCSP: true, // for the injected axe script only
  });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (
      m.type() === 'error' &&
      !/^Failed to load resource: the server responded with a status of (400|409|501|595)\b/.test(m.text())
    )
      errors.push(`console: ${m.text()}`);
  });
  await logIn(page, url);

  // A fleet server opens on the Fleet tab: both nodes listed, online.
  const fleetTab = page.getByRole('tab', { name: 'Fleet' });
  await fleetTab.waitFor();
  assert.equal(await fleetTab.getAttribute('aria-selected'), 'true');
  for (const n of ['n1', 'n2']) await nodeRow(page, n).getByText('online', { exact: true }).waitFor();
  // the drift column is filled from each node's verify (backend none: "In sync")
  await nodeRow(page, 'n1').getByText('In sync').waitFor();
  await shot(page, 'fleet-nodes');
  const found = await axe(page, 'fleet page');

  // Keyboard: the node's button keeps the focus while the table is re-drawn (every 2 s), Enter
  // opens the node's own network view; the header's switch shows the other node.
  const open2 = nodeRow(page, 'n2').getByRole('button', { name: 'n2' });
  await open2.focus();
  await open2.evaluate((b) => ((b as unknown as { old: boolean }).old = true));
  await page.waitForFunction(
    "(() => { const b = document.querySelector('#fleet-nodes tbody tr:nth-child(2) button'); return b && b.old === undefined; })()",
  );
  assert.equal(
    await page.evaluate('document.activeElement && document.activeElement.textContent'),
    'n2',
    'focus kept on the redrawn row',
  );
  await page.keyboard.press('Enter');
  await page.getByRole('tab', { name: 'Interfaces' }).and(page.locator('[aria-selected=true]')).waitFor();
  await page.locator('[data-testid="row-vmbr0"]').waitFor();
  assert.equal(await page.getByLabel('Node shown').inputValue(), 'n2');
  await page.getByLabel('Node shown').selectOption('n1');
  await page.locator('[data-testid="row-vmbr0"]').waitFor();
  assert.equal(await page.getByLabel('Node shown').inputValue(), 'n1');
  await page.getByRole('tab', { name: 'Fleet' }).click();

  // Stage one bridge on both nodes: the existing Linux Bridge dialog's fields, then two diffs.
  await page.getByRole('button', { name: 'Stage on several nodes…' }).click();
  const stage = page.getByRole('dialog', { name: 'Stage one change on several nodes' });
  await stage.getByRole('button', { name: 'Next: the change…' }).click();
  await stage.getByText('Choose at least one node.').waitFor();
  await stage.getByLabel('n1', { exact: true }).check();
  await stage.getByLabel('n2', { exact: true }).check();
  await stage.getByLabel('Linux Bridge').check();
  await stage.getByLabel('Confirm window per node (seconds)').fill('30');
  await shot(page, 'fleet-stage');
  found.push(...(await axe(page, 'stage dialog', '#stage-dialog')));
  await stage.getByRole('button', { name: 'Next: the change…' }).click();
  const edit = page.getByRole('dialog', { name: /Create: Linux Bridge/ });
  await edit.getByLabel('Name').fill('vmbr9');
  await edit.getByLabel('Comment').fill('fleet web test');
  await edit.getByRole('button', { name: 'Create' }).click();

  const ro = page.getByRole('dialog', { name: /^Rollout / });
  await ro.waitFor();
  for (const n of ['n1', 'n2']) {
    const diff = ro.getByRole('region', { name: `Changes on ${n}` });
    await diff.getByText('iface vmbr9 inet manual').waitFor();
    assert.match(await diff.innerText(), /\+.*iface vmbr9/);
  }
  await ro.locator('#rollout-state').getByText('staged', { exact: true }).waitFor();
  // nothing is live yet: start=0 only staged
  for (const a of agents) assert.ok(!readLive(a.root).includes('vmbr9'), 'not applied before Start');
  await shot(page, 'fleet-rollout-staged');
  found.push(...(await axe(page, 'rollout dialog', '#rollout-dialog')));

  await ro.getByRole('button', { name: 'Start' }).click();
  await page.getByRole('dialog', { name: 'Start' }).getByRole('button', { name: 'Start' }).click();
  for (const n of ['n1', 'n2'])
    await ro
      .getByRole('row', { name: new RegExp(`^${n}\\b`) })
      .getByText('confirmed', { exact: true })
      .waitFor({ timeout: 90_000 });
  await ro.locator('#rollout-state').getByText('done', { exact: true }).waitFor({ timeout: 30_000 });
  for (const a of agents) assert.ok(readLive(a.root).includes('iface vmbr9 inet manual'), 'live on both nodes');
  await shot(page, 'fleet-rollout-done');
  await page.locator('#fleet-rollouts-table tbody tr').first().getByText('done', { exact: true }).waitFor();

  // Roll back asks first: Cancel changes nothing; confirmed, both nodes get their old file back.
  const live = agents.map((a) => readLive(a.root));
  await ro.getByRole('button', { name: 'Roll back' }).click();
  const ask = page.getByRole('dialog', { name: 'Roll back' });
  await ask.getByText(/Every node it changed gets its previous configuration back/).waitFor();
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await ask.waitFor({ state: 'detached' });
  assert.equal(await ro.locator('#rollout-state [data-state]').innerText(), 'done');
  assert.deepEqual(
    agents.map((a) => readLive(a.root)),
    live,
  );
  await ro.getByRole('button', { name: 'Roll back' }).click();
  await ask.getByRole('button', { name: 'Roll back' }).click();
  await ro
    .locator('#rollout-state')
    .getByText('rolled back', { exact: true })
    .waitFor({ timeout: 90_000 })
    .catch(async (e: Error) => {
      await shot(page, 'fleet-rollback-failed');
      throw new Error(`${e.message}\n${await ro.innerText()}`);
    });
  for (const n of ['n1', 'n2'])
    await ro
      .getByRole('row', { name: new RegExp(`^${n}\\b`) })
      .getByText('rolled back', { exact: true })
      .waitFor();
  for (const a of agents) assert.ok(!readLive(a.root).includes('vmbr9'), 'rolled back on both nodes');
  assert.equal(await ro.getByRole('button', { name: 'Roll back' }).isVisible(), false);
  await shot(page, 'fleet-rollout-rolled-back');
  await ro.getByRole('button', { name: 'Close' }).last().click();
  await page.locator('#fleet-rollouts-table tbody tr').first().getByText('rolled back', { exact: true }).waitFor();

  // A killed agent: its node is shown offline (TTL 3 s) and its drift unknown.
  agents[1]!.kill('SIGKILL');
  await nodeRow(page, 'n2').getByText('offline', { exact: true }).waitFor({ timeout: 30_000 });
  assert.equal(await nodeRow(page, 'n2').getAttribute('data-status'), 'offline');
  await nodeRow(page, 'n1').getByText('online', { exact: true }).waitFor();
  await shot(page, 'fleet-offline');

  // zh-CN: the page's strings come from the catalogue.
  await page.getByLabel(/Language/).selectOption('zh-CN');
  await page.getByRole('tab', { name: '集群' }).waitFor();
  await nodeRow(page, 'n2').getByText('离线', { exact: true }).waitFor();
  await page.locator('#fleet-rollouts-table').getByText('已回滚', { exact: true }).waitFor();
  await shot(page, 'fleet-zh');
  found.push(...(await axe(page, 'fleet page zh')));

  assert.deepEqual(found, []);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a single-node server has no Fleet tab and no node switch', async (t) => {
  if (!prereqs(t)) return;
  const w = await startWeb();
  try {
    const errors: string[] = [];
    const page = await newPage(w, errors);
    await loginAs(page, w.url);
    assert.equal(await page.getByRole('tab', { name: 'Fleet' }).count(), 0);
    assert.equal(await page.getByLabel('Node shown').count(), 0);
    assert.equal(await page.locator('#node-name').innerText(), 'node pve');
    assert.equal(await page.getByRole('tab', { name: 'Interfaces' }).getAttribute('aria-selected'), 'true');
    assert.deepEqual(errors, []);
  } finally {
    await w.close();
  }
});
