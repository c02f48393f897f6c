/**
 * Lock-out warning: does a change touch what carries the admin's own connection?
 * The caller knows the address it was reached on (the API's socket, the CLI's SSH_CONNECTION);
 * when the change removes that address, changes the ports under the interface holding it, or
 * changes the default route the client comes through, the apply needs a confirm window.
 */
import { NodenetError } from '../errors.ts';
import { inSubnet, ipVersion } from '../model/ip.ts';
import type { Iface, Model } from '../model/types.ts';

export interface Connection {
  /** The node's address the client reached (socket local address, SSH server address). */
  local: string;
  /** The client's address. */
  remote: string;
}

function normalise(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** The ports and slaves below an interface, recursively (bridge → bond → NICs, VLAN → raw device). */
function lowerChain(model: Model, name: string, seen = new Set<string>()): string[] {
  if (seen.has(name)) return [];
  seen.add(name);
  const i = model.ifaces.get(name);
  if (!i) return [];
  const below = [
    ...(i.bridge?.ports ?? []),
    ...(i.bond?.slaves ?? []),
    ...(i.vlan?.rawDevice ? [i.vlan.rawDevice] : []),
  ];
  const out: string[] = [];
  for (const b of below) out.push(b, ...lowerChain(model, b, seen));
  return out;
}

function holder(model: Model, ip: string): Iface | undefined {
  for (const i of model.ifaces.values())
    for (const s of i.stanzas) for (const a of s.addresses) if (a.ip === ip) return i;
  return undefined;
}

function gatewayOf(i: Iface | undefined, version: 4 | 6): string | undefined {
  if (!i) return undefined;
  for (const s of i.stanzas) for (const g of s.gateways) if ((ipVersion(g.value) ?? 0) === version) return g.value;
  return undefined;
}

/**
 * Why the change from `before` to `after` may cut the connection, or null when it does not
 * touch it (or the connection is local to the node).
 */
export function lockoutRisk(before: Model, after: Model, conn: Connection): string | null {
  const local = normalise(conn.local);
  const remote = normalise(conn.remote);
  const v = ipVersion(local);
  if (v === null) return null;
  const was = holder(before, local);
  if (!was) return null; // reached on an address nodenet does not manage
  const via = `${was.name}, which carries your connection (you reached this node on ${local} from ${remote})`;
  const now = after.ifaces.get(was.name);
  if (!now) return `the change removes ${via}`;
  if (!holder(after, local) || holder(after, local)?.name !== was.name)
    return `the change moves or removes the address ${local} of ${via}`;
  if (now.kind !== was.kind) return `the change turns ${was.name} from a ${was.kind} into a ${now.kind}; ${via}`;
  if (was.autostart && !now.autostart) return `the change takes ${via} out of autostart`;
  const a = lowerChain(before, was.name).join(' ');
  const b = lowerChain(after, was.name).join(' ');
  if (a !== b) return `the change alters the ports under ${via}: ${a || '(none)'} → ${b || '(none)'}`;
  for (const p of lowerChain(after, was.name)) {
    const x = before.ifaces.get(p);
    const y = after.ifaces.get(p);
    if (x && y && (x.bond?.mode !== y.bond?.mode || x.vlan?.id !== y.vlan?.id || x.mtu !== y.mtu))
      return `the change alters ${p}, a port under ${via}`;
  }
  // A client outside the interface's subnets comes through the default gateway.
  const onLink = [...now.stanzas.flatMap((s) => s.addresses)].some(
    (ad) => ad.prefix !== null && ad.version === v && inSubnet(remote, ad.ip, ad.prefix, v),
  );
  if (!onLink) {
    const gwBefore = [...before.ifaces.values()].map((i) => gatewayOf(i, v)).find(Boolean);
    const gwAfter = [...after.ifaces.values()].map((i) => gatewayOf(i, v)).find(Boolean);
    if (gwBefore !== gwAfter)
      return `the change replaces the default gateway ${gwBefore ?? '(none)'} with ${gwAfter ?? '(none)'}, the route your connection from ${remote} takes to ${local}`;
  }
  return null;
}

/**
 * The one lock-out rule of an apply (CLI, API and the local socket alike): a risk is refused
 * without a confirm window — LOCKOUT, the message also under `confirm-timeout`, the parameter
 * that lifts it — and is a warning with one. `windowSeconds`: the window asked for (absent: none).
 * Returns the risk to warn about (null: none).
 */
export function lockoutRule(risk: string | null, windowSeconds: number | undefined): string | null {
  if (risk === null || windowSeconds !== undefined) return risk;
  const msg = `${risk}; apply it with a confirm window (confirm-timeout, e.g. --confirm-timeout 120) so the node rolls back by itself if your connection is lost`;
  throw new NodenetError('LOCKOUT', msg, { errors: { 'confirm-timeout': msg } });
}

/** Parse `SSH_CONNECTION` ("client_ip client_port server_ip server_port"). */
export function sshConnection(env: NodeJS.ProcessEnv = process.env): Connection | undefined {
  const parts = (env.SSH_CONNECTION ?? '').trim().split(/\s+/);
  if (parts.length !== 4) return undefined;
  return { remote: parts[0]!, local: parts[2]! };
}
