/**
 * Set → get fidelity (issue 13): random valid Proxmox VE parameter sets, created and updated
 * through NetworkCore (single and combined settings, with deletes), read back exactly as set
 * through `get`, and nothing that was not touched changes; the same over random chains of
 * edits on every corpus file. The expected values come from the parameters alone
 * (pve-params.ts), not from the code under test.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NetworkCore } from '../../src/core/network.ts';
import { NodenetError } from '../../src/errors.ts';
import { applyEdits } from '../../src/interfaces/edits.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { planUpdate } from '../../src/model/edit.ts';
import { toPve } from '../../src/model/pve-view.ts';
import { OVS_KINDS } from '../../src/model/types.ts';
import type { Iface } from '../../src/model/types.ts';
import {
  BASE,
  assertShows,
  assertUntouched,
  cases,
  commentsShown,
  createdInet6Only,
  expectedAfterUpdate,
  shown,
} from './pve-params.ts';
import type { Params } from './pve-params.ts';

const RUNS = Number(process.env.NODENET_PROPERTY_RUNS ?? 150);
const SEED = Number(process.env.NODENET_PROPERTY_SEED ?? 20261203);

function tempRoot(text: string): { dir: string; core: NetworkCore } {
  const dir = mkdtempSync(join(tmpdir(), 'nodenet-roundtrip-'));
  mkdirSync(join(dir, 'etc/network'), { recursive: true });
  writeFileSync(join(dir, 'etc/network/interfaces'), text);
  return { dir, core: new NetworkCore({ root: dir }) };
}

describe('set → get through the core', () => {
  it('random parameter sets: create, then update (with deletes), read back as set; untouched settings stay', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const { dir, core } = tempRoot(BASE);
        try {
          await core.create(c.name, c.create);
          const created = (await core.get(c.name)).data;
          assertShows(created, shown(c.create, createdInet6Only(c.create)), 'create');
          await core.update(c.name, c.update, c.del);
          const after = (await core.get(c.name)).data;
          const only6 = createdInet6Only(c.create) && !('cidr' in c.update || 'address' in c.update);
          assertShows(after, expectedAfterUpdate(c.update, c.del, only6), 'update');
          assertUntouched(created, after, [...Object.keys(c.update), ...c.del], 'update');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
  });

  it('the issue: set --mtu with --comments (and --bridge_vlan_aware with --comments) keeps the comment, after the new options', async () => {
    const { dir, core } = tempRoot(
      readFileSync(new URL('../fixtures/corpus/03-bridged-default.interfaces', import.meta.url), 'utf8'),
    );
    try {
      await core.update('vmbr0', { mtu: '1400', comments: 'uplink bridge' });
      assert.equal((await core.get('vmbr0')).data.comments, 'uplink bridge\n');
      await core.update('vmbr0', { bridge_vlan_aware: '1', comments: 'vlan aware now' });
      const d = (await core.get('vmbr0')).data;
      assert.equal(d.comments, 'vlan aware now\n');
      assert.equal(d.bridge_vlan_aware, 1);
      const text = readFileSync(join(dir, 'etc/network/interfaces.new'), 'utf8');
      assert.match(text, /\tmtu 1400\n\tbridge-vlan-aware yes\n\t# vlan aware now\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('every address, and what an edit of cidr does to the others', () => {
  it('cidr changes the first address only; cidr-extra sets the others (after the first line); delete=cidr removes all', async () => {
    const { dir, core } = tempRoot(
      readFileSync(new URL('../fixtures/corpus/35-multiple-addresses.interfaces', import.meta.url), 'utf8'),
    );
    const staged = () => readFileSync(join(dir, 'etc/network/interfaces.new'), 'utf8');
    try {
      let d = (await core.get('vmbr0')).data;
      assert.equal(d.cidr, '192.0.2.35/24');
      assert.equal(d['cidr-extra'], '192.0.2.135/24 198.51.100.35/24');
      assert.equal(d['cidr6-extra'], 'fd00:35::1/64');
      await core.update('vmbr0', { cidr: '192.0.2.36/24' });
      d = (await core.get('vmbr0')).data;
      assert.equal(d.cidr, '192.0.2.36/24');
      assert.equal(d['cidr-extra'], '192.0.2.135/24 198.51.100.35/24');
      await core.update('vmbr0', { 'cidr-extra': '198.51.100.36/24,203.0.113.5/28' });
      assert.match(
        staged(),
        /\taddress 192\.0\.2\.36\/24\n\taddress 198\.51\.100\.36\/24\n\taddress 203\.0\.113\.5\/28\n\tgateway 192\.0\.2\.1\n/,
      );
      d = (await core.get('vmbr0')).data;
      assert.equal(d['cidr-extra'], '198.51.100.36/24 203.0.113.5/28');
      await core.update('vmbr0', { 'cidr6-extra': '' });
      d = (await core.get('vmbr0')).data;
      assert.equal(d['cidr6-extra'], undefined);
      assert.equal(d.cidr6, '2001:db8:35::1/64');
      await assert.rejects(
        core.update('vmbr0', { 'cidr-extra': '10.0.0.1' }),
        (e: unknown) => e instanceof NodenetError && e.errors?.['cidr-extra'] !== undefined,
      );
      await assert.rejects(
        core.create('vmbr9', { type: 'bridge', 'cidr-extra': '10.9.0.2/24' }),
        (e: unknown) => e instanceof NodenetError && e.errors?.['cidr-extra'] !== undefined,
      );
      await core.update('vmbr0', {}, ['cidr', 'gateway']);
      d = (await core.get('vmbr0')).data;
      assert.equal(d.cidr, undefined);
      assert.equal(d['cidr-extra'], undefined);
      assert.equal(d.method, 'manual');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('several addresses on one address line: the first stays on it, the others move to lines of their own', () => {
    const text = 'iface vmbr0 inet static\n\taddress 10.0.0.2/24 10.0.1.2/24 2001:db8::2/64\n\tbridge-ports none\n';
    const doc = parse(text);
    const model = buildModel(doc);
    const out = applyEdits(text, planUpdate(doc, model, 'vmbr0', { 'cidr-extra': '10.0.2.2/24' }, []));
    assert.equal(
      out,
      'iface vmbr0 inet static\n\taddress 10.0.0.2/24 2001:db8::2/64\n\taddress 10.0.2.2/24\n\tbridge-ports none\n',
    );
    const v = toPve(buildModel(parse(out)).ifaces.get('vmbr0')!);
    assert.equal(v['cidr-extra'], '10.0.2.2/24');
    assert.equal(v.cidr6, '2001:db8::2/64');
  });
});

// ---- random edit chains on the corpus ---------------------------------------------------------

const CORPUS = new URL('../fixtures/corpus/', import.meta.url);
const FILES = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.interfaces'))
  .sort();

const commentArb = fc.constantFrom('one line', 'two\nlines\n', '  indented', 'trailing space   ', '#hash and ü 管', '');
/** One update of any interface: the settings every kind takes, and a type's own. */
const stepArb = fc.record({
  pick: fc.nat(),
  comments: fc.option(commentArb, { nil: undefined }),
  comments6: fc.option(commentArb, { nil: undefined }),
  mtu: fc.option(fc.integer({ min: 1280, max: 9000 }), { nil: undefined }),
  cidr: fc.option(fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 16, max: 30 })), { nil: undefined }),
  cidr6: fc.option(fc.tuple(fc.integer({ min: 1, max: 0xfff }), fc.integer({ min: 48, max: 64 })), { nil: undefined }),
  gateway: fc.boolean(),
  aware: fc.option(fc.constantFrom('0', '1'), { nil: undefined }),
  mode: fc.option(fc.constantFrom('active-backup', '802.3ad', 'balance-xor'), { nil: undefined }),
  /** How `comments` relates to the interface's current ones: a new text, or one line changed. */
  cmode: fc.constantFrom('set', 'set', 'append', 'dropFirst', 'changeLast', 'insertMiddle'),
  extra: fc.option(fc.constantFrom('', '10.201.0.5/24', '10.201.0.5/24 10.201.0.6/25'), { nil: undefined }),
  extra6: fc.option(fc.constantFrom('', 'fd00:201::5/64', 'fd00:201::5/64,fd00:202::5/56'), { nil: undefined }),
  del: fc.subarray(['comments', 'comments6', 'mtu', 'cidr-extra', 'cidr6-extra']),
  tag: fc.option(fc.integer({ min: 1, max: 4094 }), { nil: undefined }),
});

