/**
 * The address parser against parsers nobody here wrote: node:net's isIPv4/isIPv6 on random
 * and hostile near-miss strings (fast-check), and Python's ipaddress on a corpus of them (one
 * python3 process for the whole batch), comparing values and CIDR prefixes too. The two must
 * never disagree, so that `check`, `create --cidr6` and `PUT cidr6=` accept exactly the
 * addresses iproute2 and the kernel will take.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ipToBigInt, parseCidr, parseIPv4, parseIPv6 } from './ip.ts';

const RUNS = Number(process.env.NODENET_PROPERTY_RUNS ?? 300) * 20;
const SEED = Number(process.env.NODENET_PROPERTY_SEED ?? 20261203);

/** Strings the issue and the grammar's corners make interesting. */
const NEAR_MISSES = [
  '32.1.13.184::5',
  '32.1.13.184::5/64',
  '1.2.3.4::',
  '::1.2.3.4',
  '::ffff:1.2.3.4',
  '1::1.2.3.4',
  '::1.2.3.4:5',
  '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4',
  '1:2:3:4:5::1.2.3.4',
  '::ffff:256.1.1.1',
  '::ffff:1.2.3.04',
  '1.2.3.04',
  '01.2.3.4',
  '1.2.3',
  '1.2.3.4.5',
  '256.1.1.1',
  '0x1.2.3.4',
  ' 1.2.3.4',
  '1.2.3.4 ',
  '1.2.3.4.',
  '.1.2.3.4',
  '',
  '::',
  ':::',
  ':',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7::',
  '::1:2:3:4:5:6:7',
  '1::2::3',
  '1:::2',
  ':1::',
  '1::',
  '::1',
  '12345::',
  'g::1',
  'fe80::1%eth0',
  '2001:db8::/64',
  '2001:DB8::A',
  '2001:db8:0:0:0:0:0:1',
  '0:0:0:0:0:0:0:0',
  '::0:0:0:0:0:0:0',
  '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8',
  '1.2.3.4/24',
  '1.2.3.4/33',
  '1.2.3.4/024',
  '1.2.3.4/0024',
  '::1/00128',
  '::1/128',
  '::1/129',
  '::1/0129',
  '1.2.3.4/',
  '1.2.3.4/-1',
  '1.2.3.4/+8',
  '1.2.3.4/ 8',
];

const ALPHABET = [
  '0',
  '1',
  '2',
  '5',
  '9',
  'a',
  'f',
  'F',
  'g',
  ':',
  '::',
  '.',
  '%',
  '/',
  ' ',
  '00',
  '255',
  '256',
  'ffff',
  '12345',
];

/** Random strings over the address alphabet. */
const soup = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 16 }).map((p) => p.join(''));

type Op = { kind: 'insert' | 'delete' | 'replace'; at: number; ch: string };
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('insert' as const, 'delete' as const, 'replace' as const),
  at: fc.nat(),
  ch: fc.constantFrom(...ALPHABET),
});

function mutate(s: string, ops: Op[]): string {
  for (const o of ops) {
    const i = s.length ? o.at % (s.length + 1) : 0;
    if (o.kind === 'insert') s = s.slice(0, i) + o.ch + s.slice(i);
    else if (o.kind === 'delete') s = s.slice(0, i) + s.slice(i + 1);
    else s = s.slice(0, i) + o.ch + s.slice(i + 1);
  }
  return s;
}

