/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON answers */
/**
 * Fleet benchmark (issue 19): `node scripts/bench.mjs fleet`, or by hand
 * `node --import tsx bench/fleet.ts [NODES] [--netns K] [--requests R] [--idle S]` (defaults
 * 50 nodes, 4 of them on the netns backend, 300 GETs, 20 s idle). Needs `npm run build`
 * (the agents and the server are real `bin/nodenet` processes over dist/) and Debian's etcd.
 *
 * One etcd member (test/fleet/harness.ts), NODES agents (the first K with `--backend netns`:
 * real ifupdown2 in a namespace pair each; the rest `--backend none`, each on its own root),
 * one `nodenet serve --etcd`. Measured:
 *   1. registration: wall time until GET /nodes shows every node online; etcd requests;
 *   2. idle: etcd requests per second per node (lease keep-alives, resyncs);
 *   3. memory: VmRSS of every agent process (median, max), of the server and of etcd;
 *   4. GET /nodes/{n}/network through the server (an RPC to the node's agent via etcd):
 *      p50/p99, sequential and with 10 concurrent clients;
 *   5. one new bridge on every node WITHOUT rollouts: POST + PUT + task wait per node through
 *      the per-node API, canary node first, then waves of 10 nodes in parallel;
 *   6. the same with a rollout (POST /cluster/network/rollouts, canary 1, max-unavailable 10)
 *      when the server has the rollout API (else the row says so).
 * etcd requests are counted from etcd's own Prometheus metrics (`grpc_server_msg_received_total`:
 * unary calls plus messages on streams, by method; same registry `--listen-metrics-urls` serves)
 * before and after each phase. Every figure carries /proc/loadavg (2 shared cores).
 * The live files on disk are the oracle that each change landed on every node.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { REPO, login, nodeFile, readLive, sleep, startFleet, until } from '../test/fleet/harness.ts';
import type { Fleet } from '../test/fleet/harness.ts';

const argv = process.argv.slice(2);
function flag(name: string, dflt: number): number {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  argv.splice(i, 2);
  return v;
}
const NETNS = flag('--netns', 4);
const REQUESTS = flag('--requests', 300);
const IDLE_S = flag('--idle', 20);
const NODES = Number(argv[0] ?? 50);
const WAVE = 10;
/** Agents started at once: each start is ~1 s of CPU; 10 at once missed the harness's 30 s at load 15. */
const START_BATCH = 5;
const BIN = join(REPO, 'bin/nodenet');

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');

