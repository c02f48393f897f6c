/**
 * The route table of the Proxmox-VE-compatible API (contract.md §3). Each route declares its
 * parameters with the same specs that validate requests (src/model/params.ts); the OpenAPI
 * document is generated from this table. Handlers call the core and contain no domain rules.
 */
import { join } from 'node:path';
import { planBridged, type BridgedIntent } from '../setup/bridged.ts';
import type { PlanContext, SetupResult } from '../setup/common.ts';
import { IPV6_FILE, disablesIpv6, ipv6Apply, ipv6Boot, ipv6Running, ipv6Stage, ipv6Staged, type SysctlRunner } from '../setup/ipv6.ts';
import { planIfupdown2Fix } from '../setup/ifupdown2-fix.ts';
import { planNat, type NatIntent } from '../setup/nat.ts';
import { planRouted, type RoutedIntent } from '../setup/routed.ts';
import type { Firewall } from '../setup/rules.ts';
import { stageSetup, type StageResult } from '../setup/stage.ts';
import { readOptional } from '../store/atomic.ts';
import { lockoutRisk, type Connection } from '../apply/lockout.ts';
import { modelOf } from '../apply/pipeline.ts';
import type { NetworkCore } from '../core/network.ts';
import type { ParamSpec } from '../model/params.ts';
import { DELETE_PARAM, IFACE_NAME_PARAM, IFACE_PARAMS, LIST_TYPES, NODE_PARAM, checkParams } from '../model/params.ts';
import type { ApplyService } from './apply-service.ts';
import type { AuthStore, Principal, Privilege } from './auth.ts';
import { ApiError, paramFail } from './http.ts';
import type { Params } from './http.ts';
import type { TaskManager } from './tasks.ts';
import { parseUpid } from './tasks.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What handlers may use. */
export interface Deps {
  core: NetworkCore;
  apply: ApplyService;
  tasks: TaskManager;
  auth: AuthStore;
  node: string;
  version: string;
  /** Runs staged-config writes one at a time in this process (the store lock still guards other processes). */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Serialised list answers by state key (see the list route). */
  listCache: Map<string, Buffer>;
  /** Runs sysctl where the backend's kernel is (host or netns); undefined for `none`. */
  sysctl?: SysctlRunner;
  /** Refreshes the core's link state (active/exists) and returns a stamp of it, for the list cache. */
  linkState?: () => Promise<string>;
  /** The login endpoint's own logic (lives in the server: it needs the limiter and delays). */
  login(params: Params, source: string): Promise<{ data: unknown; headers: Record<string, string> }>;
}

export interface RequestCtx {
  /** Path parameters (`node`, `iface`, `upid`), already checked. */
  path: Record<string, string>;
  /** Query and body parameters merged (the query wins), path parameters removed. */
  params: Params;
  principal: Principal | null;
  source: string;
  /** The node's address the client reached (for the lock-out warning). */
  local: string;
}

export interface Result {
  data: unknown;
  /** Top-level envelope keys next to `data` (`changes`, `digest`, `total`). */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** A pre-serialised envelope (replaces data/extra). */
  body?: Buffer;
}

export interface Route {
  method: Method;
  /** Below /api2/json, with `{param}` segments. */
  path: string;
  summary: string;
  description?: string;
  /** Query/body parameters (path parameters are implied by the path). */
  params: readonly ParamSpec[];
  /** Needed privilege; null = no authentication (login, the OpenAPI document). */
  perm: Privilege | null;
  /** false when the core validates the parameters itself (create/update). */
  validate?: boolean;
  /** JSON schema of `data`, for the OpenAPI document. */
  returns: Record<string, unknown>;
  /** nodenet extension (not in Proxmox VE). */
  extension?: boolean;
  handler(ctx: RequestCtx, deps: Deps): Promise<Result>;
}

const DIGEST_PARAM = IFACE_PARAMS.find((p) => p.name === 'digest')!;
const CONFIRM_TIMEOUT: ParamSpec = {
  name: 'confirm-timeout',
  type: 'integer',
  minimum: 0,
  maximum: 86400,
  optional: true,
  description: 'Seconds to wait for POST .../network/confirm before the previous configuration comes back by itself; 0 or absent = no confirm window (nodenet extension).',
};
export const UPID_PARAM: ParamSpec = { name: 'upid', type: 'string', format: 'upid', maxLength: 256, description: "The task's unique ID." };

