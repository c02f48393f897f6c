/**
 * NAME@pam logins against the host's PAM stack, as Proxmox VE's pam realm. nodenet links no PAM
 * library: it runs Debian's `pamtester` (package pamtester) as a child with the password on its
 * stdin — never in argv or the environment — and reads only its exit status. The PAM service is
 * `nodenet` (/etc/pam.d/nodenet, installed by the package), else `login`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Checks a system user's password; resolves false on any failure (wrong password, no helper). */
export type PamAuth = (user: string, password: string) => Promise<boolean>;

/** System user names PAM may be asked about (no option-like or control characters). */
export const PAM_USER_RE = /^[a-z_][a-z0-9_.-]{0,31}\$?$/i;

export interface PamOptions {
  /** The helper (default `pamtester` from PATH, $NODENET_PAMTESTER when set). */
  helper?: string;
  /** The PAM service (default `nodenet` when /etc/pam.d/nodenet exists, else `login`). */
  service?: string;
  timeoutMs?: number;
}

export function pamService(): string {
  return existsSync('/etc/pam.d/nodenet') ? 'nodenet' : 'login';
}

/** A {@link PamAuth} running `pamtester SERVICE USER authenticate acct_mgmt`. */
export function pamtesterAuth(opts: PamOptions = {}): PamAuth {
  return (user, password) =>
    new Promise((resolve) => {
      if (!PAM_USER_RE.test(user) || /[\0\r\n]/.test(password) || password.length > 4096) return resolve(false);
      const helper = opts.helper ?? process.env.NODENET_PAMTESTER ?? 'pamtester';
      let child;
      try {
        child = spawn(helper, [opts.service ?? pamService(), user, 'authenticate', 'acct_mgmt'], {
          stdio: ['pipe', 'ignore', 'ignore'],
          env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
        });
      } catch {
        return resolve(false);
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
      child.on('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${password}\n`);
    });
}