function paramsFor(iface: Iface, s: StepValue): Params {
  const p: Params = {};
  if (s.comments !== undefined) p.comments = s.comments;
  const cur = toPve(iface).comments;
  if (s.cmode !== 'set' && typeof cur === 'string') {
    const lines = cur.replace(/\n$/, '').split('\n');
    if (s.cmode === 'append') lines.push('appended');
    else if (s.cmode === 'dropFirst') lines.shift();
    else if (s.cmode === 'changeLast') lines[lines.length - 1] = 'changed';
    else lines.splice(Math.floor(lines.length / 2), 0, 'inserted');
    p.comments = lines.join('\n');
  }
  if (s.comments6 !== undefined && !iface.stanzas.every((st) => st.family === 'inet6')) p.comments6 = s.comments6;
  if (s.mtu !== undefined) p.mtu = String(s.mtu);
  if (s.cidr) {
    p.cidr = `10.200.${s.cidr[0]}.7/${s.cidr[1]}`;
    if (s.gateway) p.gateway = `10.200.${s.cidr[0]}.1`;
  }
  if (s.cidr6) {
    p.cidr6 = `fd00:200:${s.cidr6[0].toString(16)}::7/${s.cidr6[1]}`;
    if (s.gateway) p.gateway6 = `fd00:200:${s.cidr6[0].toString(16)}::1`;
  }
  if (s.extra !== undefined) p['cidr-extra'] = s.extra;
  if (s.extra6 !== undefined) p['cidr6-extra'] = s.extra6;
  if (iface.kind === 'bridge' && s.aware !== undefined) p.bridge_vlan_aware = s.aware;
  if (iface.kind === 'bond' && s.mode !== undefined) p.bond_mode = s.mode;
  if (OVS_KINDS.includes(iface.kind) && iface.kind !== 'OVSBridge' && s.tag !== undefined) p.ovs_tag = String(s.tag);
  return p;
}
type StepValue = {
  pick: number;
  comments: string | undefined;
  comments6: string | undefined;
  mtu: number | undefined;
  cidr: [number, number] | undefined;
  cidr6: [number, number] | undefined;
  gateway: boolean;
  aware: string | undefined;
  mode: string | undefined;
  tag: number | undefined;
  cmode: string;
  extra: string | undefined;
  extra6: string | undefined;
  del: string[];
};

