/**
 * Addresses and gateways: syntax, family, the subnet's own network/broadcast address, IPv6
 * scope, gateways inside a subnet, one default gateway per family, duplicates and overlaps.
 * Every cross-interface check uses a map or a sort, never a pairwise scan.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { addressesOf } from '../model/build.ts';
import { inSubnet, ipToBigInt, ipVersion, parseCidr, parseIPv4, parseIPv6, subnetRange } from '../model/ip.ts';
import type { Address, Iface, ModelOption } from '../model/types.ts';
import type { Rule } from './context.ts';
import { atOption, localRule, memoOn, opt } from './common.ts';

const fam = (v: 4 | 6) => (v === 4 ? 'IPv4' : 'IPv6');

/** Whether an address is a placeholder that configures nothing (PVE allows these on ports). */
export function isUnspecified(a: Address): boolean {
  return a.ip === '0.0.0.0' || a.ip === '::';
}

/**
 * What the rules derive from an address, computed once per Address object: models built
 * incrementally share the Address objects of unchanged stanzas, so a re-validation after an
 * edit of one interface parses only that interface's addresses.
 */
interface AddrFacts {
  valid: boolean;
  /** The address as a number (IPv4) or bigint (IPv6); null when invalid. */
  value: number | bigint | null;
  /** The subnet's first and last address, when there is a prefix. */
  range: [number, number] | [bigint, bigint] | null;
}
/** Kept on the Address (see memoOn). */
const FACTS = Symbol('nodenet.addressFacts');

function factsOf(a: Address): AddrFacts {
  return memoOn(a, FACTS, () => {
    const valid = parseCidr(a.raw, false) !== null;
    const value = !valid ? null : a.version === 4 ? parseIPv4(a.ip) : ipToBigInt(a.ip);
    const range =
      !valid || a.prefix === null
        ? null
        : a.version === 4
          ? v4Range(a.ip, a.prefix)
          : subnetRange(a.ip, a.prefix, a.version);
    return { valid, value, range };
  });
}

function validAddr(a: Address): boolean {
  return factsOf(a).valid;
}

/**
 * The scope PVE accepts for an IPv6 host address: global unicast (2000::/3), unique local
 * (fc00::/7) or link-local (fe80::/10).
 */
function ipv6HostScope(ip: string): string | null {
  const g = parseIPv6(ip);
  if (!g) return null;
  const h = g[0]!;
  if ((h & 0xe000) === 0x2000 || (h & 0xfe00) === 0xfc00 || (h & 0xffc0) === 0xfe80) return null;
  if ((h & 0xff00) === 0xff00) return 'multicast';
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return 'IPv4-mapped';
  if ((h & 0xffc0) === 0xfec0) return 'site-local (deprecated)';
  return 'reserved';
}

