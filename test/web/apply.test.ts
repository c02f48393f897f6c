/**
 * Browser tests of the apply paths against the real demo (`scripts/demo.mjs`: the netns backend,
 * the real ifupdown2 in a private namespace, HTTPS with its self-signed certificate), in headless
 * Debian Chromium. Screenshots: test-results/apply-*.png.
 *
 * A newcomer's first apply: a fresh demo is in sync (the demo left out what this kernel cannot
 * make); a new bridge reaches the confirm window; closing the dialog keeps the window on the
 * page (banner), after a reload and in a second tab, and Keep there keeps it; an unconfirmed
 * apply rolls back by itself, the page says so and offers the change back as staged. Stopping
 * the demo with SIGTERM removes its namespace.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, RESULTS, assertTopologyPlanar } from './harness.ts';
import { demoPrereqs, startDemo, type Demo } from './demo-harness.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const missing = demoPrereqs();
let demo: Demo | undefined;
let browser: Browser | undefined;
const errors: string[] = [];

before(async () => {
  if (missing.length) return;
  demo = await startDemo();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  await fs.mkdir(RESULTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  if (demo && demo.namespaces().length) await demo.stop();
});

function skipUnlessReady(t: { skip(m: string): void }): boolean {
  if (!missing.length && demo && browser) return true;
  const msg = `prerequisite missing: ${missing.join(', ')}`;
  if (process.env.CI === 'true') assert.fail(msg);
  t.skip(msg);
  return false;
}

async function context(): Promise<BrowserContext> {
  return browser!.newContext({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: true });
}

async function page(ctx: BrowserContext): Promise<Page> {
  const p = await ctx.newPage();
  // the machine may be shared and busy: a slow step is not a failure (no timing is asserted)
  p.setDefaultTimeout(90_000);
  p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return p;
}

async function login(p: Page): Promise<void> {
  await p.goto(demo!.url);
  await p.fill('#login-user', demo!.user.replace(/@pve$/, ''));
  await p.fill('#login-password', demo!.password);
  await p.selectOption('#login-realm', 'pve');
  await p.click('#login-submit');
  await p.waitForSelector('[data-testid="row-vmbr0"]');
}

const shot = (p: Page, name: string): Promise<Buffer> => p.screenshot({ path: join(RESULTS, `apply-${name}.png`) });

async function createBridge(p: Page, name: string, cidr: string): Promise<void> {
  await p.click('#btn-create');
  await p.click('#create-bridge');
  await p.waitForSelector('#edit-dialog');
  await p.fill('#f-iface', name);
  await p.fill('#f-cidr', cidr);
  await p.click('#edit-ok');
  await p.waitForSelector('#edit-dialog', { state: 'detached' });
  await p.waitForSelector(`[data-testid="row-${name}"]`);
}

async function applyWithWindow(p: Page, seconds: number): Promise<void> {
  await p.click('#btn-apply');
  await p.fill('#apply-timeout', String(seconds));
  await p.click('#apply-go');
  await p.waitForSelector('#apply-countdown', { timeout: 60_000 });
}

/** A GET with the page's session (its ticket cookie). */
async function api<T>(path: string, p: Page): Promise<T> {
  const r = await p.evaluate(async (u) => (await fetch(u, { credentials: 'same-origin' })).json(), `/api2/json${path}`);
  return (r as { data: T }).data;
}

test('a fresh demo starts in sync on this kernel and says what it left out', async (t) => {
  if (!skipUnlessReady(t)) return;
  const ctx = await context();
  const p = await page(ctx);
  await login(p);
  const v = await api<{ ok: number; drift: string[] }>('/nodes/localhost/network/verify', p);
  assert.deepEqual(v.drift, [], `the demo's own config does not come up here: ${v.drift.join('; ')}`);
  assert.equal(v.ok, 1);
  const live = await fs.readFile(join(demo!.root, 'etc/network/interfaces'), 'utf8');
  const out = demo!.output();
  // whatever was left out is said both at start and in the file
  for (const m of out.matchAll(/^ {2}left out: (.*)$/gm))
    assert.ok(live.includes(`#   - ${m[1]}`), `${m[1]} is noted in the file`);
  await p.waitForSelector('#drift-badge:has-text("In sync")');
  await ctx.close();
});

