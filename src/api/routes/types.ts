/** The types of the route table: a route, what its handler gets (RequestCtx, Deps) and returns. */
import type { NetworkCore } from '../../core/network.ts';
import type { ParamSpec } from '../../model/params.ts';
import type { SysctlRunner } from '../../setup/ipv6.ts';
import type { ApplyService } from '../apply-service.ts';
import type { AuthStore, Principal, Privilege } from '../auth.ts';
import type { Params } from '../http.ts';
import type { TaskManager } from '../tasks.ts';

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
  /** The OpenAPI document of this API (made from the route table, which route modules do not import). */
  openapi(): Record<string, unknown>;
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
