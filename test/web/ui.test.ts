/**
 * Browser tests: headless Debian Chromium against a real in-process nodenet server (backend
 * `none`, plain HTTP). Screenshots go to test-results/web-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM, assertTopologyPlanar, loginAs, newPage, prereqs, shot, startWeb } from './harness.ts';
import type { WebHarness } from './harness.ts';

let h: WebHarness | undefined;
const errors: string[] = [];
const available = existsSync(CHROMIUM);

before(async () => {
  if (available) h = await startWeb();
});
after(async () => {
  await h?.close();
});

test('login, grid and pending diff after creating a bridge', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors);
  await page.goto(h.url);
  await page.waitForSelector('#login-form');
  await shot(page, '01-login');
  // a wrong password shows a message
  await page.fill('#login-user', 'root');
  await page.fill('#login-password', 'wrong-password');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error:has-text("Login failed")');
  await loginAs(page, h.url);
  assert.equal(await page.locator('#pending').isHidden(), true);
  await shot(page, '02-grid');
  await page.click('#btn-create');
  await page.click('#create-bridge');
  await page.waitForSelector('#edit-dialog');
  assert.equal(await page.inputValue('#f-iface'), 'vmbr3');
  // client-side check as you type
  await page.fill('#f-cidr', '10.20.0.1/33');
  await page.waitForSelector('#f-cidr-err:has-text("IPv4")');
  await page.fill('#f-cidr', '10.20.0.1/24');
  // server diagnostic at the field: eno1 is already a port of vmbr0
  await page.fill('#f-bridge_ports', 'eno1');
  await page.click('#edit-ok');
  await page.waitForSelector('#f-bridge_ports-err:has-text("already a port")');
  await shot(page, '03-bridge-diagnostic');
  await page.fill('#f-bridge_ports', '');
  await page.fill('#f-comments', 'test bridge');
  await page.click('#edit-ok');
  await page.waitForSelector('#edit-dialog', { state: 'detached' });
  await page.waitForSelector('#pending-diff');
  const diff = await page.textContent('#pending-diff');
  assert.match(diff ?? '', /\+iface vmbr3 inet static/);
  assert.match(diff ?? '', /\+\s+address 10\.20\.0\.1\/24/);
  assert.ok((await page.locator('#pending-diff .d-add').count()) > 0, 'added lines are coloured');
  await page.waitForSelector('[data-testid="row-vmbr3"]');
  await shot(page, '04-pending');
  // sort and filter
  await page.fill('#grid-filter', 'vmbr');
  // vmbr0-3 of the main file and vmbr9 of the sourced interfaces.d/90-lab
  assert.match((await page.textContent('#grid-status')) ?? '', /5 of/);
  await page.waitForSelector('[data-testid="row-vmbr9"]');
  assert.match(
    (await page.textContent('[data-testid="row-vmbr9"]')) ?? '',
    /interfaces\.d\/90-lab/,
    'a sourced interface names its file',
  );
  await page.fill('#grid-filter', '');
  // revert
  await page.click('#btn-revert');
  await page.click('[data-testid="revert-dialog-yes"]');
  await page.waitForSelector('#pending', { state: 'hidden' });
  assert.equal(await page.locator('[data-testid="row-vmbr3"]').count(), 0);
  await page.context().close();
});

test('bond dialog fields follow the mode; VLAN name fills raw device and tag; remove names dependents', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors);
  await loginAs(page, h.url);
  await page.dblclick('[data-testid="row-bond0"]');
  await page.waitForSelector('#edit-dialog');
  assert.equal(await page.inputValue('#f-bond_mode'), 'active-backup');
  assert.equal(await page.isEnabled('#f-bond_primary'), true);
  assert.equal(await page.isDisabled('#f-bond_xmit_hash_policy'), true);
  assert.match((await page.textContent('#bond-mode-help')) ?? '', /switches to another only when it fails/);
  await page.selectOption('#f-bond_mode', '802.3ad');
  assert.equal(await page.isDisabled('#f-bond_primary'), true);
  assert.equal(await page.isEnabled('#f-bond_xmit_hash_policy'), true);
  assert.match((await page.textContent('#bond-mode-help')) ?? '', /LACP/);
  await page.selectOption('#f-bond_xmit_hash_policy', 'layer3+4');
  await shot(page, '05-bond-lacp');
  await page.click('#edit-ok');
  await page.waitForSelector('#edit-dialog', { state: 'detached' });
  await page.waitForSelector('#pending-diff');
  const diff = (await page.textContent('#pending-diff')) ?? '';
  assert.match(diff, /\+\s+bond-mode 802\.3ad/);
  assert.match(diff, /-\s+bond-primary eno2/);
  // Escape closes a dialog; VLAN name-driven fields
  await page.click('#btn-create');
  await page.click('#create-vlan');
  await page.fill('#f-iface', 'eno1.50');
  assert.equal(await page.inputValue('#f-vlan_raw_device'), 'eno1');
  assert.equal(await page.inputValue('#f-vlan_id'), '50');
  assert.equal(await page.isDisabled('#f-vlan_id'), true);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#edit-dialog', { state: 'detached' });
  // remove names dependents
  await page.click('[data-testid="row-bond0"]');
  await page.click('#btn-remove');
  await page.waitForSelector('#remove-deps');
  const deps = (await page.textContent('#remove-deps')) ?? '';
  assert.match(deps, /bond0\.50: VLAN raw device/);
  assert.match(deps, /vmbr1: bridge port/);
  await shot(page, '06-remove-deps');
  await page.click('[data-testid="remove-dialog-no"]');
  // the management bridge: the NAT rules and the port forward of vmbr2 name it, and it holds the gateway
  await page.click('[data-testid="row-vmbr0"]');
  await page.click('#btn-remove');
  await page.waitForSelector('#remove-deps');
  const deps0 = (await page.textContent('#remove-deps')) ?? '';
  assert.match(deps0, /vmbr2: NAT rule naming vmbr0: iptables -t nat -A POSTROUTING -s 10\.10\.10\.0\/24 -o vmbr0/);
  assert.match(deps0, /vmbr2: port forward \(NAT rule\) naming vmbr0: iptables -t nat -A PREROUTING -i vmbr0/);
  assert.match(deps0, /vmbr0: the node's default gateway 192\.0\.2\.1/);
  assert.doesNotMatch(deps0, /No other interface/);
  await shot(page, '06b-remove-vmbr0-deps');
  await page.click('[data-testid="remove-dialog-no"]');
  await page.click('#btn-revert');
  await page.click('[data-testid="revert-dialog-yes"]');
  await page.waitForSelector('#pending', { state: 'hidden' });
  await page.context().close();
});

test('apply with the confirm window and keep', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors);
  await loginAs(page, h.url);
  await page.click('[data-testid="row-vmbr2"]');
  await page.click('#btn-edit');
  await page.fill('#f-comments', 'kept comment');
  await page.click('#edit-ok');
  await page.waitForSelector('#pending-diff');
  await page.click('#btn-apply');
  await page.fill('#apply-timeout', '30');
  await page.click('#apply-go');
  await page.waitForSelector('#apply-keep');
  assert.ok((await page.locator('#apply-log div').count()) > 0, 'the task log is shown');
  assert.match((await page.textContent('#apply-countdown')) ?? '', /\d+ s/);
  await shot(page, '07-confirm-window');
  await page.click('#apply-keep');
  await page.waitForSelector('#apply-state:has-text("Kept")');
  await page.click('#apply-close');
  await page.waitForSelector('#pending', { state: 'hidden' });
  const live = await fs.readFile(join(h.root, 'etc/network/interfaces'), 'utf8');
  assert.match(live, /#kept comment/);
  await page.context().close();
});

test('apply and let it roll back', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors);
  await loginAs(page, h.url);
  await page.click('[data-testid="row-vmbr2"]');
  await page.click('#btn-edit');
  await page.fill('#f-comments', 'rolled back comment');
  await page.click('#edit-ok');
  await page.waitForSelector('#pending-diff');
  await page.click('#btn-apply');
  await page.fill('#apply-timeout', '3');
  await page.click('#apply-go');
  await page.waitForSelector('#apply-keep');
  await page.waitForSelector('#apply-state:has-text("rolled back")', { timeout: 10000 });
  await shot(page, '08-rolled-back');
  await page.click('#apply-close');
  // the node's own guard rolls back: give it a moment, then the live file is the old one
  let live = '';
  for (let n = 0; n < 40; n++) {
    live = await fs.readFile(join(h.root, 'etc/network/interfaces'), 'utf8');
    if (!live.includes('rolled back comment')) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.doesNotMatch(live, /rolled back comment/);
  await page.context().close();
});

test('topology, history, IPv6 and the NAT wizard', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors);
  await loginAs(page, h.url);
  await page.click('#tab-topology');
  await page.waitForSelector('#topology-svg');
  assert.ok((await page.locator('#topology-svg .topo-edge').count()) >= 4);
  // geometry from the DOM: no line crosses a box other than its two ends', no two lines cross
  await assertTopologyPlanar(page);
  // relations drawn: the NAT of vmbr2 out through vmbr0, and the default gateway
  assert.equal(
    await page.locator('#topology-svg .topo-edge[data-kind="nat"][data-from="vmbr0"][data-to="vmbr2"]').count(),
    1,
  );
  assert.equal(await page.locator('#topology-svg .topo-edge[data-kind="gateway"][data-from="vmbr0"]').count(), 1);
  await shot(page, '09-topology');
  // every interface node is a button reached by keyboard: Enter opens Edit
  await page.focus('#topology-svg .topo-node[data-iface="bond0"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#edit-dialog');
  assert.equal(await page.inputValue('#f-iface'), 'bond0');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#edit-dialog', { state: 'detached' });
  await page.click('#topology-svg .topo-node[data-iface="vmbr1"]');
  await page.waitForSelector('#edit-dialog');
  assert.equal(await page.inputValue('#f-iface'), 'vmbr1');
  await page.keyboard.press('Escape');
  await page.click('#tab-history');
  await page.waitForSelector('[data-testid^="history-"]');
  await shot(page, '10-history');
  await page.click('#tab-system');
  await page.waitForSelector('#ipv6-switch, #ipv6-unsupported');
  await page.click('#tab-setup');
  await page.click('[data-testid="wizard-nat"]');
  await page.fill('#wz-uplink', 'vmbr0');
  await page.fill('#wz-bridge', 'vmbr5');
  await page.fill('#wz-cidr', '10.55.0.1/24');
  await page.fill('#wz-forward', 'tcp/2222=10.55.0.100:22');
  await page.click('[data-testid="wizard-submit"]');
  const r = await Promise.race([
    page.waitForSelector('#wizard-notes').then(() => 'ok'),
    page.waitForSelector('#wizard-error:has-text("does not offer")').then(() => 'missing'),
  ]);
  await shot(page, '11-wizard-nat');
  if (r === 'missing') {
    t.diagnostic('POST .../network/setup/nat is not implemented by this server yet: wizard shows the message');
  } else {
    await page.click('#tab-interfaces');
    await page.waitForSelector('#pending-diff');
    assert.match((await page.textContent('#pending-diff')) ?? '', /vmbr5/);
  }
  await page.context().close();
});

test('the IPv6 switch stages its change with the pending changes, also after a reload; Revert drops it, Save writes the file', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors);
  await loginAs(page, h.url);
  const file = join(h.root, 'etc/sysctl.d/disable-ipv6.conf');
  const exists = async (): Promise<boolean> =>
    fs.access(file).then(
      () => true,
      () => false,
    );
  assert.equal(await exists(), false);
  await page.click('#tab-system');
  await page.waitForSelector('#ipv6-switch');
  assert.equal(await page.isChecked('#ipv6-switch'), true);
  await page.click('#ipv6-switch');
  // staged on the node, not written: says what and when, as text
  await page.waitForSelector('#ipv6-msg.warn');
  assert.match((await page.textContent('#ipv6-msg')) ?? '', /Staged: IPv6 disabled\. It takes effect at the next boot/);
  assert.equal(await exists(), false, 'staging writes no sysctl file');
  // with the other pending changes, also after a reload and on the Interfaces tab
  await page.reload();
  await page.waitForSelector('[data-testid="row-vmbr0"]');
  await page.waitForSelector('#pending-ipv6');
  assert.match((await page.textContent('#pending-ipv6')) ?? '', /IPv6 change \(staged\).*Staged: IPv6 disabled/);
  assert.doesNotMatch((await page.textContent('#pending-ipv6')) ?? '', /[{}]|"disable/, 'text, not raw JSON');
  assert.equal(await page.isDisabled('#pending-ipv6-now'), true, 'backend none: no kernel to apply it to now');
  await shot(page, '13-ipv6-pending');
  await page.click('#pending-ipv6-revert');
  await page.waitForSelector('#pending-ipv6', { state: 'detached' });
  await page.click('#tab-system');
  await page.waitForSelector('#ipv6-switch');
  assert.equal(await page.isChecked('#ipv6-switch'), true, 'Revert dropped the staged change');
  assert.equal(await exists(), false);
  // stage again and Save (at next boot): the file is written and nothing stays staged
  await page.click('#ipv6-switch');
  await page.waitForSelector('#ipv6-msg.warn');
  await page.waitForSelector('#pending-ipv6', { state: 'attached' });
  await page.click('#ipv6-save');
  await page.waitForSelector('#ipv6-msg.good');
  await page.waitForSelector('#pending-ipv6', { state: 'detached' });
  assert.match(await fs.readFile(file, 'utf8'), /net\.ipv6\.conf\.all\.disable_ipv6 = 1/);
  assert.equal(await page.isChecked('#ipv6-switch'), false);
  assert.match((await page.textContent('#ipv6-state')) ?? '', /IPv6 is disabled on this node/);
  // back to enabled through the pending panel's Save
  await page.click('#ipv6-switch');
  await page.waitForSelector('#ipv6-msg.warn');
  await page.click('#tab-interfaces');
  await page.waitForSelector('#pending-ipv6');
  await page.click('#pending-ipv6-save');
  await page.waitForSelector('#pending-ipv6', { state: 'detached' });
  for (let i = 0; await exists(); i++) {
    assert.ok(i < 50, 'the file was not removed');
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.context().close();
});

test('tablet width and dark theme render', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors, { width: 768, height: 1024 });
  await loginAs(page, h.url);
  await page.click('#theme-toggle');
  await shot(page, '12-tablet-dark');
  const overflow = await page.evaluate('document.documentElement.scrollWidth > window.innerWidth');
  assert.equal(overflow, false, 'no page-wide horizontal scroll at 768 px');
  await page.context().close();
});

test('no console errors', (t) => {
  if (!prereqs(t)) return;
  assert.deepEqual(errors, [], errors.join('\n'));
});
