import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES, NodenetError, exitCodeOf, noSuchInterface, paramError } from './errors.ts';
import type { CodeInfo, ErrorCode } from './errors.ts';

// Compile-time: the table is total over the union and names nothing else. (A code missing from
// ERROR_CODES, or a row for a code not in ErrorCode, fails `tsc` before any test runs.)
ERROR_CODES satisfies Record<ErrorCode, CodeInfo>;
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

test('every code maps to an HTTP error status and a CLI exit code', () => {
  assert.ok(codes.length > 0);
  for (const code of codes) {
    const { status, exit, paramShaped } = ERROR_CODES[code];
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: status ${status}`);
    assert.ok(exit === 1 || exit === 2, `${code}: exit ${exit}`);
    assert.equal(exitCodeOf(code), exit);
    // PVE answers a failed parameter check with 400 "Parameter verification failed."
    if (paramShaped) assert.equal(status, 400, code);
  }
});

test('a code from outside the table (another version on the local socket) exits 1, as before', () => {
  assert.equal(exitCodeOf('EXISTS' as ErrorCode), 1);
  assert.equal(exitCodeOf('toString' as ErrorCode), 1);
});

test('the statuses and exit codes the API and CLI gave before the one table are kept', () => {
  // As src/api/http.ts STATUS_OF and src/cli/main.ts reportError had them (f5ea2dd).
  const before: Record<string, [number, number]> = {
    USAGE: [400, 2],
    PARAM: [400, 1],
    NOT_FOUND: [400, 1],
    INVALID: [400, 1],
    STALE: [409, 1],
    LIVE_CHANGED: [409, 1],
    LOCKED: [503, 1],
    APPLY_FAILED: [500, 1],
    NO_CHANGES: [400, 1],
    LOCKOUT: [400, 1],
    IO: [500, 2],
    BACKEND: [500, 2],
    AUTH: [401, 1],
    FORBIDDEN: [403, 1],
    INTERNAL: [500, 2],
  };
  for (const [code, [status, exit]] of Object.entries(before)) {
    const now = ERROR_CODES[code as ErrorCode];
    assert.deepEqual([now.status, now.exit], [status, exit], code);
  }
});

/** Every .ts file under src/ except tests and this module. */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'errors.ts') out.push(p);
  }
  return out;
}

test('every code is used by some module (no code that is never thrown)', () => {
  const text = sources(new URL('.', import.meta.url).pathname)
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');
  const unused = codes.filter((c) => !text.includes(`'${c}'`));
  assert.deepEqual(unused, []);
});

test('one error type carries the wire options: headers, empty body, the missing interface', () => {
  const e = new NodenetError('AUTH', 'No ticket', { emptyBody: true, headers: { 'Retry-After': '3' } });
  assert.equal(e.emptyBody, true);
  assert.deepEqual(e.headers, { 'Retry-After': '3' });
  assert.equal(new NodenetError('IO', 'x').emptyBody, false);
  const m = noSuchInterface('vmbr9');
  assert.equal(m.code, 'PARAM');
  assert.equal(m.missing, 'vmbr9');
  assert.deepEqual(m.errors, { iface: 'interface does not exist' });
  assert.equal(paramError({ mtu: 'too small' }).missing, undefined);
});
