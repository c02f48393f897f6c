/**
 * Small readers over what the kernel tier dumps (`ip -j -d link`, `ip -j addr`,
 * `bridge -j vlan`, /proc/net/bonding/<bond>), so tests assert on fields
 * rather than on text.
 */
import type { IpLink, StepResult } from './harness.ts';

/** The `ip -j -d link` entry of `name`; throws with the names present when absent. */
export function link(step: StepResult, name: string): IpLink {
  const l = step.link.find((x) => x.ifname === name);
  if (!l) throw new Error(`${step.name}: no link ${name} (have: ${step.link.map((x) => x.ifname).join(' ')})`);
  return l;
}

/** Whether `name` exists in the step's kernel state. */
export function hasLink(step: StepResult, name: string): boolean {
  return step.link.some((x) => x.ifname === name);
}

/** linkinfo.info_data of `name` (empty object when the link has none). */
export function infoData(step: StepResult, name: string): Record<string, unknown> {
  return link(step, name).linkinfo?.info_data ?? {};
}

/** `address/prefixlen` of every inet/inet6 address on `name`, non-link-local, sorted. */
export function addresses(step: StepResult, name: string): string[] {
  const a = step.addr.find((x) => x.ifname === name);
  return (a?.addr_info ?? [])
    .filter((i) => !(i.family === 'inet6' && i.local.startsWith('fe80:')))
    .map((i) => `${i.local}/${i.prefixlen}`)
    .sort();
}

/** Names of the links whose master is `master`, sorted. */
export function portsOf(step: StepResult, master: string): string[] {
  return step.link
    .filter((l) => l.master === master)
    .map((l) => l.ifname)
    .sort();
}

/**
 * VLAN ids configured on a bridge port (or the bridge itself) per `bridge -j vlan`,
 * ranges expanded, sorted; plus the PVID and the untagged ids.
 */
export function bridgeVlans(
  step: StepResult,
  port: string,
): { vids: number[]; pvid: number | undefined; untagged: number[] } {
  const entry = step.vlan.find((p) => p.ifname === port);
  const vids: number[] = [];
  const untagged: number[] = [];
  let pvid: number | undefined;
  for (const v of entry?.vlans ?? []) {
    for (let id = v.vlan; id <= (v.vlanEnd ?? v.vlan); id++) {
      vids.push(id);
      if (v.flags?.includes('PVID')) pvid = id;
      if (v.flags?.includes('Egress Untagged')) untagged.push(id);
    }
  }
  return { vids: vids.sort((a, b) => a - b), pvid, untagged };
}

/** /proc/net/bonding/<bond>, parsed. */
export interface BondingInfo {
  mode: string;
  primary?: string;
  active?: string;
  miimon?: number;
  xmitHashPolicy?: string;
  lacpRate?: string;
  slaves: string[];
  /** Every "Key: value" line of the bond's header (before the first slave / 802.3ad block). */
  fields: Record<string, string>;
}

/** Parses /proc/net/bonding/<bond> of the step; throws when the bond is absent. */
export function bonding(step: StepResult, bond: string): BondingInfo {
  const text = step.bonding[bond];
  if (text === undefined)
    throw new Error(`${step.name}: no /proc/net/bonding/${bond} (have: ${Object.keys(step.bonding).join(' ')})`);
  const fields: Record<string, string> = {};
  const slaves: string[] = [];
  let inHeader = true;
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key = '', value = ''] = m;
    if (key === 'Slave Interface') {
      slaves.push(value);
      inHeader = false;
    } else if (key === '802.3ad info') inHeader = false;
    if (inHeader || (!(key in fields) && key === 'LACP rate')) fields[key] = value;
  }
  const info: BondingInfo = { mode: fields['Bonding Mode'] ?? '', slaves: slaves.sort(), fields };
  const primary = fields['Primary Slave'];
  if (primary !== undefined && primary !== 'None') info.primary = primary.split(' ')[0] ?? primary;
  const active = fields['Currently Active Slave'];
  if (active !== undefined && active !== 'None') info.active = active;
  const miimon = fields['MII Polling Interval (ms)'];
  if (miimon !== undefined) info.miimon = Number(miimon);
  const policy = fields['Transmit Hash Policy'];
  if (policy !== undefined) info.xmitHashPolicy = policy.replace(/ \(\d+\)$/, '');
  const lacp = fields['LACP rate'];
  if (lacp !== undefined) info.lacpRate = lacp;
  return info;
}

/** The `ifquery --check` status of each option of `iface` (`pass`/`fail`). */
export function checkStatus(step: StepResult, iface: string): Record<string, string> | undefined {
  return step.check?.json?.find((e) => e.name === iface)?.config_status;
}

/** A compact summary for assertion messages. */
export function describeStep(step: StepResult): string {
  return [
    `step ${step.name}: ifreload rc=${step.ifreload?.rc} check rc=${step.check?.rc}`,
    step.ifreload?.log ? `ifreload log:\n${step.ifreload.log}` : '',
    step.check && step.check.rc !== 0 ? `check:\n${step.check.raw.slice(0, 4000)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
