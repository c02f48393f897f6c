/**
 * OVS Bond: no addresses (as Proxmox VE), the OVS bridge it belongs to, the OVS bond modes, a VLAN
 * tag, the slaves picked from the node's NICs and OVS options.
 */
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { text } from './common.ts';
import type { Kind } from './common.ts';
import { ovsBridgeField, ovsOptionsField, ovsTagField } from './ovs.ts';

/** The modes Open vSwitch accepts, labelled as Proxmox VE's GUI labels them. */
export const OVS_BOND_MODES: readonly { value: string; label: string }[] = [
  { value: 'active-backup', label: 'active-backup' },
  { value: 'balance-slb', label: 'balance-slb' },
  // i18n-ok: the mode names are Open vSwitch's, shown as Proxmox VE shows them
  { value: 'lacp-balance-slb', label: 'LACP (balance-slb)' },
  // i18n-ok: the mode names are Open vSwitch's, shown as Proxmox VE shows them
  { value: 'lacp-balance-tcp', label: 'LACP (balance-tcp)' },
];

export const ovsBond: Kind = {
  type: 'OVSBond',
  prefix: 'bond',
  noAddress: true,
  fields(f) {
    const e = f.existing;
    ovsBridgeField(f, 0);
    const mode = h('select', {}, ...OVS_BOND_MODES.map((m) => h('option', { value: m.value }, m.label)));
    mode.value = e?.bond_mode ?? 'active-backup';
    f.add(0, 'bond_mode', t('edit.mode'), mode);
    ovsTagField(f, 0);
    f.add(1, 'ovs_bonds', t('edit.slaves'), text(e?.ovs_bonds, 'eno2 eno3'));
    f.picker('ovs_bonds', 'OVSBond');
    ovsOptionsField(f);
  },
};
