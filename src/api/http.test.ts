import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodenetError, noSuchInterface, paramError } from '../errors.ts';
import { toWireError } from './http.ts';

test('an error answer takes status and headers from the code table, its extras from the error', () => {
  const locked = toWireError(new NodenetError('LOCKED', 'another apply is running'));
  assert.deepEqual(
    [locked.status, locked.message, locked.headers],
    [503, 'another apply is running', { 'Retry-After': '1' }],
  );
  const big = toWireError(new NodenetError('TOO_LARGE', 'request entity too large'));
  assert.deepEqual([big.status, big.headers], [413, { Connection: 'close' }]);
  const limited = toWireError(new NodenetError('RATE_LIMITED', 'too many', { headers: { 'Retry-After': '60' } }));
  assert.deepEqual([limited.status, limited.headers, limited.emptyBody], [429, { 'Retry-After': '60' }, false]);
  const auth = toWireError(new NodenetError('AUTH', 'No ticket', { emptyBody: true }));
  assert.deepEqual([auth.status, auth.emptyBody], [401, true]);
  const stale = toWireError(new NodenetError('STALE', 'changed', { errors: { digest: 'modified' } }));
  assert.deepEqual([stale.status, stale.message, stale.errors], [409, 'changed', { digest: 'modified' }]);
});

test('parameter-shaped codes answer as PVE: "Parameter verification failed." and per-field errors', () => {
  assert.deepEqual(toWireError(paramError({ mtu: 'too small' })), {
    status: 400,
    message: 'Parameter verification failed.',
    errors: { mtu: 'too small' },
    emptyBody: false,
    headers: {},
    extra: {},
  });
  assert.deepEqual(toWireError(noSuchInterface('vmbr9')).errors, { iface: 'interface does not exist' });
  // No field named: the message goes under `iface`; diagnostics travel as a top-level extra.
  const diagnostics = [{ severity: 'error', code: 'X', message: 'bad', line: 1, column: 1 }] as never;
  const invalid = toWireError(new NodenetError('INVALID', 'the staged configuration has errors', { diagnostics }));
  assert.deepEqual(
    [invalid.status, invalid.message, invalid.errors, invalid.extra],
    [400, 'Parameter verification failed.', { iface: 'the staged configuration has errors' }, { diagnostics }],
  );
});

test('anything else is a generic 500 that leaks nothing', () => {
  const e = toWireError(new Error('EACCES: /etc/secret'));
  assert.deepEqual([e.status, e.message, e.errors, e.extra], [500, 'internal error', undefined, {}]);
});
