/**
 * OVS Port: a NIC in an OVS bridge. It is made by listing the NIC in the bridge's ports (Proxmox VE's
 * GUI offers no create for it); editing keeps Proxmox VE's fields: no addresses, bridge, tag, options.
 */
import type { Kind } from './common.ts';
import { ovsBridgeField, ovsOptionsField, ovsTagField } from './ovs.ts';

export const ovsPort: Kind = {
  type: 'OVSPort',
  prefix: 'eno',
  noAddress: true,
  fields(f) {
    ovsBridgeField(f, 0);
    ovsTagField(f, 0);
    ovsOptionsField(f);
  },
};
