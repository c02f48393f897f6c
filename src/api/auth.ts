/**
 * Authentication and privileges: local users with scrypt password hashes, PVE-format tickets
 * with CSRF tokens, and API tokens (research/clients.md §2.3–2.4).
 *
 * Files (under ROOT/etc/nodenet, mode 0600): `users.json` (users and hashed token secrets),
 * `auth-key` (the HMAC key that signs tickets and CSRF tokens).
 */
import { createHash, createHmac, randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { NodenetError } from '../errors.ts';
import { atomicWrite, readOptional } from '../store/atomic.ts';
import { parseIPv6 } from '../model/ip.ts';
import { pamtesterAuth, type PamAuth } from './pam.ts';

/** Roles: `admin` may read and change (Sys.Audit + Sys.Modify); `audit` may only read. */
export type Role = 'admin' | 'audit';
export type Privilege = 'Sys.Audit' | 'Sys.Modify';

const ROLE_PRIVS: Record<Role, readonly Privilege[]> = {
  admin: ['Sys.Audit', 'Sys.Modify'],
  audit: ['Sys.Audit'],
};

export interface UserRecord {
  /** `scrypt$N$r$p$salt-b64$hash-b64`, or {@link PAM_HASH} for a NAME@pam user checked by PAM. */
  hash: string;
  role: Role;
  enable: boolean;
  created: string;
}

export interface TokenRecord {
  /** sha256 of the secret, hex. Secrets are random UUIDs (122 bits), so a fast hash suffices. */
  hash: string;
  /** Privilege separation: the token is limited to reading, whatever the user's role. */
  privsep: boolean;
  created: string;
}

interface AuthFile {
  users: Record<string, UserRecord>;
  /** Keyed by full token id `USER@REALM!TOKENID`. */
  tokens: Record<string, TokenRecord>;
}

/** Who a request runs as. */
export interface Principal {
  /** `user@realm`, or `user@realm!token` for tokens. */
  id: string;
  user: string;
  kind: 'ticket' | 'token';
  privs: ReadonlySet<Privilege>;
  /** The ticket itself (kind `ticket`), so logout can revoke it. */
  ticket?: string;
}

/** Ticket lifetime: 2 hours, as PVE. */
export const TICKET_LIFETIME_S = 7200;
/** PVE accepts tickets up to 5 minutes past their lifetime and tolerates that much clock skew. */
const TICKET_GRACE_S = 300;

// scrypt N=2^15, r=8, p=1: ~50 ms and 32 MiB per check (OWASP's 2023 minimum is N=2^17 with
// less memory per check; 2^15·r8 is the common interactive-login setting).
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keylen: 32 };

function scrypt(password: string, salt: Buffer, N: number, r: number, p: number, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, { N, r, p, maxmem: 256 * N * r }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** Hash a password for users.json. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p, SCRYPT.keylen);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Check a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  const got = await scrypt(password, salt, N, r, p, want.length);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The stored hash of a NAME@pam user whose password PAM checks (nodenet stores none). */
export const PAM_HASH = 'pam';

/** `user@realm`: PVE's userid shape (realm pve, or pam: the host's PAM stack). */
export const USERID_RE = /^[^\s:/@!]{1,64}@(pve|pam)$/;
const TOKENID_RE = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
const FULL_TOKEN_RE = /^([^\s:/@!]{1,64}@[A-Za-z][A-Za-z0-9._-]+)!([A-Za-z][A-Za-z0-9._-]+)$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sha256hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The user and token database plus the ticket key. Reads users.json on each check (it is
 * small and this lets `nodenet user add` take effect without restarting the server).
 */
export class AuthStore {
  readonly dir: string;
  readonly usersFile: string;
  readonly keyFile: string;
  private key: Buffer | undefined;
  private cache: { mtimeMs: number; size: number; data: AuthFile } | undefined;

  /** Checks NAME@pam passwords (the host's PAM via pamtester unless given). */
  private readonly pam: PamAuth;

  constructor(root: string, opts: { pam?: PamAuth } = {}) {
    this.pam = opts.pam ?? pamtesterAuth();
    this.dir = join(root, 'etc/nodenet');
    this.usersFile = join(this.dir, 'users.json');
    this.keyFile = join(this.dir, 'auth-key');
  }

