/**
 * NAT and routing hooks: the `post-up`/`post-down` iptables lines and `/proc/sys` writes that
 * the Proxmox VE docs use for NAT and routed setups. ifupdown2 runs `post-up` again on every
 * `ifreload`, and `post-down` only on ifdown, so rules must be idempotent and paired.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { addressesOf } from '../model/build.ts';
import { parseCidr, subnetRange } from '../model/ip.ts';
import type { Iface, ModelOption } from '../model/types.ts';
import type { Rule } from './context.ts';
import { atOffset, atOptionName } from './common.ts';

const UP_HOOKS = new Set(['post-up', 'up', 'pre-up']);
const DOWN_HOOKS = new Set(['post-down', 'down', 'pre-down']);
const IPT_RE = /^(?:\/usr)?(?:\/s?bin\/)?(ip6?tables)(?:-legacy|-nft)?$/;

interface Tok {
  text: string;
  /** Offset of the token inside the option value. */
  at: number;
}

/** One iptables command found in a hook line. */
export interface IptRule {
  option: ModelOption;
  up: boolean;
  action: 'A' | 'I' | 'D' | 'C';
  actionTok: Tok;
  table: string;
  chain: string;
  /** Table, chain and match/target words: equal keys mean the same rule. */
  key: string;
  src?: Tok;
  out?: Tok;
  in?: Tok;
  target?: string;
}

function tokens(v: string): Tok[] {
  const out: Tok[] = [];
  const re = /\S+/g;
  for (let m = re.exec(v); m; m = re.exec(v)) out.push({ text: m[0], at: m.index });
  return out;
}

