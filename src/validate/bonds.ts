/**
 * Bonds: the mode, the options that only some modes use, link monitoring, and the Proxmox VE
 * docs' warning about cluster (corosync) traffic over load-balancing bonds.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { didYouMean } from '../interfaces/suggest.ts';
import type { BondMode } from '../model/types.ts';
import { BOND_MODES } from '../model/types.ts';
import { addressesOf } from '../model/build.ts';
import { inSubnet, ipVersion } from '../model/ip.ts';
import type { Rule } from './context.ts';
import { atOption, atOptionName, atStanza, localRule, opt } from './common.ts';

/** Kernel bonding.rst: xmit_hash_policy affects balance-xor, 802.3ad and balance-tlb only. */
const HASH_MODES: readonly BondMode[] = ['balance-xor', '802.3ad', 'balance-tlb'];
/** Kernel bonding.rst: primary is valid for active-backup, balance-tlb and balance-alb. */
const PRIMARY_MODES: readonly BondMode[] = ['active-backup', 'balance-tlb', 'balance-alb'];
const HASH_POLICIES = ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4', 'vlan+srcmac'];
const LACP_RATES = ['slow', 'fast', '0', '1'];

/**
 * BOND_MODE_INVALID, BOND_HASH_POLICY_INVALID, BOND_HASH_POLICY_UNUSED, BOND_PRIMARY_NOT_SLAVE,
 * BOND_PRIMARY_UNUSED, BOND_LACP_RATE_UNUSED, BOND_NO_MONITORING.
 */
export const bondRules: Rule = localRule((i, _ctx, out) => {
  if (i.kind !== 'bond' || !i.bond) return;
  const b = i.bond!;
  const base = { iface: i.name };
  const modeOpt = opt(i, 'bond-mode');
  // ifupdown2 and the kernel default to balance-rr when no mode is written.
  const mode: BondMode | undefined = modeOpt ? b.mode : 'balance-rr';
  if (modeOpt && !b.mode) {
    const s = didYouMean(modeOpt.value.trim(), BOND_MODES);
    out.push(
      atOption(
        {
          ...base,
          severity: 'error',
          code: 'BOND_MODE_INVALID',
          message: `${i.name}: bond-mode '${modeOpt.value}' is not a bonding mode${s ? `; did you mean '${s}'?` : ''}`,
          hint: `the modes are ${BOND_MODES.join(', ')} (or 0–6)`,
        },
        modeOpt,
      ),
    );
  }
  const hashOpt = opt(i, 'bond-xmit-hash-policy');
  if (hashOpt) {
    const val = hashOpt.value.trim();
    if (!HASH_POLICIES.includes(val)) {
      const s = didYouMean(val, HASH_POLICIES);
      out.push(
        atOption(
          {
            ...base,
            severity: 'error',
            code: 'BOND_HASH_POLICY_INVALID',
            message: `${i.name}: bond-xmit-hash-policy '${val}' is not a hash policy${s ? `; did you mean '${s}'?` : ''}`,
            hint: `the policies are ${HASH_POLICIES.join(', ')}`,
          },
          hashOpt,
        ),
      );
    } else if (mode && !HASH_MODES.includes(mode)) {
      out.push(
        atOptionName(
          {
            ...base,
            severity: 'warning',
            code: 'BOND_HASH_POLICY_UNUSED',
            message: `${i.name}: bond-xmit-hash-policy has no effect in mode ${mode}; only balance-xor, 802.3ad and balance-tlb hash traffic over the slaves`,
            hint: 'remove the line, or change the mode',
          },
          hashOpt,
        ),
      );
    }
  }
  const primOpt = opt(i, 'bond-primary');
  if (primOpt) {
    const p = primOpt.value.trim();
    if (!b.slaves.includes(p)) {
      out.push(
        atOption(
          {
            ...base,
            severity: 'error',
            code: 'BOND_PRIMARY_NOT_SLAVE',
            message: `${i.name}: bond-primary ${p} is not one of its slaves (${b.slaves.join(', ') || 'none'})`,
            hint: `set bond-primary to one of ${b.slaves.join(', ') || 'the slaves'}`,
          },
          primOpt,
        ),
      );
    } else if (mode && !PRIMARY_MODES.includes(mode)) {
      out.push(
        atOptionName(
          {
            ...base,
            severity: 'warning',
            code: 'BOND_PRIMARY_UNUSED',
            message: `${i.name}: bond-primary has no effect in mode ${mode}; it is used by active-backup, balance-tlb and balance-alb`,
            hint: 'remove the line, or use mode active-backup',
          },
          primOpt,
        ),
      );
    }
  }
  const lacpOpt = opt(i, 'bond-lacp-rate');
  if (lacpOpt) {
    if (!LACP_RATES.includes(lacpOpt.value.trim().toLowerCase())) {
      out.push(
        atOption(
          {
            ...base,
            severity: 'error',
            code: 'BOND_LACP_RATE_INVALID',
            message: `${i.name}: bond-lacp-rate '${lacpOpt.value}' is not slow or fast`,
            hint: 'write bond-lacp-rate fast (or slow, the default)',
          },
          lacpOpt,
        ),
      );
    } else if (mode && mode !== '802.3ad') {
      out.push(
        atOptionName(
          {
            ...base,
            severity: 'warning',
            code: 'BOND_LACP_RATE_UNUSED',
            message: `${i.name}: bond-lacp-rate only applies to mode 802.3ad (LACP), not ${mode}`,
            hint: 'remove the line, or use mode 802.3ad',
          },
          lacpOpt,
        ),
      );
    }
  }
  const on = (k: string) => {
    const o = opt(i, k);
    return o !== undefined && /^\d+$/.test(o.value.trim()) && Number(o.value.trim()) > 0;
  };
  if (!on('bond-miimon') && !on('bond-arp-interval')) {
    const f = {
      ...base,
      severity: 'warning' as const,
      code: 'BOND_NO_MONITORING' as const,
      message: `${i.name}: no link monitoring (bond-miimon or bond-arp-interval), so the bond keeps sending on a slave whose link is down`,
      hint: 'add bond-miimon 100',
    };
    const mo = opt(i, 'bond-miimon');
    out.push(mo ? atOption(f, mo) : atStanza(f, i.stanzas[0]!));
  }
});

