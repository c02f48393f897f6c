/**
 * Bridged mode (Proxmox VE's default): a bridge over the given ports (NICs or bonds) that holds
 * the node's address and gateway, `bridge-stp off`, `bridge-fd 0`. Without ports on a node that
 * has no bridge yet, the first physical NIC is used, as the Proxmox VE installer does.
 */
import { PHYSICAL_NIC_RE } from '../model/build.ts';
import { planCreate, planUpdate } from '../model/edit.ts';
import type { Iface } from '../model/types.ts';
import type { PlanContext, SetupResult } from './common.ts';
import {
  Draft,
  checkBridgeName,
  ensureBridge,
  mainStanza,
  ownerOf,
  parseBridgeCidr,
  refuse,
  refuseOverlap,
} from './common.ts';
import { readNatState } from './nat.ts';
import type { Takeover } from './takeover.ts';
import { applyDynamic, takeOverPort } from './takeover.ts';

export interface BridgedIntent {
  bridge: string;
  /** NICs or bonds; default: the first physical NIC when the node has no bridge. */
  ports?: readonly string[];
  cidr?: string;
  gateway?: string;
}

/** Plan `setup bridged`. Throws a parameter error (PVE shape) on a refusal. */
export function planBridged(text: string, intent: BridgedIntent, ctx: PlanContext = {}): SetupResult {
  const d = new Draft(text, ctx);
  const notes: string[] = [];
  const isNic = (n: string) => PHYSICAL_NIC_RE.test(n) || (ctx.nics?.has(n) ?? false);
  const name = intent.bridge;
  const existing = checkBridgeName(d, name, isNic);
  if (existing && readNatState(d, name).lines > 0) {
    refuse(
      'bridge',
      `${name} is a NAT bridge (nodenet setup nat); remove it first with \`nodenet setup nat --bridge ${name} --remove\`, or choose another name`,
    );
  }

  let ports = intent.ports ? [...new Set(intent.ports.filter((p) => p !== ''))] : [];
  if (!intent.ports || ports.length === 0) {
    if (existing?.bridge && existing.bridge.ports.length) ports = [...existing.bridge.ports];
    else {
      const bridges = [...d.model.ifaces.values()]
        .filter((i) => i.kind === 'bridge' && i.name !== name)
        .map((i) => i.name);
      if (bridges.length)
        refuse(
          'ports',
          `--ports is needed: this node already has bridges (${bridges.join(', ')}), so nodenet will not guess a NIC`,
        );
      const inFile = [...d.model.ifaces.values()]
        .filter((i) => i.kind === 'eth' && isNic(i.name) && !ownerOf(d.model, i.name))
        .map((i) => i.name);
      const host = [...(ctx.nics ?? [])].filter((n) => PHYSICAL_NIC_RE.test(n)).sort(naturalCompare);
      const first = inFile[0] ?? host[0];
      if (first === undefined)
        refuse(
          'ports',
          'no --ports given and no physical NIC is known (none in the file, none found on the host); name the port with --ports',
        );
      ports = [first];
      notes.push(
        `no --ports given: chose ${first}, the first physical NIC${inFile[0] ? ' in the file' : ' of the host'} (as the Proxmox VE installer does)`,
      );
    }
  }

  for (const p of ports) {
    if (p === name) refuse('ports', `${name} cannot be a port of itself`);
    const owner = ownerOf(d.model, p, name);
    if (owner)
      refuse(
        'ports',
        `${p} is already ${owner.as === 'port' ? 'a port of bridge' : 'a slave of bond'} ${owner.owner.name}; an interface can be in one bridge or bond only`,
      );
    const i = d.iface(p);
    if (i && i.kind === 'bridge') refuse('ports', `${p} is a bridge; bridges are not nested, use its ports instead`);
    if (!i && !isNic(p))
      refuse(
        'ports',
        `${p} is not configured in the file and is not a physical NIC name; create it first (e.g. a bond with \`nodenet create\`)`,
      );
  }
  // A port carries no address: the bridge takes over the ports' addressing, whatever its method.
  let t: Takeover = {};
  if (intent.cidr !== undefined) t.cidr = intent.cidr;
  if (intent.gateway !== undefined) t.gateway = intent.gateway;
  const had = existing ? bridgeAddressing(existing) : undefined;
  if (had && t.cidr === undefined) t = { ...had, ...t };
  for (const p of ports) t = takeOverPort(d, p, name, t, notes);
  const cidr = had?.cidr === t.cidr ? undefined : t.cidr;
  const gateway = had?.gateway === t.gateway && cidr === undefined ? undefined : t.gateway;
  if (cidr !== undefined) refuseOverlap(d.model, parseBridgeCidr(cidr), name);
  else if (gateway !== undefined) refuse('gateway', `a gateway needs an address on ${name}: add --cidr`);
  for (const p of ports) if (!d.iface(p)) d.apply(planCreate(d.doc, d.model, p, { type: 'eth' }));
  const v6: { cidr6?: string; gateway6?: string } =
    t.cidr6 !== undefined && had?.cidr6 === undefined
      ? { cidr6: t.cidr6, ...(t.gateway6 !== undefined ? { gateway6: t.gateway6 } : {}) }
      : {};
  const how = ensureBridge(d, name, {
    ports: ports.join(' '),
    ...(cidr !== undefined ? { cidr } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
  });
  applyDynamic(d, name, { ...(t.method4 !== undefined ? { method4: t.method4 } : {}) });
  // The inet6 stanza after the inet one (the bridge's options stay in the first stanza).
  if (v6.cidr6 !== undefined) d.apply(planUpdate(d.doc, d.model, name, v6, []));
  applyDynamic(d, name, {
    ...(t.method6 !== undefined ? { method6: t.method6 } : {}),
    ...(t.slaac ? { slaac: true } : {}),
  });
  const addr = t.cidr ?? (t.method4 !== undefined ? `inet ${t.method4}` : undefined);
  if (d.text !== text)
    notes.unshift(
      `${how === 'created' ? 'new' : 'updated'} bridge ${name} over ${ports.join(' ')}${addr ? ` with ${addr}` : ''}${t.gateway ? ` via ${t.gateway}` : ''}`,
    );
  return { text: d.text, notes };
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** What an existing bridge has already: its static addresses and gateways, or dynamic methods. */
function bridgeAddressing(b: Iface): Takeover {
  const t: Takeover = {};
  const s4 = mainStanza(b);
  const a = s4.addresses.find((x) => x.version === 4 && x.prefix !== null);
  if (a) t.cidr = `${a.ip}/${a.prefix}`;
  else if (s4.method !== null && s4.method !== 'manual' && s4.method !== 'static') t.method4 = s4.method;
  const gw = s4.gateways.find((g) => !g.value.includes(':'));
  if (gw) t.gateway = gw.value;
  const s6 = b.stanzas.find((s) => s.family === 'inet6');
  const a6 = b.stanzas.flatMap((s) => s.addresses).find((x) => x.version === 6 && x.prefix !== null);
  if (a6) t.cidr6 = `${a6.ip}/${a6.prefix}`;
  else if (s6 && s6.method !== null && s6.method !== 'manual' && s6.method !== 'static') t.method6 = s6.method;
  const gw6 = b.stanzas.flatMap((s) => s.gateways).find((g) => g.value.includes(':'));
  if (gw6) t.gateway6 = gw6.value;
  return t;
}
