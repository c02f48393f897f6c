/**
 * Open vSwitch in the browser, driven by the labels a user sees: create an OVS bridge, an OVS bond
 * of two NICs and a tagged OVS IntPort with an address; the pending diff has Proxmox VE's stanza
 * shape (`ovs_type`, members in the bridge's `ovs_ports`, `tag=`/`bond_mode=` in `ovs_options`);
 * the edit dialog reads tag and mode back; removing the IntPort takes it out of the bridge's ports.
 * Screenshots: test-results/web-ovs-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CHROMIUM, loginAs, newPage, prereqs, shot, startWeb } from './harness.ts';
import type { WebHarness } from './harness.ts';
import type { Page } from 'playwright-core';

const FILE = `auto lo
iface lo inet loopback

iface eno1 inet manual

iface eno2 inet manual

iface eno3 inet manual

auto vmbr0
iface vmbr0 inet static
	address 192.0.2.50/24
	gateway 192.0.2.1
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0
`;

let h: WebHarness | undefined;
const errors: string[] = [];

before(async () => {
  if (existsSync(CHROMIUM)) h = await startWeb(FILE);
});
after(async () => {
  await h?.close();
});

async function create(page: Page, menuLabel: string): Promise<void> {
  await page.getByRole('button', { name: 'Create ▾' }).click();
  await page.getByRole('menuitem', { name: menuLabel, exact: true }).click();
  await page.waitForSelector('#edit-dialog');
}

async function submit(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name, exact: true }).click();
  // closed, or refused: then say what the server said
  await Promise.race([
    page.waitForSelector('#edit-dialog', { state: 'detached' }),
    page.waitForSelector('#edit-error:not(:empty)'),
  ]);
  const refused = (await page.locator('#edit-error').count()) ? await page.textContent('#edit-error') : '';
  assert.equal(refused, '', `the server refused: ${refused}`);
  await page.waitForSelector('#edit-dialog', { state: 'detached' });
}

/** The stanza of `iface` in the staged file, as shown by the pending diff (added or kept lines, no +/- mark). */
async function stanza(page: Page, iface: string): Promise<string[]> {
  const diff = (await page.textContent('#pending-diff')) ?? '';
  const lines = diff
    .split('\n')
    .filter((l) => !l.startsWith('-') && !l.startsWith('@@'))
    .map((l) => l.replace(/^[+ ]/, ''));
  const start = lines.findIndex((l) => new RegExp(`^iface ${iface}\\b`).test(l));
  if (start < 0) return [];
  const out = [lines[start]!];
  for (const l of lines.slice(start + 1)) {
    if (!/^\s/.test(l) || !l.trim()) break;
    out.push(l.trim());
  }
  return out;
}