const NULL = { type: 'null' };
const UPID_RET = { type: 'string', description: 'The task UPID.' };
const IFACE_OBJ = { type: 'object', additionalProperties: true, properties: { iface: { type: 'string' }, type: { type: 'string' }, method: { type: 'string' } } };

const SETUP_COMMON: readonly ParamSpec[] = [
  { name: 'bridge', type: 'string', format: 'pve-iface', description: 'The bridge to set up (e.g. vmbr0, vmbr1).' },
  { name: 'cidr', type: 'string', format: 'CIDRv4', optional: true, description: "The bridge's address and subnet." },
  DIGEST_PARAM,
];

function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v.map(String) : [str(v)]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}

function setupResult(r: StageResult): Result {
  return { data: { changed: r.changed ? 1 : 0, notes: r.notes, diff: r.diff, diagnostics: r.diagnostics, warnings: r.warnings }, extra: { digest: r.digest } };
}

/** Stage a planner's result, one write at a time, as any edit (digest, lock, validation). */
async function stageSetupVia(deps: Deps, plan: (text: string, ctx: PlanContext) => SetupResult, digest: unknown): Promise<Result> {
  const ctx: PlanContext = deps.core.opts.nics ? { nics: deps.core.opts.nics } : {};
  return setupResult(await deps.serial(() => stageSetup(deps.core, (t) => plan(t, ctx), optStr(digest))));
}

/** The planning modes (issue 6): the same planners and staging as `nodenet setup`. */
const SETUP_ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/nodes/{node}/network/setup/bridged',
    summary: 'Bridged (LAN) mode: a bridge over ports with address and gateway (staged).',
    params: [
      ...SETUP_COMMON,
      { name: 'ports', type: 'string', format: 'pve-iface-list', optional: true, description: 'NICs or bonds; default: the first physical NIC when the node has no bridge.' },
      { name: 'gateway', type: 'string', format: 'ipv4', optional: true, description: 'Default gateway.' },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const p = ctx.params;
      const ports = list(p.ports);
      const intent: BridgedIntent = { bridge: str(p.bridge), ...(ports.length ? { ports } : {}), ...(p.cidr !== undefined ? { cidr: str(p.cidr) } : {}), ...(p.gateway !== undefined ? { gateway: str(p.gateway) } : {}) };
      return stageSetupVia(deps, (t, c) => planBridged(t, intent, c), p.digest);
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/setup/routed',
    summary: 'Routed mode: forwarding and proxy_arp on the uplink, a bridge without ports for the routed subnet (staged).',
    params: [...SETUP_COMMON, { name: 'uplink', type: 'string', format: 'pve-iface', description: 'The interface with the public address.' }],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const p = ctx.params;
      if (p.cidr === undefined) throw paramFail({ cidr: 'property is missing and it is not optional' });
      const intent: RoutedIntent = { uplink: str(p.uplink), bridge: str(p.bridge), cidr: str(p.cidr) };
      return stageSetupVia(deps, (t, c) => planRouted(t, intent, c), p.digest);
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/setup/nat',
    summary: 'NAT mode: masquerade a private bridge out of the uplink, with port forwards (staged).',
    params: [
      ...SETUP_COMMON,
      { name: 'uplink', type: 'string', format: 'pve-iface', optional: true, description: 'The interface with the public address (default: the one in the existing rules).' },
      { name: 'forward', type: 'string', maxLength: 4096, optional: true, description: 'Port forwards PROTO/PORT=IP:PORT, comma separated (e.g. tcp/2222=10.10.10.100:22).' },
      { name: 'remove-forward', type: 'string', maxLength: 4096, optional: true, description: 'Forwards to drop, PROTO/PORT, comma separated.' },
      { name: 'firewall', type: 'string', enum: ['iptables', 'nft'], optional: true, description: 'iptables (default) or nft.' },
      { name: 'remove', type: 'boolean', optional: true, description: 'Remove the NAT setup: the bridge and every rule line.' },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const p = ctx.params;
      const fw = list(p.forward);
      const rm = list(p['remove-forward']);
      const intent: NatIntent = {
        bridge: str(p.bridge),
        ...(p.uplink !== undefined ? { uplink: str(p.uplink) } : {}),
        ...(p.cidr !== undefined ? { cidr: str(p.cidr) } : {}),
        ...(fw.length ? { forwards: fw } : {}),
        ...(rm.length ? { removeForwards: rm } : {}),
        ...(p.firewall !== undefined ? { firewall: str(p.firewall) as Firewall } : {}),
        ...(str(p.remove) === '1' ? { remove: true } : {}),
      };
      return stageSetupVia(deps, (t, c) => planNat(t, intent, c), p.digest);
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/fix/ifupdown2',
    summary: "Rewrite the ifupdown (1) forms ifupdown2 ignores (bond-master, allow-auto, source-directory) as a staged change, as `nodenet fix ifupdown2`.",
    params: [DIGEST_PARAM],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      return stageSetupVia(deps, (t, c) => planIfupdown2Fix(t, c), ctx.params.digest);
    },
  },
];

