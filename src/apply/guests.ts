/**
 * Guests stay connected. Debian's ifupdown2 detaches bridge ports it does not know (VM taps,
 * container veths, firewall links) on every reload unless the stanza carries
 * `bridge-ports-condone-regex`; Proxmox VE patches its own build for this. nodenet does not
 * rely on either: it records which foreign ports were plugged into which bridge before the
 * reload and plugs back any that the reload detached.
 */
import type { Model } from '../model/types.ts';
import type { KernelState } from './state.ts';

/** Names hypervisors give guest-side ports (PVE: tapVMIDiN, vethVMIDiN, fwprVMIDpN, fwlnVMIDiN). */
export const GUEST_PORT_RE = /^(tap|veth|fwpr|fwln)\d/;

export interface Replug {
  port: string;
  bridge: string;
}

/**
 * Ports to plug back: plugged into a bridge before, not a configured port of anything in the
 * new config, a guest-port name or kind, present after the reload but no longer in that
 * bridge, and the bridge still exists in the new config and the kernel.
 */
export function guestPortsToReplug(before: KernelState, after: KernelState, model: Model): Replug[] {
  const configured = new Set<string>();
  for (const i of model.ifaces.values()) {
    for (const p of i.bridge?.ports ?? []) configured.add(p);
    for (const p of i.bond?.slaves ?? []) configured.add(p);
    configured.add(i.name);
  }
  const now = new Map(after.interfaces.map((i) => [i.name, i]));
  const out: Replug[] = [];
  for (const i of before.interfaces) {
    if (!i.master || configured.has(i.name)) continue;
    if (!GUEST_PORT_RE.test(i.name) && i.kind !== 'tun' && i.kind !== 'veth') continue;
    const bridge = model.ifaces.get(i.master);
    if (!bridge || bridge.kind !== 'bridge') continue;
    const cur = now.get(i.name);
    if (!cur || cur.master === i.master || !now.has(i.master)) continue;
    if (cur.master !== undefined) continue; // moved elsewhere on purpose by someone: leave it
    out.push({ port: i.name, bridge: i.master });
  }
  return out;
}
