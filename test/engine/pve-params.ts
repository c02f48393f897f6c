/**
 * Random valid Proxmox VE parameter sets for create and update, and what `get` must read back
 * for them (docs/model.md). Shared by the core round-trip test and the API one, so both hold
 * the same promise: what you set is what you read back, and nothing you did not touch changes.
 *
 * Every set is valid on BASE (addresses in one subnet, ports and slaves that exist, modes
 * with their options), so an edit that nodenet refuses is a failure too.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { maskToPrefix, prefixToMask } from '../../src/model/ip.ts';
import { splitPveList, writtenTextProblem } from '../../src/model/params.ts';
import type { PveIface } from '../../src/model/pve-view.ts';

/** The live file every round-trip test starts from. */
export const BASE = [
  'auto lo',
  'iface lo inet loopback',
  '',
  'iface eno1 inet manual',
  '',
  'iface eno2 inet manual',
  '',
  'iface eno3 inet manual',
  '',
  'iface eno4 inet manual',
  '',
  'iface eno5 inet manual',
  '',
].join('\n');

export type Params = Record<string, string>;

export interface Case {
  name: string;
  type: 'bridge' | 'bond' | 'vlan';
  create: Params;
  /** Parameters of a later update (without `type`) and the settings it deletes. */
  update: Params;
  del: string[];
}

/**
 * Comment text: several lines, unicode, `#` (not first on a line), `%`, leading and trailing
 * spaces, empty lines. Only valid values: no backslash, no line starting with `#`, no template
 * code (`writtenTextProblem` refuses them; written-values.test.ts shows the refusals).
 */
const commentLine = fc
  .array(fc.constantFrom('a', 'Z', ' ', '#', '%', '-', '/', 'ü', '管', '😀', '1', '.', '  '), { maxLength: 8 })
  .map((p) => p.join(''))
  .filter((l) => writtenTextProblem(l, true) === null);
const comments = fc
  .array(commentLine, { minLength: 1, maxLength: 3 })
  .chain((lines) => fc.constantFrom(lines.join('\n'), `${lines.join('\n')}\n`));

const sep = fc.constantFrom(' ', ',', ';', ', ');

/** cidr-extra values: a list of further addresses (another subnet), or '' (none). */
function extraArb(v: 4 | 6): fc.Arbitrary<string | undefined> {
  const one =
    v === 4
      ? fc.integer({ min: 2, max: 250 }).map((k) => `10.78.0.${k}/24`)
      : fc.integer({ min: 2, max: 0xfff }).map((k) => `2001:db8:78::${k.toString(16)}/64`);
  return fc.option(
    fc.tuple(fc.uniqueArray(one, { maxLength: 3 }), sep).map(([l, s]) => l.join(s)),
    { nil: undefined, freq: 2 },
  );
}

/** IPv4 settings in 10.77.0.0/16..24 (gateway 10.77.0.1 is inside every one of them). */
const v4 = fc.oneof(
  fc.constant<Params>({}),
  fc
    .record({
      h: fc.integer({ min: 2, max: 250 }),
      p: fc.integer({ min: 16, max: 24 }),
      gw: fc.boolean(),
      form: fc.constantFrom('cidr', 'mask'),
      extra: extraArb(4),
    })
    .map(({ h, p, gw, form, extra }) => {
      const out: Params =
        form === 'cidr' ? { cidr: `10.77.0.${h}/${p}` } : { address: `10.77.0.${h}`, netmask: prefixToMask(p) };
      if (gw) out.gateway = '10.77.0.1';
      if (extra !== undefined) out['cidr-extra'] = extra;
      return out;
    }),
);

