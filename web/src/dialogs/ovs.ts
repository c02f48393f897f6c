/**
 * What the Open vSwitch dialogs share: the OVS bridge picker for `ovs_bridge` (the node's
 * OVSBridge interfaces), the VLAN tag and the OVS options fields, as Proxmox VE's GUI has them.
 */
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { text } from './common.ts';
import type { EditorForm } from './common.ts';

/** `ovs_bridge`: a list of the node's OVS bridges (plus the current value if the file names another). */
export function ovsBridgeField(f: EditorForm, col: 0 | 1 = 1): void {
  const bridges = f.ctx.list.filter((i) => i.type === 'OVSBridge').map((i) => i.iface);
  const current = String(f.existing?.ovs_bridge ?? '').trim();
  if (current && !bridges.includes(current)) bridges.push(current);
  const sel = h('select', {}, ...bridges.map((b) => h('option', { value: b }, b)));
  if (!bridges.length) sel.append(h('option', { value: '' }, t('edit.noOvsBridge')));
  sel.value = current || (bridges[0] ?? '');
  f.add(col, 'ovs_bridge', t('edit.ovsBridge'), sel);
}

export function ovsTagField(f: EditorForm, col: 0 | 1 = 1): void {
  f.add(col, 'ovs_tag', t('edit.vlanTag'), text(f.existing?.ovs_tag, '1-4094'));
}

export function ovsOptionsField(f: EditorForm): void {
  f.add(1, 'ovs_options', t('edit.ovsOptions'), text(f.existing?.ovs_options), t('edit.ovsOptionsHelp'));
}
