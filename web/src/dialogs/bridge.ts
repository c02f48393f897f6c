/** Linux Bridge: VLAN aware, ports picked from the node's devices, VLAN IDs only when VLAN aware. */
import { t } from '../i18n.ts';
import { check, text } from './common.ts';
import type { Kind } from './common.ts';

export const bridge: Kind = {
  type: 'bridge',
  prefix: 'vmbr',
  fields(f) {
    const e = f.existing;
    f.add(1, 'bridge_vlan_aware', t('edit.vlanAware'), check(e?.bridge_vlan_aware === 1));
    f.add(1, 'bridge_ports', t('edit.bridgePorts'), text(e?.bridge_ports, t('edit.bridgePortsPh')));
    f.picker('bridge_ports', 'bridge');
    f.add(1, 'bridge_vids', t('edit.vids'), text(e?.bridge_vids, '2-4094'), t('edit.vidsHelp'));
  },
  follow(f) {
    const aware = (f.get('bridge_vlan_aware') as HTMLInputElement).checked;
    f.get('bridge_vids')!.disabled = !aware;
  },
};
