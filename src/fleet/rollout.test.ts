/** The rollout spec's checks, the per-node rendering and the wave plan (no etcd needed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNodenetError } from '../errors.ts';
import { Coordinator } from './coordinator.ts';
import { counts, parseSpec, render } from './rollout.ts';

const ops = JSON.stringify([{ method: 'POST', iface: 'vmbr9', params: { type: 'bridge', cidr: '{{ADDR}}' } }]);

function refused(params: Record<string, unknown>, field: string, msg: RegExp): void {
  assert.throws(
    () => parseSpec(params),
    (e: unknown) => isNodenetError(e) && msg.test(String(e.errors?.[field])),
    JSON.stringify(params),
  );
}

test('defaults, and every value filled per node', () => {
  const s = parseSpec({
    nodes: 'a,b',
    ops,
    values: JSON.stringify({ a: { ADDR: '10.0.0.1/24' }, b: { ADDR: '10.0.0.2/24' } }),
  });
  assert.deepEqual(
    [s.canary, s['max-unavailable'], s['max-failures'], s['confirm-timeout'], s['on-failure'], s.start],
    [1, 1, 1, 60, 'rollback', true],
  );
  assert.equal(render(s, 'b').ops![0]!.params.cidr, '10.0.0.2/24');
  const t = parseSpec({ nodes: 'x', template: 'auto {{node}}\n', start: '0' });
  assert.equal(render(t, 'x').template, 'auto x\n');
  assert.equal(t.start, false);
});

test('refusals name the parameter (and the node and variable for a missing value)', () => {
  refused(
    { nodes: 'a,b', ops, values: JSON.stringify({ a: { ADDR: '1' } }) },
    'ops',
    /node 'b' has no value for \{\{ADDR\}\}/,
  );
  refused(
    { nodes: 'a', ops, values: JSON.stringify({ a: { ADDR: '10.0.0.1/24\nup reboot' } }) },
    'values',
    /control character/,
  );
  refused({ nodes: 'a', template: 'x\ry' }, 'template', /control character/);
  refused({ nodes: 'a', ops, template: 'x' }, 'ops', /exactly one/);
  refused({ nodes: '', ops }, 'nodes', /missing/);
  refused({ nodes: 'a,a', template: 'x' }, 'nodes', /twice/);
  refused({ nodes: 'a/../b', template: 'x' }, 'nodes', /not a node name/);
  refused({ nodes: 'a', template: 'x', 'confirm-timeout': '4' }, 'confirm-timeout', /5 to 3600/);
  refused({ nodes: 'a', template: 'x', 'max-unavailable': '0' }, 'max-unavailable', /1 to/);
  refused({ nodes: 'a', template: 'x', 'on-failure': 'pray' }, 'on-failure', /halt/);
  refused({ nodes: 'a', template: 'x', probes: 'example.com:22' }, 'probes', /ADDRESS:PORT/);
  refused({ nodes: 'a', ops: JSON.stringify([{ method: 'PATCH', iface: 'x', params: {} }]) }, 'ops', /method/);
  refused({ nodes: 'a', template: 'x', values: JSON.stringify({ z: {} }) }, 'values', /not one of the nodes/);
});

test('waves: the canary, then groups of max-unavailable, in order', () => {
  assert.deepEqual(Coordinator.waves(['a', 'b', 'c', 'd', 'e'], 1, 2), [['a'], ['b', 'c'], ['d', 'e']]);
  assert.deepEqual(Coordinator.waves(['a', 'b', 'c'], 0, 3), [['a', 'b', 'c']]);
  assert.deepEqual(Coordinator.waves(['a', 'b'], 5, 1), [['a', 'b']]);
});

test('counts come from the node records', () => {
  const c = counts([
    { node: 'a', state: 'confirmed', updated: '' },
    { node: 'b', state: 'rolled-back', updated: '' },
    { node: 'c', state: 'rolled-back', updated: '' },
  ]);
  assert.deepEqual(c, { pending: 0, staged: 0, applying: 0, confirmed: 1, failed: 0, rolled_back: 2, aborted: 0 });
});