/** IPv6 settings in 2001:db8:77::/48..64 (gateway6 2001:db8:77::1 inside every one). */
const v6 = fc.oneof(
  fc.constant<Params>({}),
  fc
    .record({
      h: fc.integer({ min: 2, max: 0xfffe }),
      p: fc.integer({ min: 48, max: 64 }),
      gw: fc.boolean(),
      form: fc.constantFrom('cidr', 'mask'),
      extra: extraArb(6),
    })
    .map(({ h, p, gw, form, extra }) => {
      const ip = `2001:db8:77::${h.toString(16)}`;
      const out: Params = form === 'cidr' ? { cidr6: `${ip}/${p}` } : { address6: ip, netmask6: String(p) };
      if (gw) out.gateway6 = '2001:db8:77::1';
      if (extra !== undefined) out['cidr6-extra'] = extra;
      return out;
    }),
);

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** Settings every type takes: addresses, comments, mtu, autostart. */
const common = fc
  .record({
    v4,
    v6,
    comments: opt(comments),
    comments6: opt(comments),
    mtu: opt(fc.integer({ min: 1280, max: 1500 })),
    autostart: opt(fc.constantFrom('0', '1')),
  })
  .map((r) => {
    const out: Params = { ...r.v4, ...r.v6 };
    if (r.comments !== undefined) out.comments = r.comments;
    // comments6 of an inet6-only interface name the same lines as comments (tested apart).
    if (r.comments6 !== undefined && (hasV4(out) || !hasV6(out))) out.comments6 = r.comments6;
    if (r.mtu !== undefined) out.mtu = String(r.mtu);
    if (r.autostart !== undefined) out.autostart = r.autostart;
    return out;
  });

function hasV4(p: Params): boolean {
  return p.cidr !== undefined || p.address !== undefined || p.gateway !== undefined;
}
function hasV6(p: Params): boolean {
  return p.cidr6 !== undefined || p.address6 !== undefined || p.gateway6 !== undefined;
}

const list = (items: string[]) => sep.map((s) => items.join(s));

const bridge = fc
  .record({
    n: fc.integer({ min: 1, max: 99 }),
    ports: opt(fc.subarray(['eno1', 'eno2']).chain(list)),
    aware: opt(fc.constantFrom('0', '1')),
    vids: opt(fc.constantFrom('2-4094', '10 20 30-40', '100,200')),
    stp: opt(fc.constantFrom('on', 'off')),
    // STP on needs a forward delay of 2..30 s (BRIDGE_FD_RANGE); 2..30 is valid either way.
    fd: opt(fc.integer({ min: 2, max: 30 })),
  })
  .map((r) => {
    const out: Params = { type: 'bridge' };
    if (r.ports !== undefined) out.bridge_ports = r.ports;
    if (r.aware !== undefined) out.bridge_vlan_aware = r.aware;
    if (r.vids !== undefined && r.aware === '1') out.bridge_vids = r.vids;
    if (r.stp !== undefined && (r.stp === 'off' || r.fd !== undefined)) out.bridge_stp = r.stp;
    if (r.fd !== undefined) out.bridge_fd = String(r.fd);
    return { name: `vmbr${r.n}`, p: out };
  });

const bond = fc
  .record({
    n: fc.integer({ min: 0, max: 99 }),
    slaves: fc.subarray(['eno3', 'eno4'], { minLength: 1 }),
    sep,
    mode: opt(
      fc.constantFrom(
        'balance-rr',
        'active-backup',
        'balance-xor',
        'broadcast',
        '802.3ad',
        'balance-tlb',
        'balance-alb',
      ),
    ),
    hash: opt(fc.constantFrom('layer2', 'layer2+3', 'layer3+4')),
    primary: fc.boolean(),
    miimon: opt(fc.integer({ min: 0, max: 10000 })),
    lacp: opt(fc.constantFrom('slow', 'fast')),
  })
  .map((r) => {
    const out: Params = { type: 'bond', slaves: r.slaves.join(r.sep) };
    if (r.mode !== undefined) out.bond_mode = r.mode;
    if (r.hash !== undefined && (r.mode === 'balance-xor' || r.mode === '802.3ad')) out.bond_xmit_hash_policy = r.hash;
    if (r.primary && r.mode === 'active-backup') out['bond-primary'] = r.slaves[0]!;
    if (r.miimon !== undefined) out.bond_miimon = String(r.miimon);
    if (r.lacp !== undefined && r.mode === '802.3ad') out.bond_lacp_rate = r.lacp;
    return { name: `bond${r.n}`, p: out };
  });

const vlan = fc
  .record({
    id: fc.integer({ min: 2, max: 4094 }),
    form: fc.constantFrom('dotted', 'vlanN', 'custom'),
    explicit: fc.boolean(),
  })
  .map(({ id, form, explicit }) => {
    const p: Params = { type: 'vlan' };
    let name: string;
    if (form === 'dotted') {
      name = `eno1.${id}`;
      if (explicit) {
        p['vlan-raw-device'] = 'eno1';
        p['vlan-id'] = String(id);
      }
    } else if (form === 'vlanN') {
      name = `vlan${id}`;
      p['vlan-raw-device'] = 'eno1';
      if (explicit) p['vlan-id'] = String(id);
    } else {
      name = `v${id}x`;
      p['vlan-raw-device'] = 'eno1';
      p['vlan-id'] = String(id);
    }
    return { name, p };
  });

