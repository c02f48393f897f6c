/**
 * Verification: does the kernel state match what the live file intends? Independent of
 * ifupdown2's exit codes and `ifquery --check` (issue 4: they miss things).
 *
 * Critical (the config is not in effect; inside a confirm window it rolls back at once):
 * an auto interface missing or down, a configured address missing, a bridge port / bond slave
 * / VLAN raw device of an auto interface missing from the kernel, a port or slave not enslaved
 * to its master, a configured default gateway route missing.
 * Tolerated (reported, not failing): addresses in the kernel the file does not name, an MTU
 * different from the file's, an address written without a prefix that is present with any prefix.
 */
import type { Iface, Model } from '../model/types.ts';
import type { KernelInterface, KernelState } from './state.ts';

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
/** Below this MTU the kernel drops an interface's IPv4 addresses (and refuses new ones). */
export const IPV4_MIN_MTU = 68;

/** No `mtu` line, and the kernel's MTU under IPv4's minimum: broken (verify; settle.ts repairLowMtu). */
export function mtuTooLow(iface: Iface, k: KernelInterface): boolean {
  return iface.mtu === undefined && k.mtu < IPV4_MIN_MTU;
}

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
  missingLowers(model, kernel, crit, tol);
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
          if (!k.addresses.some((x) => canon(x.split('/')[0] ?? '') === ip))
            crit(iface.name, `${iface.name}: address ${a.raw} missing`);
          else tol(iface.name, `${iface.name}: address ${a.raw} has no prefix in the file`);
          continue;
        }
        if (!k.addresses.some((x) => canon(x) === `${ip}/${a.prefix}`))
          crit(iface.name, `${iface.name}: address ${ip}/${a.prefix} missing`);
      }
      for (const g of st.gateways) {
        const gw = canon(g.value.trim().split(/\s+/)[0] ?? '');
        const fam = gw.includes(':') ? 'inet6' : 'inet';
        const has = state.routes.some(
          (r) =>
            r.family === fam &&
            (r.dst === 'default' || r.dst === '0.0.0.0/0' || r.dst === '::/0') &&
            canon(r.gateway ?? '') === gw,
        );
        if (!has) crit(iface.name, `${iface.name}: default route via ${gw} missing`);
      }
    }
    for (const x of k.addresses) {
      const ip = canon(x.split('/')[0] ?? '');
      if (!configured.has(ip) && !ip.startsWith('fe80:'))
        tol(iface.name, `${iface.name}: address ${x} is not in the file`);
    }
    for (const { name: p } of lowersOf(iface)) {
      if (p === iface.vlan?.rawDevice) continue;
      const kp = kernel.get(p);
      // a missing one is reported by missingLowers below
      if (kp !== undefined && kp.master !== iface.name)
        crit(
          iface.name,
          `${iface.name}: port ${p} is ${kp.master === undefined ? 'not enslaved' : `enslaved to ${kp.master}`}`,
        );
    }
    if (iface.mtu !== undefined && Number(iface.mtu) !== k.mtu)
      tol(iface.name, `${iface.name}: mtu ${k.mtu}, the file says ${iface.mtu}`);
    // no mtu line: the kernel's default or the lower device's; under IPv4's minimum it is broken
    // (the kernel drops the interface's IPv4 addresses; seen on VLANs after a bond change)
    else if (mtuTooLow(iface, k))
      crit(iface.name, `${iface.name}: mtu ${k.mtu}, under IPv4's minimum of ${IPV4_MIN_MTU} (the file sets none)`);
    kindChecks(iface, k, crit, tol);
  }
  for (const [key, want] of sysctlsOf(model)) {
    const have = state.sysctls[key];
    if (have !== undefined && have !== want)
      crit(undefined, `sysctl ${key} is ${have}, the file's hook lines set ${want}`);
  }
  return { ok: !diffs.some((d) => d.severity === 'critical'), differences: diffs };
}

type Report = (iface: string, message: string) => void;

