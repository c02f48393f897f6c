/**
 * Rollouts: one change applied to many nodes, a canary first, then in waves, each node checked
 * (verify, probes) before it is confirmed; a node that fails halts the rollout and (by default)
 * rolls back the nodes already done (docs/fleet.md "Rollouts"). This module owns the records
 * in etcd and what an API server or the CLI does with them: validate and create a rollout,
 * read and list them, and ask the coordinator (coordinator.ts, the only writer of states) to
 * start, halt or roll one back. Counts are always derived from the per-node records.
 */
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { NodenetError, paramError } from '../errors.ts';
import { NODE_NAME, etcdDown, keys, parseJson } from './etcd.ts';

export type RolloutState =
  'staging' | 'staged' | 'running' | 'halted' | 'rolling-back' | 'rolled-back' | 'done' | 'failed';
export type NodeRolloutState = 'pending' | 'staged' | 'applying' | 'confirmed' | 'failed' | 'rolled-back' | 'aborted';
export const NODE_STATES: readonly NodeRolloutState[] = [
  'pending',
  'staged',
  'applying',
  'confirmed',
  'failed',
  'rolled-back',
  'aborted',
];

export interface Op {
  method: 'POST' | 'PUT' | 'DELETE';
  iface: string;
  params: Record<string, string>;
}

export interface RolloutSpec {
  nodes: string[];
  ops?: Op[];
  template?: string;
  setup?: 'bridged' | 'routed' | 'nat';
  'setup-params'?: Record<string, string>;
  values?: Record<string, Record<string, string>>;
  canary: number;
  'max-unavailable': number;
  'max-failures': number;
  'confirm-timeout': number;
  'on-failure': 'halt' | 'rollback';
  probes?: string[];
  start: boolean;
}

export interface Rollout {
  id: string;
  state: RolloutState;
  user: string;
  created: string;
  spec: RolloutSpec;
  /** Why it ended as it did (halted, failed). */
  reason?: string;
  updated: string;
}

export interface NodeRecord {
  node: string;
  state: NodeRolloutState;
  /** Unified diff of what was staged on the node. */
  changes?: string;
  /** Digest of the staged file (the apply names it: a second apply of the same change is refused). */
  digest?: string;
  upid?: string;
  /** The node's history entry of the apply (what a rollback restores before). */
  entry?: number;
  error?: string;
  updated: string;
}

export interface RolloutEvent {
  ts: string;
  user: string;
  node?: string;
  msg: string;
}

export interface RolloutRequest {
  action: 'start' | 'halt' | 'rollback';
  user: string;
  ts: string;
}

export interface RolloutView extends Rollout {
  nodes: NodeRecord[];
  events: RolloutEvent[];
  request?: RolloutRequest;
}

export interface RolloutSummary {
  id: string;
  state: RolloutState;
  user: string;
  created: string;
  nodes: string[];
  counts: Record<'pending' | 'staged' | 'applying' | 'confirmed' | 'failed' | 'rolled_back' | 'aborted', number>;
}

export const ROLLOUT_ID = /^r-[a-z0-9]{1,20}-[a-f0-9]{6}$/;
const PLACEHOLDER = /\{\{([A-Za-z_][A-Za-z0-9_]{0,63})\}\}/g;
/** A value reaching an interfaces file: no control character (it could start a line). */
const SAFE_VALUE = /^[^\x00-\x1f\x7f]*$/;
const SAFE_TEXT = /^[^\x00-\x08\x0b-\x1f\x7f]*$/;

export function newRolloutId(now = Date.now()): string {
  return `r-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A sortable event key part: the time, then randomness (no counter to leak). */
export function eventSeq(now = Date.now()): string {
  return `${String(now).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
}

function int(params: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const v = params[name];
  if (v === undefined || v === '') return def;
  const s = String(v);
  if (!/^\d{1,9}$/.test(s) || Number(s) < min || Number(s) > max)
    throw paramError({ [name]: `wants an integer from ${min} to ${max}` });
  return Number(s);
}

function json<T>(params: Record<string, unknown>, name: string): T | undefined {
  const v = params[name];
  if (v === undefined || v === '') return undefined;
  try {
    return JSON.parse(String(v)) as T;
  } catch {
    throw paramError({ [name]: 'not valid JSON' });
  }
}

function stringMap(v: unknown, name: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw paramError({ [name]: 'wants a JSON object' });
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(k)) throw paramError({ [name]: `bad key '${k.slice(0, 64)}'` });
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean')
      throw paramError({ [name]: `value of '${k}' must be a string or number` });
    const s = String(x);
    if (!SAFE_VALUE.test(s)) throw paramError({ [name]: `value of '${k}' holds a control character` });
    out[k] = s;
  }
  return out;
}

