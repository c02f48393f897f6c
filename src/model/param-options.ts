/**
 * How Proxmox VE's API parameters map to the options of the interfaces file — the one table the
 * API (errors placed at the parameter they concern), the edit planner (the options an update
 * writes as given) and the web UI (diagnostics shown at dialog fields) use, and the one splitter
 * of list values read from the file.
 *
 * Self-contained on purpose (no imports, no Node APIs): scripts/gen-web.mjs copies this file to
 * web/src/generated/param-options.ts for the browser, and a unit test checks the copy is current.
 */

export interface ParamOption {
  /** The API parameter (PVE's name). */
  param: string;
  /** The file option it stands for, in its canonical spelling (src/model/options.ts). */
  option: string;
  /** The family stanza holding the option (the `6` parameters: inet6); unset: the interface's. */
  family?: 'inet' | 'inet6';
  /** The parameter a problem with the option is shown at, when not `param` (`netmask` → `cidr`). */
  field?: string;
  /** An update writes the value as given (lists normalised); the others have their own planning. */
  simple?: boolean;
}

/**
 * The table. Order matters where options repeat: a file option is shown at the first row naming
 * it (`address` at `cidr`; the file's `netmask` belongs to the address, shown as `cidr` as the
 * API's GET shows the pair). A diagnostic names the option, not the family, so the inet rows
 * come first.
 */
export const PARAM_OPTIONS: readonly ParamOption[] = [
  { param: 'cidr', option: 'address', family: 'inet' },
  { param: 'address', option: 'address', family: 'inet', field: 'cidr' },
  { param: 'netmask', option: 'netmask', family: 'inet', field: 'cidr' },
  { param: 'cidr-extra', option: 'address', family: 'inet' },
  { param: 'gateway', option: 'gateway', family: 'inet' },
  { param: 'cidr6', option: 'address', family: 'inet6' },
  { param: 'address6', option: 'address', family: 'inet6', field: 'cidr6' },
  { param: 'netmask6', option: 'netmask', family: 'inet6', field: 'cidr6' },
  { param: 'cidr6-extra', option: 'address', family: 'inet6' },
  { param: 'gateway6', option: 'gateway', family: 'inet6' },
  { param: 'mtu', option: 'mtu', simple: true },
  { param: 'bridge_ports', option: 'bridge-ports' },
  { param: 'bridge_vlan_aware', option: 'bridge-vlan-aware' },
  { param: 'bridge_vids', option: 'bridge-vids', simple: true },
  { param: 'bridge_stp', option: 'bridge-stp', simple: true },
  { param: 'bridge_fd', option: 'bridge-fd', simple: true },
  { param: 'slaves', option: 'bond-slaves' },
  { param: 'bond_mode', option: 'bond-mode', simple: true },
  { param: 'bond_xmit_hash_policy', option: 'bond-xmit-hash-policy', simple: true },
  { param: 'bond-primary', option: 'bond-primary', simple: true },
  { param: 'bond_miimon', option: 'bond-miimon', simple: true },
  { param: 'bond_lacp_rate', option: 'bond-lacp-rate', simple: true },
  { param: 'vlan-raw-device', option: 'vlan-raw-device', simple: true },
  { param: 'vlan-id', option: 'vlan-id', simple: true },
  { param: 'ovs_bonds', option: 'ovs-bonds' },
  { param: 'ovs_bridge', option: 'ovs-bridge' },
  { param: 'ovs_options', option: 'ovs-options' },
  { param: 'ovs_ports', option: 'ovs-ports' },
  // `ovs_tag` has no option of its own: Proxmox VE keeps it as `tag=` inside `ovs_options`.
];

/** Parameter → file option of the parameters an update writes as given (`bond_mode` → `bond-mode`). */
export const SIMPLE_PARAMS: ReadonlyMap<string, string> = new Map(
  PARAM_OPTIONS.filter((r) => r.simple).map((r) => [r.param, r.option]),
);

/**
 * The parameter a problem is shown at, for a file option (`bridge_ports`, `Bond-Mode` and
 * `bond-mode` alike) or a parameter name (`netmask6` → `cidr6`). Anything else comes back in
 * the option's dashed spelling (`post-up`).
 */
export function fieldOf(key: string): string {
  const k = key.replace(/_/g, '-').toLowerCase();
  const row = PARAM_OPTIONS.find((r) => r.option === k) ?? PARAM_OPTIONS.find((r) => r.param === key);
  return row ? (row.field ?? row.param) : k;
}

/**
 * The items of a list value read from the file (`bridge-ports`, `bond-slaves`, `ovs-ports`):
 * separated by whitespace, commas or semicolons; `none` is no item. API parameters are split by
 * params.ts `splitPveList` instead, with Proxmox VE's separators.
 */
export function splitList(v: string | undefined): string[] {
  const out: string[] = [];
  for (const p of (v ?? '').split(/[\s,;]+/)) if (p && p !== 'none') out.push(p);
  return out;
}
