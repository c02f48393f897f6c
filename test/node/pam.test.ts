/**
 * NAME@pam logins against the host's real PAM stack (Debian's pamtester, service `login` here:
 * the package's /etc/pam.d/nodenet is tested in the full-system tier), through the real HTTPS
 * server and Debian's python3-proxmoxer, with a real system account created for the test
 * (useradd + chpasswd) and removed after it.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../src/cli/main.ts';
import { startServer, type Harness } from '../api/helpers.ts';

const run = promisify(execFile);
const CI = process.env.CI === 'true';
const USER = `nnpam${process.pid % 100000}`;
const PW = 'Pam-s3cret pass!';
let h: Harness | undefined;
let work = '';
let missing = '';

before(async () => {
  const need: [string, string[]][] = [
    ['pamtester', ['pamtester', '-v']],
    ['useradd', ['useradd', '--help']],
    ['python3-proxmoxer', ['/usr/bin/python3', '-c', 'import proxmoxer, requests']],
  ];
  for (const [name, argv] of need) if (spawnSync(argv[0]!, argv.slice(1)).error) missing ||= name;
  if (!missing && spawnSync('/usr/bin/python3', ['-c', 'import proxmoxer, requests']).status !== 0)
    missing = 'python3-proxmoxer';
  if (!missing && process.getuid?.() !== 0) missing = 'root (useradd)';
  if (missing) {
    if (CI) throw new Error(`missing prerequisite: ${missing}`);
    return;
  }
  spawnSync('userdel', [USER]);
  assert.equal(spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', USER]).status, 0);
  assert.equal(spawnSync('chpasswd', [], { input: `${USER}:${PW}\n` }).status, 0);
  work = mkdtempSync(join(tmpdir(), 'nodenet-pam-'));
  // A wrapper that records how pamtester is called (argv), then runs the real one.
  const wrapper = join(work, 'pamtester');
  writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${work}/argv'\nexec pamtester "$@"\n`);
  chmodSync(wrapper, 0o755);
  process.env.NODENET_PAMTESTER = wrapper;
  h = await startServer();
});

after(async () => {
  if (!missing) spawnSync('userdel', [USER]);
  delete process.env.NODENET_PAMTESTER;
  await h?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['--root', h!.root, ...argv], { out: (s) => (out += s), err: (s) => (out += s), tty: false });
  return { code, out };
}

/** proxmoxer logs in with a password and lists the networks (`list`) or creates a bridge (`create`). */
async function proxmoxer(
  user: string,
  password: string,
  action: 'list' | 'create',
): Promise<{ ok: boolean; text: string }> {
  const code = `
import json, os, sys
from proxmoxer import ProxmoxAPI
try:
    p = ProxmoxAPI('127.0.0.1', port=int(os.environ['PORT']), user=os.environ['PUSER'], password=os.environ['PW'], verify_ssl=False)
    n = p.nodes('pve').network
    if os.environ['ACTION'] == 'list':
        print(json.dumps(sorted(i['iface'] for i in n.get())))
    else:
        n.post(iface='vmbr42', type='bridge', autostart=1)
        print(json.dumps('created'))
except Exception as e:
    print(json.dumps({'error': type(e).__name__ + ': ' + str(e)}))
`;
  const { stdout } = await run('/usr/bin/python3', ['-c', code], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: String(h!.port),
      PUSER: user,
      PW: password,
      ACTION: action,
      PYTHONWARNINGS: 'ignore',
    },
    timeout: 60_000,
  });
  const v = JSON.parse(stdout.trim().split('\n').pop()!) as unknown;
  return { ok: !(typeof v === 'object' && v !== null && 'error' in v), text: JSON.stringify(v) };
}

test('a system account logs in as NAME@pam with its system password once granted a role (no password asked)', async (t) => {
  if (missing) return t.skip(`missing ${missing}`);
  // Not granted: PAM is not even asked.
  assert.equal((await proxmoxer(`${USER}@pam`, PW, 'list')).ok, false);
  const add = await cli('user', 'add', `${USER}@pam`, '--role', 'audit');
  assert.equal(add.code, 0, add.out);
  assert.match(add.out, /password checked by PAM/);
  const users = JSON.parse(readFileSync(join(h!.root, 'etc/nodenet/users.json'), 'utf8')) as {
    users: Record<string, { hash: string; role: string }>;
  };
  assert.equal(users.users[`${USER}@pam`]?.hash, 'pam', 'no password stored for a pam user');
  const list = await proxmoxer(`${USER}@pam`, PW, 'list');
  assert.ok(list.ok, list.text);
  assert.match(list.text, /vmbr0/);
  // The role holds: audit may not change anything.
  const create = await proxmoxer(`${USER}@pam`, PW, 'create');
  assert.equal(create.ok, false, create.text);
  assert.match(create.text, /403/);
  // Granted admin: the same login may change.
  assert.equal((await cli('user', 'add', `${USER}@pam`, '--role', 'admin')).code, 0);
  const created = await proxmoxer(`${USER}@pam`, PW, 'create');
  assert.ok(created.ok, created.text);
});

test('a wrong system password is refused, and the password never reaches pamtester argv', async (t) => {
  if (missing) return t.skip(`missing ${missing}`);
  assert.equal((await cli('user', 'add', `${USER}@pam`, '--role', 'admin')).code, 0);
  const bad = await proxmoxer(`${USER}@pam`, `${PW}x`, 'list');
  assert.equal(bad.ok, false);
  assert.match(bad.text, /AuthenticationError|401/);
  const argv = readFileSync(join(work, 'argv'), 'utf8');
  assert.match(argv, new RegExp(`^${USER}$`, 'm'));
  assert.match(argv, /^authenticate$/m);
  assert.ok(!argv.includes(PW.slice(0, 8)), 'the password was passed in argv');
});

test('root@pam without a users.json entry is an administrator checked by PAM: a wrong password is refused', async (t) => {
  if (missing) return t.skip(`missing ${missing}`);
  assert.equal((await cli('user', 'delete', 'root@pam')).code, 0);
  const before = readFileSync(join(work, 'argv'), 'utf8').length;
  const r = await proxmoxer('root@pam', 'certainly-not-the-root-password', 'list');
  assert.equal(r.ok, false);
  // PAM was asked about root.
  assert.match(readFileSync(join(work, 'argv'), 'utf8').slice(before), /^root$/m);
});
