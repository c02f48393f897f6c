/**
 * Open vSwitch: a member (OVSBond, OVSPort, OVSIntPort) names an OVS bridge in `ovs_bridge`, an
 * OVS bridge's `ovs_ports` name interfaces that exist and belong to it, and the node has Open
 * vSwitch installed. (A NIC used by a Linux and an OVS bridge is PORT_IN_USE, ports.ts.)
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { splitList } from '../model/params.ts';
import { OVS_KINDS } from '../model/types.ts';
import type { Rule } from './context.ts';
import { atOption, atStanza, indexOf, opt } from './common.ts';

/** OVS_BRIDGE_INVALID, OVS_PORT_NOT_FOUND, OVS_NOT_INSTALLED. */
export const ovsRules: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const m = ctx.model;
  const idx = indexOf(ctx);
  let first: Diagnostic | undefined;
  for (const i of m.ifaces.values()) {
    if (!OVS_KINDS.includes(i.kind)) continue;
    if (ctx.host?.ovsInstalled === false && first === undefined)
      first = atStanza(
        {
          severity: 'warning',
          code: 'OVS_NOT_INSTALLED',
          message: `${i.name} is an Open vSwitch interface (${i.kind}), but Open vSwitch is not installed (no /usr/bin/ovs-vsctl): ifupdown2 cannot bring it up`,
          iface: i.name,
          hint: "install it with 'apt install openvswitch-switch' before applying",
        },
        i.stanzas[0]!,
      );
    if (i.kind === 'OVSBridge') {
      const o = opt(i, 'ovs-ports');
      if (!o) continue;
      for (const p of splitList(o.value)) {
        const member = m.ifaces.get(p);
        const other = member && OVS_KINDS.includes(member.kind) ? opt(member, 'ovs-bridge')?.value : undefined;
        if (idx.exists(p) && (other === undefined || other === i.name)) continue;
        out.push(
          atOption(
            {
              severity: 'error',
              code: 'OVS_PORT_NOT_FOUND',
              message:
                other !== undefined
                  ? `${i.name}: OVS port '${p}' belongs to ${other} (its ovs_bridge), not to this bridge`
                  : `${i.name}: OVS port '${p}' does not exist (no stanza, and not a network card name)`,
              iface: i.name,
              hint:
                other !== undefined
                  ? `remove ${p} from ${i.name}'s ovs_ports, or set its ovs_bridge to ${i.name}`
                  : `remove ${p} from ovs_ports, or create it (an OVSPort, OVSIntPort or OVSBond with ovs_bridge ${i.name})`,
            },
            o,
            p,
          ),
        );
      }
      continue;
    }
    const b = opt(i, 'ovs-bridge');
    const target = b ? m.ifaces.get(b.value) : undefined;
    if (target?.kind === 'OVSBridge') continue;
    const f = {
      severity: 'error' as const,
      code: 'OVS_BRIDGE_INVALID' as const,
      message: !b
        ? `${i.name}: a ${i.kind} needs the OVS bridge it belongs to (ovs_bridge)`
        : target
          ? `${i.name}: ovs_bridge '${b.value}' is not an OVS bridge (it is of type '${target.kind}')`
          : `${i.name}: ovs_bridge '${b.value}' does not exist`,
      iface: i.name,
      hint: `set ovs_bridge to an interface with 'ovs_type OVSBridge'`,
    };
    out.push(b ? atOption(f, b) : atStanza(f, i.stanzas[0]!));
  }
  return first ? [first, ...out] : out;
};