test('first apply of a new bridge: confirm window, close the dialog, reload, second tab, Keep in the banner', async (t) => {
  if (!skipUnlessReady(t)) return;
  const ctx = await context();
  const p = await page(ctx);
  await login(p);
  await createBridge(p, 'vmbr5', '10.55.0.1/24');
  await applyWithWindow(p, 300);
  const log = await p.textContent('#apply-log');
  assert.doesNotMatch(log ?? '', /nodenet confirm`? within|POST \.\.\.\/confirm/, 'the task log speaks of Keep');
  assert.match(log ?? '', /press Keep/);
  await shot(p, '01-countdown');
  // close the dialog with ×: the window stays on the page
  await p.click('#apply-dialog button[aria-label="Close"]');
  await p.waitForSelector('#apply-dialog', { state: 'detached' });
  await p.waitForSelector('#confirm-banner #banner-keep:not([disabled])');
  assert.match((await p.textContent('#confirm-banner')) ?? '', /Apply #\d+ \(vmbr5\) is live on trial/);
  assert.equal(await p.locator('#btn-apply').isDisabled(), true, 'no second apply while the window is open');
  // the grid no longer shows the applied bridge as pending
  await p.waitForSelector('#pending', { state: 'hidden' });
  await shot(p, '02-banner');
  // a reload, another tab (other page of the UI) and still the window
  await p.reload();
  await p.waitForSelector('#confirm-banner #banner-countdown');
  const p2 = await page(ctx);
  await login(p2); // a tab keeps its own session (sessionStorage), as in Proxmox VE
  await p2.click('#tab-history');
  await p2.waitForSelector('#confirm-banner #banner-keep:not([disabled])');
  await shot(p2, '03-banner-second-tab');
  const id = Number(/#(\d+)/.exec((await p2.textContent('#banner-text')) ?? '')?.[1]);
  await p2.click('#banner-keep');
  // the end is announced in both tabs
  await p2.waitForSelector(`#confirm-banner.ended:has-text("Apply #${id} was kept")`);
  await p.waitForSelector(`#confirm-banner.ended:has-text("Apply #${id} was kept")`);
  await shot(p, '04-kept');
  const v = await api<{ ok: number; drift: string[] }>('/nodes/localhost/network/verify', p);
  assert.deepEqual(v.drift, []);
  const hist = await api<{ id: number; outcome: string; changed: string[] }[]>('/nodes/localhost/network/history', p);
  assert.equal(hist.find((e) => e.id === id)?.outcome, 'committed');
  assert.equal(await p.locator('#btn-apply').isDisabled(), true, 'nothing staged now');
  await ctx.close();
});

test('an unconfirmed apply rolls back by itself, the page says so and offers the change back as staged', async (t) => {
  if (!skipUnlessReady(t)) return;
  const ctx = await context();
  const p = await page(ctx);
  await login(p);
  await createBridge(p, 'vmbr6', '10.66.0.1/24');
  await applyWithWindow(p, 5);
  await p.click('#apply-dialog button[aria-label="Close"]');
  // the guard rolls back at the deadline; the banner announces it
  await p.waitForSelector(
    '#confirm-banner.ended:has-text("was rolled back: nobody pressed Keep before the deadline")',
    { timeout: 90_000 },
  );
  await shot(p, '05-rolled-back');
  // the list is re-read when the window ends (asynchronously: on a loaded machine it lands later)
  await p.waitForSelector('[data-testid="row-vmbr6"]', { state: 'detached', timeout: 30_000 });
  assert.equal(await p.locator('[data-testid="row-vmbr6"]').count(), 0, 'vmbr6 is gone from the live config');
  await p.click('#banner-restage');
  await p.waitForSelector('#pending-diff');
  assert.match((await p.textContent('#pending-diff')) ?? '', /\+iface vmbr6 inet static/);
  await p.waitForSelector('[data-testid="row-vmbr6"]');
  await shot(p, '06-restaged');
  // and it applies (without a window) and verifies
  await p.click('#btn-apply');
  await p.fill('#apply-timeout', '0');
  await p.click('#apply-go');
  await p.waitForSelector('#apply-state.good', { timeout: 60_000 });
  await ctx.close();
  assert.deepEqual(errors, []);
});

test("a physical NIC is edited as Proxmox VE allows; ports are picked from the node's NICs, an unknown one is flagged; remove names what depends", async (t) => {
  if (!skipUnlessReady(t)) return;
  const ctx = await context();
  const p = await page(ctx);
  await login(p);
  await p.click('[data-testid="row-eno3"]');
  assert.equal(await p.locator('#btn-edit').isDisabled(), false, 'a NIC can be edited');
  await p.click('#btn-edit');
  await p.waitForSelector('#edit-dialog #eth-hint');
  assert.equal(await p.locator('#f-iface').getAttribute('readonly'), '');
  await p.fill('#f-mtu', '9000');
  await p.fill('#f-comments', 'spare 10G port');
  await shot(p, '09-nic-edit');
  await p.click('#edit-ok');
  await p.waitForSelector('#edit-dialog', { state: 'detached' });
  await p.waitForSelector('#pending-diff');
  const diff = (await p.textContent('#pending-diff')) ?? '';
  assert.match(diff, /iface eno3 inet manual/);
  assert.match(diff, /\+\s+mtu 9000/);
  // a bridge whose ports are picked from the NICs
  await p.click('#btn-create');
  await p.click('#create-bridge');
  await p.waitForSelector('#edit-dialog');
  assert.equal(await p.locator('[data-testid="pick-bridge_ports-eno1"]').count(), 1);
  await p.click('[data-testid="pick-bridge_ports-eno3"]');
  assert.equal(await p.inputValue('#f-bridge_ports'), 'eno3');
  assert.equal(await p.getAttribute('[data-testid="pick-bridge_ports-eno3"]', 'aria-pressed'), 'true');
  await p.fill('#f-bridge_ports', 'eno3 eno9');
  await p.waitForSelector('#f-bridge_ports-warn:has-text("Not a device of this node: eno9")');
  await shot(p, '10-port-picker');
  await p.click('[data-testid="edit-cancel"]');
  // remove the management bridge: the NAT rules naming it and the gateway are listed
  await p.click('[data-testid="row-vmbr0"]');
  await p.click('#btn-remove');
  await p.waitForSelector('#remove-deps');
  const deps = (await p.textContent('#remove-deps')) ?? '';
  assert.match(deps, /vmbr2: NAT rule naming vmbr0/);
  assert.match(deps, /vmbr2: port forward \(NAT rule\) naming vmbr0/);
  assert.match(deps, /vmbr0: the node's default gateway 192\.0\.2\.1/);
  await shot(p, '11-remove-deps');
  await p.click('[data-testid="remove-dialog-no"]');
  await p.click('#btn-revert');
  await p.click('[data-testid="revert-dialog-yes"]');
  await p.waitForSelector('#pending', { state: 'hidden' });
  await ctx.close();
});

test('details panel: MAC, MTU, carrier, speed and counters from the running kernel, and a live traffic graph', async (t) => {
  if (!skipUnlessReady(t)) return;
  const ctx = await context();
  const p = await page(ctx);
  await login(p);
  await p.click('[data-testid="row-vmbr0"]');
  await p.click('#btn-details');
  await p.waitForSelector('#details-mac');
  // the oracle: ip itself, in the demo's namespace
  const ns = demo!.namespaces().find((n) => !n.endsWith('-peer'))!;
  const ip = JSON.parse(
    spawnSync('ip', ['-n', ns, '-j', 'link', 'show', 'dev', 'vmbr0'], { encoding: 'utf8' }).stdout,
  ) as { address: string; mtu: number }[];
  assert.equal(await p.textContent('#details-mac'), ip[0]!.address);
  assert.equal(await p.textContent('#details-mtu'), String(ip[0]!.mtu));
  assert.match((await p.textContent('#details-carrier')) ?? '', /^yes/);
  const sent = async (): Promise<number> =>
    Number((/^([\d,.\s]+) bytes/.exec((await p.textContent('#details-tx')) ?? '')?.[1] ?? '0').replace(/\D/g, ''));
  const before = await sent();
  // traffic out of vmbr0: UDP to the (absent) gateway makes the kernel ARP for it
  spawnSync(
    'ip',
    ['netns', 'exec', ns, 'bash', '-c', 'for i in 1 2 3; do echo hi > /dev/udp/192.0.2.1/9; sleep 0.3; done'],
    { encoding: 'utf8' },
  );
  for (let i = 0; (await sent()) <= before; i++) {
    assert.ok(i < 40, 'the sent counter did not grow');
    await new Promise((r) => setTimeout(r, 500));
  }
  await p.waitForSelector('#details-graph polyline.graph-tx');
  assert.ok((await sent()) > before);
  await shot(p, '12-details');
  await p.click('[data-testid="details-close"]');
  await ctx.close();
});

test('drift badge opens the differences (interface, file, kernel) and Repair brings the kernel back', async (t) => {
  if (!skipUnlessReady(t)) return;
  const ctx = await context();
  const p = await page(ctx);
  await login(p);
  await p.waitForSelector('#drift-badge:has-text("In sync")');
  // drift made by hand inside the demo's namespace: vmbr2 loses its address
  const ns = demo!.namespaces().find((n) => !n.endsWith('-peer'))!;
  const del = spawnSync('ip', ['-n', ns, 'addr', 'del', '10.10.10.1/24', 'dev', 'vmbr2'], { encoding: 'utf8' });
  assert.equal(del.status, 0, del.stderr);
  await p.click('#drift-badge');
  await p.waitForSelector('#drift-table');
  const row = await p.textContent('[data-testid="drift-row-vmbr2"]');
  assert.match(row ?? '', /vmbr2.*address 10\.10\.10\.1\/24.*no such address/);
  assert.match((await p.textContent('#drift-badge')) ?? '', /Drift: 1/);
  await shot(p, '07-drift-panel');
  await p.click('#drift-repair');
  await p.waitForSelector('#drift-repaired.good', { timeout: 60_000 });
  await p.waitForSelector('#drift-none');
  await p.waitForSelector('#drift-badge:has-text("In sync")');
  await ctx.close();
});

test('history: the same #N as the CLI; Roll back #N asks first and shows what changes', async (t) => {
  if (!skipUnlessReady(t)) return;
  const ctx = await context();
  const p = await page(ctx);
  await login(p);
  await p.click('#tab-history');
  await p.waitForSelector('details.hist');
  const ui = await p.$$eval('details.hist summary strong', (els) => els.map((e) => e.textContent));
  const cli = spawnSync(
    process.execPath,
    [join(REPO, 'bin/nodenet'), '--root', demo!.root, '--output-format', 'json', 'history'],
    { encoding: 'utf8', cwd: REPO },
  );
  assert.equal(cli.status, 0, cli.stderr);
  const entries = JSON.parse(cli.stdout) as { id: number; changed: string[]; outcome: string }[];
  const ids = entries.map((e) => `#${e.id}`);
  assert.deepEqual([...ui].sort(), [...ids].sort());
  // the apply that made vmbr6 live: rolling it back (restoring the file before it) removes vmbr6
  const newest = entries.filter((e) => e.changed.includes('vmbr6') && e.outcome === 'committed').pop()!.id;
  await p.click(`#history-${newest} summary`);
  await p.click(`#history-rollback-${newest}`);
  await p.waitForSelector('#rollback-dialog #rollback-diff');
  assert.match((await p.textContent('#rollback-what')) ?? '', new RegExp(`before #${newest}`));
  assert.match((await p.textContent('#rollback-diff')) ?? '', /-iface vmbr6 inet static/);
  await shot(p, '08-rollback-confirm');
  await p.click('[data-testid="rollback-cancel"]');
  assert.equal(
    spawnSync('grep', ['-c', 'vmbr6', join(demo!.root, 'etc/network/interfaces')], {
      encoding: 'utf8',
    }).stdout.trim() !== '0',
    true,
    'Cancel changed nothing',
  );
  await p.click(`#history-rollback-${newest}`);
  await p.click('#rollback-go');
  await p.waitForSelector('#rollback-state.good', { timeout: 60_000 });
  assert.doesNotMatch(await fs.readFile(join(demo!.root, 'etc/network/interfaces'), 'utf8'), /vmbr6/);
  await ctx.close();
});

test("topology: guests' ports on a bridge, read from the kernel, are small nodes that open their bridge", async (t) => {
  if (!skipUnlessReady(t)) return;
  // a VM's tap and a container's veth, as Proxmox VE names them, plugged into vmbr0 in the demo's namespace
  const ns = demo!.namespaces().find((n) => !n.endsWith('-peer'))!;
  const ip = (...a: string[]): void => {
    const r = spawnSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });
    assert.equal(r.status, 0, `ip ${a.join(' ')}: ${r.stderr}`);
  };
  ip('tuntap', 'add', 'dev', 'tap100i0', 'mode', 'tap');
  ip('link', 'add', 'veth200i0', 'type', 'veth', 'peer', 'name', 'ct200peer');
  try {
    ip('link', 'set', 'tap100i0', 'master', 'vmbr0');
    ip('link', 'set', 'veth200i0', 'master', 'vmbr0');
    const ctx = await context();
    const p = await page(ctx);
    await login(p);
    // the server reads the kernel at most every 2 s: look again until it has (no timing asserted)
    for (let i = 0; ; i++) {
      await p.click('#tab-topology');
      await p.waitForSelector('#topology-svg');
      if ((await p.locator('#topology-svg .topo-node.guest').count()) === 2) break;
      assert.ok(i < 30, "the guests' ports never showed");
      await new Promise((r) => setTimeout(r, 500));
      await p.reload();
      await p.waitForSelector('[data-testid="row-vmbr0"]');
    }
    const box = async (sel: string): Promise<{ x: number; w: number; h: number }> =>
      p.$eval(`${sel} rect`, (r) => ({
        x: Number(r.getAttribute('x')),
        w: Number(r.getAttribute('width')),
        h: Number(r.getAttribute('height')),
      }));
    const br = await box('#topology-svg .topo-node[data-iface="vmbr0"]');
    for (const g of ['tap100i0', 'veth200i0']) {
      const sel = `#topology-svg .topo-node.guest[data-guest="${g}"][data-bridge="vmbr0"]`;
      const gb = await box(sel);
      assert.ok(gb.x > br.x + br.w && gb.w < br.w, `${g} is a small node right of vmbr0`);
      assert.equal(
        await p.locator(`#topology-svg .topo-edge[data-kind="guest"][data-from="vmbr0"][data-to="guest:${g}"]`).count(),
        1,
      );
    }
    // the peer end of the veth is no guest port and no bridge port: not drawn
    assert.equal(await p.locator('#topology-svg [data-guest="ct200peer"]').count(), 0);
    await assertTopologyPlanar(p);
    await shot(p, '13-topology-guests');
    // reached by keyboard; Enter opens its bridge
    await p.focus('#topology-svg .topo-node.guest[data-guest="tap100i0"]');
    await p.keyboard.press('Enter');
    await p.waitForSelector('#edit-dialog');
    assert.equal(await p.inputValue('#f-iface'), 'vmbr0');
    await p.keyboard.press('Escape');
    await ctx.close();
  } finally {
    spawnSync('ip', ['-n', ns, 'link', 'del', 'tap100i0'], { encoding: 'utf8' });
    spawnSync('ip', ['-n', ns, 'link', 'del', 'veth200i0'], { encoding: 'utf8' });
  }
});

test('stopping the demo with SIGTERM removes its network namespace', async (t) => {
  if (!skipUnlessReady(t)) return;
  assert.ok(demo!.namespaces().length > 0, 'the demo made its namespace');
  await demo!.stop();
  assert.deepEqual(demo!.namespaces(), []);
});