  private async load(): Promise<AuthFile> {
    let st;
    try {
      st = await fs.stat(this.usersFile);
    } catch {
      return { users: {}, tokens: {} };
    }
    if (this.cache && this.cache.mtimeMs === st.mtimeMs && this.cache.size === st.size) return this.cache.data;
    const text = (await readOptional(this.usersFile)) ?? '{}';
    let data: AuthFile;
    try {
      const raw = JSON.parse(text) as Partial<AuthFile>;
      data = { users: raw.users ?? {}, tokens: raw.tokens ?? {} };
    } catch {
      throw new NodenetError('IO', `${this.usersFile} is not valid JSON`);
    }
    this.cache = { mtimeMs: st.mtimeMs, size: st.size, data };
    return data;
  }

  private async save(data: AuthFile): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWrite(this.usersFile, `${JSON.stringify(data, null, 2)}\n`, 0o600);
    this.cache = undefined;
  }

  /**
   * Add or replace a user. `password` null: a NAME@pam user whose password the host's PAM
   * checks (nodenet stores none). A NAME@pam user given a password is a local user (clients
   * and tests that hard-code root@pam).
   */
  async addUser(userid: string, password: string | null, role: Role = 'admin'): Promise<void> {
    if (!USERID_RE.test(userid))
      throw new NodenetError('USAGE', `invalid user id '${userid}': expected NAME@pve or NAME@pam`);
    if (password === null && !userid.endsWith('@pam'))
      throw new NodenetError(
        'USAGE',
        `${userid} needs a password (only NAME@pam users log in with their system password)`,
      );
    if (password !== null && password.length < 5)
      throw new NodenetError('USAGE', 'the password must be at least 5 characters long');
    const data = await this.load();
    data.users[userid] = {
      hash: password === null ? PAM_HASH : await hashPassword(password),
      role,
      enable: true,
      created: new Date().toISOString(),
    };
    await this.save({ users: { ...data.users }, tokens: { ...data.tokens } });
  }

  async removeUser(userid: string): Promise<boolean> {
    const data = await this.load();
    if (!data.users[userid]) return false;
    const users = { ...data.users };
    delete users[userid];
    const tokens = Object.fromEntries(Object.entries(data.tokens).filter(([k]) => !k.startsWith(`${userid}!`)));
    await this.save({ users, tokens });
    return true;
  }

  async listUsers(): Promise<{ userid: string; role: Role; enable: boolean; tokens: string[] }[]> {
    const data = await this.load();
    return Object.entries(data.users).map(([userid, u]) => ({
      userid,
      role: u.role,
      enable: u.enable,
      tokens: Object.keys(data.tokens).filter((t) => t.startsWith(`${userid}!`)),
    }));
  }

  /** Create an API token; returns the secret (shown once, stored hashed). */
  async addToken(
    userid: string,
    tokenid: string,
    privsep: boolean,
  ): Promise<{ 'full-tokenid': string; value: string }> {
    if (!TOKENID_RE.test(tokenid))
      throw new NodenetError(
        'USAGE',
        `invalid token id '${tokenid}': letters, digits, '.', '_', '-', starting with a letter`,
      );
    const data = await this.load();
    if (!this.user(data, userid))
      throw new NodenetError('USAGE', `no such user '${userid}' (add it first with \`nodenet user add ${userid}\`)`);
    const full = `${userid}!${tokenid}`;
    const value = randomUUID();
    await this.save({
      users: { ...data.users },
      tokens: { ...data.tokens, [full]: { hash: sha256hex(value), privsep, created: new Date().toISOString() } },
    });
    return { 'full-tokenid': full, value };
  }

  async removeToken(full: string): Promise<boolean> {
    const data = await this.load();
    if (!data.tokens[full]) return false;
    const tokens = { ...data.tokens };
    delete tokens[full];
    await this.save({ users: { ...data.users }, tokens });
    return true;
  }

  /** The HMAC key for tickets and CSRF tokens; created (0600) on first use. */
  async ticketKey(): Promise<Buffer> {
    if (this.key) return this.key;
    const existing = await fs.readFile(this.keyFile).catch(() => null);
    if (existing && existing.length >= 32) return (this.key = existing);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const k = randomBytes(32);
    try {
      await fs.writeFile(this.keyFile, k, { mode: 0o600, flag: 'wx' });
      this.key = k;
    } catch {
      // Another process made it first: use theirs.
      this.key = await fs.readFile(this.keyFile);
    }
    return this.key;
  }

  private privsFor(role: Role): ReadonlySet<Privilege> {
    return new Set(ROLE_PRIVS[role]);
  }

  /**
   * The record of `userid`; root@pam is implicitly an administrator checked by PAM (as on
   * Proxmox VE) unless users.json says otherwise.
   */
  private user(data: AuthFile, userid: string): UserRecord | undefined {
    if (Object.hasOwn(data.users, userid)) return data.users[userid];
    if (userid === 'root@pam') return { hash: PAM_HASH, role: 'admin', enable: true, created: '' };
    return undefined;
  }

  /** Check a username/password; returns the principal or null. */
  async login(userid: string, password: string): Promise<Principal | null> {
    const data = await this.load();
    const u = this.user(data, userid);
    if (u && u.enable && u.hash === PAM_HASH && userid.endsWith('@pam')) {
      if (!(await this.pam(userid.slice(0, -4), password))) return null;
      return { id: userid, user: userid, kind: 'ticket', privs: this.privsFor(u.role) };
    }
    if (!u || !u.enable || u.hash === PAM_HASH) {
      // Spend the same time as a real check so a wrong user name is not distinguishable by timing.
      await verifyPassword(
        password,
        `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`,
      );
      return null;
    }
    if (!(await verifyPassword(password, u.hash))) return null;
    return { id: userid, user: userid, kind: 'ticket', privs: this.privsFor(u.role) };
  }

  /** Make a ticket and CSRF token for a user (PVE formats; HMAC-SHA256 instead of RSA). */
  async issueTicket(userid: string, now = Date.now()): Promise<{ ticket: string; csrf: string }> {
    const key = await this.ticketKey();
    const hex = Math.floor(now / 1000)
      .toString(16)
      .toUpperCase()
      .padStart(8, '0');
    const plain = `PVE:${userid}:${hex}`;
    const sig = createHmac('sha256', key).update(plain).digest('base64url');
    return { ticket: `${plain}::${sig}`, csrf: this.csrfFor(key, userid, hex) };
  }

  private csrfFor(key: Buffer, userid: string, hex: string): string {
    return `${hex}:${createHmac('sha256', key).update(`csrf:${hex}:${userid}`).digest('base64url')}`;
  }

  /**
   * Verify a ticket: signature, age (2 h + 5 min grace), and that the user still exists and is enabled.
   * Returns the principal and the ticket's time field (for the CSRF check) or null.
   */
  async verifyTicket(ticket: string, now = Date.now()): Promise<{ principal: Principal; hex: string } | null> {
    const m = /^PVE:([^:\s]+):([0-9A-F]{8})::([A-Za-z0-9_-]+)$/.exec(ticket);
    if (!m) return null;
    const [, userid, hex, sig] = m as unknown as [string, string, string, string];
    const key = await this.ticketKey();
    const want = createHmac('sha256', key).update(`PVE:${userid}:${hex}`).digest('base64url');
    if (!safeEqual(sig, want)) return null;
    const age = Math.floor(now / 1000) - parseInt(hex, 16);
    if (age < -TICKET_GRACE_S || age > TICKET_LIFETIME_S + TICKET_GRACE_S) return null;
    const data = await this.load();
    const u = this.user(data, userid);
    if (!u || !u.enable) return null;
    if ((await this.revoked()).has(sig)) return null;
    return { principal: { id: userid, user: userid, kind: 'ticket', privs: this.privsFor(u.role), ticket }, hex };
  }

  private revokedCache: Map<string, number> | undefined;

  /** Signatures of logged-out tickets that have not expired yet (persisted, so a restart keeps them out). */
  private async revoked(): Promise<Map<string, number>> {
    if (this.revokedCache) return this.revokedCache;
    const m = new Map<string, number>();
    try {
      const list = JSON.parse(await fs.readFile(join(this.dir, 'revoked-tickets.json'), 'utf8')) as [string, number][];
      for (const [sig, exp] of list) if (exp > Date.now()) m.set(sig, exp);
    } catch {
      // none yet
    }
    this.revokedCache = m;
    return m;
  }

  /** Logout: the ticket stops working at once, not only when it expires. */
  async revokeTicket(ticket: string): Promise<void> {
    const m = /^PVE:[^:\s]+:([0-9A-F]{8})::([A-Za-z0-9_-]+)$/.exec(ticket);
    if (!m) return;
    const exp = (parseInt(m[1]!, 16) + TICKET_LIFETIME_S + TICKET_GRACE_S) * 1000;
    const map = await this.revoked();
    map.set(m[2]!, exp);
    for (const [k, e] of map) if (e <= Date.now()) map.delete(k);
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWrite(join(this.dir, 'revoked-tickets.json'), JSON.stringify([...map]), 0o600);
  }

  /** Check the CSRF token that goes with a ticket. */
  async verifyCsrf(token: string, userid: string, hex: string): Promise<boolean> {
    return safeEqual(token, this.csrfFor(await this.ticketKey(), userid, hex));
  }

  /** Verify `USER@REALM!TOKENID=SECRET`; returns the principal or null. */
  async verifyToken(value: string): Promise<Principal | null> {
    const eq = value.lastIndexOf('=');
    if (eq < 0) return null;
    const full = value.slice(0, eq).trim();
    const secret = value.slice(eq + 1).trim();
    const m = FULL_TOKEN_RE.exec(full);
    if (!m || !UUID_RE.test(secret)) return null;
    const data = await this.load();
    const t = Object.hasOwn(data.tokens, full) ? data.tokens[full] : undefined;
    const userid = m[1]!;
    const u = this.user(data, userid);
    if (!t || !u || !u.enable) return null;
    if (!safeEqual(sha256hex(secret.toLowerCase()), t.hash)) return null;
    const role: Role = t.privsep ? 'audit' : u.role;
    return { id: full, user: userid, kind: 'token', privs: this.privsFor(role) };
  }
}

