/**
 * Verification: does the kernel state match what the live file intends? Independent of
 * ifupdown2's exit codes and `ifquery --check` (issue 4: they miss things).
 *
 * Critical (the config is not in effect; inside a confirm window it rolls back at once):
 * an auto interface missing or down, a configured address missing, a bridge port / bond slave
 * not enslaved to its master, a configured default gateway route missing.
 * Tolerated (reported, not failing): addresses in the kernel the file does not name, an MTU
 * different from the file's, an address written without a prefix that is present with any prefix.
 */
import type { Model } from '../model/types.ts';
import type { KernelState } from './state.ts';

export interface VerifyDifference {
  iface?: string;
  severity: 'critical' | 'tolerated';
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  differences: VerifyDifference[];
}

const canon = (ip: string): string => ip.toLowerCase();

/** Compares `state` with what `model` intends. `ok` when no difference is critical. */
export function verifyState(model: Model, state: KernelState): VerifyResult {
  const diffs: VerifyDifference[] = [];
  const kernel = new Map(state.interfaces.map((i) => [i.name, i]));
  const crit = (iface: string | undefined, message: string): void => {
    diffs.push({ ...(iface === undefined ? {} : { iface }), severity: 'critical', message });
  };
  const tol = (iface: string, message: string): void => {
    diffs.push({ iface, severity: 'tolerated', message });
  };
  for (const iface of model.ifaces.values()) {
    if (!iface.autostart || iface.kind === 'loopback' || iface.name === 'lo') continue;
    if (iface.kind.startsWith('OVS')) continue; // not driven by ifupdown2 natively
    const k = kernel.get(iface.name);
    if (k === undefined) {
      crit(iface.name, `${iface.name}: does not exist`);
      continue;
    }
    if (!k.up) crit(iface.name, `${iface.name}: is down`);
    const configured = new Set<string>();
    for (const st of iface.stanzas) {
      if (st.method !== 'static' && st.method !== null) continue;
      for (const a of st.addresses) {
        const ip = canon(a.ip);
        configured.add(ip);
        if (a.prefix === null) {
          if (!k.addresses.some((x) => canon(x.split('/')[0] ?? '') === ip)) crit(iface.name, `${iface.name}: address ${a.raw} missing`);
          else tol(iface.name, `${iface.name}: address ${a.raw} has no prefix in the file`);
          continue;
        }
        if (!k.addresses.some((x) => canon(x) === `${ip}/${a.prefix}`)) crit(iface.name, `${iface.name}: address ${ip}/${a.prefix} missing`);
      }
      for (const g of st.gateways) {
        const gw = canon(g.value.trim().split(/\s+/)[0] ?? '');
        const fam = gw.includes(':') ? 'inet6' : 'inet';
        const has = state.routes.some((r) => r.family === fam && (r.dst === 'default' || r.dst === '0.0.0.0/0' || r.dst === '::/0') && canon(r.gateway ?? '') === gw);
        if (!has) crit(iface.name, `${iface.name}: default route via ${gw} missing`);
      }
    }
    for (const x of k.addresses) {
      const ip = canon(x.split('/')[0] ?? '');
      if (!configured.has(ip) && !ip.startsWith('fe80:')) tol(iface.name, `${iface.name}: address ${x} is not in the file`);
    }
    const lowers = [...(iface.bridge?.ports ?? []), ...(iface.bond?.slaves ?? [])].filter((p) => p !== 'none' && !/[*?[]/.test(p));
    for (const p of lowers) {
      const kp = kernel.get(p);
      if (kp === undefined) crit(iface.name, `${iface.name}: port ${p} does not exist`);
      else if (kp.master !== iface.name) crit(iface.name, `${iface.name}: port ${p} is ${kp.master === undefined ? 'not enslaved' : `enslaved to ${kp.master}`}`);
    }
    if (iface.mtu !== undefined && Number(iface.mtu) !== k.mtu) tol(iface.name, `${iface.name}: mtu ${k.mtu}, the file says ${iface.mtu}`);
  }
  return { ok: !diffs.some((d) => d.severity === 'critical'), differences: diffs };
}
