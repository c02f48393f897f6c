/** OVS Bridge: addresses, ports picked from the node's devices and OVS members, OVS options (as Proxmox VE). */
import { t } from '../i18n.ts';
import { text } from './common.ts';
import type { Kind } from './common.ts';
import { ovsOptionsField } from './ovs.ts';

export const ovsBridge: Kind = {
  type: 'OVSBridge',
  prefix: 'vmbr',
  fields(f) {
    f.add(1, 'ovs_ports', t('edit.bridgePorts'), text(f.existing?.ovs_ports, t('edit.bridgePortsPh')));
    f.picker('ovs_ports', 'OVSBridge');
    ovsOptionsField(f);
  },
};
