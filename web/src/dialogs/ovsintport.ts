/** OVS IntPort: a host port on an OVS bridge, with addresses, a VLAN tag and OVS options (as Proxmox VE). */
import type { Kind } from './common.ts';
import { ovsBridgeField, ovsOptionsField, ovsTagField } from './ovs.ts';

export const ovsIntPort: Kind = {
  type: 'OVSIntPort',
  prefix: 'int',
  fields(f) {
    ovsBridgeField(f);
    ovsTagField(f);
    ovsOptionsField(f);
  },
};