/** Check the form parameters of POST /cluster/network/rollouts; returns the spec. */
export function parseSpec(params: Record<string, unknown>): RolloutSpec {
  const nodesRaw = params.nodes === undefined ? '' : String(params.nodes);
  const nodes = nodesRaw
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!nodes.length) throw paramError({ nodes: 'property is missing and it is not optional' });
  for (const n of nodes) if (!NODE_NAME.test(n)) throw paramError({ nodes: `'${n.slice(0, 64)}' is not a node name` });
  if (new Set(nodes).size !== nodes.length) throw paramError({ nodes: 'a node is named twice' });
  const kinds = (['ops', 'template', 'setup'] as const).filter((k) => params[k] !== undefined && params[k] !== '');
  if (kinds.length !== 1) throw paramError({ ops: 'give exactly one of ops, template, setup' });
  const spec: RolloutSpec = {
    nodes,
    canary: int(params, 'canary', 1, 0, 1000),
    'max-unavailable': int(params, 'max-unavailable', 1, 1, 1000),
    'max-failures': int(params, 'max-failures', 1, 1, 1000),
    'confirm-timeout': int(params, 'confirm-timeout', 60, 5, 3600),
    'on-failure': 'rollback',
    start: true,
  };
  const of = params['on-failure'];
  if (of !== undefined && of !== '') {
    if (of !== 'halt' && of !== 'rollback') throw paramError({ 'on-failure': "wants 'halt' or 'rollback'" });
    spec['on-failure'] = of;
  }
  const st = params.start;
  if (st !== undefined && st !== '') {
    if (!['0', '1', 'true', 'false'].includes(String(st))) throw paramError({ start: 'wants 0 or 1' });
    spec.start = String(st) === '1' || String(st) === 'true';
  }
  if (kinds[0] === 'ops') {
    const ops = json<unknown>(params, 'ops');
    if (!Array.isArray(ops) || !ops.length) throw paramError({ ops: 'wants a non-empty JSON array of edits' });
    if (ops.length > 200) throw paramError({ ops: 'at most 200 edits' });
    spec.ops = ops.map((o, i) => {
      const x = o as { method?: unknown; iface?: unknown; params?: unknown };
      if (x === null || typeof x !== 'object') throw paramError({ ops: `edit ${i}: not an object` });
      if (x.method !== 'POST' && x.method !== 'PUT' && x.method !== 'DELETE')
        throw paramError({ ops: `edit ${i}: method wants POST, PUT or DELETE` });
      if (typeof x.iface !== 'string' || !/^[A-Za-z0-9{}][A-Za-z0-9._{}-]{0,60}$/.test(x.iface))
        throw paramError({ ops: `edit ${i}: iface wants an interface name` });
      return { method: x.method, iface: x.iface, params: stringMap(x.params ?? {}, 'ops') };
    });
  } else if (kinds[0] === 'template') {
    const t = String(params.template);
    if (t.length > 1024 * 1024) throw paramError({ template: 'larger than 1 MiB' });
    if (!SAFE_TEXT.test(t)) throw paramError({ template: 'holds a control character other than tab and newline' });
    spec.template = t;
  } else {
    const mode = String(params.setup);
    if (mode !== 'bridged' && mode !== 'routed' && mode !== 'nat')
      throw paramError({ setup: "wants 'bridged', 'routed' or 'nat'" });
    spec.setup = mode;
    spec['setup-params'] = stringMap(json(params, 'setup-params') ?? {}, 'setup-params');
  }
  const values = json<unknown>(params, 'values');
  if (values !== undefined) {
    if (typeof values !== 'object' || values === null || Array.isArray(values))
      throw paramError({ values: 'wants a JSON object {"node":{"VAR":"value"}}' });
    spec.values = {};
    for (const [n, m] of Object.entries(values as Record<string, unknown>)) {
      if (!nodes.includes(n)) throw paramError({ values: `'${n.slice(0, 64)}' is not one of the nodes` });
      spec.values[n] = stringMap(m, 'values');
    }
  }
  const probes = params.probes === undefined ? '' : String(params.probes);
  if (probes !== '') {
    spec.probes = probes
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const p of spec.probes)
      if (
        !/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|\{\{[A-Za-z_][A-Za-z0-9_]*\}\}):(\d{1,5}|\{\{[A-Za-z_][A-Za-z0-9_]*\}\})$/.test(
          p,
        )
      )
        throw paramError({ probes: `'${p.slice(0, 64)}' wants ADDRESS:PORT (a TCP connect from the node)` });
  }
  // Every placeholder must have a value on every node: refuse now, naming node and variable.
  for (const n of nodes) render(spec, n);
  return spec;
}

