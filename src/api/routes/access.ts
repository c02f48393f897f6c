/** Routes of /access: log in (a ticket and CSRF token) and log out. */
import type { ParamSpec } from '../../model/params.ts';
import { NULL } from './common.ts';
import type { Route } from './types.ts';

/** The login parameters: the route's spec, and what the login logic reads (src/api/authn.ts). */
export const LOGIN_PARAMS: readonly ParamSpec[] = [
  { name: 'username', type: 'string', maxLength: 64, description: 'User name (user@realm).' },
  { name: 'password', type: 'string', maxLength: 1024, description: 'The password, or a valid ticket to renew.' },
  {
    name: 'realm',
    type: 'string',
    maxLength: 32,
    optional: true,
    description: 'Realm, appended to a username without one.',
  },
  { name: 'new-format', type: 'boolean', optional: true, description: 'Ignored (PVE compatibility).' },
  { name: 'otp', type: 'string', maxLength: 64, optional: true, description: 'Not supported; refused when given.' },
];

export const ACCESS_ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/access/ticket',
    summary: 'Create an authentication ticket and CSRF token.',
    params: LOGIN_PARAMS,
    perm: null,
    returns: {
      type: 'object',
      properties: { username: { type: 'string' }, ticket: { type: 'string' }, CSRFPreventionToken: { type: 'string' } },
    },
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
      return {
        data: null,
        headers: { 'Set-Cookie': 'PVEAuthCookie=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0' },
      };
    },
  },
];
