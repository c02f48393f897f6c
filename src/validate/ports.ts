/**
 * Ports and members: bridge ports, bond slaves and VLAN raw devices exist, are used once,
 * carry no address, form no cycle; bond slaves are NICs or bonds; VLAN ids and protocols.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { didYouMean } from '../interfaces/suggest.ts';
import { PHYSICAL_NIC_RE } from '../model/build.ts';
import type { Iface, ModelOption } from '../model/types.ts';
import { isUnspecified } from './addresses.ts';
import type { Rule, ValidateContext } from './context.ts';
import { atOption, atStanza, indexOf, memberUse, opt, roleText } from './common.ts';

/** Members of an interface with the option that names them (bridge ports, bond slaves). */
function members(i: Iface): { name: string; option: ModelOption; what: string }[] {
  const out: { name: string; option: ModelOption; what: string }[] = [];
  if (i.bridge?.portsOption)
    for (const p of i.bridge.ports) out.push({ name: p, option: i.bridge.portsOption, what: 'bridge port' });
  if (i.kind === 'bond' && i.bond) {
    const so = opt(i, 'bond-slaves');
    if (so) for (const s of i.bond.slaves) out.push({ name: s, option: so, what: 'bond slave' });
  }
  return out;
}

/** PORT_NOT_FOUND, NIC_NOT_ON_HOST, VLAN_PARENT_NOT_FOUND. */
export const existenceRules: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const idx = indexOf(ctx);
  for (const i of ctx.model.ifaces.values()) {
    for (const m of members(i)) {
      if (!idx.exists(m.name)) {
        const s = didYouMean(m.name, ctx.model.ifaces.keys()) ?? (ctx.nics ? didYouMean(m.name, ctx.nics) : undefined);
        out.push(
          atOption(
            {
              severity: 'error',
              code: 'PORT_NOT_FOUND',
              message: `${i.name}: ${m.what} '${m.name}' does not exist (no stanza, and not a network card name)${s ? `; did you mean '${s}'?` : ''}`,
              iface: i.name,
              hint: s
                ? `write '${s}'`
                : `check the name with 'ip link', or add an 'iface ${m.name} inet manual' stanza for it`,
            },
            m.option,
            m.name,
          ),
        );
      } else if (ctx.nics && PHYSICAL_NIC_RE.test(m.name) && !ctx.nics.has(m.name) && !ctx.external?.has(m.name)) {
        const s = didYouMean(m.name, ctx.nics);
        out.push(
          atOption(
            {
              severity: 'warning',
              code: 'NIC_NOT_ON_HOST',
              message: `${i.name}: ${m.what} '${m.name}' is not a network card on this host${s ? ` (there is '${s}')` : ''}; NIC names change after hardware, firmware or kernel updates, and a bridge or bond whose card is gone can cut the node off`,
              iface: i.name,
              hint: `list the cards with 'ip -br link' and use the current name${ctx.nics.size ? ` (this host has: ${[...ctx.nics].sort().join(', ')})` : ''}; pin names with a systemd .link file to stop them moving`,
            },
            m.option,
            m.name,
          ),
        );
      }
    }
    if (i.vlan?.rawDevice !== undefined && !idx.exists(i.vlan.rawDevice)) {
      const o = opt(i, 'vlan-raw-device');
      const f = {
        severity: 'error' as const,
        code: 'VLAN_PARENT_NOT_FOUND' as const,
        message: `${i.name}: VLAN parent '${i.vlan.rawDevice}' does not exist (no stanza, and not a network card name)`,
        iface: i.name,
        hint: 'create the parent interface first, or fix the name',
      };
      out.push(o ? atOption(f, o) : atStanza(f, i.stanzas[0]!));
    }
  }
  return out;
};

/** PORT_IN_USE: a name used as a member by two masters (or twice by one). */
export const portInUse: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const [name, uses] of indexOf(ctx).uses) {
    for (let k = 1; k < uses.length; k++) {
      const u = uses[k]!;
      const first = uses[0]!;
      const same = first.master === u.master;
      out.push(
        atOption(
          {
            severity: 'error',
            code: 'PORT_IN_USE',
            message: same
              ? `${u.master}: ${name} is listed twice`
              : `${u.master}: ${name} is already ${roleText(first)} (line ${first.option.node.line.lineNo}); an interface can belong to one bridge or bond only`,
            iface: u.master,
            hint: same
              ? `list ${name} once`
              : `remove ${name} from ${u.master}, or use a VLAN of it (${name}.N) on the second bridge`,
          },
          u.option,
          name,
        ),
      );
    }
  }
  return out;
};

