/**
 * After a reload: guest ports put back on their bridges, and the kernel state read and judged
 * against the file (retried briefly while links settle). A critical difference counts against an
 * apply only when the apply caused it (see {@link judgeVerify}).
 */
import type { Model } from '../model/types.ts';
import { ConfigStore } from '../store/store.ts';
import { pathsFor } from '../store/paths.ts';
import { readSourced } from '../store/sources.ts';
import type { Backend } from './backend.ts';
import { guestPortsToReplug } from './guests.ts';
import { modelOf, nicsOf } from './models.ts';
import { expandSources, restrictModel } from './plan.ts';
import type { KernelState } from './state.ts';
import { mtuTooLow, verifyState, type VerifyDifference, type VerifyResult } from './verify.ts';

export type Log = (line: string) => void;

/**
 * A verification judged by what the apply changed: a critical difference is the apply's own
 * (`caused`) unless it names an interface the apply did not change and the same difference was
 * there before the apply (`preexisting`: drift the apply found, reported but never a reason to
 * roll back or to call the apply failed).
 */
export interface JudgedVerify extends VerifyResult {
  caused: VerifyDifference[];
  preexisting: VerifyDifference[];
}

export function judgeVerify(
  r: VerifyResult,
  before: VerifyResult | undefined,
  changed: readonly string[],
): JudgedVerify {
  const had = new Set((before?.differences ?? []).filter((d) => d.severity === 'critical').map((d) => d.message));
  const touched = new Set(changed);
  const caused: VerifyDifference[] = [];
  const preexisting: VerifyDifference[] = [];
  for (const d of r.differences) {
    if (d.severity !== 'critical') continue;
    if (had.has(d.message) && (d.iface === undefined || !touched.has(d.iface))) preexisting.push(d);
    else caused.push(d);
  }
  return { ...r, caused, preexisting };
}

/** What a verification is judged against: the scope of a targeted reload, the state it read
 * already (replugging guests), the verification of the state before the apply, what changed. */
export interface VerifyContext {
  scope?: readonly string[] | undefined;
  first?: KernelState | undefined;
  before?: VerifyResult | undefined;
  changed?: readonly string[];
}

export async function settleAndVerify(
  backend: Backend,
  model: Model,
  log: Log,
  c: VerifyContext = {},
): Promise<JudgedVerify> {
  const { scope, first, before, changed = [] } = c;
  if (backend.kind === 'none') {
    log('verify: skipped (backend none reloads nothing)');
    return { ok: true, differences: [], caused: [], preexisting: [] };
  }
  // a targeted reload: only what it touched (plan.ts scopeOf), read and checked
  if (scope !== undefined) {
    model = restrictModel(model, scope);
    log(`verify: the interfaces the reload touched: ${scope.join(' ')}`);
  }
  // linkwatch and DAD settle shortly after a reload (research §5.8): retry a critical result briefly
  let r = judgeVerify(verifyState(model, first ?? (await backend.readState(scope))), before, changed);
  for (let i = 0; i < 3 && r.caused.length > 0; i++) {
    await new Promise((res) => setTimeout(res, 500));
    r = judgeVerify(verifyState(model, await backend.readState(scope)), before, changed);
  }
  const pre = new Set(r.preexisting);
  for (const d of r.differences)
    log(
      `verify: ${pre.has(d) ? 'drift from before this apply (not touched by it, not a reason to roll back)' : d.severity}: ${d.message}`,
    );
  if (r.caused.length > 0) log(`verify: FAILED (${r.caused.length} critical caused by this apply)`);
  else if (r.preexisting.length > 0)
    log(
      `verify: ok for this apply; ${r.preexisting.length} difference(s) existed before it on interfaces it did not change (see \`nodenet verify\`)`,
    );
  else log('verify: ok');
  return r;
}

/** Compares the kernel with the live file (`nodenet verify`). */
export async function verifyLive(opts: { root: string; backend: Backend; log?: Log }): Promise<VerifyResult> {
  if (opts.backend.kind === 'none') return { ok: true, differences: [] };
  const store = new ConfigStore(opts.root);
  const snap = await store.read();
  const main = modelOf(snap.live);
  // the whole configuration: what the source lines include is checked as the main file is
  const model = expandSources(main, snap.live, await readSourced(pathsFor(opts.root), main.sources)).model;
  // verify reads what is there: a sandbox that exists gets no card for a name the file uses
  const fixed = (await opts.backend.nics?.()) ?? null;
  await opts.backend.prepare(fixed === null ? nicsOf(model) : []);
  const r = verifyState(model, await opts.backend.readState());
  return r;
}

/**
 * Repairs what ifupdown2's netlink cache race leaves behind: after a request on a device (a
 * bond's options), ifupdown2 caches the packet it sent, without the MTU, until its listener
 * thread caches the kernel's notification; a VLAN brought up in that window takes MTU 0 from it
 * (and the kernel then drops the VLAN's IPv4 addresses). Seen in the kernel tier with the cold
 * `ifup -w` of a bond and its VLANs (the warm worker waits for the notification, see
 * libexec/ifupdown2-worker.py). Every auto interface with no `mtu` line left under IPv4's
 * minimum is brought up again alone (`ifup NAMES`: its lower device untouched, so nothing is
 * sent for it and its MTU is read from the kernel). Returns the state read when nothing needed
 * a repair (verify can start from it).
 */
export async function repairLowMtu(
  backend: Backend,
  model: Model,
  log: Log,
  scope: readonly string[] | undefined,
  state?: KernelState,
): Promise<KernelState | undefined> {
  if (backend.kind === 'none') return undefined;
  const now = state ?? (await backend.readState(scope));
  const low = now.interfaces.filter((k) => {
    const i = model.ifaces.get(k.name);
    return i?.autostart === true && i.kind !== 'loopback' && mtuTooLow(i, k);
  });
  if (low.length === 0) return now;
  const names = low.map((k) => k.name).sort();
  log(
    `reload: ${low.map((k) => `${k.name} (mtu ${k.mtu})`).join(', ')} left under IPv4's minimum MTU by ifupdown2 ` +
      "(it read a lower device's MTU from its netlink cache before the kernel's update): up again, alone",
  );
  const r = await backend.reload({ up: [], down: [], again: names }, (l) => log(`  ${l}`));
  if (r.code !== 0) log(`reload: the repair exited ${r.code}`);
  return undefined;
}

/** Plug guest ports (VM taps, container veths) back into the bridges a reload took them off. */
/** Returns the state it read when it changed nothing (verify can start from it). */
export async function replugGuests(
  backend: Backend,
  before: KernelState,
  model: Model,
  log: Log,
  scope?: readonly string[],
): Promise<KernelState | undefined> {
  if (backend.kind === 'none') return undefined;
  // scoped: also the ports found on the touched bridges before (the reload may have detached them)
  const names = scope === undefined ? undefined : [...new Set([...scope, ...before.interfaces.map((i) => i.name)])];
  const now = await backend.readState(names);
  const todo = guestPortsToReplug(before, now, model);
  if (todo.length === 0) return now;
  for (const r of todo) {
    const res = await backend.exec(['ip', 'link', 'set', 'dev', r.port, 'master', r.bridge]);
    log(
      res.code === 0
        ? `guests: plugged ${r.port} back into ${r.bridge} (the reload had detached it)`
        : `guests: could not plug ${r.port} back into ${r.bridge}: ${res.stderr.trim()}`,
    );
  }
  return undefined;
}