const valid = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended());
/** Valid addresses, one to three edits away from valid, v4 parts moved before `::`, and soup. */
const hostile = fc.oneof(
  valid,
  fc.tuple(valid, fc.array(op, { minLength: 1, maxLength: 3 })).map(([s, ops]) => mutate(s, ops)),
  fc.tuple(fc.ipV4(), fc.ipV6()).map(([a, b]) => `${a}::${b.split(':').pop()}`),
  fc.tuple(fc.ipV6(), fc.ipV4()).map(([a, b]) => `${a}:${b}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 3 })).map(([a, i]) =>
    a
      .split('.')
      .map((x, j) => (j === i ? `0${x}` : x))
      .join('.'),
  ),
  soup,
  fc.constantFrom(...NEAR_MISSES),
);

describe('address parser vs node:net', () => {
  it('parseIPv4 and parseIPv6 accept exactly what isIPv4 and isIPv6 accept (zone ids aside: never an interface address)', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        assert.equal(parseIPv4(s) !== null, isIPv4(s), `IPv4 ${JSON.stringify(s)}`);
        if (s.includes('%'))
          assert.equal(parseIPv6(s), null, `a zone id is not an interface address: ${JSON.stringify(s)}`);
        else assert.equal(parseIPv6(s) !== null, isIPv6(s), `IPv6 ${JSON.stringify(s)}`);
      }),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
  });
});

/** Python's verdict for each string: address value (v4, v6) and interface prefix, or null. */
const PY = `
import ipaddress, json, sys
out = []
for s in json.load(sys.stdin):
    r = {}
    for k, f in (("v4", ipaddress.IPv4Address), ("v6", ipaddress.IPv6Address)):
        try:
            r[k] = str(int(f(s)))
        except ValueError:
            r[k] = None
    try:
        i = ipaddress.ip_interface(s)
        r["cidr"] = [str(int(i.ip)), i.network.prefixlen, i.version]
    except ValueError:
        r["cidr"] = None
    out.append(r)
json.dump(out, sys.stdout)
`;

describe('address parser vs Python ipaddress', () => {
  it('same verdict and value for every string of a corpus (one python3 process)', (t) => {
    try {
      execFileSync('python3', ['-c', 'import ipaddress'], { stdio: 'ignore' });
    } catch {
      if (process.env.CI === 'true') assert.fail('prerequisite missing: python3');
      t.skip('prerequisite missing: python3');
      return;
    }
    const corpus = [
      ...new Set([
        ...NEAR_MISSES,
        ...fc.sample(hostile, { numRuns: 4000, seed: SEED }),
        ...fc.sample(
          fc.tuple(hostile, fc.integer({ min: 0, max: 140 })).map(([a, p]) => `${a}/${p}`),
          { numRuns: 1000, seed: SEED },
        ),
      ]),
    ]
      // Zone ids (Python takes `fe80::1%eth0`) are not interface addresses; nodenet refuses them.
      .filter((s) => !s.includes('%'))
      // Python also takes `addr/255.255.255.0` and whitespace around a prefix; CIDR here is `addr/digits`.
      .filter((s) => !s.includes('/') || /^[^/]*\/\d+$/.test(s));
    const py = JSON.parse(
      execFileSync('python3', ['-c', PY], { input: JSON.stringify(corpus), maxBuffer: 64 << 20 }).toString(),
    ) as { v4: string | null; v6: string | null; cidr: [string, number, number] | null }[];
    assert.equal(py.length, corpus.length);
    let agreed = 0;
    corpus.forEach((s, i) => {
      const r = py[i]!;
      const v4 = parseIPv4(s);
      assert.equal(v4 === null ? null : String(v4), r.v4, `IPv4 ${JSON.stringify(s)}`);
      const v6 = parseIPv6(s) === null ? null : String(ipToBigInt(s));
      assert.equal(v6, r.v6, `IPv6 ${JSON.stringify(s)}`);
      if (s.includes('/')) {
        const c = parseCidr(s);
        assert.deepEqual(
          c === null ? null : [String(ipToBigInt(c.ip)), c.prefix, c.version],
          r.cidr,
          `CIDR ${JSON.stringify(s)}`,
        );
      }
      agreed++;
    });
    // The corpus must hold both verdicts in numbers, or the comparison says little.
    const accepted = py.filter((r) => r.v4 !== null || r.v6 !== null).length;
    assert.ok(accepted > 500 && corpus.length - accepted > 500, `accepted ${accepted} of ${corpus.length}`);
    assert.equal(agreed, corpus.length);
  });
});