test('OVS bridge, bond of two NICs, tagged IntPort: Proxmox shape in the diff; removing the port cleans the bridge', async (t) => {
  if (!prereqs(t) || !h) return;
  const page = await newPage(h, errors);
  await loginAs(page, h.url);

  // the Create menu offers the three OVS kinds Proxmox VE's GUI offers
  await page.getByRole('button', { name: 'Create ▾' }).click();
  for (const label of ['OVS Bridge', 'OVS Bond', 'OVS IntPort'])
    assert.equal(await page.getByRole('menuitem', { name: label, exact: true }).count(), 1, label);
  await page.keyboard.press('Escape');

  // OVS bridge: no VLAN-aware box or bridge-vids (Linux bridge fields), its own options field
  await create(page, 'OVS Bridge');
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'vmbr1');
  assert.equal(await page.getByLabel('VLAN aware').count(), 0);
  assert.equal(await page.getByLabel('OVS options').count(), 1);
  await page.getByLabel('Comment').fill('ovs uplink');
  await shot(page, 'ovs-01-bridge');
  await submit(page, 'Create');
  await page.waitForSelector('[data-testid="row-vmbr1"]');

  // OVS bond: no address fields; bridge chosen from the OVS bridges; OVS modes only
  await create(page, 'OVS Bond');
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'bond0');
  assert.equal(await page.getByLabel('IPv4/CIDR').count(), 0, 'an OVS bond has no address (as Proxmox VE)');
  const bridgeSel = page.getByLabel('OVS Bridge', { exact: true });
  assert.deepEqual(await bridgeSel.locator('option').allTextContents(), ['vmbr1'], 'only OVS bridges are offered');
  const modes = await page.getByLabel('Mode', { exact: true }).locator('option').allTextContents();
  assert.deepEqual(modes, ['active-backup', 'balance-slb', 'LACP (balance-slb)', 'LACP (balance-tcp)']);
  await page.getByLabel('Mode', { exact: true }).selectOption({ label: 'balance-slb' });
  const slaves = page.getByRole('group', { name: "Choose slaves from this node's devices" });
  await slaves.getByRole('button', { name: 'eno2' }).click();
  await slaves.getByRole('button', { name: 'eno3' }).click();
  assert.equal(await page.getByLabel('Slaves', { exact: true }).inputValue(), 'eno2 eno3');
  await shot(page, 'ovs-02-bond');
  await submit(page, 'Create');
  await page.waitForSelector('[data-testid="row-bond0"]');

  // tagged IntPort with an address
  await create(page, 'OVS IntPort');
  await page.getByLabel('Name', { exact: true }).fill('mgmt50');
  await page.getByLabel('IPv4/CIDR').fill('10.50.0.2/24');
  // checked as you type, as the Linux VLAN tag
  await page.getByLabel('VLAN Tag').fill('5000');
  await page.waitForSelector('#f-ovs_tag[aria-invalid="true"]');
  await page.getByLabel('VLAN Tag').fill('50');
  await page.waitForSelector('#f-ovs_tag:not([aria-invalid])');
  assert.equal(await page.getByLabel('OVS Bridge', { exact: true }).inputValue(), 'vmbr1');
  await shot(page, 'ovs-03-intport');
  await submit(page, 'Create');
  await page.waitForSelector('[data-testid="row-mgmt50"]');
  await page.waitForSelector('#pending-diff');
  await shot(page, 'ovs-04-pending');

  const br = await stanza(page, 'vmbr1');
  assert.ok(
    br.some((l) => /^ovs[-_]type OVSBridge$/.test(l)),
    br.join('\n'),
  );
  const ports = br.find((l) => /^ovs[-_]ports /.test(l));
  assert.deepEqual(ports?.split(/\s+/).slice(1).sort(), ['bond0', 'mgmt50'], br.join('\n'));
  const bond = await stanza(page, 'bond0');
  assert.ok(
    bond.some((l) => /^ovs[-_]type OVSBond$/.test(l)),
    bond.join('\n'),
  );
  assert.ok(bond.includes('ovs_bridge vmbr1') || bond.includes('ovs-bridge vmbr1'), bond.join('\n'));
  assert.ok(
    bond.some((l) => /^ovs[-_]bonds eno2 eno3$/.test(l)),
    bond.join('\n'),
  );
  assert.ok(
    bond.some((l) => /^ovs[-_]options .*\bbond_mode=balance-slb\b/.test(l)),
    bond.join('\n'),
  );
  const port = await stanza(page, 'mgmt50');
  assert.match(port[0] ?? '', /^iface mgmt50 inet static$/);
  assert.ok(
    port.some((l) => /^ovs[-_]type OVSIntPort$/.test(l)),
    port.join('\n'),
  );
  assert.ok(
    port.some((l) => /^ovs[-_]bridge vmbr1$/.test(l)),
    port.join('\n'),
  );
  assert.ok(
    port.some((l) => /^ovs[-_]options (.* )?tag=50( |$)/.test(l)),
    port.join('\n'),
  );
  assert.ok(port.includes('address 10.50.0.2/24'), port.join('\n'));

  // the grid shows the OVS bridge's ports and the OVS bond's mode (not a Linux mode)
  assert.match((await page.textContent('[data-testid="row-vmbr1"]')) ?? '', /bond0/);
  assert.match((await page.textContent('[data-testid="row-bond0"]')) ?? '', /eno2 eno3.*balance-slb/);

  // the edit dialogs read tag and mode back out of ovs_options
  await page.dblclick('[data-testid="row-mgmt50"]');
  await page.waitForSelector('#edit-dialog');
  assert.equal(await page.getByLabel('VLAN Tag').inputValue(), '50');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#edit-dialog', { state: 'detached' });
  await page.dblclick('[data-testid="row-bond0"]');
  await page.waitForSelector('#edit-dialog');
  assert.equal(await page.getByLabel('Mode', { exact: true }).inputValue(), 'balance-slb');
  assert.equal(await page.getByLabel('OVS Bridge', { exact: true }).inputValue(), 'vmbr1');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#edit-dialog', { state: 'detached' });

  // removing the IntPort takes it out of the bridge's ovs_ports
  await page.click('[data-testid="row-mgmt50"]');
  await page.getByRole('button', { name: 'Remove', exact: true }).first().click();
  await page.waitForSelector('#remove-dialog');
  await page.click('[data-testid="remove-dialog-yes"]');
  await page.waitForSelector('[data-testid="row-mgmt50"]', { state: 'detached' });
  await shot(page, 'ovs-05-removed');
  assert.deepEqual(await stanza(page, 'mgmt50'), []);
  const br2 = await stanza(page, 'vmbr1');
  const ports2 = br2.find((l) => /^ovs[-_]ports /.test(l));
  assert.deepEqual(ports2?.split(/\s+/).slice(1), ['bond0'], br2.join('\n'));

  await page.click('#btn-revert');
  await page.click('[data-testid="revert-dialog-yes"]');
  await page.waitForSelector('#pending', { state: 'hidden' });
  await page.context().close();
  assert.deepEqual(errors, []);
});

