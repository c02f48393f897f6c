/**
 * The REST client: PVE's `/api2/json` with the ticket cookie (set HttpOnly by the server) and the
 * CSRF token header on writes. A 401 on anything but the login means the session is over.
 */

export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  iface?: string;
  option?: string;
  line?: number;
  column?: number;
  hint?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: Record<string, string> = {},
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(message);
  }
}

export interface Envelope<T> {
  data: T;
  digest?: string;
  changes?: string;
  warnings?: unknown;
  total?: number;
  [k: string]: unknown;
}

const SESSION_KEY = 'nodenet.session';

export interface Session {
  username: string;
  csrf: string;
}

let session: Session | null = null;
try {
  const s = sessionStorage.getItem(SESSION_KEY);
  if (s) session = JSON.parse(s) as Session;
} catch {
  session = null;
}

/** Called once when a request comes back 401 (the ticket expired or was revoked). */
let onExpired: (() => void) | null = null;
export function setExpiredHandler(f: () => void): void {
  onExpired = f;
}

export function currentSession(): Session | null {
  return session;
}

export function clearSession(): void {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
}

export type Params = Record<string, string | number | undefined>;

function encode(p: Params): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined) u.append(k, String(v));
  return u.toString();
}

/** One API call; resolves with the whole envelope, rejects with {@link ApiError}. */
export async function call<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  params: Params = {},
): Promise<Envelope<T>> {
  const headers: Record<string, string> = {};
  let url = `/api2/json${path}`;
  let body: string | undefined;
  const q = encode(params);
  if (method === 'GET' || method === 'DELETE') {
    if (q) url += `?${q}`;
  } else {
    body = q;
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  if (method !== 'GET' && session) headers.CSRFPreventionToken = session.csrf;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body !== undefined ? { body } : {}),
    });
  } catch (e) {
    throw new ApiError(0, `cannot reach the node: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json:
    { data?: unknown; errors?: Record<string, string>; message?: string; diagnostics?: Diagnostic[] } | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/access/ticket') {
      clearSession();
      onExpired?.();
    }
    const msg = (json?.message ?? res.statusText ?? `HTTP ${res.status}`).trim();
    throw new ApiError(res.status, msg, json?.errors ?? {}, json?.diagnostics ?? []);
  }
  return (json ?? { data: null }) as Envelope<T>;
}

/** Log out: the server revokes the ticket and clears its HttpOnly cookie; then forget the session. */
export async function logout(): Promise<void> {
  try {
    if (session) await call('DELETE', '/access/ticket');
  } catch {
    // already expired or unreachable: forgetting the session is all that is left to do
  }
  clearSession();
}

/** Log in (pve or pam realm); keeps the CSRF token for this tab. */
export async function login(username: string, password: string, realm: string): Promise<Session> {
  const user = username.includes('@') ? username : `${username}@${realm}`;
  const r = await call<{ username: string; CSRFPreventionToken: string }>('POST', '/access/ticket', {
    username: user,
    password,
  });
  session = { username: r.data.username, csrf: r.data.CSRFPreventionToken };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}
