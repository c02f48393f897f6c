/**
 * NAT mode (Proxmox VE docs, "Masquerading (NAT) with iptables"): a bridge without ports holding
 * the guests' private subnet; forwarding; masquerade of that subnet out of the uplink; the
 * conntrack-zone rule for the firewall bridges; port forwards as DNAT. Every line is written on
 * the NAT bridge's own stanza, so removing the bridge removes the whole setup (ifupdown2 runs
 * the bridge's post-down lines when it takes it down).
 */
import { planDelete } from '../model/edit.ts';
import { PHYSICAL_NIC_RE } from '../model/build.ts';
import type { PlanContext, SetupResult } from './common.ts';
import {
  Draft,
  checkBridgeName,
  checkUplink,
  ensureBridge,
  hostInSubnet,
  mainStanza,
  parseBridgeCidr,
  refuse,
  refuseOverlap,
  syncHookLines,
} from './common.ts';
import { conflictingMasquerade, recogniseHandWritten } from './handwritten.ts';
import type { HandWritten } from './handwritten.ts';
import type { Firewall, Forward, HookLine, RecognisedNat } from './rules.ts';
import {
  formatForward,
  forwardKey,
  liveRemovalCommand,
  natLines,
  nftTable,
  parseForward,
  parseForwardKey,
  recogniseNatLine,
} from './rules.ts';

export interface NatIntent {
  bridge: string;
  /** Required for a new NAT bridge; defaults to the one in the existing rules. */
  uplink?: string;
  /** The bridge's address in the private subnet; defaults to the existing one. */
  cidr?: string;
  /** Forwards to add (or to change: same PROTO/PORT), `tcp/2222=10.10.10.100:22`. */
  forwards?: readonly string[];
  /** Forwards to drop, `tcp/2222`. */
  removeForwards?: readonly string[];
  /** Defaults to the firewall of the existing rules, else iptables. */
  firewall?: Firewall;
  /** Remove the NAT setup: the bridge and every line nodenet wrote for it. */
  remove?: boolean;
}

/** What nodenet finds of its own NAT setup on a bridge. */
export interface NatState {
  firewall?: Firewall;
  uplink?: string;
  subnet?: string;
  forwards: Forward[];
  /** Number of recognised lines. */
  lines: number;
}

/** Read nodenet's NAT lines of bridge `name` (all empty when there are none). */
export function readNatState(d: Draft, name: string): NatState {
  const st: NatState = { forwards: [], lines: 0 };
  const i = d.iface(name);
  if (!i) return st;
  const byKey = new Map<string, Forward>();
  for (const o of mainStanza(i).options) {
    const r: RecognisedNat | null = recogniseNatLine(o.key, o.value, name);
    if (!r) continue;
    st.lines++;
    if (r.firewall) st.firewall ??= r.firewall;
    if (r.key === 'up:masq' || r.key === 'up:nft') {
      if (st.uplink === undefined && r.uplink !== undefined) st.uplink = r.uplink;
      if (st.subnet === undefined && r.subnet !== undefined) st.subnet = r.subnet;
    }
    if (r.key.startsWith('up:'))
      for (const f of r.forwards ?? []) if (!byKey.has(forwardKey(f))) byKey.set(forwardKey(f), f);
  }
  st.forwards = [...byKey.values()];
  return st;
}

