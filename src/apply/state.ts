/**
 * Reading the kernel's network state (the truth apply verifies against) and normalising it so two
 * reads of the same configuration compare equal, run after run.
 *
 * Reads go through an {@link Exec} so the same code serves the host (`ifupdown2` backend) and the
 * sandbox (`netns` backend, via `ip netns exec`).
 *
 * Dropped as volatile: ifindex, MAC addresses (random for bridges/veths), operstate and carrier
 * flags (linkwatch settles up to ~1 s after a reload, research §5.8), IPv6 link-local addresses and
 * their fe80::/64 routes (random, and present only once DAD ran), address lifetimes, route
 * `linkdown`/`pref`/`expires`, firewall counters and timestamps.
 */
import { NodenetError } from '../errors.ts';
import type { RunResult, Runner } from './runner.ts';

/** Runs argv where the state lives (host, or inside a namespace). */
export type Exec = (argv: string[]) => Promise<RunResult>;

/** An Exec on the host through a Runner. */
export function hostExec(run: Runner): Exec {
  return (argv) => {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new NodenetError('INTERNAL', 'exec: empty argv');
    return run(cmd, args);
  };
}

/** Exactly what the tools printed (parsed JSON where they print JSON). */
export interface RawKernelState {
  /** `ip -j -d link` */
  link: unknown[];
  /** `ip -j addr` */
  addr: unknown[];
  /** `ip -j route` */
  route4: unknown[];
  /** `ip -j -6 route` */
  route6: unknown[];
  /** `bridge -j vlan` */
  vlan: unknown[];
  /** `net.ipv4.ip_forward`, `net.ipv6.conf.all.forwarding`, and per interface (plus all/default)
   *  `net.ipv4.conf.X.proxy_arp`, `net.ipv6.conf.X.disable_ipv6`, as sysctl names. */
  sysctl: Record<string, string>;
  /** `iptables-save` output, null when iptables is not installed. */
  iptables: string | null;
  /** `nft list ruleset` output, null when nft is not installed. */
  nft: string | null;
}

/** Bridge attributes in the interfaces file's units (forward_delay in seconds, as `bridge-fd`). */
export interface KernelBridge {
  stp_state: number;
  forward_delay: number;
  vlan_filtering: number;
}

export interface KernelVlan {
  id: number;
  protocol: string;
  link: string;
}

export interface KernelBond {
  mode: string;
  /** Other bond options as printed (miimon, xmit_hash_policy, lacp_rate, ...), minus volatile ones. */
  options: Record<string, string>;
}

export interface KernelVxlan {
  id: number;
  local?: string;
  remote?: string;
  group?: string;
  port?: number;
  link?: string;
}

/** One interface, normalised. Optional parts are absent (not undefined) when not applicable. */
export interface KernelInterface {
  name: string;
  /** `linkinfo.info_kind` (bridge, veth, bond, vlan, vxlan, tun, ...), `loopback`, or `device`. */
  kind: string;
  master?: string;
  /** Administratively up (the UP flag), not carrier. */
  up: boolean;
  mtu: number;
  /** `ADDR/PREFIX`, sorted; IPv4 and IPv6 (link-local dropped unless asked for). */
  addresses: string[];
  bridge?: KernelBridge;
  vlan?: KernelVlan;
  bond?: KernelBond;
  vxlan?: KernelVxlan;
  /** `bridge vlan` entries of this port/bridge: `10`, `2-4094`, `1 PVID untagged`. */
  bridge_vlans?: string[];
}

export interface KernelRoute {
  family: 'inet' | 'inet6';
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
  /** Route flags minus the carrier-dependent `linkdown`. */
  flags: string[];
}

/** The normalised, comparable kernel state. */
export interface KernelState {
  interfaces: KernelInterface[];
  routes: KernelRoute[];
  sysctls: Record<string, string>;
  firewall: {
    /** iptables-save lines without comments, counters or empty ACCEPT-only tables; null: no iptables. */
    iptables: string[] | null;
    /** nft ruleset lines without counters, minus the tables iptables-nft owns; null: no nft. */
    nft: string[] | null;
  };
}

