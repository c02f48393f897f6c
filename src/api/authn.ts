/**
 * Who is asking: a request's ticket (cookie or `Authorization: PVEAuthCookie=`) with its CSRF
 * token on writes, or an API token; and the login endpoint with its attempt limiter and delays.
 * Failures are PVE's: 401 with an empty body for requests, 401 with a body for a failed login.
 */
import type { IncomingMessage } from 'node:http';
import { NodenetError, paramError } from '../errors.ts';
import { checkParams } from '../model/params.ts';
import { USERID_RE } from './auth.ts';
import type { AuthStore, LoginLimiter, Principal } from './auth.ts';
import type { Params } from './http.ts';
import { LOGIN_PARAMS } from './routes/access.ts';
import type { Deps } from './routes.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PVE's answer to a request it cannot authenticate: 401, empty body. */
function unauthenticated(message: string): NodenetError {
  return new NodenetError('AUTH', message, { emptyBody: true });
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    }
  }
  return undefined;
}

export type Authenticate = (req: IncomingMessage, method: string) => Promise<Principal>;

/** Authenticates requests against `auth`; a bad credential waits `failDelay` ms first. */
export function createAuthenticator(auth: AuthStore, failDelay: number): Authenticate {
  /** Authenticate a request (ticket cookie or API token), or throw PVE's 401s. */
  return async function authenticate(req, method) {
    const authz = req.headers.authorization ?? '';
    let ticket = cookieValue(req.headers.cookie, 'PVEAuthCookie');
    if (ticket === undefined) {
      const m = /(?:^|\s)PVEAuthCookie=([^\s;]+)/.exec(authz);
      if (m) ticket = decodeURIComponent(m[1]!);
    }
    if (ticket !== undefined) {
      const t = await auth.verifyTicket(ticket);
      if (!t) {
        await sleep(failDelay);
        throw unauthenticated('invalid PVE ticket');
      }
      if (method !== 'GET') {
        const csrf = req.headers.csrfpreventiontoken;
        const token = Array.isArray(csrf) ? csrf[0] : csrf;
        if (!token || !(await auth.verifyCsrf(token, t.principal.user, t.hex))) {
          throw unauthenticated('Permission denied - invalid csrf token');
        }
      }
      return t.principal;
    }
    const m = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/.exec(authz);
    if (m) {
      const p = await auth.verifyToken(m[1]!);
      if (!p) {
        await sleep(failDelay);
        throw unauthenticated('Authentication failed!');
      }
      return p;
    }
    throw unauthenticated('No ticket');
  };
}

/**
 * The login endpoint's logic (POST /access/ticket): attempts are counted by `limiter` before
 * the password is checked, and a refused or failed login waits `failDelay` ms.
 */
export function createLogin(auth: AuthStore, limiter: LoginLimiter, failDelay: number): Deps['login'] {
  return async function login(params: Params, source: string) {
    // The route has checked these parameters against the same specs: this reads their values.
    const { values, errors } = checkParams(params, LOGIN_PARAMS);
    if (Object.keys(errors).length) throw paramError(errors);
    let userid = values.username!;
    if (!userid.includes('@') && values.realm) userid = `${userid}@${values.realm}`;
    const password = values.password!;
    // Counted before the password is hashed: parallel guesses cannot all be checked.
    const attempt = limiter.attempt(source, userid);
    if (!attempt.ok) {
      await sleep(failDelay);
      throw new NodenetError('RATE_LIMITED', 'too many login attempts; try again later', {
        headers: { 'Retry-After': String(Math.ceil(attempt.retryAfterMs / 1000)) },
      });
    }
    let principal: Principal | null = null;
    if (USERID_RE.test(userid) && values.otp === undefined) {
      if (password.startsWith('PVE:')) {
        const t = await auth.verifyTicket(password);
        if (t && t.principal.user === userid) principal = t.principal;
      } else principal = await auth.login(userid, password);
    }
    if (!principal) {
      attempt.fail();
      await sleep(failDelay);
      throw new NodenetError('AUTH', 'authentication failure');
    }
    attempt.succeed();
    const { ticket, csrf } = await auth.issueTicket(principal.user);
    const cap = principal.privs.has('Sys.Modify') ? { 'Sys.Audit': 1, 'Sys.Modify': 1 } : { 'Sys.Audit': 1 };
    return {
      data: { username: principal.user, ticket, CSRFPreventionToken: csrf, cap: { nodes: cap } },
      headers: {
        'Set-Cookie': `PVEAuthCookie=${encodeURIComponent(ticket)}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=7200`,
      },
    };
  };
}
