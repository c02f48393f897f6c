/**
 * OVS Bond: no addresses (as Proxmox VE), the OVS bridge it belongs to, the OVS bond modes, a VLAN
 * tag, the slaves picked from the node's NICs and OVS options.
 */
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { OVS_BOND_MODES } from '../logic.ts';
import { text } from './common.ts';
import type { Kind } from './common.ts';
import { ovsBridgeField, ovsOptionsField, ovsTagField } from './ovs.ts';

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
