/** Debian's python3-proxmoxer (run with /usr/bin/python3) against a real server: token and ticket auth. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PASSWORD, requirePrereq, startServer } from './helpers.ts';
import type { Harness } from './helpers.ts';

const run = promisify(execFile);
const PY = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./proxmoxer-flow.py', import.meta.url));

let hasProxmoxer = false;
before(async () => {
  try {
    await run(PY, ['-c', 'import proxmoxer, requests']);
    hasProxmoxer = true;
  } catch {
    hasProxmoxer = false;
  }
});

for (const mode of ['token', 'ticket'] as const) {
  test(`proxmoxer 1.2.0 (${mode} auth): list, create, get, update+delete=, changes, duplicate, revert, apply+task, delete`, async (t) => {
    if (
      !requirePrereq(
        t,
        hasProxmoxer,
        `${PY} with proxmoxer and requests (apt-get install python3-proxmoxer python3-requests)`,
      )
    )
      return;
    const h: Harness = await startServer();
    t.after(() => h.close());
    const before = await h.interfaces();
    const { stdout } = await run(PY, [SCRIPT], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PORT: String(h.port),
        MODE: mode,
        USER: 'root@pam',
        PASSWORD,
        TOKEN_NAME: 'ci',
        TOKEN_VALUE: h.token,
        PYTHONWARNINGS: 'ignore',
      },
      timeout: 60_000,
    }).catch((e: { stderr?: string; message: string }) =>
      assert.fail(`proxmoxer flow failed:\n${e.stderr ?? e.message}`),
    );
    const seen = JSON.parse(stdout.trim().split('\n').pop()!) as { upid: string; upid2: string; changes: string };
    assert.match(
      seen.upid,
      new RegExp(
        `^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:srvreload:networking:root@pam${mode === 'token' ? '!ci' : ''}:$`,
      ),
    );
    // Applied, then deleted and applied again: the live file is back to its original bytes.
    assert.equal(await h.interfaces(), before);
    assert.equal(await h.staged(), null);
    // Both applies are in the audit log, without secrets.
    await h.srv.audit.flush();
    const audit = await import('node:fs').then((fs) =>
      fs.promises.readFile(`${h.root}/var/lib/nodenet/audit.log`, 'utf8'),
    );
    assert.match(audit, /"method":"PUT","path":"\/api2\/json\/nodes\/pve\/network"/);
    assert.doesNotMatch(audit, new RegExp(PASSWORD));
    assert.doesNotMatch(audit, new RegExp(h.token));
  });
}
