/**
 * Create/edit dialogs per type: one module per kind under dialogs/ (Linux Bridge, Bond, VLAN,
 * physical NIC) sharing dialogs/common.ts (field builders, checks as you type, submit with the
 * changed fields only, server diagnostics at the field). Interfaces of sourced files get an
 * explanation instead of a form; Open vSwitch kinds (OVS Bridge, Bond, IntPort, Port) have theirs
 * (dialogs/ovs*.ts); other types (alias, unknown) are not edited here.
 */
import type { Iface } from './logic.ts';
import { openDialog, openSourced } from './dialogs/common.ts';
import type { EditContext, Kind } from './dialogs/common.ts';
import { bridge } from './dialogs/bridge.ts';
import { bond } from './dialogs/bond.ts';
import { vlan } from './dialogs/vlan.ts';
import { eth } from './dialogs/eth.ts';
import { ovsBridge } from './dialogs/ovsbridge.ts';
import { ovsBond } from './dialogs/ovsbond.ts';
import { ovsIntPort } from './dialogs/ovsintport.ts';
import { ovsPort } from './dialogs/ovsport.ts';

export type { EditContext } from './dialogs/common.ts';

const KINDS: Record<string, Kind> = {
  bridge,
  bond,
  vlan,
  eth,
  OVSBridge: ovsBridge,
  OVSBond: ovsBond,
  OVSIntPort: ovsIntPort,
  OVSPort: ovsPort,
};

/** Open the dialog: `existing` edits, else creates an interface of `type`. */
export function openEditor(ctx: EditContext, type: string, existing?: Iface): void {
  if (existing?.source) {
    openSourced({ ...existing, source: existing.source });
    return;
  }
  // unknown types get the common fields only (as before the split; main.ts offers only the kinds above)
  openDialog(ctx, KINDS[type] ?? { type, prefix: 'vlan', fields: () => undefined }, existing);
}
