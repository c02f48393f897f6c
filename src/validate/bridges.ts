/**
 * Bridges: `bridge-vids` syntax and where it applies, STP forward delay, and VLAN
 * sub-interfaces of a VLAN-aware bridge that the bridge does not carry.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import type { Iface } from '../model/types.ts';
import type { Rule } from './context.ts';
import { atOption, atOptionName, localRule, opt } from './common.ts';

const ITEM_RE = /^(\d{1,4})(?:-(\d{1,4}))?$/;

/**
 * Parse a `bridge-vids` value into a bitmap of allowed ids (index = VLAN id), collecting the
 * bad items. Bitmap lookups keep the "VLAN outside bridge-vids" check O(1) per VLAN.
 */
export function parseVids(value: string): { ids: Uint8Array; bad: { item: string; why: string }[] } {
  const ids = new Uint8Array(4095);
  const bad: { item: string; why: string }[] = [];
  for (const item of value.split(/[\s,;]+/)) {
    if (!item) continue;
    const m = ITEM_RE.exec(item);
    if (!m) {
      bad.push({ item, why: 'is not a VLAN id (N) or range (N-M)' });
      continue;
    }
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    if (a < 2 || b > 4094 || a > 4094 || b < 2) {
      bad.push({ item, why: 'is outside 2–4094 (VLAN 1 is the untagged default)' });
      continue;
    }
    if (b < a) {
      bad.push({ item, why: 'goes from a higher to a lower id' });
      continue;
    }
    ids.fill(1, a, b + 1);
  }
  return { ids, bad };
}

/** BRIDGE_VIDS_INVALID, BRIDGE_VIDS_NOT_VLAN_AWARE, BRIDGE_FD_RANGE. */
export const bridgeRules: Rule = localRule((i, _ctx, out) => {
  const br = i.bridge;
  if (!br) return;
  const base = { iface: i.name };
  const vidsOpt = opt(i, 'bridge-vids');
  if (vidsOpt) {
    if (!br.vlanAware) {
      out.push(
        atOptionName(
          {
            ...base,
            severity: 'warning',
            code: 'BRIDGE_VIDS_NOT_VLAN_AWARE',
            message: `${i.name}: bridge-vids has no effect because the bridge is not VLAN-aware`,
            hint: "add 'bridge-vlan-aware yes', or remove bridge-vids",
          },
          vidsOpt,
        ),
      );
    }
    for (const b of parseVids(vidsOpt.value).bad) {
      out.push(
        atOption(
          {
            ...base,
            severity: 'error',
            code: 'BRIDGE_VIDS_INVALID',
            message: `${i.name}: bridge-vids item '${b.item}' ${b.why}`,
            hint: 'list ids or ranges between 2 and 4094, separated by spaces, e.g. bridge-vids 10 20 100-199',
          },
          vidsOpt,
          b.item,
        ),
      );
    }
  }
  if (br.stp) {
    const fdOpt = opt(i, 'bridge-fd');
    if (fdOpt) {
      const v = fdOpt.value.trim();
      const n = /^\d+(?:\.\d+)?$/.test(v) ? Number(v) : NaN;
      if (!(n >= 2 && n <= 30)) {
        out.push(
          atOption(
            {
              ...base,
              severity: 'error',
              code: 'BRIDGE_FD_RANGE',
              message: `${i.name}: with STP on, bridge-fd must be 2 to 30 seconds, not ${v}`,
              hint: "use bridge-fd 15 (the STP default), or turn STP off with 'bridge-stp off'",
            },
            fdOpt,
          ),
        );
      }
    }
  }
});

/** VLAN_NOT_IN_BRIDGE_VIDS: a VLAN interface on a VLAN-aware bridge whose id the bridge does not carry. */
export const vlanOutsideVids: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const vidsOf = new Map<string, Uint8Array>();
  const bridgeVids = (b: Iface): Uint8Array => {
    let v = vidsOf.get(b.name);
    if (!v) {
      // Without bridge-vids ifupdown2 and Proxmox VE carry 2-4094.
      v = parseVids(opt(b, 'bridge-vids')?.value ?? '2-4094').ids;
      vidsOf.set(b.name, v);
    }
    return v;
  };
  for (const i of ctx.model.ifaces.values()) {
    const v = i.vlan;
    if (!v || v.rawDevice === undefined || v.id === undefined || v.id < 1 || v.id > 4094) continue;
    const parent = ctx.model.ifaces.get(v.rawDevice);
    if (!parent?.bridge?.vlanAware) continue;
    if (bridgeVids(parent)[v.id]) continue;
    const vo = opt(parent, 'bridge-vids');
    const f = {
      severity: 'warning' as const,
      code: 'VLAN_NOT_IN_BRIDGE_VIDS' as const,
      message: `${i.name}: VLAN ${v.id} is not in the bridge-vids of ${parent.name} (${vo?.value.trim() ?? '2-4094'}), so ${parent.name} drops its traffic`,
      iface: i.name,
      hint: `add ${v.id} to bridge-vids of ${parent.name}`,
    };
    // Placed at the VLAN's own stanza: that is what the admin just wrote.
    const st = i.stanzas[0]!;
    const idOpt = opt(i, 'vlan-id');
    out.push(
      idOpt
        ? atOption(f, idOpt)
        : {
            ...f,
            line: st.node.header.lineNo,
            column: st.node.name ? st.node.name.start - st.node.header.start + 1 : 1,
          },
    );
  }
  return out;
};