/** Plan `setup nat`. Throws a parameter error (PVE shape) on a refusal. */
export function planNat(text: string, intent: NatIntent, ctx: PlanContext = {}): SetupResult {
  const d = new Draft(text, ctx);
  const notes: string[] = [];
  const isNic = (n: string) => PHYSICAL_NIC_RE.test(n) || (ctx.nics?.has(n) ?? false);
  const name = intent.bridge;
  const existing = checkBridgeName(d, name, isNic);
  const state = readNatState(d, name);

  if (intent.remove) {
    if (intent.forwards?.length || intent.removeForwards?.length || intent.uplink || intent.cidr)
      refuse('remove', '--remove takes only --bridge');
    if (!existing) return { text, notes: [`${name} does not exist: no NAT setup to remove`] };
    if (state.lines === 0)
      refuse(
        'bridge',
        `${name} has no NAT rules written by nodenet; it is left alone (remove it with \`nodenet delete ${name}\` if you mean to)`,
      );
    d.apply(planDelete(d.doc, d.model, name));
    notes.push(
      `removed bridge ${name} and its NAT lines; on apply ifupdown2 takes ${name} down and runs its post-down lines, which delete ${state.firewall === 'nft' ? `nft table ${nftTable(name)}` : 'every rule'} (IPv4 forwarding stays on)`,
    );
    return { text: d.text, notes };
  }

  if (existing && existing.bridge && existing.bridge.ports.length > 0) {
    refuse(
      'bridge',
      `${name} is a bridge with ports (${existing.bridge.ports.join(' ')}); a NAT bridge has none: choose a new name, e.g. vmbr${freeBridgeNumber(d)}`,
    );
  }
  // The docs' hand-written rules on this bridge (quoted subnet, `-A` without `-C`): nodenet
  // rewrites them as its own idempotent lines instead of adding a second copy next to them.
  const hand = handWrittenLines(d, name);
  const uplink = intent.uplink ?? state.uplink ?? hand.find((h) => h.r.key === 'up:masq')?.r.uplink;
  if (uplink === undefined)
    refuse(
      'uplink',
      `--uplink is needed for a new NAT bridge (the interface with the public address, e.g. eno1 or vmbr0)`,
    );
  checkUplink(d, uplink, name);
  const cidr = intent.cidr ?? existingCidr(d, name);
  if (cidr === undefined)
    refuse('cidr', `--cidr is needed for a new NAT bridge (its address in the private subnet, e.g. 10.10.10.1/24)`);
  const net = parseBridgeCidr(cidr);
  refuseOverlap(d.model, net, name);

  // Forwards: the existing ones, minus removals, plus additions (same PROTO/PORT replaces).
  const forwards = new Map<string, Forward>(state.forwards.map((f) => [forwardKey(f), f]));
  for (const s of intent.removeForwards ?? []) {
    const k = parseForwardKey(s);
    if (typeof k === 'string') refuse('remove-forward', k);
    if (!forwards.delete(forwardKey(k))) notes.push(`no forward ${forwardKey(k)} on ${name}: nothing to remove`);
  }
  const added = new Map<string, Forward>();
  for (const s of intent.forwards ?? []) {
    const f = parseForward(s);
    if (typeof f === 'string') refuse('forward', f);
    const k = forwardKey(f);
    const prev = added.get(k);
    if (prev && formatForward(prev) !== formatForward(f))
      refuse(
        'forward',
        `${k} is forwarded twice (${formatForward(prev)} and ${formatForward(f)}); one outside port goes to one guest`,
      );
    if (
      intent.removeForwards?.some((r) => {
        const rk = parseForwardKey(r);
        return typeof rk !== 'string' && forwardKey(rk) === k;
      })
    )
      refuse('forward', `${k} is both added and removed`);
    added.set(k, f);
    forwards.set(k, f);
  }
  for (const f of forwards.values()) {
    if (!hostInSubnet(f.ip, net))
      refuse(
        'forward',
        `the forward ${formatForward(f)} goes to ${f.ip}, which is outside ${name}'s subnet ${net.subnet}; forwards must reach a guest on ${name}`,
      );
    if (f.ip === net.ip)
      refuse(
        'forward',
        `the forward ${formatForward(f)} goes to ${f.ip}, the address of ${name} itself (the host); forward to a guest`,
      );
  }
  const firewall = intent.firewall ?? state.firewall ?? 'iptables';

  // A hand-written masquerade of this subnet that nodenet cannot read as the docs' rule would
  // be doubled by nodenet's own: refuse and say which line.
  const mine = (h: string, v: string) => recogniseNatLine(h, v, name)?.key ?? null;
  const theirs = (h: string, v: string) => {
    const r = recogniseHandWritten(h, v);
    return r && (r.subnet === undefined || r.subnet === net.subnet) ? r : null;
  };
  if (existing) {
    for (const o of mainStanza(existing).options) {
      if (mine(o.key, o.value) !== null || theirs(o.key, o.value) !== null) continue;
      if (conflictingMasquerade(o.key, o.value, net.subnet)) {
        refuse(
          'bridge',
          `${name} already has a hand-written masquerade rule for ${net.subnet} that nodenet does not recognise (line ${o.node.line.lineNo}: '${o.name} ${o.value}'); nodenet would add a second one. Remove that line (and its post-down), or keep managing the NAT rules of ${name} by hand`,
        );
      }
    }
  }
  // The same rule on another stanza (Proxmox VE's own rewrite moves the docs' lines that follow
  // a blank line under another interface): nodenet's copy would be a second one.
  for (const other of d.model.ifaces.values()) {
    if (other.name === name) continue;
    for (const o of other.options) {
      const h = recogniseHandWritten(o.key, o.value);
      if (
        (h?.key === 'up:masq' && h.subnet === net.subnet) ||
        (!h && conflictingMasquerade(o.key, o.value, net.subnet))
      ) {
        refuse(
          'bridge',
          `line ${o.node.line.lineNo} on ${other.name} already masquerades ${net.subnet} ('${o.name} ${o.value}'); nodenet would add a second rule on ${name}. Remove that line and its post-down (they belong on ${name}), then run this again`,
        );
      }
    }
  }
  const how = ensureBridge(d, name, { ports: 'none', cidr });
  const want: HookLine[] = natLines({
    firewall,
    bridge: name,
    subnet: net.subnet,
    uplink,
    forwards: [...forwards.values()],
  });
  const { removed, replaced } = syncHookLines(d, name, want, (h, v) => mine(h, v) ?? theirs(h, v)?.key ?? null);
  const adopted = [...removed, ...replaced].filter((l) => recogniseNatLine(l.hook, l.value, name) === null);
  if (adopted.length) {
    notes.push(
      `rewrote ${adopted.length} hand-written NAT line(s) of ${name} (the Proxmox VE docs' rules, which add a copy on every reload) as nodenet's idempotent lines, in place: see the diff`,
    );
  }

  if (d.text !== text) {
    notes.push(
      how === 'created'
        ? `new NAT bridge ${name} (${cidr}, no ports) masquerading ${net.subnet} out of ${uplink} with ${firewall}${forwards.size ? `; forwards: ${[...forwards.values()].map(formatForward).join(', ')}` : ''}`
        : `NAT bridge ${name}: ${net.subnet} out of ${uplink} with ${firewall}${forwards.size ? `; forwards: ${[...forwards.values()].map(formatForward).join(', ')}` : '; no forwards'}`,
    );
  }
  // ifupdown2 runs only the *new* post-up lines on reload; a rule whose line was changed or
  // removed stays in the running kernel until the bridge goes down. Say how to drop it now.
  const stale = [...removed, ...replaced]
    .map((l) => liveRemovalCommand(l) ?? staleHandWritten(l, want, name))
    .filter((c): c is string => c !== undefined);
  if (stale.length)
    notes.push(
      `after apply, the running kernel still has the old rule(s) until ${name} goes down or the node reboots; to drop them at once run:\n  ${stale.join('\n  ')}`,
    );
  if (state.firewall && state.firewall !== firewall)
    notes.push(
      `switched ${name} from ${state.firewall} to ${firewall}: the old ${state.firewall} rules stay in the running kernel until ${name} goes down or the node reboots`,
    );
  return { text: d.text, notes };
}