/** The answer of {@link LoginLimiter.attempt}: go ahead (then report the outcome), or wait. */
export type LoginAttempt = { ok: true; fail(): void; succeed(): void } | { ok: false; retryAfterMs: number };

interface LimitState {
  /** Attempts in the window (an attempt counts from the moment it starts, before the password check). */
  times: number[];
  /** Blocks so far: each new block lasts twice as long as the last (backoff). */
  strikes: number;
  /** Blocked until this time. */
  until: number;
  last: number;
}

/**
 * Login attempts per source and per user name. An attempt is counted when it starts — before
 * the password is hashed — so parallel guesses cannot all be checked: after `max` attempts from
 * a source (or `userMax` for a user, from any source) within `windowMs`, further attempts are
 * refused without checking the password, for `windowMs`, then twice as long at each new block
 * (up to `maxBlockMs`). A successful login takes back only its own attempt from the source's
 * count and clears its own user's count: another account's success never resets anything.
 */
export class LoginLimiter {
  private readonly sources = new Map<string, LimitState>();
  private readonly users = new Map<string, LimitState>();

  constructor(
    readonly max = 10,
    readonly windowMs = 60_000,
    readonly userMax = 2 * max,
    readonly maxBlockMs = 3_600_000,
  ) {}

  private state(map: Map<string, LimitState>, key: string, now: number): LimitState {
    let st = map.get(key);
    // Forget a key once it has been quiet for longer than the longest block.
    if (st && now - st.last > Math.max(this.maxBlockMs, this.windowMs) && st.until <= now) st = undefined;
    if (!st) {
      st = { times: [], strikes: 0, until: 0, last: now };
      map.set(key, st);
      // Bound memory under a spray of sources or user names (the oldest key goes).
      if (map.size > 10_000) map.delete(map.keys().next().value!);
    }
    st.times = st.times.filter((t) => now - t < this.windowMs);
    return st;
  }