/** Fill `{{node}}` and `{{VAR}}` for `node`; a missing value is a 400 naming node and VAR. */
export function fill(text: string, spec: RolloutSpec, node: string, field = 'values'): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    if (name === 'node') return node;
    const v = spec.values?.[node]?.[name];
    if (v === undefined) throw paramError({ [field]: `node '${node}' has no value for {{${name}}}` });
    return v;
  });
}

/** What one node gets: the spec's change with its placeholders filled. */
export interface Rendered {
  ops?: Op[];
  template?: string;
  setup?: { mode: string; params: Record<string, string> };
  probes: string[];
}

export function render(spec: RolloutSpec, node: string): Rendered {
  const map = (m: Record<string, string>, field: string) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, fill(v, spec, node, field)]));
  return {
    ...(spec.ops
      ? {
          ops: spec.ops.map((o) => ({
            method: o.method,
            iface: fill(o.iface, spec, node, 'ops'),
            params: map(o.params, 'ops'),
          })),
        }
      : {}),
    ...(spec.template !== undefined ? { template: fill(spec.template, spec, node, 'template') } : {}),
    ...(spec.setup ? { setup: { mode: spec.setup, params: map(spec['setup-params'] ?? {}, 'setup-params') } } : {}),
    probes: (spec.probes ?? []).map((p) => fill(p, spec, node, 'probes')),
  };
}

/** Store a new rollout (state `staging`, every node `pending`); the coordinator takes it from there. */
export async function createRollout(client: Etcd3, spec: RolloutSpec, user: string): Promise<string> {
  const now = new Date().toISOString();
  for (let attempt = 0; attempt < 5; attempt++) {
    const id = newRolloutId();
    const r: Rollout = { id, state: 'staging', user, created: now, spec, updated: now };
    const ops = [
      client.put(keys.rollout(id)).value(JSON.stringify(r)),
      client
        .put(keys.rolloutEvent(id, eventSeq()))
        .value(JSON.stringify({ ts: now, user, msg: `created for ${spec.nodes.join(', ')}` })),
      ...spec.nodes.map((n) => {
        const rec: NodeRecord = { node: n, state: 'pending', updated: now };
        return client.put(keys.rolloutNode(id, n)).value(JSON.stringify(rec));
      }),
    ];
    // One `then` with every operation: etcd3's builder keeps only the last `then`'s list.
    const t = client.if(keys.rollout(id), 'Create', '==', 0).then(...ops);
    try {
      if ((await t.commit()).succeeded) return id;
    } catch (e) {
      throw etcdDown(e);
    }
  }
  throw new NodenetError('INTERNAL', 'could not pick a free rollout id');
}

function checkId(id: string): void {
  if (!ROLLOUT_ID.test(id)) throw paramError({ id: 'not a rollout id' });
}

/** Parse the keys below rollouts/{id}/ into its nodes, events and request. */
export function parseRollout(r: Rollout, kvs: Record<string, string>): RolloutView {
  const nodes: NodeRecord[] = [];
  const events: { seq: string; e: RolloutEvent }[] = [];
  let request: RolloutRequest | undefined;
  const dir = keys.rolloutDir(r.id);
  for (const [k, v] of Object.entries(kvs)) {
    if (!k.startsWith(dir)) continue;
    const rest = k.slice(dir.length);
    if (rest.startsWith('nodes/')) {
      const n = parseJson<NodeRecord>(v);
      if (n) nodes.push(n);
    } else if (rest.startsWith('events/')) {
      const e = parseJson<RolloutEvent>(v);
      if (e) events.push({ seq: rest.slice('events/'.length), e });
    } else if (rest === 'request') request = parseJson<RolloutRequest>(v) ?? undefined;
  }
  const order = new Map(r.spec.nodes.map((n, i) => [n, i]));
  nodes.sort((a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0));
  events.sort((a, b) => a.seq.localeCompare(b.seq));
  return { ...r, nodes, events: events.map((x) => x.e), ...(request ? { request } : {}) };
}

