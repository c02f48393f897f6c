/**
 * The NAT rules people write by hand after the Proxmox VE docs ("Masquerading (NAT) with
 * iptables"): `post-up iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o vmbr0 -j MASQUERADE`
 * and its `-D` twin, and the conntrack-zone rule with `-I`. They are the same rules nodenet
 * writes, minus the `-C` check (so they pile up on every reload). `setup nat` on such a file
 * must not add its own copy next to them: it recognises them here and rewrites them in place
 * as its idempotent lines (visible in the diff). A hand-written masquerade of the same subnet
 * that is *not* one of these shapes is refused rather than doubled (see {@link conflictingMasquerade}).
 *
 * Only one simple iptables command per line is read (no `;`, `&&`, `|` outside quotes); words
 * may be quoted with '…' or "…", options may come in any order.
 */
import { parseCidr, subnetRange } from '../model/ip.ts';

/** One hand-written iptables command: table, action, chain and its match/target options. */
export interface IptablesCommand {
  table: string;
  action: '-A' | '-I' | '-D';
  chain: string;
  /** Option → value, e.g. `-s` → `10.10.10.0/24` (the `-t`, action and chain taken out). */
  opts: Map<string, string>;
  /** The command's words after the action's chain, as written but unquoted (for `-D`). */
  spec: string[];
}

/** Split a shell line into words, honouring '…' and "…"; null on any other shell syntax. */
export function shellWords(s: string): string[] | null {
  const out: string[] = [];
  let cur: string | null = null;
  for (let k = 0; k < s.length; k++) {
    const c = s[k]!;
    if (c === "'" || c === '"') {
      const end = s.indexOf(c, k + 1);
      if (end < 0) return null;
      const inner = s.slice(k + 1, end);
      if (c === '"' && /[$`\\]/.test(inner)) return null;
      cur = (cur ?? '') + inner;
      k = end;
    } else if (c === ' ' || c === '\t') {
      if (cur !== null) out.push(cur);
      cur = null;
    } else if (/[;&|<>$`\\(){}*?[\]#~]/.test(c)) {
      return null;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== null) out.push(cur);
  return out;
}

const ACTIONS: Record<string, '-A' | '-I' | '-D'> = {
  '-A': '-A',
  '--append': '-A',
  '-I': '-I',
  '--insert': '-I',
  '-D': '-D',
  '--delete': '-D',
};
const LONG: Record<string, string> = {
  '--source': '-s',
  '--src': '-s',
  '--out-interface': '-o',
  '--in-interface': '-i',
  '--jump': '-j',
  '--table': '-t',
  '--protocol': '-p',
};

/** Parse `iptables [-t T] -A|-I|-D CHAIN [options]`; null for anything else. */
export function parseIptables(value: string): IptablesCommand | null {
  const w = shellWords(value);
  if (!w || w.length < 3 || !/^(?:\/usr)?(?:\/s?bin\/)?iptables$/.test(w[0]!)) return null;
  let table = 'filter';
  let action: IptablesCommand['action'] | undefined;
  let chain: string | undefined;
  const opts = new Map<string, string>();
  const spec: string[] = [];
  for (let k = 1; k < w.length; k++) {
    const word = w[k]!;
    const key = LONG[word] ?? word;
    if (key === '-t') {
      table = w[++k] ?? '';
      continue;
    }
    if (ACTIONS[word] !== undefined) {
      if (action !== undefined) return null;
      action = ACTIONS[word];
      chain = w[++k];
      // -I CHAIN [RULENUM]
      if (action === '-I' && /^\d+$/.test(w[k + 1] ?? '')) k++;
      continue;
    }
    if (!key.startsWith('-')) return null;
    const val = w[k + 1];
    if (val === undefined || val.startsWith('-')) return null;
    if (opts.has(key)) return null;
    opts.set(key, val);
    spec.push(word, val);
    k++;
  }
  if (action === undefined || chain === undefined || table === '') return null;
  return { table, action, chain, opts, spec };
}

/** `10.10.10.0/24` for any address of the subnet with its prefix (`10.10.10.5/24` too). */
function subnetOf(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const c = parseCidr(s.includes('/') ? s : `${s}/32`, true);
  if (!c || c.version !== 4) return undefined;
  const r = subnetRange(c.ip, c.prefix, 4);
  if (!r) return undefined;
  const n = r[0];
  return `${[24n, 16n, 8n, 0n].map((b) => String((n >> b) & 255n)).join('.')}/${c.prefix}`;
}

/** What a hand-written NAT line is, in the keys of nodenet's own lines (see rules.ts). */
export interface HandWritten {
  key: 'up:masq' | 'down:masq' | 'up:ctzone' | 'down:ctzone';
  subnet?: string;
  uplink?: string;
  /** The command that deletes the rule from the running kernel. */
  removal?: string;
}

function only(c: IptablesCommand, keys: readonly string[]): boolean {
  return c.opts.size === keys.length && keys.every((k) => c.opts.has(k));
}

/**
 * Recognise the docs' hand-written masquerade and conntrack-zone lines (`-A`/`-I` in post-up,
 * `-D` in post-down, quoting and option order free). null for anything else.
 */
export function recogniseHandWritten(hook: string, value: string): HandWritten | null {
  const c = parseIptables(value);
  if (!c) return null;
  const up = hook === 'post-up' || hook === 'up';
  const down = hook === 'post-down' || hook === 'down';
  if (!(up && c.action !== '-D') && !(down && c.action === '-D')) return null;
  const dir = up ? 'up' : 'down';
  const removal = up ? `iptables -t ${c.table} -D ${c.chain} ${c.spec.join(' ')}` : undefined;
  if (
    c.table === 'nat' &&
    c.chain === 'POSTROUTING' &&
    c.opts.get('-j') === 'MASQUERADE' &&
    only(c, ['-s', '-o', '-j'])
  ) {
    const subnet = subnetOf(c.opts.get('-s'));
    if (subnet === undefined) return null;
    return { key: `${dir}:masq`, subnet, uplink: c.opts.get('-o')!, ...(removal ? { removal } : {}) };
  }
  if (
    c.table === 'raw' &&
    c.chain === 'PREROUTING' &&
    c.opts.get('-i') === 'fwbr+' &&
    c.opts.get('-j') === 'CT' &&
    c.opts.get('--zone') === '1' &&
    only(c, ['-i', '-j', '--zone'])
  ) {
    return { key: `${dir}:ctzone`, ...(removal ? { removal } : {}) };
  }
  return null;
}

/**
 * A hand-written masquerade/SNAT of `subnet` (or of every source) that is not one of the
 * shapes above: nodenet would add a second rule next to it, so `setup nat` refuses instead.
 */
export function conflictingMasquerade(hook: string, value: string, subnet: string): boolean {
  if (hook !== 'post-up' && hook !== 'up') return false;
  if (!/MASQUERADE|SNAT/.test(value)) return false;
  const c = parseIptables(value);
  // A line too complex to read (a script, a pipe) that names the subnet: assume the worst.
  if (!c) return value.includes(subnet.split('/')[0]!);
  if (c.table !== 'nat' || c.chain !== 'POSTROUTING' || c.action === '-D') return false;
  const s = subnetOf(c.opts.get('-s'));
  return s === undefined ? !c.opts.has('-s') : s === subnet;
}