  /** Wait time for a key, blocking it (with backoff) when it has used up its attempts. */
  private wait(st: LimitState, max: number, now: number): number {
    if (st.until > now) return st.until - now;
    if (st.times.length < max) return 0;
    st.until = now + Math.min(this.windowMs * 2 ** st.strikes, this.maxBlockMs);
    st.strikes++;
    st.times = [];
    return st.until - now;
  }

  /** Start an attempt of `user` from `source`; counted at once. */
  attempt(source: string, user: string, now = Date.now()): LoginAttempt {
    const s = this.state(this.sources, sourceKey(source), now);
    const u = this.state(this.users, user, now);
    const wait = Math.max(this.wait(s, this.max, now), this.wait(u, this.userMax, now));
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    s.times.push(now);
    u.times.push(now);
    s.last = u.last = now;
    return {
      ok: true,
      fail: () => undefined,
      succeed: () => {
        const i = s.times.indexOf(now);
        if (i >= 0) s.times.splice(i, 1);
        this.users.delete(user);
      },
    };
  }
}

/** The key a source is counted under: its IPv4 address (also when IPv4-mapped), or its IPv6 /64. */
export function sourceKey(address: string): string {
  const a = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (!a.includes(':')) return a;
  const g = parseIPv6(a.replace(/%.*$/, ''));
  return g
    ? `${g
        .slice(0, 4)
        .map((x) => x.toString(16))
        .join(':')}::/64`
    : a;
}
