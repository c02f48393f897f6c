/** Small, allocation-light IPv4/IPv6 helpers shared by the model and the validators. */

export function parseIPv4(s: string): number | null {
  // Hand-rolled: this runs for every address of every stanza (4094-bridge files).
  const n = s.length;
  if (n < 7 || n > 15) return null;
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let lead0 = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || (lead0 && digits > 1) || part > 255) return null; // leading zeros read as octal by some tools
      v = v * 256 + part;
      if (i < n && ++dots > 3) return null;
      part = 0;
      digits = 0;
      lead0 = false;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) lead0 = c === 48;
      if (++digits > 3) return null;
      part = part * 10 + (c - 48);
    } else return null;
  }
  return dots === 3 ? v : null;
}

/** Parse IPv6 text into 8 16-bit groups, or null. Accepts an embedded IPv4 tail. */
export function parseIPv6(s: string): number[] | null {
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return null;
  // An embedded IPv4 address may only end the whole address (`::ffff:192.0.2.1`), never
  // precede a `::` (`32.1.13.184::5` is not an address for iproute2, node:net or Python).
  const expand = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (last && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 === null) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  if (dbl === -1) {
    const g = expand(s, true);
    return g && g.length === 8 ? g : null;
  }
  const head = expand(s.slice(0, dbl), false);
  const tail = expand(s.slice(dbl + 2), true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Prefix length of a dotted netmask (`255.255.255.0` → 24), or null if not contiguous. */
export function maskToPrefix(mask: string): number | null {
  const v = parseIPv4(mask);
  if (v === null) return null;
  let bits = 0;
  let seenZero = false;
  for (let i = 31; i >= 0; i--) {
    const bit = Math.floor(v / 2 ** i) % 2;
    if (bit === 1) {
      if (seenZero) return null;
      bits++;
    } else seenZero = true;
  }
  return bits;
}

export function prefixToMask(prefix: number): string {
  const v = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

export function ipVersion(s: string): 4 | 6 | null {
  if (parseIPv4(s) !== null) return 4;
  if (parseIPv6(s) !== null) return 6;
  return null;
}

export interface Cidr {
  ip: string;
  prefix: number;
  version: 4 | 6;
}

/** Parse `addr/len`; with `requirePrefix` false a bare address gives the host prefix. */
export function parseCidr(s: string, requirePrefix = true): Cidr | null {
  const slash = s.indexOf('/');
  const ip = slash === -1 ? s : s.slice(0, slash);
  const v = ipVersion(ip);
  if (v === null) return null;
  const max = v === 4 ? 32 : 128;
  if (slash === -1) return requirePrefix ? null : { ip, prefix: max, version: v };
  const p = s.slice(slash + 1);
  // Leading zeros are a prefix length still (`/024`, `/0024`), as for iproute2 and Python's ipaddress.
  if (!/^\d+$/.test(p)) return null;
  const prefix = Number(p);
  if (prefix > max) return null;
  return { ip, prefix, version: v };
}

/** The address as a bigint, for subnet arithmetic. */
export function ipToBigInt(ip: string): bigint | null {
  const v4 = parseIPv4(ip);
  if (v4 !== null) return BigInt(v4);
  const g = parseIPv6(ip);
  if (!g) return null;
  let v = 0n;
  for (const x of g) v = (v << 16n) | BigInt(x);
  return v;
}

/** Network base and last address of `ip/prefix` as bigints. */
export function subnetRange(ip: string, prefix: number, version: 4 | 6): [bigint, bigint] | null {
  const v = ipToBigInt(ip);
  if (v === null) return null;
  const bits = BigInt(version === 4 ? 32 : 128);
  const host = bits - BigInt(prefix);
  const mask = ((1n << bits) - 1n) ^ ((1n << host) - 1n);
  const base = v & mask;
  return [base, base | ((1n << host) - 1n)];
}

/** Whether `ip` lies inside `net/prefix` (same version). */
export function inSubnet(ip: string, net: string, prefix: number, version: 4 | 6): boolean {
  const r = subnetRange(net, prefix, version);
  const v = ipToBigInt(ip);
  return r !== null && v !== null && v >= r[0] && v <= r[1];
}
