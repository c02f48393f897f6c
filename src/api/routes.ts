/**
 * The route table of the Proxmox-VE-compatible API (contract.md §3), put together from the route
 * modules in routes/, one per resource. Each route declares its parameters with the same specs
 * that validate requests (src/model/params.ts); the OpenAPI document is generated from this
 * table. Handlers call the core and contain no domain rules.
 */
import { IFACE_NAME_PARAM, NODE_PARAM } from '../model/params.ts';
import type { ParamSpec } from '../model/params.ts';
import { ACCESS_ROUTES } from './routes/access.ts';
import { LIVE_ROUTES } from './routes/live.ts';
import { IFACE_ROUTES, NETWORK_ROUTES } from './routes/network.ts';
import { NODE_ROUTES } from './routes/nodes.ts';
import { ROLLOUT_NODE_ROUTES } from './routes/rollout-node.ts';
import { SETUP_ROUTES } from './routes/setup.ts';
import { TASK_ROUTES, UPID_PARAM } from './routes/tasks.ts';
import type { Method, Route } from './routes/types.ts';

export type { Deps, Method, RequestCtx, Result, Route } from './routes/types.ts';
export { UPID_PARAM };

/**
 * Every route. The order matters twice: the first match wins (literal paths below /network come
 * before `{iface}`, so an interface named `check`, `history` or `verify` stays reachable with
 * PUT/DELETE, and through the list), and it is the order of the OpenAPI document.
 */
export const ROUTES: readonly Route[] = [
  ...ACCESS_ROUTES,
  ...NODE_ROUTES,
  ...NETWORK_ROUTES,
  ...SETUP_ROUTES,
  ...LIVE_ROUTES,
  ...ROLLOUT_NODE_ROUTES,
  ...IFACE_ROUTES,
  ...TASK_ROUTES,
];

/** Path parameters' specs (for validation and OpenAPI). */
export const PATH_PARAMS: Record<string, ParamSpec> = { node: NODE_PARAM, iface: IFACE_NAME_PARAM, upid: UPID_PARAM };

/**
 * Match a request path (already split and decoded) to a route; `methods` lists what exists at
 * that path. `extra` routes (the fleet's /cluster/... in `serve --etcd`) come after the table.
 */
export function matchRoute(
  method: string,
  segs: readonly string[],
  extra: readonly Route[] = [],
): { route: Route; path: Record<string, string> } | { route: null; methods: Method[] } {
  const methods: Method[] = [];
  let found: { route: Route; path: Record<string, string> } | undefined;
  for (const route of extra.length ? [...ROUTES, ...extra] : ROUTES) {
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
