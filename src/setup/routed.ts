/**
 * Routed mode (Proxmox VE docs, "Routed Configuration"): the provider routes a subnet to the
 * node and accepts traffic only from the uplink's MAC, so guests are routed, not bridged:
 * forwarding and proxy_arp on the uplink (idempotent `post-up echo 1 > ...` lines), and a
 * bridge with `bridge-ports none` holding the guests' subnet.
 */
import { PHYSICAL_NIC_RE } from '../model/build.ts';
import type { PlanContext, SetupResult } from './common.ts';
import {
  Draft,
  checkBridgeName,
  checkUplink,
  ensureBridge,
  parseBridgeCidr,
  refuse,
  refuseOverlap,
  syncHookLines,
} from './common.ts';
import { readNatState } from './nat.ts';
import { recogniseRoutedLine, routedLines } from './rules.ts';

export interface RoutedIntent {
  uplink: string;
  bridge: string;
  /** The bridge's address in the routed subnet, e.g. 203.0.113.17/28. */
  cidr: string;
}

/** Plan `setup routed`. Throws a parameter error (PVE shape) on a refusal. */
export function planRouted(text: string, intent: RoutedIntent, ctx: PlanContext = {}): SetupResult {
  const d = new Draft(text, ctx);
  const notes: string[] = [];
  const isNic = (n: string) => PHYSICAL_NIC_RE.test(n) || (ctx.nics?.has(n) ?? false);
  const existing = checkBridgeName(d, intent.bridge, isNic);
  if (existing?.bridge && existing.bridge.ports.length > 0) {
    refuse(
      'bridge',
      `${intent.bridge} is a bridge with ports (${existing.bridge.ports.join(' ')}); the routed bridge has none: choose a new name`,
    );
  }
  if (existing && readNatState(d, intent.bridge).lines > 0) {
    refuse(
      'bridge',
      `${intent.bridge} is a NAT bridge (nodenet setup nat); remove it first with \`nodenet setup nat --bridge ${intent.bridge} --remove\`, or choose another name`,
    );
  }
  const up = checkUplink(d, intent.uplink, intent.bridge);
  const net = parseBridgeCidr(intent.cidr);
  refuseOverlap(d.model, net, intent.bridge);
  const how = ensureBridge(d, intent.bridge, { ports: 'none', cidr: intent.cidr });
  syncHookLines(d, intent.uplink, routedLines(intent.uplink), (h, v) => recogniseRoutedLine(h, v, intent.uplink));
  if (d.text !== text) {
    notes.push(
      `${how === 'created' ? 'new' : 'updated'} routed bridge ${intent.bridge} (${intent.cidr}, no ports); forwarding and proxy_arp on ${intent.uplink}`,
    );
    notes.push(`guests on ${intent.bridge} use addresses of ${net.subnet} with ${net.ip} as their gateway`);
  }
  if (!up.autostart)
    notes.push(
      `${intent.uplink} has no 'auto' line, so its post-up lines (forwarding, proxy_arp) run only when it is brought up by hand`,
    );
  return { text: d.text, notes };
}