/** etcd's counters: requests (messages received) by gRPC method, plus a few gauges. */
type Metrics = { byMethod: Record<string, number>; gauges: Record<string, number> };
async function metrics(url: string): Promise<Metrics> {
  const text = await (await fetch(url)).text();
  const byMethod: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^grpc_server_msg_received_total\{grpc_method="(\w+)",[^}]*\} (\S+)$/.exec(line);
    if (m) byMethod[m[1]!] = (byMethod[m[1]!] ?? 0) + Number(m[2]);
    const g =
      /^(etcd_debugging_mvcc_keys_total|etcd_debugging_mvcc_watch_stream_total|etcd_debugging_mvcc_watcher_total|etcd_mvcc_db_total_size_in_bytes|etcd_debugging_mvcc_current_revision|etcd_debugging_lease_granted_total|etcd_debugging_lease_renewed_total|etcd_network_client_grpc_received_bytes_total|etcd_network_client_grpc_sent_bytes_total|process_resident_memory_bytes) (\S+)$/.exec(
        line,
      );
    if (g) gauges[g[1]!] = Number(g[2]);
  }
  return { byMethod, gauges };
}
function diff(a: Metrics, b: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a.byMethod), ...Object.keys(b.byMethod)])) {
    const d = (b.byMethod[k] ?? 0) - (a.byMethod[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}
const total = (d: Record<string, number>) => Object.values(d).reduce((s, x) => s + x, 0);
const methods = (d: Record<string, number>, per = 1) =>
  Object.entries(d)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${f1(v / per)}`)
    .join(', ');

/** VmRSS in MB of a process (0 when gone). */
function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
/** The descendants of `pid` (the netns agents' child processes), from /proc/PID/stat. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}

const dispatcher = new Agent({ connect: { rejectUnauthorized: false }, connections: 16, pipelining: 1 });
type Auth = { ticket: string; csrf: string };
async function call(
  base: string,
  auth: Auth,
  method: string,
  path: string,
  params: Record<string, string | number> = {},
): Promise<{ status: number; json: any; ms: number }> {
  const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const body = method === 'POST' || method === 'PUT';
  const t0 = performance.now();
  const r = await request(`${base}${path}${!body && qs ? `?${qs}` : ''}`, {
    method: method as 'GET',
    dispatcher,
    headers: {
      cookie: `PVEAuthCookie=${encodeURIComponent(auth.ticket)}`,
      csrfpreventiontoken: auth.csrf,
      ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(body ? { body: qs } : {}),
  });
  const text = await r.body.text();
  const ms = performance.now() - t0;
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: r.statusCode, json, ms };
}

interface Row {
  what: string;
  wall: string;
  perNode: string;
  detail: string;
  load: string;
}
const rows: Row[] = [];
const raw: Record<string, unknown> = {};

async function main(): Promise<void> {
  let fleet: Fleet | undefined;
  const netnsAgents: { root: string; stop(): Promise<void> }[] = [];
  try {
    fleet = await startFleet(1);
    const f = fleet;
    const murl = `${f.members[0]!.clientUrl}/metrics`;
    const etcdPid = f.members[0]!.proc!.pid!;
    const names = Array.from({ length: NODES }, (_, i) => `n${i + 1}`);
    const isNetns = (i: number) => i < NETNS;
    console.log(`# ${NODES} agents (${NETNS} netns, ${NODES - NETNS} none), 1 etcd, 1 server; load ${load()}`);

    // 1. Registration. netns agents first, one at a time (each brings up a namespace pair with
    // real ifupdown2), then the `none` agents in batches of START_BATCH (their start is mostly Node's).
    const m0 = await metrics(murl);
    const t0 = performance.now();
    const agents: Awaited<ReturnType<Fleet['agent']>>[] = [];
    for (let i = 0; i < NETNS && i < NODES; i++) {
      const a = await f.agent(names[i]!, nodeFile(`10.${i >> 8}.${i & 255}.1/24`), { ttl: 10, backend: 'netns' });
      netnsAgents.push(a);
      agents.push(a);
    }
    for (let i = NETNS; i < NODES; i += START_BATCH) {
      const batch = names.slice(i, i + START_BATCH).map((n, j) => {
        const k = i + j;
        return f.agent(n, nodeFile(`10.${k >> 8}.${k & 255}.1/24`), { ttl: 10 });
      });
      agents.push(...(await Promise.all(batch)));
    }
    const srv = await f.server('api1');
    const auth = await login(srv.base);
    await until(
      `${NODES} nodes online`,
      async () => {
        const r = await call(srv.base, auth, 'GET', '/nodes');
        return (r.json.data as { status: string }[]).filter((n) => n.status === 'online').length === NODES;
      },
      120_000,
      250,
    );
    const regMs = performance.now() - t0;
    const m1 = await metrics(murl);
    const dReg = diff(m0, m1);
    rows.push({
      what: `registration: ${NODES} agents start, go alive, publish; server lists all online`,
      wall: `${f1(regMs / 1000)} s`,
      perNode: f1(total(dReg) / NODES),
      detail: methods(dReg, NODES),
      load: load(),
    });
    raw.registration = { ms: regMs, etcd: dReg };

    // 2. Idle: requests and bytes etcd sends (the coordinator's listing of rollouts/ included).
    const idle = async (label: string, seconds: number) => {
      const a = await metrics(murl);
      await sleep(seconds * 1000);
      const b = await metrics(murl);
      const d = diff(a, b);
      const sent =
        (b.gauges.etcd_network_client_grpc_sent_bytes_total ?? 0) -
        (a.gauges.etcd_network_client_grpc_sent_bytes_total ?? 0);
      rows.push({
        what: `idle ${seconds} s ${label} (ttl 10 s): etcd requests per second, whole fleet`,
        wall: `${seconds} s`,
        perNode: `${f1(total(d) / seconds / NODES)}/s`,
        detail: `${f1(total(d) / seconds)}/s in all: ${methods(d, seconds)} (per s); etcd sends ${f1(sent / seconds / 1024)} KiB/s`,
        load: load(),
      });
      raw[`idle ${label}`] = { seconds, etcd: d, sentBytes: sent, gauges: b.gauges };
    };
    await idle('after registration', IDLE_S);

    // 3. Memory.
    const mem = (label: string) => {
      const none = agents.filter((_, i) => !isNetns(i)).map((a) => rss(a.proc.pid!));
      const ns = agents.filter((_, i) => isNetns(i)).map((a) => rss(a.proc.pid!));
      const nsTree = agents
        .filter((_, i) => isNetns(i))
        .map((a) => rss(a.proc.pid!) + descendants(a.proc.pid!).reduce((s, p) => s + rss(p), 0));
      const m = {
        none: { median: pct(none, 50), max: Math.max(...none) },
        netns: ns.length ? { median: pct(ns, 50), max: Math.max(...ns), treeMax: Math.max(...nsTree) } : null,
        server: rss(srv.proc.pid!),
        etcd: rss(etcdPid),
      };
      raw[`memory ${label}`] = m;
      rows.push({
        what: `memory (VmRSS) ${label}`,
        wall: '',
        perNode: `${f0(m.none.median)} MB`,
        detail:
          `none agents median ${f0(m.none.median)} / max ${f0(m.none.max)} MB` +
          (m.netns
            ? `; netns agents median ${f0(m.netns.median)} / max ${f0(m.netns.max)} MB (with child processes ${f0(m.netns.treeMax)} MB)`
            : '') +
          `; server ${f0(m.server)} MB; etcd ${f0(m.etcd)} MB`,
        load: load(),
      });
    };
    mem('after registration');

    // What a node keeps in etcd (GET /nodes reads the whole nodes/ prefix, values included).
    const keySizes = async (label: string) => {
      const kvs = await f.client.getAll().prefix('/nodenet/v1/nodes/').strings();
      const kinds: Record<string, { keys: number; bytes: number }> = {};
      for (const [k, v] of Object.entries(kvs)) {
        const kind = k.split('/')[5] ?? '?';
        const e = (kinds[kind] ??= { keys: 0, bytes: 0 });
        e.keys++;
        e.bytes += k.length + v.length;
      }
      const prefixBytes = Object.values(kinds).reduce((s, e) => s + e.bytes, 0);
      rows.push({
        what: `etcd keys under nodes/ (${NODES} nodes) ${label}`,
        wall: '',
        perNode: '',
        detail:
          Object.entries(kinds)
            .map(([k, e]) => `${k}: ${e.keys} keys, ${f0(e.bytes / e.keys)} B each`)
            .join('; ') + `; ${f1(prefixBytes / 1024)} KiB in all (what one GET /nodes reads)`,
        load: load(),
      });
      raw[`keys ${label}`] = kinds;
    };
    await keySizes('after registration');

    // 4. GETs through the server: each an RPC to the node's agent through etcd.
    const srvRss0 = rss(srv.proc.pid!);
    const mg0 = await metrics(murl);
    const seq: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const r = await call(srv.base, auth, 'GET', `/nodes/${names[i % NODES]}/network`);
      if (r.status !== 200) throw new Error(`GET ${names[i % NODES]}: ${r.status} ${JSON.stringify(r.json)}`);
      seq.push(r.ms);
    }
    const conc: number[] = [];
    let next = 0;
    const tc = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < REQUESTS) {
          const i = next++;
          const r = await call(srv.base, auth, 'GET', `/nodes/${names[(i * 7) % NODES]}/network`);
          if (r.status !== 200) throw new Error(`GET: ${r.status}`);
          conc.push(r.ms);
        }
      }),
    );
    const concS = (performance.now() - tc) / 1000;
    const mg1 = await metrics(murl);
    const dGet = diff(mg0, mg1);
    rows.push({
      what: `GET /nodes/{n}/network × ${REQUESTS}, sequential (over ${NODES} nodes)`,
      wall: `p50 ${f1(pct(seq, 50))} ms / p99 ${f1(pct(seq, 99))} ms`,
      perNode: '',
      detail: `max ${f1(Math.max(...seq))} ms; etcd requests per GET ${f1(total(dGet) / (2 * REQUESTS))}: ${methods(dGet, 2 * REQUESTS)}`,
      load: load(),
    });
    rows.push({
      what: `GET /nodes/{n}/network × ${REQUESTS}, 10 concurrent clients`,
      wall: `p50 ${f1(pct(conc, 50))} ms / p99 ${f1(pct(conc, 99))} ms`,
      perNode: '',
      detail:
        `max ${f1(Math.max(...conc))} ms; ${f0(REQUESTS / concS)} requests/s; ` +
        `server VmRSS ${f0(srvRss0)} MB before the GETs, ${f0(rss(srv.proc.pid!))} MB after`,
      load: load(),
    });
    raw.get = { sequential: seq, concurrent: conc, etcd: dGet };
    // The server's RSS after as many GETs again: growth that goes on is a leak, a plateau is heap.
    const srvRss1 = rss(srv.proc.pid!);
    for (let i = 0; i < 2 * REQUESTS; i++) await call(srv.base, auth, 'GET', `/nodes/${names[i % NODES]}/network`);
    rows.push({
      what: `server VmRSS: ${2 * REQUESTS} GETs more (sequential)`,
      wall: '',
      perNode: '',
      detail: `${f0(srvRss1)} MB before, ${f0(rss(srv.proc.pid!))} MB after`,
      load: load(),
    });
    const lst: number[] = [];
    for (let i = 0; i < 50; i++) lst.push((await call(srv.base, auth, 'GET', '/nodes')).ms);
    rows.push({
      what: `GET /nodes (${NODES} nodes, from etcd) × 50, sequential`,
      wall: `p50 ${f1(pct(lst, 50))} ms / p99 ${f1(pct(lst, 99))} ms`,
      perNode: '',
      detail: '',
      load: load(),
    });

    // 5. Without rollouts: one bridge per node through the per-node API, canary then waves.
    // With `confirm`, as a rollout applies: a 60 s confirm window, closed by POST .../confirm
    // once the task has ended (the node then keeps the change).
    const applyOne = async (n: string, iface: string, confirm = false): Promise<number> => {
      const t = performance.now();
      const p = await call(srv.base, auth, 'POST', `/nodes/${n}/network`, { iface, type: 'bridge', autostart: 1 });
      if (p.status !== 200) throw new Error(`POST ${n}: ${p.status} ${JSON.stringify(p.json)}`);
      const a = await call(srv.base, auth, 'PUT', `/nodes/${n}/network`, confirm ? { 'confirm-timeout': 60 } : {});
      if (a.status !== 200) throw new Error(`PUT ${n}: ${a.status} ${JSON.stringify(a.json)}`);
      const upid = a.json.data as string;
      const st = await until(
        `apply on ${n}`,
        async () => {
          const s = await call(srv.base, auth, 'GET', `/nodes/${n}/tasks/${encodeURIComponent(upid)}/status`);
          return s.json.data?.status === 'stopped' ? s.json.data : null;
        },
        120_000,
        100,
      );
      if (st.exitstatus !== 'OK') throw new Error(`apply on ${n}: ${JSON.stringify(st)}`);
      if (confirm) {
        const c = await call(srv.base, auth, 'POST', `/nodes/${n}/network/confirm`);
        if (c.status !== 200 || !c.json.data?.confirmed) throw new Error(`confirm ${n}: ${JSON.stringify(c.json)}`);
      }
      return performance.now() - t;
    };
    for (const [iface, confirm] of [
      ['vmbr9', false],
      ['vmbr11', true],
    ] as const) {
      const mb0 = await metrics(murl);
      const tb = performance.now();
      const per: number[] = [await applyOne(names[0]!, iface, confirm)];
      for (let i = 1; i < NODES; i += WAVE)
        per.push(...(await Promise.all(names.slice(i, i + WAVE).map((n) => applyOne(n, iface, confirm)))));
      const baseMs = performance.now() - tb;
      const mb1 = await metrics(murl);
      const landed = agents.filter((a) => readLive(a.root).includes(`iface ${iface}`)).length;
      if (landed !== NODES) throw new Error(`${iface} live on ${landed} of ${NODES} nodes`);
      const dBase = diff(mb0, mb1);
      const how = confirm ? 'POST+PUT (confirm-timeout 60)+task wait+confirm' : 'POST+PUT+task wait';
      rows.push({
        what: `without rollouts: ${how} per node, canary 1 then waves of ${WAVE}`,
        wall: `${f1(baseMs / 1000)} s`,
        perNode: f1(total(dBase) / NODES),
        detail:
          `per node p50 ${f0(pct(per, 50))} ms / max ${f0(Math.max(...per))} ms ` +
          `(canary ${f0(per[0]!)} ms${NETNS > 0 ? ', netns' : ''}); ${iface} live on ${landed}/${NODES}; ${methods(dBase, NODES)}`,
        load: load(),
      });
      raw[`baseline ${iface}`] = { confirm, ms: baseMs, perNode: per, etcd: dBase };
    }

    // 6. With a rollout, when the server has the API.
    const probe = await call(srv.base, auth, 'GET', '/cluster/network/rollouts');
    if (probe.status !== 200) {
      rows.push({
        what: 'rollout: POST /cluster/network/rollouts (canary 1, max-unavailable 10)',
        wall: 'n/a',
        perNode: '',
        detail: `not measured: the server answers ${probe.status} (no rollout API on this branch)`,
        load: load(),
      });
    } else {
      const mr0 = await metrics(murl);
      const tr = performance.now();
      const c = await call(srv.base, auth, 'POST', '/cluster/network/rollouts', {
        nodes: names.join(','),
        ops: JSON.stringify([{ method: 'POST', iface: 'vmbr10', params: { type: 'bridge', autostart: 1 } }]),
        canary: 1,
        'max-unavailable': WAVE,
        'max-failures': 1,
        'confirm-timeout': 60,
        'on-failure': 'rollback',
      });
      if (c.status !== 200) throw new Error(`POST rollout: ${c.status} ${JSON.stringify(c.json)}`);
      const id = c.json.data.id as string;
      let polls = 0;
      const end = await until(
        `rollout ${id} to end`,
        async () => {
          polls++;
          const s = await call(srv.base, auth, 'GET', `/cluster/network/rollouts/${encodeURIComponent(id)}`);
          return ['done', 'failed', 'halted', 'rolled-back'].includes(s.json.data?.state) ? s.json.data : null;
        },
        600_000,
        500,
      );
      const rollMs = performance.now() - tr;
      const mr1 = await metrics(murl);
      const dRoll = diff(mr0, mr1);
      const states: Record<string, number> = {};
      for (const n of end.nodes as { state: string }[]) states[n.state] = (states[n.state] ?? 0) + 1;
      const landedR = agents.filter((a) => readLive(a.root).includes('iface vmbr10')).length;
      rows.push({
        what: `rollout: POST /cluster/network/rollouts, canary 1, max-unavailable ${WAVE}, confirm`,
        wall: `${f1(rollMs / 1000)} s`,
        perNode: f1(total(dRoll) / NODES),
        detail:
          `state ${end.state}; nodes ${JSON.stringify(states)}; vmbr10 live on ${landedR}/${NODES}; ` +
          `${polls} status polls included; ${methods(dRoll, NODES)}`,
        load: load(),
      });
      raw.rollout = { ms: rollMs, state: end.state, nodes: states, polls, etcd: dRoll, events: end.events?.length };
    }
    mem('after the changes');
    await keySizes('after the changes');
    // What the rollouts leave in etcd (the coordinator lists the whole rollouts/ prefix on each tick).
    const rk = Object.entries(await f.client.getAll().prefix('/nodenet/v1/rollouts/').strings());
    if (rk.length) {
      const kinds: Record<string, { keys: number; bytes: number }> = {};
      for (const [k, v] of rk) {
        const kind = k.split('/')[5] ?? 'rollout';
        const e = (kinds[kind] ??= { keys: 0, bytes: 0 });
        e.keys++;
        e.bytes += k.length + v.length;
      }
      const all = rk.reduce((n, [k, v]) => n + k.length + v.length, 0);
      rows.push({
        what: `etcd keys under rollouts/ after one ${NODES}-node rollout`,
        wall: '',
        perNode: '',
        detail:
          Object.entries(kinds)
            .map(([k, e]) => `${k}: ${e.keys} keys, ${f0(e.bytes / e.keys)} B each`)
            .join('; ') + `; ${f1(all / 1024)} KiB in all`,
        load: load(),
      });
      raw.rolloutKeys = kinds;
      await idle('after the rollout', Math.min(IDLE_S, 10));
    }
    raw.gauges = (await metrics(murl)).gauges;

    console.log('\n| measure | wall / latency | etcd requests per node | detail | loadavg |\n|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.what} | ${r.wall} | ${r.perNode} | ${r.detail} | ${r.load} |`);
    console.log('\netcd gauges at the end:', JSON.stringify(raw.gauges));
    console.log('\nraw:', JSON.stringify({ ...raw, get: undefined }));
  } finally {
    // netns agents first: stopped, then their namespaces removed while their roots exist;
    // then everything else (close() stops every process by PID and removes the temp dirs).
    for (const a of netnsAgents) {
      await a.stop();
      const r = spawnSync(process.execPath, [BIN, '--root', a.root, 'netns', 'destroy'], { encoding: 'utf8' });
      if (r.status !== 0) console.error(`netns destroy ${a.root}: ${r.stderr}`);
    }
    await fleet?.close().catch((e: unknown) => console.error('close:', e));
    await dispatcher.close();
  }
}

await main();