/** Type-specific settings an update may change (the name and the VLAN identity stay). */
function typeUpdate(type: Case['type']): fc.Arbitrary<Params> {
  if (type === 'bridge') return bridge.map(({ p }) => withoutType(p));
  if (type === 'bond') return bond.map(({ p }) => withoutType(p));
  return fc.constant({});
}

function withoutType(p: Params): Params {
  const { type: _t, ...rest } = p;
  return rest;
}

/** What an update may delete, given the interface after its creation. */
const DELETABLE_ALONE = ['comments', 'comments6', 'mtu', 'gateway', 'gateway6', 'cidr-extra', 'cidr6-extra'];

export const cases: fc.Arbitrary<Case> = fc.oneof(bridge, bond, vlan).chain(({ name, p }) =>
  fc
    .record({
      c: common,
      u: common,
      t: typeUpdate(p.type as Case['type']),
      del: fc.subarray(DELETABLE_ALONE),
      subset: fc.func(fc.boolean()),
    })
    .map(({ c, u, t, del, subset }) => {
      const create: Params = { ...p, ...c };
      // A random part of the update settings (single and combined changes both occur).
      const update: Params = {};
      for (const [k, val] of Object.entries({ ...t, ...u })) if (subset(k)) update[k] = val;
      // Address pairs go together; cidr and address+netmask exclude each other.
      for (const six of ['', '6']) {
        if ((update[`address${six}`] === undefined) !== (update[`netmask${six}`] === undefined)) {
          delete update[`address${six}`];
          delete update[`netmask${six}`];
        }
      }
      // A gateway needs an address of its family once the update is done.
      const v4After =
        update.cidr !== undefined ||
        update.address !== undefined ||
        create.cidr !== undefined ||
        create.address !== undefined;
      const v6After =
        update.cidr6 !== undefined ||
        update.address6 !== undefined ||
        create.cidr6 !== undefined ||
        create.address6 !== undefined;
      if (!v4After) delete update.gateway;
      if (!v6After) delete update.gateway6;
      // Further addresses need a first one.
      if (!v4After) delete update['cidr-extra'];
      if (!v6After) delete update['cidr6-extra'];
      // An inet6-only interface: comments6 is another name for comments (tested apart).
      if (!hasV4(create) && !hasV4(update) && hasV6(create)) delete update.comments6;
      if (
        update.bond_xmit_hash_policy !== undefined ||
        update['bond-primary'] !== undefined ||
        update.bond_lacp_rate !== undefined
      ) {
        // Mode-dependent options come with their mode.
        if (update.bond_mode === undefined) {
          delete update.bond_xmit_hash_policy;
          delete update['bond-primary'];
          delete update.bond_lacp_rate;
        }
      }
      if (update.bond_mode !== undefined && update.slaves === undefined) {
        // bond-primary must stay a slave: keep the update's mode options consistent with the slaves it sets.
        delete update['bond-primary'];
      }
      // New slaves keep the bond's primary among them.
      const primary = update['bond-primary'] ?? create['bond-primary'];
      if (update.slaves !== undefined && primary !== undefined && !splitPveList(update.slaves).includes(primary))
        delete update.slaves;
      if (update.bridge_stp === 'on' && update.bridge_fd === undefined && create.bridge_fd === undefined)
        delete update.bridge_stp;
      if (update.bridge_vids !== undefined && update.bridge_vlan_aware !== '1' && create.bridge_vlan_aware !== '1')
        delete update.bridge_vids;
      if (update.bridge_vlan_aware === '0') delete update.bridge_vids;
      const dels = del.filter((k) => update[k] === undefined);
      return { name, type: p.type as Case['type'], create, update, del: dels };
    }),
);

// ---- what get must show ------------------------------------------------------------------------

/** A comments value as get shows it: one `\n` per line, trailing spaces dropped; undefined if empty. */
export function commentsShown(text: string): string | undefined {
  if (text === '') return undefined;
  const lines = text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''));
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * The keys of the get view that a parameter set determines, with their values (undefined =
 * the key must be absent). Derived keys (address/netmask from cidr and back) are included.
 */