/** A state with nothing in it (the `none` backend's). */
export function emptyKernelState(): KernelState {
  return { interfaces: [], routes: [], sysctls: {}, firewall: { iptables: null, nft: null } };
}

/** Options for {@link normaliseState}. */
export interface NormaliseOptions {
  /** Keep IPv6 link-local addresses and fe80::/64 routes (random per boot; off by default). */
  keepLinkLocal?: boolean;
}

// ---------------------------------------------------------------- reading

function isMissingCommand(r: RunResult): boolean {
  // `ip netns exec` reports a missing binary itself; exit 255 or 127 from a shell
  return /No such file or directory|not found/i.test(r.stderr) && (r.code === 255 || r.code === 127 || r.code === 1);
}

async function json(exec: Exec, argv: string[]): Promise<unknown[]> {
  const r = await exec(argv);
  if (r.code !== 0) {
    throw new NodenetError('BACKEND', `${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  try {
    const v: unknown = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout);
    return Array.isArray(v) ? v : [];
  } catch (e) {
    throw new NodenetError('BACKEND', `${argv.join(' ')} printed invalid JSON`, { cause: e });
  }
}

async function optionalText(exec: Exec, argv: string[]): Promise<string | null> {
  let r: RunResult;
  try {
    r = await exec(argv);
  } catch (e) {
    // the real runner rejects when the binary is missing on the host
    if (e instanceof NodenetError && /command not found/.test(e.message)) return null;
    throw e;
  }
  if (r.code === 0) return r.stdout;
  if (isMissingCommand(r)) return null;
  // The tool is there but the kernel lacks the subsystem (no nf_tables / ip_tables): nothing
  // to read, as on a host without the command.
  if (
    /Protocol not supported|Operation not supported|Unable to initialize Netlink socket|can't initialize|Table does not exist|Address family not supported/i.test(
      r.stderr,
    )
  )
    return null;
  throw new NodenetError('BACKEND', `${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/**
 * One shell run that reads the links, ports, addresses, routes and bridge VLANs of the named
 * interfaces only, plus the default routes; sections are introduced by `@kind [dev]` lines.
 * The names come in as positional parameters (never spliced into the script).
 */
const SCOPED_SCRIPT = `for n; do
  echo @link; ip -j -d link show dev "$n" 2>/dev/null; echo
  echo @link; ip -j -d link show master "$n" 2>/dev/null; echo
  echo @addr; ip -j addr show dev "$n" 2>/dev/null; echo
  echo "@route4 $n"; ip -j route show dev "$n" 2>/dev/null; echo
  echo "@route6 $n"; ip -j -6 route show dev "$n" 2>/dev/null; echo
  echo @vlan; bridge -j vlan show dev "$n" 2>/dev/null; echo
done
echo @route4; ip -j route show default; echo
echo @route6; ip -j -6 route show default; echo
echo @sysctl
for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding; do [ ! -r "$f" ] || echo "$f:$(cat "$f")"; done
for n in all default "$@"; do
  for f in "/proc/sys/net/ipv4/conf/$n/proxy_arp" "/proc/sys/net/ipv6/conf/$n/disable_ipv6"; do [ ! -r "$f" ] || echo "$f:$(cat "$f")"; done
done
if command -v iptables-save >/dev/null 2>&1 && out=$(iptables-save 2>/dev/null); then echo @iptables; printf '%s\n' "$out"; fi
if command -v nft >/dev/null 2>&1 && out=$(nft list ruleset 2>/dev/null); then echo @nft; printf '%s\n' "$out"; fi
`;

/** Interface names a scoped read accepts (they reach `ip ... dev NAME` as one argument). */
const SCOPE_NAME_RE = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]{0,14}$/;

/**
 * The scoped read ({@link readRawState} with a scope), in one process: each `ip` dump of the
 * named interfaces, the default routes, the sysctls of those interfaces, and the firewall
 * (null where the command is missing or fails: the scoped read is for verification, which does
 * not check the firewall).
 */
async function readScopedState(exec: Exec, names: readonly string[]): Promise<RawKernelState> {
  for (const n of names)
    if (!SCOPE_NAME_RE.test(n)) throw new NodenetError('PARAM', `invalid interface name ${JSON.stringify(n)}`);
  const r = await exec(['sh', '-c', SCOPED_SCRIPT, 'sh', ...names]);
  if (r.code !== 0)
    throw new NodenetError(
      'BACKEND',
      `reading the state of ${names.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  const out = {
    link: [] as unknown[],
    addr: [] as unknown[],
    route4: [] as unknown[],
    route6: [] as unknown[],
    vlan: [] as unknown[],
  };
  const seen = {
    link: new Set<string>(),
    addr: new Set<string>(),
    route4: new Set<string>(),
    route6: new Set<string>(),
    vlan: new Set<string>(),
  };
  const raw: RawKernelState = { ...out, sysctl: {}, iptables: null, nft: null };
  // sections start at a line `@kind [dev]`; the firewall sections hold text, the others one JSON array
  for (const part of `\n${r.stdout}`
    .split(/\n@(?=(?:link|addr|route4|route6|vlan|sysctl|iptables|nft)(?: [^\n]*)?\n)/)
    .slice(1)) {
    const nl = part.indexOf('\n');
    const [kind, dev] = (nl < 0 ? part : part.slice(0, nl)).split(' ') as [string, string | undefined];
    const text = nl < 0 ? '' : part.slice(nl + 1);
    if (kind === 'iptables' || kind === 'nft') {
      raw[kind] = text;
      continue;
    }
    if (kind === 'sysctl') {
      for (const line of text.split('\n')) {
        const i = line.indexOf(':');
        if (i > 0 && line.startsWith('/proc/sys/'))
          raw.sysctl[line.slice('/proc/sys/'.length, i).replaceAll('/', '.')] = line.slice(i + 1).trim();
      }
      continue;
    }
    const body = text.trim();
    if (!(kind in out) || body === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch (e) {
      throw new NodenetError('BACKEND', `reading the state of ${names.join(' ')}: invalid JSON for ${kind}`, {
        cause: e,
      });
    }
    for (const x of Array.isArray(v) ? v : []) {
      // `ip route show dev X` leaves the dev out of each route
      const item = dev !== undefined && typeof x === 'object' && x !== null ? { ...(x as Rec), dev } : x;
      const key =
        kind === 'link' || kind === 'addr' || kind === 'vlan'
          ? String(rec(item)['ifname'])
          : JSON.stringify(Object.entries(rec(item)).sort(([a], [b]) => cmp(a, b)));
      const set = seen[kind as keyof typeof seen];
      if (set.has(key)) continue;
      set.add(key);
      out[kind as keyof typeof out].push(item);
    }
  }
  return raw;
}

/**
 * Reads everything {@link RawKernelState} holds. Throws NodenetError('BACKEND') if `ip` fails.
 * With `scope`, only those interfaces (and the links enslaved to them), their routes and the
 * default routes: what a targeted reload can have changed, at a cost that does not grow with the
 * number of interfaces in the kernel. Firewall and global sysctls are read whole either way.
 */
export async function readRawState(exec: Exec, scope?: readonly string[]): Promise<RawKernelState> {
  if (scope !== undefined) return readScopedState(exec, scope);
  const [link, addr, route4, route6, vlan, iptables, nft] = await Promise.all([
    json(exec, ['ip', '-j', '-d', 'link', 'show']),
    json(exec, ['ip', '-j', 'addr', 'show']),
    json(exec, ['ip', '-j', 'route', 'show']),
    json(exec, ['ip', '-j', '-6', 'route', 'show']),
    json(exec, ['bridge', '-j', 'vlan', 'show']),
    optionalText(exec, ['iptables-save']),
    optionalText(exec, ['nft', 'list', 'ruleset']),
  ]);
  const names = link.map((l) => str((l as Rec)['ifname'])).filter((n): n is string => n !== undefined);
  const files = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'];
  for (const n of ['all', 'default', ...names]) {
    files.push(`/proc/sys/net/ipv4/conf/${n}/proxy_arp`, `/proc/sys/net/ipv6/conf/${n}/disable_ipv6`);
  }
  // grep prints "file:value" for each readable file (-s: missing ones, e.g. IPv6 disabled, are
  // skipped silently); exit 2 then only means some were missing.
  const r = await exec(['grep', '-s', '-H', '^', ...files]);
  const sysctl: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    sysctl[line.slice('/proc/sys/'.length, i).replaceAll('/', '.')] = line.slice(i + 1).trim();
  }
  return { link, addr, route4, route6, vlan, sysctl, iptables, nft };
}

/** Reads and normalises in one go. */
export async function readKernelState(
  exec: Exec,
  opts: NormaliseOptions = {},
  scope?: readonly string[],
): Promise<{ raw: RawKernelState; state: KernelState }> {
  const raw = await readRawState(exec, scope);
  return { raw, state: normaliseState(raw, opts) };
}

// ---------------------------------------------------------------- normalising

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Rec) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Kernel clock_t for bridge timers: USER_HZ is 100 on every Linux ABI, so 1500 = 15 s. */
const BRIDGE_TIMER_HZ = 100;

/** Bond info_data keys that change on their own (counters, timers, active slave after failover). */
const VOLATILE_BOND_KEYS = new Set(['ad_info', 'active_slave', 'peer_notify_delay']);

function isLinkLocal6(addr: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(addr);
}

/**
 * Turns a raw dump into a {@link KernelState}: sorted, volatile fields dropped, units as in the
 * interfaces file. Pure.
 */
export function normaliseState(raw: RawKernelState, opts: NormaliseOptions = {}): KernelState {
  const keepLL = opts.keepLinkLocal ?? false;
  const addrsByName = new Map<string, string[]>();
  for (const a of raw.addr) {
    const r = rec(a);
    const name = str(r['ifname']);
    if (name === undefined) continue;
    const list: string[] = [];
    for (const ai of arr(r['addr_info'])) {
      const x = rec(ai);
      const local = str(x['local']);
      const plen = num(x['prefixlen']);
      if (local === undefined || plen === undefined) continue;
      if (!keepLL && str(x['family']) === 'inet6' && isLinkLocal6(local)) continue;
      list.push(`${local}/${plen}`);
    }
    addrsByName.set(name, list.sort());
  }

  const vlansByName = new Map<string, string[]>();
  for (const v of raw.vlan) {
    const r = rec(v);
    const name = str(r['ifname']);
    if (name === undefined) continue;
    const entries = arr(r['vlans']).map((e) => {
      const x = rec(e);
      const id = num(x['vlan']);
      const end = num(x['vlanEnd']);
      const flags = arr(x['flags'])
        .map((f) => (f === 'Egress Untagged' ? 'untagged' : String(f)))
        .sort();
      return [end === undefined ? String(id) : `${id}-${end}`, ...flags].join(' ');
    });
    vlansByName.set(name, entries);
  }

  const interfaces: KernelInterface[] = [];
  for (const l of raw.link) {
    const r = rec(l);
    const name = str(r['ifname']);
    if (name === undefined) continue;
    const info = rec(r['linkinfo']);
    const data = rec(info['info_data']);
    const infoKind = str(info['info_kind']);
    const kind = infoKind ?? (str(r['link_type']) === 'loopback' ? 'loopback' : 'device');
    const iface: KernelInterface = {
      name,
      kind,
      up: arr(r['flags']).includes('UP'),
      mtu: num(r['mtu']) ?? 0,
      addresses: addrsByName.get(name) ?? [],
    };
    const master = str(r['master']);
    if (master !== undefined) iface.master = master;
    if (kind === 'bridge') {
      iface.bridge = {
        stp_state: num(data['stp_state']) ?? 0,
        forward_delay: (num(data['forward_delay']) ?? 0) / BRIDGE_TIMER_HZ,
        vlan_filtering: num(data['vlan_filtering']) ?? 0,
      };
    } else if (kind === 'vlan') {
      iface.vlan = {
        id: num(data['id']) ?? 0,
        protocol: str(data['protocol']) ?? '802.1Q',
        link: str(r['link']) ?? '',
      };
    } else if (kind === 'bond') {
      const options: Record<string, string> = {};
      for (const [k, v] of Object.entries(data)) {
        if (k === 'mode' || VOLATILE_BOND_KEYS.has(k) || typeof v === 'object') continue;
        options[k] = String(v);
      }
      iface.bond = { mode: str(data['mode']) ?? '', options: sortRecord(options) };
    } else if (kind === 'vxlan') {
      const vx: KernelVxlan = { id: num(data['id']) ?? 0 };
      for (const k of ['local', 'remote', 'group', 'link'] as const) {
        const v = str(data[k]);
        if (v !== undefined) vx[k] = v;
      }
      const port = num(data['port']);
      if (port !== undefined) vx.port = port;
      iface.vxlan = vx;
    }
    const bv = vlansByName.get(name);
    if (bv !== undefined && bv.length > 0) iface.bridge_vlans = bv;
    interfaces.push(iface);
  }
  interfaces.sort((a, b) => cmp(a.name, b.name));

  const routes: KernelRoute[] = [];
  for (const [family, list] of [
    ['inet', raw.route4],
    ['inet6', raw.route6],
  ] as const) {
    for (const x of list) {
      const r = rec(x);
      const dst = str(r['dst']);
      if (dst === undefined) continue;
      if (!keepLL && family === 'inet6' && (dst === 'fe80::/64' || dst.startsWith('ff00::'))) continue;
      const route: KernelRoute = {
        family,
        dst,
        flags: arr(r['flags'])
          .map(String)
          .filter((f) => f !== 'linkdown')
          .sort(),
      };
      for (const k of ['gateway', 'dev', 'protocol', 'scope', 'prefsrc', 'type'] as const) {
        const v = str(r[k]);
        if (v !== undefined) route[k] = v;
      }
      const metric = num(r['metric']);
      if (metric !== undefined) route.metric = metric;
      routes.push(route);
    }
  }
  routes.sort((a, b) => cmp(routeKey(a), routeKey(b)));

  const sysctls: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.sysctl)) {
    // per-interface values only where they differ from the kernel default of 0: the list of
    // interfaces is compared above, and "proxy_arp 0 on eno2" is noise in a diff
    const m = /^net\.ipv[46]\.conf\.([^.]+)\.(proxy_arp|disable_ipv6)$/.exec(k);
    if (m !== null && m[1] !== 'all' && m[1] !== 'default' && v === '0') continue;
    sysctls[k] = v;
  }

  const nftOwnedByIptables = raw.iptables !== null && raw.iptables.includes('(nf_tables)');
  return {
    interfaces,
    routes,
    sysctls: sortRecord(sysctls),
    firewall: {
      iptables: raw.iptables === null ? null : normaliseIptablesSave(raw.iptables),
      nft: raw.nft === null ? null : normaliseNftRuleset(raw.nft, nftOwnedByIptables),
    },
  };
}

/** `default via 192.168.100.1 dev vmbr0 proto kernel onlink` — one line per route, `ip route` style. */
export function routeKey(r: KernelRoute): string {
  const parts = [r.family === 'inet6' ? '-6' : '-4', r.type !== undefined && r.type !== 'unicast' ? r.type : '', r.dst];
  if (r.gateway !== undefined) parts.push('via', r.gateway);
  if (r.dev !== undefined) parts.push('dev', r.dev);
  if (r.protocol !== undefined) parts.push('proto', r.protocol);
  if (r.scope !== undefined) parts.push('scope', r.scope);
  if (r.prefsrc !== undefined) parts.push('src', r.prefsrc);
  if (r.metric !== undefined) parts.push('metric', String(r.metric));
  parts.push(...r.flags);
  return parts.filter((p) => p !== '').join(' ');
}

const IPTABLES_BUILTIN_CHAINS = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);

/**
 * iptables-save text → lines without comments and counters. A table with only built-in chains at
 * policy ACCEPT and no rules is dropped: it means the same as no table, and iptables-nft leaves
 * one behind after its last rule is deleted (so "NAT added then removed" equals "never added").
 */
export function normaliseIptablesSave(text: string): string[] {
  const out: string[] = [];
  let table: string[] = [];
  let meaningful = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = [line];
      meaningful = false;
      continue;
    }
    if (line === 'COMMIT') {
      if (meaningful) out.push(...table, 'COMMIT');
      table = [];
      continue;
    }
    const chain = /^:(\S+)\s+(\S+)/.exec(line);
    if (chain !== null) {
      const [, name = '', policy = ''] = chain;
      table.push(`:${name} ${policy}`);
      if (!IPTABLES_BUILTIN_CHAINS.has(name) || policy !== 'ACCEPT') meaningful = true;
      continue;
    }
    // `iptables-save -c` form: "[pkts:bytes] -A ..."
    table.push(line.replace(/^\[\d+:\d+\]\s*/, ''));
    meaningful = true;
  }
  return out;
}

const IPTABLES_NFT_TABLES = /^table (ip|ip6) (filter|nat|mangle|raw|security) \{/;

/**
 * `nft list ruleset` text → trimmed lines without counters. When iptables-save runs on the
 * nf_tables backend, the tables it owns are left out here (iptables-save already shows them).
 */
export function normaliseNftRuleset(text: string, dropIptablesTables: boolean): string[] {
  const out: string[] = [];
  let skipping = false;
  for (const rawLine of text.split('\n')) {
    if (rawLine.startsWith('table ')) skipping = dropIptablesTables && IPTABLES_NFT_TABLES.test(rawLine);
    const line = rawLine
      .replace(/\s*#.*$/, '')
      .replace(/counter packets \d+ bytes \d+/g, 'counter')
      .trim();
    if (!skipping && line !== '') out.push(line);
    if (rawLine === '}') skipping = false;
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortRecord<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => cmp(a, b)));
}

// ---------------------------------------------------------------- diffing

/** One difference between two states; `iface` when it concerns one interface. */
export interface StateDifference {
  iface?: string;
  /** What differs: `address`, `master`, `route`, `sysctl`, `iptables`, ... */
  what: string;
  /** Human-readable: "vmbr0: address 192.168.100.2/24 only before". */
  message: string;
}

function fmt(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/**
 * The differences from `a` (before / expected) to `b` (after / actual), in a stable order:
 * interfaces, routes, sysctls, firewall. Empty when the states are equal.
 */
export function diffStates(
  a: KernelState,
  b: KernelState,
  labels: [string, string] = ['before', 'after'],
): StateDifference[] {
  const [la, lb] = labels;
  const out: StateDifference[] = [];
  const ia = new Map(a.interfaces.map((i) => [i.name, i]));
  const ib = new Map(b.interfaces.map((i) => [i.name, i]));
  for (const name of [...new Set([...ia.keys(), ...ib.keys()])].sort(cmp)) {
    const x = ia.get(name);
    const y = ib.get(name);
    if (x === undefined) {
      out.push({ iface: name, what: 'interface', message: `${name}: ${y?.kind ?? ''} interface only ${lb}` });
      continue;
    }
    if (y === undefined) {
      out.push({ iface: name, what: 'interface', message: `${name}: ${x.kind} interface only ${la}` });
      continue;
    }
    for (const key of ['kind', 'master', 'up', 'mtu', 'bridge', 'vlan', 'bond', 'vxlan'] as const) {
      const vx = x[key];
      const vy = y[key];
      if (fmt(vx) === fmt(vy)) continue;
      if (vx !== undefined && vy !== undefined && typeof vx === 'object' && typeof vy === 'object') {
        const kx = vx as unknown as Rec;
        const ky = vy as unknown as Rec;
        for (const k of [...new Set([...Object.keys(kx), ...Object.keys(ky)])].sort(cmp)) {
          if (fmt(kx[k]) !== fmt(ky[k])) {
            out.push({
              iface: name,
              what: `${key}.${k}`,
              message: `${name}: ${key} ${k} ${fmt(kx[k])} → ${fmt(ky[k])}`,
            });
          }
        }
      } else {
        out.push({
          iface: name,
          what: key,
          message: `${name}: ${key} ${vx === undefined ? '(none)' : fmt(vx)} → ${vy === undefined ? '(none)' : fmt(vy)}`,
        });
      }
    }
    for (const [what, lx, ly] of [
      ['address', x.addresses, y.addresses],
      ['bridge-vlan', x.bridge_vlans ?? [], y.bridge_vlans ?? []],
    ] as const) {
      const sy = new Set(ly);
      const sx = new Set(lx);
      for (const v of lx) if (!sy.has(v)) out.push({ iface: name, what, message: `${name}: ${what} ${v} only ${la}` });
      for (const v of ly) if (!sx.has(v)) out.push({ iface: name, what, message: `${name}: ${what} ${v} only ${lb}` });
    }
  }
  const ra = new Set(a.routes.map(routeKey));
  const rb = new Set(b.routes.map(routeKey));
  for (const r of a.routes) {
    const k = routeKey(r);
    if (!rb.has(k))
      out.push({ ...(r.dev === undefined ? {} : { iface: r.dev }), what: 'route', message: `route ${k} only ${la}` });
  }
  for (const r of b.routes) {
    const k = routeKey(r);
    if (!ra.has(k))
      out.push({ ...(r.dev === undefined ? {} : { iface: r.dev }), what: 'route', message: `route ${k} only ${lb}` });
  }
  for (const k of [...new Set([...Object.keys(a.sysctls), ...Object.keys(b.sysctls)])].sort(cmp)) {
    const va = a.sysctls[k];
    const vb = b.sysctls[k];
    if (va !== vb) {
      const m = /^net\.ipv[46]\.conf\.([^.]+)\./.exec(k);
      const iface = m?.[1] !== undefined && m[1] !== 'all' && m[1] !== 'default' ? { iface: m[1] } : {};
      out.push({ ...iface, what: 'sysctl', message: `sysctl ${k} ${va ?? '(unset)'} → ${vb ?? '(unset)'}` });
    }
  }
  for (const fw of ['iptables', 'nft'] as const) {
    const fa = a.firewall[fw];
    const fb = b.firewall[fw];
    if (fa === null || fb === null) {
      if (fa !== fb)
        out.push({
          what: fw,
          message: `${fw} ${fa === null ? 'not available' : 'available'} ${la}, ${fb === null ? 'not available' : 'available'} ${lb}`,
        });
      continue;
    }
    // multisets: a duplicated rule (post-up `iptables -A` re-run by a reload) is a difference
    const count = (ls: string[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const l of ls) m.set(l, (m.get(l) ?? 0) + 1);
      return m;
    };
    const ca = count(fa);
    const cb = count(fb);
    const before = out.length;
    for (const l of [...new Set([...fa, ...fb])]) {
      const na = ca.get(l) ?? 0;
      const nb = cb.get(l) ?? 0;
      if (na === nb) continue;
      const message =
        nb === 0
          ? `${fw}: "${l}" only ${la}`
          : na === 0
            ? `${fw}: "${l}" only ${lb}`
            : `${fw}: "${l}" ${na}× ${la}, ${nb}× ${lb}`;
      out.push({ what: fw, message });
    }
    if (out.length === before && fa.join('\n') !== fb.join('\n')) {
      out.push({ what: fw, message: `${fw}: same rules in a different order` });
    }
  }
  return out;
}