describe('set → get on the corpus', () => {
  it('random edit chains on every corpus file: each edit reads back, every other interface and setting stays', () => {
    for (const f of FILES) {
      const text0 = readFileSync(new URL(f, CORPUS), 'utf8');
      fc.assert(
        fc.property(fc.array(stepArb, { minLength: 1, maxLength: 4 }), (steps) => {
          let text = text0;
          for (const s of steps as StepValue[]) {
            const doc = parse(text, 'interfaces');
            const model = buildModel(doc);
            const editable = [...model.ifaces.values()].filter((i) => i.kind !== 'loopback');
            if (!editable.length) return;
            const iface = editable[s.pick % editable.length]!;
            const p = paramsFor(iface, s);
            const del = s.del.filter(
              (k) => p[k] === undefined && !(k === 'comments6' && iface.stanzas.every((st) => st.family === 'inet6')),
            );
            if (!Object.keys(p).length && !del.length) continue;
            const before = new Map([...model.ifaces.values()].map((i) => [i.name, toPve(i)]));
            let edits;
            try {
              edits = planUpdate(doc, model, iface.name, p, del);
            } catch (e) {
              // Refused with a reason (a parameter error) is fine; anything else is a bug.
              if (e instanceof NodenetError) continue;
              throw e;
            }
            text = applyEdits(text, edits);
            const after = buildModel(parse(text, 'interfaces'));
            const now = after.ifaces.get(iface.name)!;
            const what = `${f}: ${iface.name} ${JSON.stringify(p)} delete ${del.join(',')}`;
            const only6 = now.stanzas.every((st) => st.family === 'inet6');
            assertShows(toPve(now), expectedAfterUpdate(p, del, only6), what);
            assertUntouched(before.get(iface.name)!, toPve(now), [...Object.keys(p), ...del], what);
            for (const [name, view] of before) {
              if (name === iface.name) continue;
              const other = after.ifaces.get(name);
              assert.ok(other, `${what}: ${name} disappeared`);
              assert.deepEqual(toPve(other), view, `${what}: ${name} changed`);
            }
          }
        }),
        { numRuns: Math.max(5, Math.round(RUNS / 15)), seed: SEED, includeErrorInReport: true },
      );
    }
  });

  it('comments read as Proxmox VE reads them: every # line of the inet stanzas, comments6 from inet6', () => {
    const text = [
      'iface vmbr0 inet static',
      '\t# leading',
      '\taddress 192.0.2.2/24',
      '\t# between two options',
      '\tbridge-ports none',
      '#pve style at the end',
      '',
      'iface vmbr0 inet6 static',
      '\taddress 2001:db8::2/64',
      '\t# v6 only',
      '',
    ].join('\n');
    const v = toPve(buildModel(parse(text)).ifaces.get('vmbr0')!);
    assert.equal(v.comments, 'leading\nbetween two options\npve style at the end\n');
    assert.equal(v.comments6, 'v6 only\n');
    assert.equal(commentsShown('a  \n\nb\n'), 'a\n\nb\n');
  });

  it('placement: unchanged lines stay put, changed ones take the place of the last changed run, in its style', () => {
    const text = [
      'iface vmbr2 inet static',
      '\taddress 10.10.10.1/24',
      '\t# re-run on every reload',
      '\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward',
      '#NAT for test guests',
      '',
    ].join('\n');
    const set = (t: string, comments: string) => {
      const doc = parse(t);
      return applyEdits(t, planUpdate(doc, buildModel(doc), 'vmbr2', { comments, mtu: '1400' }, []));
    };
    // Only the last line changes: the first stays above the post-up line.
    assert.equal(
      set(text, 're-run on every reload\nNAT, port 8022 to the build VM'),
      'iface vmbr2 inet static\n\taddress 10.10.10.1/24\n\t# re-run on every reload\n\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward\n\tmtu 1400\n#NAT, port 8022 to the build VM\n',
    );
    // A new text replaces both: it goes where PVE writes comments, in that block's style.
    const all = set(text, 'kept comment');
    assert.equal(
      all,
      'iface vmbr2 inet static\n\taddress 10.10.10.1/24\n\tpost-up echo 1 > /proc/sys/net/ipv4/ip_forward\n\tmtu 1400\n#kept comment\n',
    );
    // A line added at the end goes after the kept ones.
    assert.equal(
      toPve(buildModel(parse(set(text, 're-run on every reload\nNAT for test guests\nthird'))).ifaces.get('vmbr2')!)
        .comments,
      're-run on every reload\nNAT for test guests\nthird\n',
    );
  });
});