/** PORT_HAS_ADDRESS: a bridge port or bond slave with its own static address. */
export const portHasAddress: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const idx = indexOf(ctx);
  for (const i of ctx.model.ifaces.values()) {
    const u = memberUse(idx, i.name);
    if (!u) continue;
    for (const st of i.stanzas) {
      for (const a of st.addresses) {
        if (isUnspecified(a)) continue;
        out.push(
          atOption(
            {
              severity: 'error',
              code: 'PORT_HAS_ADDRESS',
              message: `${i.name} is ${roleText(u)} and cannot have its own address ${a.raw}; traffic for it arrives on ${u.master}`,
              iface: i.name,
              hint: `move the address to ${u.master} and make ${i.name} 'inet manual'`,
            },
            a.option,
            a.raw,
          ),
        );
      }
    }
  }
  return out;
};

/**
 * PORT_CYCLE: following "is built on" edges (bridge → port, bond → slave, VLAN → parent)
 * comes back to the start. Iterative three-colour DFS: linear in interfaces + edges.
 */
export const portCycle: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const edges = new Map<string, { to: string; option: ModelOption | undefined }[]>();
  for (const i of ctx.model.ifaces.values()) {
    const e: { to: string; option: ModelOption | undefined }[] = members(i).map((m) => ({
      to: m.name,
      option: m.option,
    }));
    if (i.vlan?.rawDevice !== undefined) e.push({ to: i.vlan.rawDevice, option: opt(i, 'vlan-raw-device') });
    if (e.length) edges.set(i.name, e);
  }
  // Only interfaces that have members of their own can be on a loop; dropping edges to leaves
  // (NICs, implicit VLANs) keeps this cheap for thousands of bridges.
  for (const [k, e] of edges) {
    const kept = e.filter((x) => edges.has(x.to));
    if (kept.length) edges.set(k, kept);
  }
  for (const [k, e] of edges) if (!e.some((x) => edges.has(x.to))) edges.delete(k);
  const colour = new Map<string, 1 | 2>();
  const reported = new Set<string>();
  for (const start of edges.keys()) {
    if (colour.has(start)) continue;
    const stack: { n: string; k: number }[] = [{ n: start, k: 0 }];
    const path: string[] = [start];
    colour.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const es = edges.get(top.n) ?? [];
      if (top.k >= es.length) {
        colour.set(top.n, 2);
        stack.pop();
        path.pop();
        continue;
      }
      const e = es[top.k++]!;
      const c = colour.get(e.to);
      if (c === 1) {
        const cyc = [...path.slice(path.indexOf(e.to)), e.to];
        const key = [...cyc].sort().join(' ');
        if (reported.has(key)) continue;
        reported.add(key);
        const f = {
          severity: 'error' as const,
          code: 'PORT_CYCLE' as const,
          message: `${top.n}: interfaces are built on each other in a loop: ${cyc.join(' → ')}`,
          iface: top.n,
          hint: `remove ${e.to} from ${top.n}`,
        };
        const iface = ctx.model.ifaces.get(top.n)!;
        out.push(e.option ? atOption(f, e.option, e.to) : atStanza(f, iface.stanzas[0]!));
      } else if (c === undefined) {
        colour.set(e.to, 1);
        path.push(e.to);
        stack.push({ n: e.to, k: 0 });
      }
    }
  }
  return out;
};

/** BOND_SLAVE_TYPE: bond slaves must be NICs or bonds (the kernel enslaves nothing else usefully). */
export const bondSlaveType: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const idx = indexOf(ctx);
  for (const i of ctx.model.ifaces.values()) {
    if (i.kind !== 'bond' || !i.bond) continue;
    const so = opt(i, 'bond-slaves');
    if (!so) continue;
    for (const s of i.bond.slaves) {
      const t = ctx.model.ifaces.get(s);
      // A dotted name without a stanza is an implicit VLAN (see indexOf).
      const kind = t ? t.kind : idx.isNic(s) ? 'eth' : /\.\d+$/.test(s) ? 'vlan' : undefined;
      if (kind === undefined || kind === 'eth' || kind === 'bond') continue;
      if (kind === 'unknown' && (idx.isNic(s) || t?.bond)) continue;
      out.push(
        atOption(
          {
            severity: 'error',
            code: 'BOND_SLAVE_TYPE',
            message: `${i.name}: bond slave ${s} is ${kind === 'unknown' ? 'not a network card' : kind === 'vlan' ? 'a VLAN' : `a ${kind}`}; a bond can only combine network cards or other bonds`,
            iface: i.name,
            hint:
              kind === 'vlan'
                ? `bond the NICs underneath and put the VLAN on top of ${i.name} (${i.name}.N)`
                : `use physical NICs as slaves of ${i.name}`,
          },
          so,
          s,
        ),
      );
    }
  }
  return out;
};

