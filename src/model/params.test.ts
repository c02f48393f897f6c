/** Unit facts of the API parameter formats (beside the module), against node:net as oracle. */
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IFACE_PARAMS, PARAM_OPTIONS, checkFormat, checkParams, controlChar } from './params.ts';

describe('parameter formats', () => {
  it('ipv4 and ipv6 agree with node:net', () => {
    const v4 = fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((p) => p.join('.'));
    const v6 = fc.oneof(fc.ipV6(), fc.string({ maxLength: 12, unit: fc.constantFrom(...'0123456789abcdef:.') }));
    fc.assert(
      fc.property(v4, (s) => assert.equal(checkFormat('ipv4', s) === null, isIPv4(s), s)),
      { numRuns: 2000, seed: 14 },
    );
    fc.assert(
      fc.property(v6, (s) => assert.equal(checkFormat('ipv6', s) === null, isIPv6(s), s)),
      { numRuns: 2000, seed: 14 },
    );
  });

  it('no line-making character passes any string parameter', () => {
    const specs = IFACE_PARAMS.filter((p) => p.type === 'string');
    assert.ok(specs.length > 10);
    for (const ch of ['\n', '\r', '\0', '\v', '\f', '\u0085', '\u2028', '\u2029', '\x1b']) {
      for (const p of specs) {
        // comments are multi-line: a line feed separates comment lines there, nothing else does.
        if (ch === '\n' && p.multiline) continue;
        const r = checkParams({ [p.name]: `x${ch}y` }, [p]);
        assert.ok(r.errors[p.name] !== undefined, `${p.name} accepted U+${ch.charCodeAt(0).toString(16)}`);
      }
    }
    assert.notEqual(controlChar('a\u0007b'), null);
  });

  it('every parameter of the option table is an API parameter', () => {
    const names = new Set(IFACE_PARAMS.map((p) => p.name));
    for (const row of PARAM_OPTIONS) assert.ok(names.has(row.param) || row.param === 'netmask', row.param);
  });
});