function existingCidr(d: Draft, name: string): string | undefined {
  const i = d.iface(name);
  const a = i && mainStanza(i).addresses.find((x) => x.version === 4 && x.prefix !== null);
  return a ? `${a.ip}/${a.prefix}` : undefined;
}

function freeBridgeNumber(d: Draft): number {
  let n = 0;
  while (d.model.ifaces.has(`vmbr${n}`)) n++;
  return n;
}

/** The docs' hand-written NAT lines on bridge `name` (see handwritten.ts). */
function handWrittenLines(d: Draft, name: string): { r: HandWritten }[] {
  const i = d.iface(name);
  if (!i) return [];
  const out: { r: HandWritten }[] = [];
  for (const o of mainStanza(i).options) {
    const r = recogniseHandWritten(o.key, o.value);
    if (r) out.push({ r });
  }
  return out;
}

/**
 * The command that drops a hand-written rule nodenet rewrote, when its replacement is a
 * different rule (another uplink): the old one stays in the running kernel until the bridge
 * goes down. Undefined when the new line installs the very same rule.
 */
function staleHandWritten(l: HookLine, want: readonly HookLine[], bridge: string): string | undefined {
  const r = recogniseHandWritten(l.hook, l.value);
  if (!r?.removal) return undefined;
  const w = want.find((x) => x.key === r.key && x.hook === l.hook);
  const now = w ? recogniseNatLine(w.hook, w.value, bridge) : null;
  if (now && now.subnet === r.subnet && now.uplink === r.uplink) return undefined;
  return r.removal;
}
