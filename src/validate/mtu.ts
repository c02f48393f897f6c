/**
 * MTU: the value itself, and the stacking rules the kernel enforces: a VLAN not above its
 * parent, a bridge not above its smallest port, bond slaves not below their bond.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import type { Iface } from '../model/types.ts';
import type { Rule } from './context.ts';
import { atOption, opt } from './common.ts';

const DEFAULT_MTU = 1500;
/** IPv6 requires links of at least 1280 bytes (RFC 8200); Proxmox VE's API enforces it. */
const IPV6_MIN = 1280;
const API_MAX = 65520;

function explicitMtu(i: Iface): number | undefined {
  if (i.mtu === undefined) return undefined;
  const v = i.mtu.trim();
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * The MTU an interface will have, or undefined when unknown. A bond without `mtu` is left
 * unknown, as Proxmox VE does (its MTU follows whatever enslaves or configures it); a VLAN
 * without one inherits its parent's; a bridge without one takes its smallest port's.
 */
function effectiveMtu(
  ctx: Parameters<Rule>[0],
  memo: Map<string, number | undefined>,
  name: string,
  depth = 0,
): number | undefined {
  if (memo.has(name)) return memo.get(name);
  memo.set(name, undefined); // cycle guard
  const i = ctx.model.ifaces.get(name);
  let r: number | undefined;
  if (!i) r = ctx.external?.has(name) ? undefined : DEFAULT_MTU;
  else {
    r = explicitMtu(i);
    if (r === undefined && depth < 32) {
      if (i.kind === 'vlan' && i.vlan?.rawDevice) r = effectiveMtu(ctx, memo, i.vlan.rawDevice, depth + 1);
      else if (i.kind === 'bridge' && i.bridge) {
        let min: number | undefined;
        for (const p of i.bridge.ports) {
          const pm = effectiveMtu(ctx, memo, p, depth + 1);
          if (pm !== undefined && (min === undefined || pm < min)) min = pm;
        }
        r = min ?? DEFAULT_MTU;
      } else if (i.kind === 'eth') r = DEFAULT_MTU;
    }
  }
  memo.set(name, r);
  return r;
}

/**
 * MTU_INVALID, MTU_RANGE (API), MTU_BELOW_IPV6_MIN (file), MTU_VLAN_ABOVE_PARENT,
 * MTU_BRIDGE_ABOVE_PORT, MTU_BOND_SLAVE_BELOW.
 */
export const mtuRules: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const memo = new Map<string, number | undefined>();
  for (const i of ctx.model.ifaces.values()) {
    const mo = opt(i, 'mtu') ?? opt(i, 'ovs-mtu');
    const base = { iface: i.name };
    if (mo) {
      const v = mo.value.trim();
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      if (!(n >= 68 && n <= 65535)) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'error',
              code: 'MTU_INVALID',
              message: `${i.name}: mtu '${v}' is not a usable MTU (a whole number from 68 to 65535)`,
              hint: 'use 1500 (standard Ethernet) or 9000 (jumbo frames)',
            },
            mo,
          ),
        );
        continue;
      }
      if (ctx.api && (n < IPV6_MIN || n > API_MAX)) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'error',
              code: 'MTU_RANGE',
              message: `${i.name}: mtu ${n} is outside ${IPV6_MIN}–${API_MAX}`,
              hint: 'Proxmox VE accepts 1280 to 65520; use 1500 or 9000',
            },
            mo,
          ),
        );
      } else if (!ctx.api && n < IPV6_MIN) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'warning',
              code: 'MTU_BELOW_IPV6_MIN',
              message: `${i.name}: mtu ${n} is below ${IPV6_MIN}, so IPv6 is disabled on ${i.name}`,
              hint: `use at least ${IPV6_MIN} unless the link really cannot carry more`,
            },
            mo,
          ),
        );
      }
    }
    const mine = explicitMtu(i);
    // VLAN: the kernel refuses a VLAN MTU above its parent's.
    if (i.kind === 'vlan' && i.vlan?.rawDevice && mine !== undefined && mo) {
      const pm = effectiveMtu(ctx, memo, i.vlan.rawDevice);
      if (pm !== undefined && mine > pm) {
        const p = i.vlan.rawDevice;
        out.push(
          atOption(
            {
              ...base,
              severity: 'error',
              code: 'MTU_VLAN_ABOVE_PARENT',
              message: `${i.name}: mtu ${mine} is larger than the mtu ${pm} of its parent ${p}${ctx.model.ifaces.get(p)?.mtu === undefined ? ' (the default)' : ''}`,
              hint: `set mtu ${mine} (or more) on ${p} too, or lower the VLAN's mtu`,
            },
            mo,
          ),
        );
      }
    }
    if (i.kind === 'bridge' && i.bridge && mine !== undefined && mo) {
      for (const p of i.bridge.ports) {
        const pm = effectiveMtu(ctx, memo, p);
        if (pm !== undefined && pm < mine) {
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: 'MTU_BRIDGE_ABOVE_PORT',
                message: `${i.name}: mtu ${mine} is larger than the mtu ${pm} of its port ${p}${ctx.model.ifaces.get(p)?.mtu === undefined ? ' (the default)' : ''}, so larger frames are dropped at the port`,
                hint: `set mtu ${mine} on ${p} too (and on whatever ${p} is built on)`,
              },
              mo,
            ),
          );
        }
      }
    }
    if (i.kind === 'bond' && i.bond && mine !== undefined && mo) {
      for (const s of i.bond.slaves) {
        const t = ctx.model.ifaces.get(s);
        const sm = t ? explicitMtu(t) : undefined;
        if (sm !== undefined && sm < mine) {
          out.push(
            atOption(
              {
                ...base,
                severity: 'error',
                code: 'MTU_BOND_SLAVE_BELOW',
                message: `${i.name}: mtu ${mine} is larger than the mtu ${sm} written for its slave ${s}; the bond forces its mtu onto the slave and the two settings fight on every reload`,
                hint: `remove the mtu line from ${s}, or set it to ${mine}`,
              },
              mo,
            ),
          );
        }
      }
    }
  }
  return out;
};