const SEP = new Set(['||', '&&', ';', '|']);
const unq = (s: string) => s.replace(/^['"]|['"]$/g, '');

/** Parse every iptables command in a hook option. */
export function iptablesRules(o: ModelOption): IptRule[] {
  const up = UP_HOOKS.has(o.key);
  if (!up && !DOWN_HOOKS.has(o.key)) return [];
  const out: IptRule[] = [];
  const segs: Tok[][] = [[]];
  for (const t of tokens(o.value)) {
    if (SEP.has(t.text)) segs.push([]);
    else if (t.text.endsWith(';')) {
      segs[segs.length - 1]!.push({ text: t.text.slice(0, -1), at: t.at });
      segs.push([]);
    } else segs[segs.length - 1]!.push(t);
  }
  for (const seg of segs) {
    const cmd = seg[0] && IPT_RE.exec(seg[0].text);
    if (!cmd) continue;
    let action: IptRule['action'] | undefined;
    let actionTok: Tok | undefined;
    let table = 'filter';
    let chain = '';
    const spec: string[] = [];
    const r: Partial<IptRule> = {};
    for (let k = 1; k < seg.length; k++) {
      const t = seg[k]!;
      const w = t.text;
      if (/^\d?>/.test(w) || w === '-w' || w === '--wait') continue; // redirections, lock wait
      const next = seg[k + 1];
      const A: Record<string, IptRule['action']> = {
        '-A': 'A',
        '--append': 'A',
        '-I': 'I',
        '--insert': 'I',
        '-D': 'D',
        '--delete': 'D',
        '-C': 'C',
        '--check': 'C',
      };
      if (A[w] && next) {
        action = A[w];
        actionTok = t;
        chain = next.text;
        k++;
        if (action === 'I' && seg[k + 1] && /^\d+$/.test(seg[k + 1]!.text)) k++;
        continue;
      }
      if ((w === '-t' || w === '--table') && next) {
        table = next.text;
        k++;
        continue;
      }
      if ((w === '-s' || w === '--source') && next) r.src = { text: unq(next.text), at: next.at };
      if ((w === '-o' || w === '--out-interface') && next) r.out = { text: unq(next.text), at: next.at };
      if ((w === '-i' || w === '--in-interface') && next) r.in = { text: unq(next.text), at: next.at };
      if ((w === '-j' || w === '--jump') && next) r.target = next.text;
      spec.push(unq(w));
    }
    if (!action || !actionTok) continue;
    out.push({
      ...r,
      option: o,
      up,
      action,
      actionTok,
      table,
      chain,
      key: `${cmd[1]} ${table} ${chain} ${spec.join(' ')}`,
    } as IptRule);
  }
  return out;
}

const FORWARD_RE =
  /(?:echo\s+1\s*>\s*\/proc\/sys\/net\/ipv4\/ip_forward|net\.ipv4\.ip_forward\s*=\s*1|net\.ipv4\.conf\.all\.forwarding\s*=\s*1|echo\s+1\s*>\s*\/proc\/sys\/net\/ipv4\/conf\/all\/forwarding)/;
const PROXY_ARP_RE = /proxy_arp|proxy_ndp/;

function place(f: Parameters<typeof atOffset>[0], o: ModelOption, t: Tok | undefined): Diagnostic {
  if (!t || o.node.valueStart < 0) return atOptionName(f, o);
  return atOffset(f, o.node.line, o.node.valueStart + t.at, o.name);
}

const NAT_TARGETS = new Set(['MASQUERADE', 'SNAT']);

/**
 * HOOK_RULE_NOT_IDEMPOTENT, HOOK_RULE_NO_POSTDOWN, NAT_SOURCE_MISMATCH, NAT_IFACE_NOT_CONFIGURED,
 * FORWARDING_DISABLED.
 */
export const hookRules: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const m = ctx.model;
  // Subnets configured anywhere on the node, keyed "version:base/prefix", built once.
  // Built lazily: most files have no NAT rule, and the map costs one bigint per address.
  let subnetMap: Map<string, Iface> | undefined;
  const subnetKey = (ip: string, prefix: number, v: 4 | 6) => `${v}:${subnetRange(ip, prefix, v)![0]}/${prefix}`;
  const subnets = () => {
    if (!subnetMap) {
      subnetMap = new Map();
      for (const i of m.ifaces.values())
        for (const a of addressesOf(i))
          if (a.prefix !== null && parseCidr(a.raw, false)) subnetMap.set(subnetKey(a.ip, a.prefix, a.version), i);
    }
    return subnetMap;
  };

  let forwarding = false;
  let needsForward: { o: ModelOption; i: Iface; why: string } | undefined;
  for (const i of m.ifaces.values()) {
    const rules: IptRule[] = [];
    for (const o of i.options) {
      if (o.key === 'ip-forward' && /^(1|on|yes)$/i.test(o.value.trim())) forwarding = true;
      if (!UP_HOOKS.has(o.key) && !DOWN_HOOKS.has(o.key)) continue;
      if (FORWARD_RE.test(o.value)) forwarding = true;
      if (UP_HOOKS.has(o.key) && PROXY_ARP_RE.test(o.value) && /\b1\b/.test(o.value))
        needsForward ??= { o, i, why: `proxy_arp (routed setup)` };
      rules.push(...iptablesRules(o));
    }
    if (!rules.length) continue;
    const downKeys = new Set(rules.filter((r) => !r.up && r.action === 'D').map((r) => r.key));
    // One warning per hook line, not per rule: a line with 40 port forwards is one mistake.
    const unguarded = new Map<ModelOption, IptRule[]>();
    const undone = new Map<ModelOption, IptRule[]>();
    const push = (mp: Map<ModelOption, IptRule[]>, r: IptRule) => {
      const l = mp.get(r.option);
      if (l) l.push(r);
      else mp.set(r.option, [r]);
    };
    for (const r of rules) {
      if (!r.up || (r.action !== 'A' && r.action !== 'I')) continue;
      const guarded = rules.some((c) => c.option === r.option && c.action === 'C' && c.key === r.key);
      if (!guarded && r.option.key !== 'pre-up') push(unguarded, r);
      if (!downKeys.has(r.key)) push(undone, r);
    }
    for (const [o, rs] of unguarded) {
      const r = rs[0]!;
      const what = r.action === 'A' ? '-A' : '-I';
      const n = rs.length > 1 ? `${rs.length} iptables rules` : 'an iptables rule';
      out.push(
        place(
          {
            iface: i.name,
            severity: 'warning',
            code: 'HOOK_RULE_NOT_IDEMPOTENT',
            message: `${i.name}: this ${o.name} adds ${n} with ${what} without checking first; ifupdown2 runs ${o.name} again on every reload, so copies pile up`,
            hint: `check before adding: 'iptables -t ${r.table} -C ${r.chain} ... 2>/dev/null || iptables -t ${r.table} ${what} ${r.chain} ...'`,
          },
          o,
          r.actionTok,
        ),
      );
    }
    for (const [o, rs] of undone) {
      const r = rs[0]!;
      const what = r.action === 'A' ? '-A' : '-I';
      const desc =
        rs.length > 1
          ? `${rs.length} iptables rules added here have`
          : `the iptables rule added here (${r.table} ${r.chain}${r.target ? ` -j ${r.target}` : ''}) has`;
      out.push(
        place(
          {
            iface: i.name,
            severity: 'warning',
            code: 'HOOK_RULE_NO_POSTDOWN',
            message: `${i.name}: ${desc} no matching post-down '-D' line, so ${rs.length > 1 ? 'they stay' : 'it stays'} behind after ifdown ${i.name}`,
            hint: `add a post-down line with the same rule and -D instead of ${what} (end it with '|| true')`,
          },
          o,
          r.actionTok,
        ),
      );
    }
    for (const r of rules) {
      if (!r.up || (r.action !== 'A' && r.action !== 'I')) continue;
      const base = { iface: i.name };
      if (r.table === 'nat' && (NAT_TARGETS.has(r.target ?? '') || r.target === 'DNAT'))
        needsForward ??= { o: r.option, i, why: `NAT (${r.target})` };
      if (r.table === 'nat' && NAT_TARGETS.has(r.target ?? '') && r.src) {
        const c = parseCidr(r.src.text, false);
        if (c && !subnets().has(subnetKey(c.ip, c.prefix, c.version))) {
          const own = addressesOf(i).filter(
            (a) => a.version === c.version && a.prefix !== null && parseCidr(a.raw, false),
          );
          const ownText = own.map((a) => `${subnetKeyText(a.ip, a.prefix!, a.version)}`).join(', ');
          out.push(
            place(
              {
                ...base,
                severity: 'warning',
                code: 'NAT_SOURCE_MISMATCH',
                message: `${i.name}: the ${r.target} source ${r.src.text} is not the subnet of any interface${ownText ? ` (${i.name} has ${ownText})` : ''}, so guests are not translated`,
                hint: ownText
                  ? `use -s ${subnetKeyText(own[0]!.ip, own[0]!.prefix!, own[0]!.version)}`
                  : 'use the subnet of the bridge the guests are on',
              },
              r.option,
              r.src,
            ),
          );
        }
      }
      const ifTok =
        r.table === 'nat'
          ? r.target === 'DNAT'
            ? r.in
            : NAT_TARGETS.has(r.target ?? '')
              ? r.out
              : undefined
          : undefined;
      if (ifTok && !ifTok.text.endsWith('+') && !m.ifaces.has(ifTok.text) && !ctx.external?.has(ifTok.text)) {
        out.push(
          place(
            {
              ...base,
              severity: 'warning',
              code: 'NAT_IFACE_NOT_CONFIGURED',
              message: `${i.name}: the ${r.target} rule names interface ${ifTok.text}, which is not configured in this file, so the rule matches no traffic`,
              hint: 'use the uplink that has the public address (the one with the gateway)',
            },
            r.option,
            ifTok,
          ),
        );
      }
    }
  }
  if (needsForward && !forwarding) {
    out.push(
      atOptionName(
        {
          severity: 'warning',
          code: 'FORWARDING_DISABLED',
          iface: needsForward.i.name,
          message: `${needsForward.i.name} sets up ${needsForward.why}, but nothing in this file enables IPv4 forwarding, so guests cannot reach the outside`,
          hint: "add 'post-up echo 1 > /proc/sys/net/ipv4/ip_forward' (or set net.ipv4.ip_forward=1 in /etc/sysctl.d/ and ignore this warning)",
        },
        needsForward.o,
      ),
    );
  }
  return out;
};

function subnetKeyText(ip: string, prefix: number, v: 4 | 6): string {
  const base = subnetRange(ip, prefix, v)![0];
  if (v === 4) return `${[24n, 16n, 8n, 0n].map((s) => String((base >> s) & 255n)).join('.')}/${prefix}`;
  return `${ip}/${prefix}`;
}