/** The devices an interface is built on: bridge ports, bond slaves, the VLAN raw device (no globs, no `none`). */
function lowersOf(iface: Iface): { name: string; what: string }[] {
  const out: { name: string; what: string }[] = [];
  for (const p of iface.bridge?.ports ?? []) out.push({ name: p, what: 'bridge port' });
  for (const p of iface.bond?.slaves ?? []) out.push({ name: p, what: 'bond slave' });
  if (iface.vlan?.rawDevice !== undefined) out.push({ name: iface.vlan.rawDevice, what: 'VLAN raw device' });
  return out.filter((l) => l.name !== 'none' && !/[*?[]/.test(l.name));
}

/**
 * Every port, slave and raw device the file names that the kernel lacks (a typo such as
 * `bridge-ports eno9`: ifupdown2 warns and exits 0, and the bridge comes up without its
 * uplink). Critical for an auto interface, whether or not the interface itself came up;
 * tolerated for one that is not brought up at boot.
 */
function missingLowers(model: Model, kernel: ReadonlyMap<string, KernelInterface>, crit: Report, tol: Report): void {
  for (const iface of model.ifaces.values()) {
    if (iface.kind === 'loopback' || iface.kind.startsWith('OVS')) continue;
    for (const l of lowersOf(iface)) {
      if (kernel.has(l.name)) continue;
      const msg = `${iface.name}: ${l.what} ${l.name} does not exist in the kernel`;
      if (iface.autostart) crit(iface.name, msg);
      else tol(iface.name, `${msg} (${iface.name} is not brought up at boot)`);
    }
  }
}

/**
 * Kind-specific checks: a bond's mode and the options the file sets (ifupdown2 can leave a
 * bond in its old mode on reload and still exit 0), a VLAN's id, protocol and raw device, a
 * bridge's VLAN filtering and STP.
 */
function kindChecks(iface: Iface, k: KernelInterface, crit: Report, tol: Report): void {
  const n = iface.name;
  if (iface.bond && iface.kind === 'bond') {
    const b = iface.bond;
    if (!k.bond) crit(n, `${n}: is not a bond in the kernel (kind ${k.kind})`);
    else {
      const mode = b.mode ?? 'balance-rr';
      if (k.bond.mode !== mode) crit(n, `${n}: bond mode is ${k.bond.mode}, the file says ${mode}`);
      const opt = (x: string) => k.bond?.options[x];
      if (b.miimon !== undefined && opt('miimon') !== undefined && opt('miimon') !== b.miimon)
        crit(n, `${n}: miimon is ${opt('miimon')}, the file says ${b.miimon}`);
      if (
        b.primary !== undefined &&
        (mode === 'active-backup' || mode === 'balance-tlb' || mode === 'balance-alb') &&
        opt('primary') !== b.primary
      )
        crit(n, `${n}: primary slave is ${opt('primary') ?? '(none)'}, the file says ${b.primary}`);
      if (
        b.xmitHashPolicy !== undefined &&
        (mode === 'balance-xor' || mode === '802.3ad') &&
        opt('xmit_hash_policy') !== undefined &&
        opt('xmit_hash_policy') !== b.xmitHashPolicy
      )
        crit(n, `${n}: xmit-hash-policy is ${opt('xmit_hash_policy')}, the file says ${b.xmitHashPolicy}`);
      if (b.lacpRate !== undefined && mode === '802.3ad') {
        const want = b.lacpRate === '1' ? 'fast' : b.lacpRate === '0' ? 'slow' : b.lacpRate;
        const have = opt('ad_lacp_rate') ?? opt('lacp_rate');
        if (have !== undefined && have !== want) crit(n, `${n}: lacp-rate is ${have}, the file says ${want}`);
      }
    }
  }
  if (iface.vlan && iface.kind === 'vlan') {
    const v = iface.vlan;
    if (!k.vlan) crit(n, `${n}: is not a VLAN device in the kernel (kind ${k.kind})`);
    else {
      if (v.id !== undefined && k.vlan.id !== v.id) crit(n, `${n}: VLAN id is ${k.vlan.id}, the file says ${v.id}`);
      if (v.rawDevice !== undefined && k.vlan.link !== v.rawDevice)
        crit(n, `${n}: VLAN raw device is ${k.vlan.link}, the file says ${v.rawDevice}`);
      const proto = (v.protocol ?? '802.1q').toLowerCase();
      if (k.vlan.protocol.toLowerCase() !== proto)
        crit(n, `${n}: VLAN protocol is ${k.vlan.protocol}, the file says ${proto}`);
    }
  }
  if (iface.bridge && iface.kind === 'bridge' && k.bridge) {
    if (iface.bridge.vlanAware !== (k.bridge.vlan_filtering === 1))
      crit(
        n,
        `${n}: VLAN filtering is ${k.bridge.vlan_filtering ? 'on' : 'off'}, the file says ${iface.bridge.vlanAware ? 'on' : 'off'}`,
      );
    if (iface.bridge.stp !== undefined && iface.bridge.stp !== (k.bridge.stp_state !== 0))
      tol(n, `${n}: STP is ${k.bridge.stp_state ? 'on' : 'off'}, the file says ${iface.bridge.stp ? 'on' : 'off'}`);
  }
}

const SYSCTL_ECHO = /echo\s+(\d+)\s*>\s*\/proc\/sys\/([\w./-]+)/g;
const SYSCTL_W = /sysctl\s+(?:-q\s+)?-w\s+([\w.-]+)=(\d+)/g;

/** The sysctls an auto interface's post-up/up lines set (`echo 1 > /proc/sys/...`, `sysctl -w`). */
export function sysctlsOf(model: Model): Map<string, string> {
  const out = new Map<string, string>();
  for (const i of model.ifaces.values()) {
    if (!i.autostart) continue;
    for (const o of i.options) {
      if (o.key !== 'post-up' && o.key !== 'up' && o.key !== 'pre-up') continue;
      for (const m of o.value.matchAll(SYSCTL_ECHO)) out.set(m[2]!.replaceAll('/', '.'), m[1]!);
      for (const m of o.value.matchAll(SYSCTL_W)) out.set(m[1]!, m[2]!);
    }
  }
  return out;
}
