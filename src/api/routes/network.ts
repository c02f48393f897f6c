/**
 * Routes of the network configuration: the list, create, reload (apply) and revert of
 * /nodes/{node}/network, its check and lock-out extensions, and one interface's read, update
 * and delete. The core validates and stages; these only translate.
 */
import { CONFIRM_TIMEOUT as CONFIRM_TIMEOUT_SPEC } from '../../apply/confirm-timeout.ts';
import { RELOAD_MODES } from '../../apply/plan.ts';
import { NodenetError, paramError } from '../../errors.ts';
import type { ParamSpec } from '../../model/params.ts';
import { DELETE_PARAM, IFACE_NAME_PARAM, IFACE_PARAMS, LIST_TYPES, checkParams } from '../../model/params.ts';
import { DIGEST_PARAM, IFACE_OBJ, NULL, UPID_RET, editExtra, str } from './common.ts';
import type { Route } from './types.ts';

const CONFIRM_TIMEOUT: ParamSpec = {
  name: 'confirm-timeout',
  type: 'integer',
  minimum: CONFIRM_TIMEOUT_SPEC.minimum,
  maximum: CONFIRM_TIMEOUT_SPEC.maximum,
  optional: true,
  description:
    'Seconds to wait for POST .../network/confirm before the previous configuration comes back by itself; 0 or absent = no confirm window (nodenet extension).',
};

/** The parameters of the network create (POST) and update (PUT {iface}) calls. */
const CREATE_PARAMS: readonly ParamSpec[] = [IFACE_NAME_PARAM, ...IFACE_PARAMS];
const UPDATE_PARAMS: readonly ParamSpec[] = [...IFACE_PARAMS, DELETE_PARAM];

function staleError(): NodenetError {
  return new NodenetError(
    'STALE',
    'the configuration was changed by someone else since you read it; reload and retry',
    {
      errors: { digest: 'detected modified configuration - file changed by other user? Try again.' },
    },
  );
}

/** The collection /nodes/{node}/network and its extensions (check, lockout). */
export const NETWORK_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/network',
    summary: 'List available networks.',
    description:
      'Interfaces of the pending configuration (interfaces.new when staged, else the live file). The envelope carries `digest` and, when something is staged, `changes` (unified diff).',
    params: [
      {
        name: 'type',
        type: 'string',
        enum: LIST_TYPES,
        optional: true,
        description: 'Only list specific interface types.',
      },
    ],
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
      if (iface === undefined) throw paramError({ iface: 'property is missing and it is not optional' });
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
      {
        name: 'regenerate-frr',
        type: 'boolean',
        optional: true,
        description: 'Accepted for compatibility; nodenet does not manage FRR.',
      },
      CONFIRM_TIMEOUT,
      {
        ...DIGEST_PARAM,
        description: 'Apply only if the staged configuration still has this digest (nodenet extension).',
      },
      {
        name: 'reload',
        type: 'string',
        enum: RELOAD_MODES,
        optional: true,
        description:
          '`all`: reload every interface (`ifreload -a`) whatever changed; `targeted` (default): only what changed, where that reaches the same state (nodenet extension).',
      },
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
      const req = {
        user,
        source: ctx.source,
        connection,
        ...(timeout !== undefined ? { confirmTimeout: timeout } : {}),
        ...(ctx.params['reload'] === 'all' ? { reload: 'all' as const } : {}),
      };
      const checked = await deps.apply.precheck(req);
      const upid = await deps.tasks.start('srvreload', 'networking', user, (log) =>
        deps.apply.apply({ ...req, ...(checked ? { checked } : {}) }, log),
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
    returns: {
      type: 'object',
      properties: { risk: { type: ['string', 'null'] }, local: { type: 'string' }, remote: { type: 'string' } },
    },
    async handler(ctx, deps) {
      const connection = { local: ctx.local, remote: ctx.source };
      return { data: { risk: await deps.apply.lockout(connection), ...connection } };
    },
  },
];

/** One interface: after every literal path below /network (first match wins). */
export const IFACE_ROUTES: readonly Route[] = [
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
      if (rest.type === undefined) throw paramError({ type: 'property is missing and it is not optional' });
      let delList: string[] = [];
      if (del !== undefined) {
        const { values, errors } = checkParams({ delete: str(del) }, [DELETE_PARAM]);
        if (Object.keys(errors).length) throw paramError(errors);
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
];