/** ADDRESS_INVALID, ADDRESS_FAMILY_MISMATCH, ADDRESS_IS_NETWORK, ADDRESS_IS_BROADCAST, IPV6_ADDRESS_SCOPE. */
export const addressRules: Rule = localRule((i, _ctx, out) => {
  for (const st of i.stanzas) {
    for (const a of st.addresses) {
      const base = { iface: i.name };
      if (!validAddr(a)) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'error',
              code: 'ADDRESS_INVALID',
              message: `${i.name}: '${a.raw}' is not a valid IPv4 or IPv6 address with an optional /prefix`,
              hint: 'write it as 192.0.2.10/24 or 2001:db8::10/64',
            },
            a.option,
            a.raw,
          ),
        );
        continue;
      }
      if (a.netmask && a.prefix === null) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'error',
              code: 'ADDRESS_INVALID',
              message: `${i.name}: netmask '${a.netmask.value}' is not a contiguous netmask, so ${a.ip} has no usable prefix`,
              hint: 'use a netmask like 255.255.255.0, or drop netmask and write the address as 192.0.2.10/24',
            },
            a.netmask,
          ),
        );
      }
      if (st.family && ((st.family === 'inet' && a.version === 6) || (st.family === 'inet6' && a.version === 4))) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'warning',
              code: 'ADDRESS_FAMILY_MISMATCH',
              message: `${i.name}: ${fam(a.version)} address ${a.raw} is in an '${st.family}' stanza`,
              hint: `move it into an 'iface ${i.name} ${a.version === 4 ? 'inet' : 'inet6'} ...' stanza; ifupdown2 accepts it here, but Proxmox VE and ifupdown 1 read it as the wrong family`,
            },
            a.option,
            a.raw,
          ),
        );
      }
      if (a.version === 4 && a.prefix !== null && a.prefix <= 30) {
        // Plain numbers for IPv4: this runs once per address and must stay cheap at scale.
        const { range: r, value: v } = factsOf(a);
        if (r && v !== null && (v === r[0] || v === r[1])) {
          const isNet = v === r[0];
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: isNet ? 'ADDRESS_IS_NETWORK' : 'ADDRESS_IS_BROADCAST',
                message: `${i.name}: ${a.ip} is the ${isNet ? 'network' : 'broadcast'} address of its subnet ${v4Text(Number(r[0]))}/${a.prefix} and cannot be used by a host`,
                hint: `use an address between the first and the last of the subnet (e.g. ${isNet ? 'the next one up' : 'the one below'}), or check the prefix length`,
              },
              a.option,
              a.raw,
            ),
          );
        }
      }
      if (a.version === 6 && i.kind !== 'loopback') {
        const scope = ipv6HostScope(a.ip);
        if (scope) {
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: 'IPV6_ADDRESS_SCOPE',
                message: `${i.name}: ${a.ip} is a ${scope} IPv6 address and cannot be a host address`,
                hint: 'use a global (2000::/3), unique-local (fc00::/7) or link-local (fe80::/10) address',
              },
              a.option,
              a.raw,
            ),
          );
        }
      }
    }
  }
});

/** GATEWAY_INVALID, GATEWAY_WITHOUT_ADDRESS, GATEWAY_OUTSIDE_SUBNET, DUPLICATE_DEFAULT_GATEWAY. */
export const gatewayRules: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const firstGw: Record<4 | 6, { iface: string; opt: ModelOption } | undefined> = { 4: undefined, 6: undefined };
  for (const i of ctx.model.ifaces.values()) {
    const addrs = addressesOf(i).filter(validAddr);
    const ptp = opt(i, 'pointopoint')?.value;
    for (const st of i.stanzas) {
      for (const g of st.gateways) {
        const ip = g.value.trim();
        if (!ip) continue; // the parser reports OPTION_WITHOUT_VALUE
        const v = ipVersion(ip);
        const base = { iface: i.name };
        if (v === null) {
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: 'GATEWAY_INVALID',
                message: `${i.name}: gateway '${g.value}' is not an IPv4 or IPv6 address`,
                hint: 'write the gateway as a plain address without a prefix, e.g. 192.0.2.1',
              },
              g,
            ),
          );
          continue;
        }
        const prev = firstGw[v];
        if (prev) {
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: 'DUPLICATE_DEFAULT_GATEWAY',
                message: `${i.name}: a second ${fam(v)} default gateway ${ip}; ${prev.iface} already has ${prev.opt.value.trim()} (line ${prev.opt.node.line.lineNo})`,
                hint: 'a node has one default route per family; remove one gateway, or add a specific route with `post-up ip route add NET via GW` instead',
              },
              g,
            ),
          );
        } else firstGw[v] = { iface: i.name, opt: g };
        const mine = addrs.filter((a) => a.version === v && !isUnspecified(a));
        if (!mine.length) {
          // DHCP/SLAAC stanzas get their address at run time; the gateway still needs one.
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: 'GATEWAY_WITHOUT_ADDRESS',
                message: `${i.name}: gateway ${ip} is set but ${i.name} has no static ${fam(v)} address to reach it from`,
                hint: `add an ${fam(v)} address in the subnet of ${ip} to ${i.name}, or move the gateway to the interface that has one`,
              },
              g,
            ),
          );
          continue;
        }
        // A link-local IPv6 gateway is on-link on every interface; a point-to-point peer is
        // reachable whatever the prefix (the /32 setups of hosting providers).
        if (v === 6 && (parseIPv6(ip)![0]! & 0xffc0) === 0xfe80) continue;
        if (ptp !== undefined && ptp.trim() === ip) continue;
        if (!mine.some((a) => a.prefix !== null && inSubnet(ip, a.ip, a.prefix, v))) {
          const nets = mine.map((a) => `${a.ip}/${a.prefix ?? (v === 4 ? 32 : 128)}`).join(', ');
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: 'GATEWAY_OUTSIDE_SUBNET',
                message: `${i.name}: gateway ${ip} is not inside ${mine.length > 1 ? 'any of its subnets' : 'its subnet'} ${nets}, so the default route cannot be added`,
                hint:
                  v === 4
                    ? `fix the gateway or the prefix length; for a provider's point-to-point gateway add 'pointopoint ${ip}'`
                    : "fix the gateway or the prefix length, or use the router's link-local address (fe80::...)",
              },
              g,
            ),
          );
        }
      }
    }
  }
  return out;
};