const CLUSTER_RE = /corosync|\bring ?[0-9]\b|cluster (?:network|link|traffic)|\bknet\b/i;

/** Why an interface is taken to carry corosync: a link address in its subnet, or its label. */
function clusterCarriers(ctx: Parameters<Rule>[0]): Map<string, string> {
  const m = ctx.model;
  const why = new Map<string, string>();
  const addrs = ctx.host?.corosync?.addrs ?? [];
  if (addrs.length) {
    for (const i of m.ifaces.values()) {
      for (const a of addressesOf(i)) {
        if (a.prefix === null) continue;
        const hit = addrs.find((c) => ipVersion(c.addr) === a.version && inSubnet(c.addr, a.ip, a.prefix!, a.version));
        if (hit && !why.has(i.name))
          why.set(
            i.name,
            `corosync link ${hit.link} address ${hit.addr}${hit.node ? ` of ${hit.node}` : ''} (${hit.file} line ${hit.line}) is in its subnet ${a.raw}`,
          );
      }
    }
  }
  for (const i of m.ifaces.values()) {
    if (why.has(i.name)) continue;
    // Most interfaces have no comments: test the name alone without building a label.
    const label = i.stanzas.some((s) => s.comments.length > 0)
      ? [i.name, ...i.stanzas.flatMap((s) => s.comments.map((c) => c.text))].join(' ')
      : i.name;
    if (CLUSTER_RE.test(label)) why.set(i.name, 'it is labelled as the cluster network');
  }
  return why;
}

/**
 * BOND_CLUSTER_BALANCE: the Proxmox VE docs ("Corosync Over Bonds") advise only active-backup
 * for bonds that carry corosync: in every other mode — balance-*, broadcast and 802.3ad too — a
 * port that stops passing packets but keeps its link gives asymmetric connectivity, and the
 * cluster can lose quorum and fence itself. A bond carries corosync when an interface built on
 * it (or it) holds the subnet of a corosync link address (corosync.conf, from the host facts),
 * or is labelled so in its name or comments.
 */
export const bondCluster: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const m = ctx.model;
  const warned = new Set<string>();
  for (const [top, reason] of clusterCarriers(ctx)) {
    // Walk down through VLAN parents and bridge ports to the bonds underneath (bounded).
    const todo = [top];
    const seen = new Set<string>();
    while (todo.length && seen.size < 64) {
      const n = todo.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const t = m.ifaces.get(n);
      if (!t) continue;
      if (t.kind === 'bond' && t.bond) {
        const mode = opt(t, 'bond-mode') ? t.bond.mode : 'balance-rr';
        if (mode && mode !== 'active-backup' && !warned.has(t.name)) {
          warned.add(t.name);
          const mo = opt(t, 'bond-mode');
          const f = {
            severity: 'warning' as const,
            code: 'BOND_CLUSTER_BALANCE' as const,
            iface: t.name,
            message: `${t.name} carries cluster (corosync) traffic${t.name === top ? '' : ` for ${top}`} in mode ${mode} (${top}: ${reason}); outside active-backup, a port that stops passing packets but keeps its link lets the nodes see each other only one way, lose quorum, and HA nodes fence themselves`,
            hint: `use bond-mode active-backup for ${t.name} (Proxmox VE docs, "Corosync Over Bonds"), or give corosync its own NIC as link0 and keep this bond as an extra link`,
          };
          out.push(mo ? atOption(f, mo) : atStanza(f, t.stanzas[0]!));
        }
      }
      if (t.vlan?.rawDevice) todo.push(t.vlan.rawDevice);
      if (t.bridge) todo.push(...t.bridge.ports);
    }
  }
  return out;
};