export async function getRollout(client: Etcd3, id: string): Promise<RolloutView> {
  checkId(id);
  let raw: string | null;
  let kvs: Record<string, string>;
  try {
    [raw, kvs] = await Promise.all([
      client.get(keys.rollout(id)).string(),
      client.getAll().prefix(keys.rolloutDir(id)).strings(),
    ]);
  } catch (e) {
    throw etcdDown(e);
  }
  const r = parseJson<Rollout>(raw);
  if (!r) throw new NodenetError('NOT_FOUND', `no rollout '${id}'`, { errors: { id: `no rollout '${id}'` } });
  return parseRollout(r, kvs);
}

export function counts(nodes: readonly NodeRecord[]): RolloutSummary['counts'] {
  const c: RolloutSummary['counts'] = {
    pending: 0,
    staged: 0,
    applying: 0,
    confirmed: 0,
    failed: 0,
    rolled_back: 0,
    aborted: 0,
  };
  for (const n of nodes) c[n.state === 'rolled-back' ? 'rolled_back' : n.state]++;
  return c;
}

/** Every rollout, newest first, with per-state node counts (derived from the node records). */
export async function listRollouts(client: Etcd3): Promise<RolloutSummary[]> {
  let kvs: Record<string, string>;
  try {
    kvs = await client.getAll().prefix(keys.rollouts).strings();
  } catch (e) {
    throw etcdDown(e);
  }
  const out: RolloutSummary[] = [];
  for (const [k, v] of Object.entries(kvs)) {
    const m = /^\/nodenet\/v1\/rollouts\/([^/]+)$/.exec(k);
    if (!m) continue;
    const r = parseJson<Rollout>(v);
    if (!r) continue;
    const view = parseRollout(r, kvs);
    out.push({
      id: r.id,
      state: r.state,
      user: r.user,
      created: r.created,
      nodes: r.spec.nodes,
      counts: counts(view.nodes),
    });
  }
  return out.sort((a, b) => b.created.localeCompare(a.created) || b.id.localeCompare(a.id));
}

const ALLOWED: Record<RolloutRequest['action'], readonly RolloutState[]> = {
  start: ['staged'],
  halt: ['staging', 'staged', 'running'],
  rollback: ['staging', 'staged', 'running', 'halted', 'done', 'failed'],
};

/**
 * Ask the coordinator to start, halt or roll back a rollout. Written only while the rollout is
 * in a state that allows it (a txn on its mod revision); the coordinator acts on it and
 * records who asked.
 */
export async function requestAction(
  client: Etcd3,
  id: string,
  action: RolloutRequest['action'],
  user: string,
): Promise<RolloutView> {
  for (let attempt = 0; attempt < 5; attempt++) {
    checkId(id);
    let res;
    try {
      res = await client.get(keys.rollout(id)).exec();
    } catch (e) {
      throw etcdDown(e);
    }
    const kv = res.kvs[0];
    const r = kv ? parseJson<Rollout>(kv.value.toString('utf8')) : null;
    if (!kv || !r) throw new NodenetError('NOT_FOUND', `no rollout '${id}'`, { errors: { id: `no rollout '${id}'` } });
    if (!ALLOWED[action].includes(r.state))
      throw new NodenetError('USAGE', `rollout ${id} is ${r.state}: it cannot ${action} now`);
    const req: RolloutRequest = { action, user, ts: new Date().toISOString() };
    try {
      const t = await client
        .if(keys.rollout(id), 'Mod', '==', kv.mod_revision)
        .then(client.put(keys.rolloutRequest(id)).value(JSON.stringify(req)))
        .commit();
      if (t.succeeded) return getRollout(client, id);
    } catch (e) {
      throw etcdDown(e);
    }
  }
  throw new NodenetError('LOCKED', `rollout ${id} keeps changing; try again`);
}