const PROTOCOLS = ['802.1q', '802.1ad'];

/** VLAN_ID_RANGE, VLAN_ID_MISMATCH, VLAN_PROTOCOL_INVALID, VLAN_INCOMPLETE. */
export const vlanRules: Rule = (ctx: ValidateContext) => {
  const out: Diagnostic[] = [];
  for (const i of ctx.model.ifaces.values()) {
    const v = i.vlan;
    if (!v) continue;
    const st = i.stanzas[0]!;
    const idOpt = opt(i, 'vlan-id');
    const rawOpt = opt(i, 'vlan-raw-device');
    const dotted = /^(.+)\.(\d+)$/.exec(i.name);
    const vn = /^vlan(\d+)$/.exec(i.name);
    const nameId = dotted ? Number(dotted[2]) : vn ? Number(vn[1]) : undefined;
    const base = { iface: i.name };
    if (v.idRaw !== undefined && idOpt) {
      out.push(
        atOption(
          {
            ...base,
            severity: 'error',
            code: 'VLAN_ID_RANGE',
            message: `${i.name}: vlan-id '${v.idRaw}' is not a number`,
            hint: 'VLAN ids are whole numbers from 1 to 4094',
          },
          idOpt,
        ),
      );
    } else {
      const ids: { id: number; from: 'name' | 'option' }[] = [];
      if (nameId !== undefined) ids.push({ id: nameId, from: 'name' });
      if (idOpt && /^\d+$/.test(idOpt.value)) ids.push({ id: Number(idOpt.value), from: 'option' });
      for (const x of ids) {
        if (x.id >= 1 && x.id <= 4094) continue;
        const f = {
          ...base,
          severity: 'error' as const,
          code: 'VLAN_ID_RANGE' as const,
          message: `${i.name}: VLAN id ${x.id} is outside 1–4094`,
          hint: '802.1Q ids are 1 to 4094 (0 and 4095 are reserved)',
        };
        out.push(x.from === 'option' && idOpt ? atOption(f, idOpt) : atStanza(f, st));
      }
      if (nameId !== undefined && idOpt && /^\d+$/.test(idOpt.value) && Number(idOpt.value) !== nameId) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'error',
              code: 'VLAN_ID_MISMATCH',
              message: `${i.name}: the name says VLAN ${nameId} but vlan-id is ${idOpt.value}`,
              hint: `remove vlan-id (the name already sets it) or rename the interface`,
            },
            idOpt,
          ),
        );
      }
    }
    if (dotted && rawOpt && rawOpt.value.trim() !== dotted[1]) {
      out.push(
        atOption(
          {
            ...base,
            severity: 'error',
            code: 'VLAN_ID_MISMATCH',
            message: `${i.name}: the name says the VLAN is on ${dotted[1]} but vlan-raw-device is ${rawOpt.value.trim()}`,
            hint: 'remove vlan-raw-device (the name already sets it) or rename the interface',
          },
          rawOpt,
        ),
      );
    }
    if (v.protocol !== undefined && !PROTOCOLS.includes(v.protocol.trim().toLowerCase())) {
      const o = opt(i, 'vlan-protocol')!;
      const s = didYouMean(v.protocol.trim(), PROTOCOLS);
      out.push(
        atOption(
          {
            ...base,
            severity: 'error',
            code: 'VLAN_PROTOCOL_INVALID',
            message: `${i.name}: vlan-protocol '${v.protocol}' is not 802.1q or 802.1ad${s ? `; did you mean '${s}'?` : ''}`,
            hint: '802.1q for normal VLANs, 802.1ad for the outer tag of QinQ',
          },
          o,
        ),
      );
    }
    if (!dotted) {
      const missing = [v.rawDevice === undefined ? 'vlan-raw-device' : '', !vn && !idOpt ? 'vlan-id' : ''].filter(
        Boolean,
      );
      if (missing.length) {
        out.push(
          atStanza(
            {
              ...base,
              severity: 'error',
              code: 'VLAN_INCOMPLETE',
              message: `${i.name}: a VLAN with this name needs ${missing.join(' and ')}`,
              hint: `add ${missing.map((m) => (m === 'vlan-id' ? 'vlan-id N' : 'vlan-raw-device DEV')).join(' and ')}, or name it DEV.N`,
            },
            st,
          ),
        );
      }
    }
  }
  return out;
};
