/**
 * Property tests (fast-check): the round-trip and edit invariants of design.md.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from '../../src/interfaces/parser.ts';
import { print } from '../../src/interfaces/printer.ts';
import { applyEdits } from '../../src/interfaces/edits.ts';
import { buildModel } from '../../src/model/build.ts';
import { planCreate, planDelete, planUpdate } from '../../src/model/edit.ts';
import type { Model } from '../../src/model/types.ts';

const RUNS = Number(process.env.NODENET_PROPERTY_RUNS ?? 300);
/**
 * A fixed seed keeps `npm test` (and CI) reproducible; explore with other seeds by setting
 * NODENET_PROPERTY_SEED (a failure prints the seed and the counterexample).
 */
const SEED = Number(process.env.NODENET_PROPERTY_SEED ?? 20261128);

// ---- generators ------------------------------------------------------------------------------

/** Arbitrary text biased towards the file's syntax (keywords, whitespace, CR, backslashes). */
const junk = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'iface ',
        'auto ',
        'allow-hotplug ',
        'source ',
        'mapping ',
        'inet ',
        'inet6 ',
        'static',
        'manual',
        'vmbr0',
        'eno1',
        'address 10.0.0.1/24',
        'bridge-ports eno1',
        '#',
        '# c',
        '\\',
        '\n',
        '\r\n',
        '\r',
        '\t',
        '  ',
        ' ',
        '\uFEFF',
        'ü',
        '😀',
        '\0',
      ),
      fc.string({ maxLength: 6 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

interface Style {
  eol: '\n' | '\r\n';
  indent: string;
  finalNewline: boolean;
  blankBetween: boolean;
}

const style = fc.record({
  eol: fc.constantFrom('\n' as const, '\r\n' as const),
  indent: fc.constantFrom('\t', '    ', '  ', ' \t'),
  finalNewline: fc.boolean(),
  blankBetween: fc.boolean(),
});

type StanzaSpec = { name: string; lines: string[]; auto: boolean };

const nic = fc.constantFrom('eno1', 'eno2', 'eno3', 'enp3s0f0', 'ens18');
const octet = fc.integer({ min: 1, max: 254 });

const stanzaSpec: fc.Arbitrary<StanzaSpec> = fc.oneof(
  fc
    .record({
      n: fc.integer({ min: 0, max: 20 }),
      ports: fc.subarray(['eno1', 'eno2', 'bond0'], { maxLength: 2 }),
      a: octet,
      b: octet,
      gw: fc.boolean(),
      mtu: fc.boolean(),
      comment: fc.boolean(),
      auto: fc.boolean(),
    })
    .map((r) => ({
      name: `vmbr${r.n}`,
      auto: r.auto,
      lines: [
        `iface vmbr${r.n} inet static`,
        `address 10.${r.a}.${r.b}.1/24`,
        ...(r.gw ? [`gateway 10.${r.a}.${r.b}.254`] : []),
        `bridge-ports ${r.ports.length ? r.ports.join(' ') : 'none'}`,
        'bridge-stp off',
        'bridge-fd 0',
        ...(r.mtu ? ['mtu 9000'] : []),
        ...(r.comment ? ['#a comment'] : []),
      ],
    })),
  fc
    .record({
      n: fc.integer({ min: 0, max: 3 }),
      mode: fc.constantFrom('active-backup', '802.3ad', '1', 'balance-rr'),
      auto: fc.boolean(),
    })
    .map((r) => ({
      name: `bond${r.n}`,
      auto: r.auto,
      lines: [`iface bond${r.n} inet manual`, 'bond-slaves eno1 eno2', 'bond-miimon 100', `bond-mode ${r.mode}`],
    })),
  fc
    .record({ nic, auto: fc.boolean() })
    .map((r) => ({ name: r.nic, auto: r.auto, lines: [`iface ${r.nic} inet manual`] })),
  fc.record({ nic, id: fc.integer({ min: 1, max: 4094 }), a: octet, auto: fc.boolean() }).map((r) => ({
    name: `${r.nic}.${r.id}`,
    auto: r.auto,
    lines: [`iface ${r.nic}.${r.id} inet static`, `address 10.99.${r.a}.2/24`, '', `post-up echo ${r.a}`],
  })),
);

function render(specs: StanzaSpec[], s: Style, header: readonly string[]): string {
  const out: string[] = [...header];
  const seen = new Set<string>();
  for (const sp of specs) {
    if (seen.has(sp.name)) continue;
    seen.add(sp.name);
    if (s.blankBetween && out.length) out.push('');
    if (sp.auto) out.push(`auto ${sp.name}`);
    sp.lines.forEach((l, i) => out.push(i === 0 || l === '' ? l : `${s.indent}${l}`));
  }
  const text = out.join(s.eol);
  return s.finalNewline ? text + s.eol : text;
}

const file = fc
  .record({
    specs: fc.array(stanzaSpec, { minLength: 1, maxLength: 8 }),
    style,
    header: fc.constantFrom([], ['# network config', ''], ['auto lo', 'iface lo inet loopback']),
    tail: fc.constantFrom('', 'source /etc/network/interfaces.d/*'),
  })
  .map(({ specs, style: s, header, tail }) => {
    const text = render(specs, s, header);
    if (!tail) return text;
    return s.finalNewline ? `${text}${s.eol}${tail}${s.eol}` : `${text}${s.eol}${s.eol}${tail}`;
  });

/** The raw bytes of each stanza of every interface except `skip`. */
function otherStanzas(text: string, model: Model, skip: string): string[] {
  const out: string[] = [];
  for (const [name, iface] of model.ifaces) {
    if (name === skip) continue;
    for (const s of iface.stanzas) out.push(text.slice(s.node.start, s.node.end).replace(/\r?\n$/, ''));
  }
  return out;
}

function parseModel(text: string) {
  const doc = parse(text);
  return { doc, model: buildModel(doc) };
}

const createParams = fc.oneof(
  fc.record({
    type: fc.constant('bridge'),
    bridge_ports: fc.constantFrom('eno4', 'eno4 eno5', ''),
    autostart: fc.constantFrom('0', '1'),
    cidr: fc.constantFrom('10.77.0.1/24', '192.0.2.7/25'),
  }),
  fc.record({
    type: fc.constant('bridge'),
    cidr6: fc.constant('fd00:77::1/64'),
    comments: fc.constantFrom('one', 'two\nlines'),
  }),
  fc.record({
    type: fc.constant('bridge'),
    cidr: fc.constant('10.7.0.1/24'),
    cidr6: fc.constant('fd00:7::1/64'),
    gateway6: fc.constant('fd00:7::fe'),
    autostart: fc.constant('1'),
  }),
  fc.record({
    type: fc.constant('bond'),
    slaves: fc.constant('eno4 eno5'),
    bond_mode: fc.constantFrom('active-backup', '802.3ad'),
    mtu: fc.constant('9000'),
  }),
  fc.record({ type: fc.constant('vlan'), 'vlan-raw-device': fc.constant('eno1'), 'vlan-id': fc.constant('77') }),
  fc.record({
    type: fc.constant('OVSBridge'),
    ovs_ports: fc.constantFrom('eno4', ''),
    ovs_options: fc.constantFrom('rstp_enable=true', ''),
    autostart: fc.constantFrom('0', '1'),
    mtu: fc.constant('9000'),
  }),
);

// ---- properties ------------------------------------------------------------------------------

describe('property: lossless', () => {
  it('print(parse(s)) === s for arbitrary text, and parse never throws', () => {
    fc.assert(
      fc.property(fc.oneof(junk, fc.string({ maxLength: 200 }), file), (s) => {
        assert.equal(print(parse(s)), s);
        buildModel(parse(s));
      }),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });
});

describe('property: edits', () => {
  it('create then delete restores the exact bytes', () => {
    fc.assert(
      fc.property(file, fc.constantFrom('vmbr77', 'bond7', 'vlan77', 'eno9'), createParams, (text, name, params) => {
        const p0 = parseModel(text);
        if (p0.model.ifaces.has(name)) return;
        const kindName =
          params.type === 'bond'
            ? 'bond7'
            : params.type === 'vlan'
              ? 'vlan77'
              : name === 'bond7' || name === 'vlan77'
                ? 'vmbr77'
                : name;
        const created = applyEdits(text, planCreate(p0.doc, p0.model, kindName, params));
        const p1 = parseModel(created);
        assert.ok(p1.model.ifaces.has(kindName), 'created interface is in the model');
        assert.deepEqual(
          otherStanzas(created, p1.model, kindName),
          otherStanzas(text, p0.model, kindName),
          'other stanzas untouched',
        );
        const back = applyEdits(created, planDelete(p1.doc, p1.model, kindName));
        assert.equal(back, text);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('set then set back restores the exact bytes, and never changes another stanza', () => {
    const setters = fc.constantFrom<[string, string]>(
      ['mtu', '9216'],
      ['comments', 'managed by nodenet'],
      ['cidr', '172.16.5.1/24'],
      ['gateway', '10.200.0.1'],
      ['bridge_ports', 'eno5'],
      ['autostart', '1'],
      ['autostart', '0'],
      ['cidr6', 'fd00:5::1/64'],
      ['bond_mode', 'broadcast'],
    );
    fc.assert(
      fc.property(file, fc.nat(), setters, (text, pick, [param, value]) => {
        const p0 = parseModel(text);
        const names = [...p0.model.ifaces.keys()].filter((n) => n !== 'lo');
        if (!names.length) return;
        const name = names[pick % names.length]!;
        const iface = p0.model.ifaces.get(name)!;
        if (param === 'bridge_ports' && iface.kind !== 'bridge') return;
        if (param === 'bond_mode' && iface.kind !== 'bond') return;
        // The original value, to set back (or delete when absent).
        const pve = { mtu: iface.mtu, autostart: iface.autostart ? '1' : '0' } as Record<string, string | undefined>;
        const view = p0.model.ifaces.get(name)!;
        const v4 = view.stanzas.flatMap((s) => s.addresses).find((a) => a.version === 4);
        const v6 = view.stanzas.flatMap((s) => s.addresses).find((a) => a.version === 6);
        pve.cidr = v4 ? v4.raw : undefined;
        pve.cidr6 = v6 ? v6.raw : undefined;
        pve.gateway = view.stanzas.flatMap((s) => s.gateways).find((g) => !g.value.includes(':'))?.value;
        pve.bridge_ports = view.bridge?.portsOption?.value;
        pve.bond_mode = view.bond?.modeRaw;
        const commentNodes = view.stanzas[0]!.comments;
        pve.comments = commentNodes.length ? commentNodes.map((c) => c.text.replace(/^ /, '')).join('\n') : undefined;
        if (param === 'cidr' && v4 && !v4.raw.includes('/')) return; // netmask style: covered by unit tests
        if (param === 'comments' && view.stanzas[0]!.comments.length !== commentNodes.length) return;
        const changed = applyEdits(text, planUpdate(p0.doc, p0.model, name, { [param]: value }, []));
        const p1 = parseModel(changed);
        assert.deepEqual(
          otherStanzas(changed, p1.model, name),
          otherStanzas(text, p0.model, name),
          'other stanzas untouched',
        );
        const orig = pve[param];
        const restoreParams = orig === undefined ? {} : { [param]: orig };
        const restoreDel = orig === undefined ? [param] : [];
        const back = applyEdits(changed, planUpdate(p1.doc, p1.model, name, restoreParams, restoreDel));
        if (param === 'autostart' && iface.autoNodes.some((a) => a.names.length > 1 || a.cls !== 'auto')) return; // shared auto lines: semantic only
        if (!changed.includes('\n') && text.includes('\r\n')) {
          // The first edit removed the file's only line terminator (a CRLF): nothing is left to
          // copy the line ending of a re-added line from, so only the ending may differ.
          assert.equal(back.replace(/\r\n/g, '\n'), text.replace(/\r\n/g, '\n'));
          return;
        }
        assert.equal(back, text);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('delete never changes another stanza', () => {
    fc.assert(
      fc.property(file, fc.nat(), (text, pick) => {
        const p0 = parseModel(text);
        const names = [...p0.model.ifaces.keys()];
        const name = names[pick % names.length]!;
        const after = applyEdits(text, planDelete(p0.doc, p0.model, name));
        const p1 = parseModel(after);
        assert.ok(!p1.model.ifaces.has(name));
        assert.deepEqual(otherStanzas(after, p1.model, name), otherStanzas(text, p0.model, name));
        assert.ok(![...p1.model.autoOnly.keys()].includes(name), 'no auto line left for the deleted interface');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
