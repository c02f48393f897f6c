/**
 * The hook lines the planning modes write, and how nodenet recognises them again.
 *
 * An option line cannot carry a marker comment (`post-up ... # nodenet` would become part of
 * the shell command), so a line counts as nodenet's when it has *exactly* the shape nodenet
 * generates: it is parsed by the patterns below and rendering the parsed rule gives the same
 * text back, byte for byte. A hand-written line that differs in any way (quotes, `-A` without
 * `-C`, another order of matches) is not ours and is never touched.
 *
 * Every rule is idempotent, because ifupdown2 runs `post-up` again on every `ifreload`
 * (research ifupdown2.md §2.1): iptables rules use `-C ... 2>/dev/null || ... -A ...` and get a
 * `post-down ... -D ... 2>/dev/null || true`; the nftables variant replaces nodenet's own table
 * in one transaction (`add table; delete table; table {...}`), so it always equals the file.
 */

export type Firewall = 'iptables' | 'nft';
export type Hook = 'post-up' | 'post-down';
export type Proto = 'tcp' | 'udp';

/** One port forward: `PROTO/PORT=IP:TOPORT`. */
export interface Forward {
  proto: Proto;
  port: number;
  ip: string;
  toPort: number;
}

/** What a NAT bridge's rules say. */
export interface NatRules {
  firewall: Firewall;
  bridge: string;
  /** The private subnet as `base/prefix` (10.10.10.0/24). */
  subnet: string;
  uplink: string;
  forwards: Forward[];
}

/** One line nodenet writes into a stanza: `key` says which rule it is (for in-place edits). */
export interface HookLine {
  key: string;
  hook: Hook;
  value: string;
}

/** The forwarding line of the Proxmox VE docs (idempotent by nature). */
export const FORWARDING = 'echo 1 > /proc/sys/net/ipv4/ip_forward';

/** The routed mode's proxy_arp line for the uplink. */
export function proxyArpLine(uplink: string): string {
  return `echo 1 > /proc/sys/net/ipv4/conf/${uplink}/proxy_arp`;
}

/** The conntrack-zone match of the Proxmox VE docs for firewall bridges (`fwbr+`). */
const CT_ZONE_SPEC = '-i fwbr+ -j CT --zone 1';

export function forwardKey(f: Pick<Forward, 'proto' | 'port'>): string {
  return `${f.proto}/${f.port}`;
}

export function formatForward(f: Forward): string {
  return `${f.proto}/${f.port}=${f.ip}:${f.toPort}`;
}

function iptUp(table: string, chain: string, action: '-A' | '-I', spec: string): string {
  return `iptables -t ${table} -C ${chain} ${spec} 2>/dev/null || iptables -t ${table} ${action} ${chain} ${spec}`;
}

function iptDown(table: string, chain: string, spec: string): string {
  return `iptables -t ${table} -D ${chain} ${spec} 2>/dev/null || true`;
}

function masqSpec(subnet: string, uplink: string): string {
  return `-s ${subnet} -o ${uplink} -j MASQUERADE`;
}

function dnatSpec(uplink: string, f: Forward): string {
  return `-i ${uplink} -p ${f.proto} --dport ${f.port} -j DNAT --to-destination ${f.ip}:${f.toPort}`;
}