export function shown(p: Params, inet6Only: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const six of ['', '6'] as const) {
    const c = p[`cidr${six}`];
    const a = p[`address${six}`];
    const m = p[`netmask${six}`];
    if (c !== undefined) {
      const [ip, len] = c.split('/');
      Object.assign(out, { [`cidr${six}`]: c, [`address${six}`]: ip, [`netmask${six}`]: len });
    } else if (a !== undefined && m !== undefined) {
      const len = six ? m : String(maskToPrefix(m));
      Object.assign(out, { [`cidr${six}`]: `${a}/${len}`, [`address${six}`]: a, [`netmask${six}`]: len });
    }
    if (p[`gateway${six}`] !== undefined) out[`gateway${six}`] = p[`gateway${six}`];
    const x = p[`cidr${six}-extra`];
    if (x !== undefined) out[`cidr${six}-extra`] = splitPveList(x).join(' ') || undefined;
  }
  if (inet6Only) {
    const c = p.comments ?? p.comments6;
    if (c !== undefined) out.comments = commentsShown(c);
  } else {
    if (p.comments !== undefined) out.comments = commentsShown(p.comments);
    if (p.comments6 !== undefined) out.comments6 = commentsShown(p.comments6);
  }
  if (p.mtu !== undefined) out.mtu = p.mtu;
  if (p.autostart !== undefined) out.autostart = Number(p.autostart);
  if (p.type !== undefined) out.type = p.type;
  if (p.bridge_ports !== undefined) out.bridge_ports = splitPveList(p.bridge_ports).join(' ');
  if (p.bridge_vlan_aware !== undefined) out.bridge_vlan_aware = p.bridge_vlan_aware === '1' ? 1 : undefined;
  if (p.bridge_vids !== undefined) out.bridge_vids = splitPveList(p.bridge_vids).join(' ');
  if (p.bridge_stp !== undefined) out.bridge_stp = p.bridge_stp;
  if (p.bridge_fd !== undefined) out.bridge_fd = p.bridge_fd;
  if (p.slaves !== undefined) out.slaves = splitPveList(p.slaves).join(' ');
  for (const k of [
    'bond_mode',
    'bond_xmit_hash_policy',
    'bond-primary',
    'bond_miimon',
    'bond_lacp_rate',
    'vlan-raw-device',
    'vlan-id',
  ])
    if (p[k] !== undefined) out[k] = p[k];
  return out;
}

/** View keys a parameter decides (a change of it may change these, and only these). */
export function keysOf(param: string): string[] {
  const six = param.endsWith('6') && param !== 'bond-primary' ? '6' : '';
  if (/^(cidr|address|netmask)6?$/.test(param)) return [`cidr${six}`, `address${six}`, `netmask${six}`];
  if (param === 'comments' || param === 'comments6') return ['comments', 'comments6'];
  return [param];
}

/** Keys that follow from others (method, families, priority) and the live state: not compared as "untouched". */
export const DERIVED = new Set(['method', 'method6', 'families', 'priority', 'active', 'exists']);

/** Whether the interface has only inet6 stanzas after creating with `p`. */
export function createdInet6Only(p: Params): boolean {
  return !hasV4(p) && hasV6(p);
}

// ---- assertions --------------------------------------------------------------------------------

/** Assert that `data` shows every expected key (undefined: absent). */
export function assertShows(data: PveIface, expected: Record<string, unknown>, what: string): void {
  for (const [k, v] of Object.entries(expected))
    assert.deepEqual(
      data[k],
      v,
      `${what}: ${k} is ${JSON.stringify(data[k])}, expected ${JSON.stringify(v)}\n${JSON.stringify(data)}`,
    );
}

/** Assert that the keys no parameter of the update decides are as before. */
export function assertUntouched(before: PveIface, after: PveIface, touched: readonly string[], what: string): void {
  const decided = new Set(touched.flatMap(keysOf));
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (DERIVED.has(k) || decided.has(k)) continue;
    assert.deepEqual(
      after[k],
      before[k],
      `${what}: ${k} changed from ${JSON.stringify(before[k])} to ${JSON.stringify(after[k])}, though nothing set it`,
    );
  }
}

/** What the update must show: its settings, and its deletes as absent keys. */
export function expectedAfterUpdate(
  update: Params,
  del: readonly string[],
  inet6Only: boolean,
): Record<string, unknown> {
  const exp = shown(update, inet6Only);
  for (const k of del) {
    if (k === 'comments6' && inet6Only) continue;
    exp[k] = undefined;
  }
  return exp;
}