// Proxmox VE's shape, written by hand (as `pvesh create` would write it): a bridge, a bond, a tagged IntPort
const OVS_FILE = `auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
	address 192.0.2.50/24
	gateway 192.0.2.1
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

auto eno2
iface eno2 inet manual

auto eno3
iface eno3 inet manual

auto bond1
iface bond1 inet manual
	ovs_bonds eno2 eno3
	ovs_type OVSBond
	ovs_bridge vmbr7
	ovs_options bond_mode=active-backup

auto mgmt7
iface mgmt7 inet static
	address 10.7.0.2/24
	ovs_type OVSIntPort
	ovs_bridge vmbr7
	ovs_options tag=7

auto vmbr7
iface vmbr7 inet manual
	ovs_type OVSBridge
	ovs_ports bond1 mgmt7
`;

test('OVS dialogs on a file with OVS objects: fields as Proxmox VE, values read back', async (t) => {
  if (!prereqs(t)) return;
  const w = await startWeb(OVS_FILE);
  try {
    const page = await newPage(w, errors);
    await loginAs(page, w.url);
    // the grid lists the OVS bridge's ports
    await page.waitForSelector('[data-testid="row-vmbr7"]');
    assert.match((await page.textContent('[data-testid="row-vmbr7"]')) ?? '', /bond1 mgmt7/);
    // a new OVS bond: no address fields, the OVS bridge picked from the OVS bridges, slaves from the NICs
    await create(page, 'OVS Bond');
    assert.equal(await page.getByLabel('IPv4/CIDR').count(), 0);
    assert.deepEqual(await page.getByLabel('OVS Bridge', { exact: true }).locator('option').allTextContents(), [
      'vmbr7',
    ]);
    const chips = page.getByRole('group', { name: "Choose slaves from this node's devices" }).getByRole('button');
    assert.ok((await chips.allTextContents()).includes('eno1'));
    await shot(page, 'ovs-06-bond-dialog');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#edit-dialog', { state: 'detached' });
    // a new OVS bridge offers the NICs and the OVS members as ports
    await create(page, 'OVS Bridge');
    const ports = page.getByRole('group', { name: "Choose ports from this node's devices" }).getByRole('button');
    for (const n of ['eno1', 'bond1', 'mgmt7']) assert.ok((await ports.allTextContents()).includes(n), n);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#edit-dialog', { state: 'detached' });
    // editing the IntPort: tag out of ovs_options, address, bridge
    await page.dblclick('[data-testid="row-mgmt7"]');
    await page.waitForSelector('#edit-dialog');
    assert.equal(await page.getByLabel('IPv4/CIDR').inputValue(), '10.7.0.2/24');
    assert.equal(await page.getByLabel('OVS Bridge', { exact: true }).inputValue(), 'vmbr7');
    assert.equal(await page.getByLabel('VLAN Tag').inputValue(), '7');
    assert.equal(await page.getByLabel('OVS options').inputValue(), '', 'tag= is shown as the VLAN tag only');
    await shot(page, 'ovs-07-intport-edit');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#edit-dialog', { state: 'detached' });
    // editing the bond: mode out of ovs_options
    await page.dblclick('[data-testid="row-bond1"]');
    await page.waitForSelector('#edit-dialog');
    assert.equal(await page.getByLabel('Mode', { exact: true }).inputValue(), 'active-backup');
    assert.equal(await page.getByLabel('Slaves', { exact: true }).inputValue(), 'eno2 eno3');
    await page.keyboard.press('Escape');
    await page.context().close();
    assert.deepEqual(errors, []);
  } finally {
    await w.close();
  }
});