/** nodenet's nftables table for a NAT bridge (nft identifiers: letters, digits, `_`). */
export function nftTable(bridge: string): string {
  return `nodenet_${bridge.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function nftScript(r: NatRules): string {
  const t = nftTable(r.bridge);
  const dnat = r.forwards
    .map((f) => ` iifname "${r.uplink}" ${f.proto} dport ${f.port} dnat to ${f.ip}:${f.toPort};`)
    .join('');
  return (
    `add table ip ${t}; delete table ip ${t}; table ip ${t} {` +
    ` chain prerouting { type nat hook prerouting priority dstnat; policy accept;${dnat} };` +
    ` chain postrouting { type nat hook postrouting priority srcnat; policy accept; ip saddr ${r.subnet} oifname "${r.uplink}" masquerade; };` +
    ` chain raw { type filter hook prerouting priority raw; policy accept; iifname "fwbr*" ct zone set 1; };` +
    ` }`
  );
}

/** The lines of a NAT bridge, in the order they are written. */
export function natLines(r: NatRules): HookLine[] {
  const out: HookLine[] = [{ key: 'up:forwarding', hook: 'post-up', value: FORWARDING }];
  if (r.firewall === 'nft') {
    out.push({ key: 'up:nft', hook: 'post-up', value: `nft '${nftScript(r)}'` });
    out.push({
      key: 'down:nft',
      hook: 'post-down',
      value: `nft delete table ip ${nftTable(r.bridge)} 2>/dev/null || true`,
    });
    return out;
  }
  const masq = masqSpec(r.subnet, r.uplink);
  out.push({ key: 'up:masq', hook: 'post-up', value: iptUp('nat', 'POSTROUTING', '-A', masq) });
  out.push({ key: 'down:masq', hook: 'post-down', value: iptDown('nat', 'POSTROUTING', masq) });
  out.push({ key: 'up:ctzone', hook: 'post-up', value: iptUp('raw', 'PREROUTING', '-I', CT_ZONE_SPEC) });
  out.push({ key: 'down:ctzone', hook: 'post-down', value: iptDown('raw', 'PREROUTING', CT_ZONE_SPEC) });
  for (const f of r.forwards) {
    const spec = dnatSpec(r.uplink, f);
    out.push({ key: `up:dnat:${forwardKey(f)}`, hook: 'post-up', value: iptUp('nat', 'PREROUTING', '-A', spec) });
    out.push({ key: `down:dnat:${forwardKey(f)}`, hook: 'post-down', value: iptDown('nat', 'PREROUTING', spec) });
  }
  return out;
}

/** The routed mode's lines on the uplink. */
export function routedLines(uplink: string): HookLine[] {
  return [
    { key: 'up:forwarding', hook: 'post-up', value: FORWARDING },
    { key: 'up:proxy_arp', hook: 'post-up', value: proxyArpLine(uplink) },
  ];
}

/** What a recognised NAT line says (only the parts it carries). */
export interface RecognisedNat {
  key: string;
  firewall?: Firewall;
  subnet?: string;
  uplink?: string;
  forwards?: Forward[];
}

const IPT_UP_RE = /^iptables -t (\w+) -C (\S+) (.+?) 2>\/dev\/null \|\| iptables -t \1 (-[AI]) \2 \3$/;
const IPT_DOWN_RE = /^iptables -t (\w+) -D (\S+) (.+) 2>\/dev\/null \|\| true$/;
const MASQ_RE = /^-s (\S+) -o (\S+) -j MASQUERADE$/;
const DNAT_RE = /^-i (\S+) -p (tcp|udp) --dport (\d+) -j DNAT --to-destination ([0-9.]+):(\d+)$/;
const NFT_UP_RE = /^nft '(.*)'$/;
const NFT_DOWN_RE = /^nft delete table ip (\w+) 2>\/dev\/null \|\| true$/;
const NFT_RULES_RE =
  /^add table ip (\w+); delete table ip \1; table ip \1 \{ chain prerouting \{ type nat hook prerouting priority dstnat; policy accept;(.*?) \}; chain postrouting \{ type nat hook postrouting priority srcnat; policy accept; ip saddr (\S+) oifname "([^"]+)" masquerade; \}; chain raw \{ type filter hook prerouting priority raw; policy accept; iifname "fwbr\*" ct zone set 1; \}; \}$/;
const NFT_DNAT_RE = / iifname "([^"]+)" (tcp|udp) dport (\d+) dnat to ([0-9.]+):(\d+);/y;

function classify(hook: Hook, value: string, bridge: string): RecognisedNat | null {
  if (hook === 'post-up' && value === FORWARDING) return { key: 'up:forwarding' };
  const up = hook === 'post-up' ? IPT_UP_RE.exec(value) : null;
  const down = hook === 'post-down' ? IPT_DOWN_RE.exec(value) : null;
  const m = up ?? down;
  if (m) {
    const [, table, chain, spec] = m as unknown as [string, string, string, string];
    const dir = up ? 'up' : 'down';
    if (up && table === 'raw' && chain === 'PREROUTING' && spec === CT_ZONE_SPEC && up[4] === '-I')
      return { key: `${dir}:ctzone`, firewall: 'iptables' };
    if (down && table === 'raw' && chain === 'PREROUTING' && spec === CT_ZONE_SPEC)
      return { key: `${dir}:ctzone`, firewall: 'iptables' };
    if (up && up[4] !== '-A') return null;
    const masq = table === 'nat' && chain === 'POSTROUTING' ? MASQ_RE.exec(spec) : null;
    if (masq) return { key: `${dir}:masq`, firewall: 'iptables', subnet: masq[1]!, uplink: masq[2]! };
    const dnat = table === 'nat' && chain === 'PREROUTING' ? DNAT_RE.exec(spec) : null;
    if (dnat) {
      const f: Forward = { proto: dnat[2] as Proto, port: Number(dnat[3]), ip: dnat[4]!, toPort: Number(dnat[5]) };
      return { key: `${dir}:dnat:${forwardKey(f)}`, firewall: 'iptables', uplink: dnat[1]!, forwards: [f] };
    }
    return null;
  }
  const nd = hook === 'post-down' ? NFT_DOWN_RE.exec(value) : null;
  if (nd) return nd[1] === nftTable(bridge) ? { key: 'down:nft', firewall: 'nft' } : null;
  const nu = hook === 'post-up' ? NFT_UP_RE.exec(value) : null;
  const body = nu ? NFT_RULES_RE.exec(nu[1]!) : null;
  if (!body || body[1] !== nftTable(bridge)) return null;
  const forwards: Forward[] = [];
  const dnats = body[2]!;
  let uplink = body[4]!;
  NFT_DNAT_RE.lastIndex = 0;
  let pos = 0;
  while (pos < dnats.length) {
    NFT_DNAT_RE.lastIndex = pos;
    const d = NFT_DNAT_RE.exec(dnats);
    if (!d) return null;
    if (d[1] !== uplink) uplink = '\u0000'; // forwards on another interface: not a shape we write
    forwards.push({ proto: d[2] as Proto, port: Number(d[3]), ip: d[4]!, toPort: Number(d[5]) });
    pos = NFT_DNAT_RE.lastIndex;
  }
  return { key: 'up:nft', firewall: 'nft', subnet: body[3]!, uplink, forwards };
}

/**
 * Recognise a hook line as one nodenet writes for NAT bridge `bridge`; null when it is not
 * exactly such a line (then it belongs to the user and is left alone).
 */
export function recogniseNatLine(hook: string, value: string, bridge: string): RecognisedNat | null {
  if (hook !== 'post-up' && hook !== 'post-down') return null;
  const r = classify(hook, value, bridge);
  if (!r) return null;
  // Render what was recognised and require the exact same text.
  const again = renderRecognised(hook, r, bridge);
  return again === value ? r : null;
}

function renderRecognised(hook: Hook, r: RecognisedNat, bridge: string): string | undefined {
  if (r.key === 'up:forwarding') return FORWARDING;
  const base: NatRules = {
    firewall: r.firewall ?? 'iptables',
    bridge,
    subnet: r.subnet ?? '0.0.0.0/0',
    uplink: r.uplink ?? 'x',
    forwards: r.forwards ?? [],
  };
  return natLines(base).find((l) => l.key === r.key && l.hook === hook)?.value;
}

/** Recognise the routed mode's lines on uplink `uplink`. */
export function recogniseRoutedLine(hook: string, value: string, uplink: string): string | null {
  if (hook !== 'post-up') return null;
  if (value === FORWARDING) return 'up:forwarding';
  if (value === proxyArpLine(uplink)) return 'up:proxy_arp';
  return null;
}

/**
 * Parse `PROTO/PORT=IP[:PORT]` (`tcp/2222=10.10.10.100:22`). Without `:PORT` the guest port is
 * the same as the outside port. Returns an error sentence instead of throwing.
 */
export function parseForward(s: string): Forward | string {
  const m = /^(tcp|udp)\/(\d{1,5})=(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/i.exec(s.trim());
  if (!m)
    return `'${s}' is not a port forward; write PROTO/PORT=IP:PORT, e.g. tcp/2222=10.10.10.100:22 (PROTO is tcp or udp)`;
  const port = Number(m[2]);
  const toPort = m[4] === undefined ? port : Number(m[4]);
  for (const p of [port, toPort]) if (p < 1 || p > 65535) return `'${s}': port ${p} is out of range (1-65535)`;
  const ip = m[3]!;
  if (ip.split('.').some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0'))))
    return `'${s}': ${ip} is not an IPv4 address`;
  return { proto: m[1]!.toLowerCase() as Proto, port, ip, toPort };
}

/** Parse `PROTO/PORT` (or a whole forward spec) for --remove-forward. */
export function parseForwardKey(s: string): { proto: Proto; port: number } | string {
  const m = /^(tcp|udp)\/(\d{1,5})(?:=.*)?$/i.exec(s.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    return `'${s}' does not name a port forward; write PROTO/PORT, e.g. tcp/2222`;
  return { proto: m[1]!.toLowerCase() as Proto, port: Number(m[2]) };
}

/** The argv that removes an iptables rule nodenet wrote from the running kernel (for notes). */
export function liveRemovalCommand(line: HookLine): string | undefined {
  if (line.hook !== 'post-up') return undefined;
  const m = IPT_UP_RE.exec(line.value);
  if (m) return `iptables -t ${m[1]} -D ${m[2]} ${m[3]}`;
  return undefined;
}