interface Net {
  iface: Iface;
  a: Address;
  /** number for IPv4, bigint for IPv6 (never mixed within one list). */
  lo: number | bigint;
  hi: number | bigint;
}

/** DUPLICATE_ADDRESS (error) and SUBNET_OVERLAP (warning), with one map and one sort. */
export const duplicateRules: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const byIp = new Map<number | string, { iface: Iface; a: Address }>();
  const dup = new Set<Address>();
  // An alias (eth0:1) is a second label on eth0's device: same link, not another interface.
  const dev = (i: Iface) => i.name.replace(/:\d+$/, '');
  const nets: Record<4 | 6, Net[]> = { 4: [], 6: [] };
  for (const i of ctx.model.ifaces.values()) {
    if (i.kind === 'loopback') continue;
    for (const a of addressesOf(i)) {
      const f = factsOf(a);
      if (!f.valid || isUnspecified(a)) continue;
      const v = f.value!;
      // Link-local addresses are per link: the same fe80:: address on two interfaces is fine.
      if (typeof v === 'bigint' && v >> 118n === 0x3fan) continue;
      // IPv4 addresses key as numbers, IPv6 ones as strings: the two never collide.
      const key = typeof v === 'number' ? v : `${v}`;
      const prev = byIp.get(key);
      if (prev && dev(prev.iface) !== dev(i)) {
        out.push(
          atOption(
            {
              severity: 'error',
              code: 'DUPLICATE_ADDRESS',
              message: `${i.name}: address ${a.ip} is already used by ${prev.iface.name} (line ${prev.a.option.node.line.lineNo})`,
              iface: i.name,
              hint: 'each address belongs on one interface; for a routed setup give the bridge its own address from the routed subnet',
            },
            a.option,
            a.raw,
          ),
        );
        dup.add(a);
      } else if (!prev) byIp.set(key, { iface: i, a });
      const max = a.version === 4 ? 32 : 128;
      // Host routes (/32, /128) are how routed setups work; they overlap nothing on purpose.
      if (a.prefix === null || a.prefix === max) continue;
      const r = f.range!;
      nets[a.version].push({ iface: i, a, lo: r[0], hi: r[1] });
    }
  }
  for (const v of [4, 6] as const) {
    const list = nets[v].sort((x, y) =>
      x.lo < y.lo ? -1 : x.lo > y.lo ? 1 : x.a.option.node.line.lineNo - y.a.option.node.line.lineNo,
    );
    let cover: Net | undefined;
    for (const n of list) {
      if (cover && !dup.has(n.a) && n.lo <= cover.hi && dev(cover.iface) !== dev(n.iface)) {
        out.push(
          atOption(
            {
              severity: 'warning',
              code: 'SUBNET_OVERLAP',
              message: `${n.iface.name}: subnet of ${n.a.ip}/${n.a.prefix} overlaps ${cover.a.ip}/${cover.a.prefix} on ${cover.iface.name}, so the kernel cannot tell which interface reaches those hosts`,
              iface: n.iface.name,
              hint: 'give each interface its own, non-overlapping subnet (check the prefix lengths)',
            },
            n.a.option,
            n.a.raw,
          ),
        );
      }
      if (!cover || n.hi > cover.hi) cover = n;
    }
  }
  return out;
};

/** Dotted text of an IPv4 address held as a number. */
export function v4Text(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** First and last address of an IPv4 subnet as numbers (no bigint: hot path). */
export function v4Range(ip: string, prefix: number): [number, number] | null {
  const v = parseIPv4(ip);
  if (v === null) return null;
  const size = 2 ** (32 - prefix);
  const base = v - (v % size);
  return [base, base + size - 1];
}