function optStr(v: unknown): string | undefined {
  return v === undefined ? undefined : str(v);
}

/** The lock-out risk of applying the staged config for this connection (null: none). */
async function lockout(deps: Deps, connection: Connection): Promise<string | null> {
  const snap = await deps.core.store.read();
  if (snap.staged === null) return null;
  return lockoutRisk(modelOf(snap.live), modelOf(snap.staged), connection);
}

function str(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}

/** The parameters of the network create (POST) and update (PUT {iface}) calls. */
const CREATE_PARAMS: readonly ParamSpec[] = [IFACE_NAME_PARAM, ...IFACE_PARAMS];
const UPDATE_PARAMS: readonly ParamSpec[] = [...IFACE_PARAMS, DELETE_PARAM];

export const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/access/ticket',
    summary: 'Create an authentication ticket and CSRF token.',
    params: [
      { name: 'username', type: 'string', maxLength: 64, description: 'User name (user@realm).' },
      { name: 'password', type: 'string', maxLength: 1024, description: 'The password, or a valid ticket to renew.' },
      { name: 'realm', type: 'string', maxLength: 32, optional: true, description: 'Realm, appended to a username without one.' },
      { name: 'new-format', type: 'boolean', optional: true, description: 'Ignored (PVE compatibility).' },
      { name: 'otp', type: 'string', maxLength: 64, optional: true, description: 'Not supported; refused when given.' },
    ],
    perm: null,
    returns: { type: 'object', properties: { username: { type: 'string' }, ticket: { type: 'string' }, CSRFPreventionToken: { type: 'string' } } },
    async handler(ctx, deps) {
      return deps.login(ctx.params, ctx.source);
    },
  },
  {
    method: 'DELETE',
    path: '/access/ticket',
    summary: 'Log out: revoke this ticket and clear the cookie (nodenet extension).',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: NULL,
    async handler(ctx, deps) {
      if (ctx.principal?.ticket) await deps.auth.revokeTicket(ctx.principal.ticket);
      return { data: null, headers: { 'Set-Cookie': 'PVEAuthCookie=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0' } };
    },
  },
  {
    method: 'GET',
    path: '/version',
    summary: 'API version details.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'object', properties: { version: { type: 'string' }, release: { type: 'string' }, repoid: { type: 'string' } } },
    async handler(_ctx, deps) {
      const release = deps.version.split('.').slice(0, 2).join('.');
      return { data: { version: deps.version, release, repoid: 'nodenet', product: 'nodenet' } };
    },
  },
  {
    method: 'GET',
    path: '/openapi',
    summary: 'This API as an OpenAPI 3.1 document (nodenet extension, no authentication).',
    params: [],
    perm: null,
    extension: true,
    returns: { type: 'object' },
    async handler(_ctx, deps) {
      const { openapi } = await import('./openapi.ts');
      return { data: openapi(deps.version) };
    },
  },
  {
    method: 'GET',
    path: '/nodes',
    summary: 'Cluster node index (this node only).',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler(_ctx, deps) {
      return { data: [{ node: deps.node, status: 'online', type: 'node', id: `node/${deps.node}`, level: '' }] };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}',
    summary: 'Node index.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler() {
      return { data: [{ name: 'network' }, { name: 'tasks' }, { name: 'version' }] };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network',
    summary: 'List available networks.',
    description: 'Interfaces of the pending configuration (interfaces.new when staged, else the live file). The envelope carries `digest` and, when something is staged, `changes` (unified diff).',
    params: [{ name: 'type', type: 'string', enum: LIST_TYPES, optional: true, description: 'Only list specific interface types.' }],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: IFACE_OBJ },
    async handler(ctx, deps) {
      const type = ctx.params.type === undefined ? undefined : str(ctx.params.type);
      // Building the list of a 4094-interface file costs tens of ms; the serialised answer is
      // cached per (pending digest, live digest, hand-edit flag, type), which is everything it
      // depends on (the server's core has no runtime HostInfo).
      const snap = await deps.core.store.read();
      const stamp = deps.linkState ? await deps.linkState() : '';
      // Files the config sources (interfaces.d) are listed too: their content is part of the key.
      const sources = await deps.core.sourcesStamp(deps.core.parseText(snap.pending).model);
      const key = `${snap.digest}|${snap.liveDigest}|${snap.liveChangedSinceStaging ? 1 : 0}|${type ?? ''}|${stamp}|${sources}`;
      const hit = deps.listCache.get(key);
      if (hit) return { data: null, body: hit };
      const r = await deps.core.list(type);
      const extra: Record<string, unknown> = { digest: r.digest };
      if (r.changes !== undefined) extra.changes = r.changes;
      if (r.warnings.length) extra.warnings = r.warnings;
      const body = Buffer.from(JSON.stringify({ data: r.data, ...extra }), 'utf8');
      if (r.digest === snap.digest) {
        if (deps.listCache.size >= 8) deps.listCache.delete(deps.listCache.keys().next().value!);
        deps.listCache.set(key, body);
      }
      return { data: null, body };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network',
    summary: 'Create network device configuration (staged in interfaces.new).',
    params: CREATE_PARAMS,
    perm: 'Sys.Modify',
    validate: false,
    returns: NULL,
    async handler(ctx, deps) {
      const { iface, ...rest } = ctx.params;
      if (iface === undefined) throw paramFail({ iface: 'property is missing and it is not optional' });
      const r = await deps.serial(() => deps.core.create(str(iface), rest));
      return { data: null, extra: editExtra(r) };
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/network',
    summary: 'Reload network configuration (make the staged configuration live).',
    description: 'Returns a task UPID; poll GET /nodes/{node}/tasks/{upid}/status.',
    params: [
      { name: 'regenerate-frr', type: 'boolean', optional: true, description: 'Accepted for compatibility; nodenet does not manage FRR.' },
      CONFIRM_TIMEOUT,
      { ...DIGEST_PARAM, description: 'Apply only if the staged configuration still has this digest (nodenet extension).' },
    ],
    perm: 'Sys.Modify',
    returns: UPID_RET,
    async handler(ctx, deps) {
      const user = ctx.principal!.id;
      if (ctx.params.digest !== undefined) {
        const snap = await deps.core.store.read();
        if (snap.digest !== str(ctx.params.digest)) throw staleError();
      }
      const timeout = ctx.params['confirm-timeout'] === undefined ? undefined : Number(ctx.params['confirm-timeout']);
      // Say so before apply: a change that touches the caller's own connection needs a window.
      const connection = { local: ctx.local, remote: ctx.source };
      const risk = await lockout(deps, connection);
      if (risk && !(timeout !== undefined && timeout > 0)) {
        throw paramFail({ 'confirm-timeout': `${risk}; apply it with a confirm window (confirm-timeout) so the node rolls back by itself if your connection is lost` });
      }
      const upid = await deps.tasks.start('srvreload', 'networking', user, (log) =>
        deps.apply.apply({ user, source: ctx.source, connection, ...(timeout !== undefined ? { confirmTimeout: timeout } : {}) }, log),
      );
      return { data: upid };
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/network',
    summary: 'Revert network configuration changes (drop interfaces.new).',
    params: [],
    perm: 'Sys.Modify',
    returns: NULL,
    async handler(_ctx, deps) {
      await deps.serial(() => deps.core.revert());
      return { data: null };
    },
  },
  // Extensions: literal paths come before `{iface}` so they win on GET (an interface named
  // `check`, `history` or `verify` stays reachable with PUT/DELETE, and through the list).
  {
    method: 'GET',
    path: '/nodes/{node}/network/check',
    summary: 'Diagnostics of the pending configuration (parser and validation).',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object', properties: { diagnostics: { type: 'array', items: { type: 'object' } } } },
    async handler(_ctx, deps) {
      const diagnostics = await deps.core.check();
      const count = (s: string) => diagnostics.filter((d) => d.severity === s).length;
      return { data: { diagnostics, errors: count('error'), warnings: count('warning') } };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/lockout',
    summary: 'Would applying the staged configuration touch the connection of this request?',
    description: 'The same check apply makes: when `risk` is set, apply is refused without a confirm-timeout.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object', properties: { risk: { type: ['string', 'null'] }, local: { type: 'string' }, remote: { type: 'string' } } },
    async handler(ctx, deps) {
      const connection = { local: ctx.local, remote: ctx.source };
      return { data: { risk: await lockout(deps, connection), ...connection } };
    },
  },
  ...SETUP_ROUTES,
  {
    method: 'GET',
    path: '/nodes/{node}/network/ipv6',
    summary: 'IPv6 switch: the sysctl.d file and, where the backend runs a kernel, the running values.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object' },
    async handler(_ctx, deps) {
      const file = join(deps.core.store.paths.root, IPV6_FILE);
      const content = await readOptional(file);
      const run = deps.sysctl;
      const boot = await ipv6Boot(deps.core.store.paths.root);
      return {
        data: { file: IPV6_FILE, disabled: disablesIpv6(content) ? 1 : 0, content, disabled_at_boot: boot.disabledBy ? 1 : 0, settings: boot.settings, running: run ? await ipv6Running(run) : null,
          staged: await ipv6Staged(deps.core.store.paths.root) },
      };
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/network/ipv6',
    summary: 'Disable or enable IPv6 (etc/sysctl.d/disable-ipv6.conf); with now=1 also apply it to the running kernel.',
    params: [
      { name: 'disable', type: 'boolean', description: '1 writes the file, 0 removes it.' },
      { name: 'now', type: 'boolean', optional: true, description: 'Also apply to the running kernel (backends with a kernel only).' },
      { name: 'stage', type: 'boolean', optional: true, description: 'Only stage the change (etc/network/ipv6.new); one that changes nothing clears the stage.' },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const action = str(ctx.params.disable) === '1' ? 'disable' : 'enable';
      const now = str(ctx.params.now) === '1';
      if (str(ctx.params.stage) === '1') return { data: { staged: await deps.serial(() => ipv6Stage(deps.core.store.paths.root, action)) } };
      if (now && !deps.sysctl) throw paramFail({ now: `the ${deps.apply.backend} backend runs no kernel here, so there is nothing to apply the setting to` });
      const r = await deps.serial(async () => {
        const done = await ipv6Apply(deps.core.store.paths.root, action, now ? deps.sysctl : undefined);
        await ipv6Stage(deps.core.store.paths.root, null);
        return done;
      });
      return { data: { changed: r.changed ? 1 : 0, applied: r.applied ? 1 : 0, message: r.message, content: r.content } };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/confirm',
    summary: 'Keep the applied configuration (ends the confirm window).',
    params: [],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object', properties: { confirmed: { type: 'boolean' }, message: { type: 'string' } } },
    async handler(ctx, deps) {
      const r = await deps.apply.confirm({ user: ctx.principal!.id, source: ctx.source });
      return { data: { confirmed: r.confirmed ? 1 : 0, message: r.message } };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/linkstats',
    summary: 'Link details of one interface where the backend runs a kernel: MAC, MTU, state, carrier, speed, duplex, rx/tx counters.',
    params: [{ name: 'iface', type: 'string', description: 'Interface name.' }],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const iface = str(ctx.params.iface);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/.test(iface)) throw paramFail({ iface: 'not an interface name' });
      const run = deps.sysctl;
      if (!run) return { data: { iface, available: 0, message: `the ${deps.apply.backend} backend runs no kernel here: no link details` } };
      const link = await run(['ip', '-j', '-s', 'link', 'show', 'dev', iface]);
      if (link.code !== 0) return { data: { iface, available: 0, message: `${iface} does not exist in the running kernel` } };
      const j = (JSON.parse(link.stdout) as Record<string, unknown>[])[0] ?? {};
      // speed and duplex from sysfs (unreadable while a link is down: then null)
      const sys = await run(['sh', '-c', 'd=/sys/class/net/$1; for f in speed duplex carrier; do v=$(cat "$d/$f" 2>/dev/null) || v=; echo "$v"; done', 'linkstats', iface]);
      const [speed, duplex, carrier] = sys.stdout.split('\n');
      const st = (j.stats64 ?? j.stats ?? {}) as { rx?: Record<string, number>; tx?: Record<string, number> };
      const num = (v: string | undefined): number | null => (v === undefined || v.trim() === '' || Number.isNaN(Number(v)) ? null : Number(v));
      const flags = Array.isArray(j.flags) ? (j.flags as string[]) : [];
      return {
        data: {
          iface,
          available: 1,
          mac: j.address ?? null,
          mtu: j.mtu ?? null,
          state: j.operstate ?? null,
          carrier: num(carrier) ?? (flags.includes('LOWER_UP') ? 1 : 0),
          speed: num(speed) !== null && num(speed)! >= 0 ? num(speed) : null,
          duplex: duplex?.trim() || null,
          master: j.master ?? null,
          rx: { bytes: st.rx?.bytes ?? 0, packets: st.rx?.packets ?? 0, errors: st.rx?.errors ?? 0, dropped: st.rx?.dropped ?? 0 },
          tx: { bytes: st.tx?.bytes ?? 0, packets: st.tx?.packets ?? 0, errors: st.tx?.errors ?? 0, dropped: st.tx?.dropped ?? 0 },
          time: Date.now(),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/pending',
    summary: 'The open confirm window (history id, deadline, seconds left), if any, and the newest history entry.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object', properties: { pending: { type: 'object', optional: true }, last: { type: 'object', optional: true } } },
    async handler(_ctx, deps) {
      return { data: await deps.apply.pending() };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/restage',
    summary: 'Stage again the file history entry `id` made live (a change that was rolled back).',
    params: [{ name: 'id', type: 'integer', minimum: 1, description: 'History entry id (#N).' }],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object', properties: { changes: { type: 'string' } } },
    async handler(ctx, deps) {
      const id = Number(ctx.params.id);
      return { data: await deps.serial(() => deps.apply.restage(id)) };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/history',
    summary: 'Applied configurations, newest first.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'array', items: { type: 'object' } },
    async handler(_ctx, deps) {
      return { data: await deps.apply.history() };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/rollback',
    summary: 'Go back to history entry n (default 1, the previous configuration); returns a task UPID.',
    params: [
      { name: 'n', type: 'integer', minimum: 1, maximum: 1000, optional: true, description: 'History entry (1 = the previous configuration).' },
      { name: 'id', type: 'integer', minimum: 1, optional: true, description: 'History entry id (#N as the CLI, the task log and the UI number it): restore the file live before it.' },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: UPID_RET,
    async handler(ctx, deps) {
      const user = ctx.principal!.id;
      const n = ctx.params.n === undefined ? undefined : Number(ctx.params.n);
      const id = ctx.params.id === undefined ? undefined : Number(ctx.params.id);
      const upid = await deps.tasks.start('netrollback', 'networking', user, (log) =>
        deps.apply.rollback({ user, source: ctx.source, ...(n !== undefined ? { n } : {}), ...(id !== undefined ? { id } : {}) }, log),
      );
      return { data: upid };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/verify',
    summary: 'Compare the running kernel state with the live file.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object', properties: { ok: { type: 'boolean' }, drift: { type: 'array', items: { type: 'string' } } } },
    async handler(_ctx, deps) {
      const r = await deps.apply.verify();
      return { data: { ...r, ok: r.ok ? 1 : 0 } };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/{iface}',
    summary: 'Read network device configuration.',
    params: [],
    perm: 'Sys.Audit',
    returns: IFACE_OBJ,
    async handler(ctx, deps) {
      const r = await deps.core.get(ctx.path.iface!);
      return { data: r.data, extra: { digest: r.digest } };
    },
  },
  {
    method: 'PUT',
    path: '/nodes/{node}/network/{iface}',
    summary: 'Update network device configuration (staged).',
    description: '`type` is required, as in Proxmox VE. `delete=a,b` removes settings.',
    params: UPDATE_PARAMS,
    perm: 'Sys.Modify',
    validate: false,
    returns: NULL,
    async handler(ctx, deps) {
      const { delete: del, ...rest } = ctx.params;
      if (rest.type === undefined) throw paramFail({ type: 'property is missing and it is not optional' });
      let delList: string[] = [];
      if (del !== undefined) {
        const { values, errors } = checkParams({ delete: str(del) }, [DELETE_PARAM]);
        if (Object.keys(errors).length) throw paramFail(errors);
        delList = values.delete === undefined ? [] : [values.delete];
      }
      const r = await deps.serial(() => deps.core.update(ctx.path.iface!, rest, delList));
      return { data: null, extra: editExtra(r) };
    },
  },
  {
    method: 'DELETE',
    path: '/nodes/{node}/network/{iface}',
    summary: 'Delete network device configuration (staged).',
    params: [DIGEST_PARAM],
    perm: 'Sys.Modify',
    returns: NULL,
    async handler(ctx, deps) {
      const digest = ctx.params.digest === undefined ? undefined : str(ctx.params.digest);
      const r = await deps.serial(() => deps.core.remove(ctx.path.iface!, digest));
      return { data: null, extra: editExtra(r) };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    summary: 'Tasks started by this server process, newest first.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler(_ctx, deps) {
      return { data: deps.tasks.list() };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}',
    summary: 'Task index.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler() {
      return { data: [{ name: 'log' }, { name: 'status' }] };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/status',
    summary: 'Read task status.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'object', properties: { status: { type: 'string', enum: ['running', 'stopped'] }, exitstatus: { type: 'string' }, upid: { type: 'string' } } },
    async handler(ctx, deps) {
      const s = await deps.tasks.status(ctx.path.upid!);
      if (!s) throw noSuchTask(ctx.path.upid!);
      return { data: s };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    summary: 'Read task log.',
    params: [
      { name: 'start', type: 'integer', minimum: 0, optional: true, description: 'Start at this line (0-based).' },
      { name: 'limit', type: 'integer', minimum: 0, optional: true, description: 'At most this many lines (default 50).' },
      { name: 'download', type: 'boolean', optional: true, description: 'Ignored (PVE compatibility).' },
    ],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer' }, t: { type: 'string' } } } },
    async handler(ctx, deps) {
      const start = ctx.params.start === undefined ? 0 : Number(ctx.params.start);
      const limit = ctx.params.limit === undefined ? 50 : Number(ctx.params.limit);
      const r = await deps.tasks.log(ctx.path.upid!, start, limit);
      if (!r) throw noSuchTask(ctx.path.upid!);
      return { data: r.lines, extra: { total: r.total } };
    },
  },
];

function editExtra(r: { digest: string; warnings: string[] }): Record<string, unknown> {
  return r.warnings.length ? { digest: r.digest, warnings: r.warnings } : { digest: r.digest };
}

function staleError(): ApiError {
  return new ApiError(409, 'the configuration was changed by someone else since you read it; reload and retry', {
    errors: { digest: 'detected modified configuration - file changed by other user? Try again.' },
  });
}

function noSuchTask(upid: string): ApiError {
  return paramFail({ upid: parseUpid(upid) ? 'no such task' : 'unable to parse worker upid' });
}

/** Path parameters' specs (for validation and OpenAPI). */
export const PATH_PARAMS: Record<string, ParamSpec> = { node: NODE_PARAM, iface: IFACE_NAME_PARAM, upid: UPID_PARAM };

/** Match a request path (already split and decoded) to a route; `methods` lists what exists at that path. */
export function matchRoute(method: string, segs: readonly string[]): { route: Route; path: Record<string, string> } | { route: null; methods: Method[] } {
  const methods: Method[] = [];
  let found: { route: Route; path: Record<string, string> } | undefined;
  for (const route of ROUTES) {
    const pat = route.path.split('/').slice(1);
    if (pat.length !== segs.length) continue;
    const path: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      const p = pat[i]!;
      const s = segs[i]!;
      if (p.startsWith('{')) path[p.slice(1, -1)] = s;
      else ok = p === s;
    }
    if (!ok) continue;
    if (!methods.includes(route.method)) methods.push(route.method);
    if (route.method === method && !found) found = { route, path };
  }
  return found ?? { route: null, methods };
}
