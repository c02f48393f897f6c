/**
 * Security: control characters in every parameter, path tricks, oversized bodies, missing or
 * invalid credentials, CSRF, read-only principals, stale digests, GET/DELETE bodies.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JSON_CONTENT_TYPE } from '../../src/api/http.ts';
import { form, login, PASSWORD, raw, startServer } from './helpers.ts';
import type { Harness } from './helpers.ts';

let h: Harness;
let liveBefore: string;
before(async () => {
  h = await startServer('03-bridged-default.interfaces', {
    bodyLimit: 16 * 1024,
    loginLimit: { max: 5, windowMs: 60_000 },
  });
  liveBefore = await h.interfaces();
});
after(() => h.close());

/** Nothing reached the files. */
async function untouched(): Promise<void> {
  assert.equal(await h.interfaces(), liveBefore);
  assert.equal(await h.staged(), null);
}

const INJECT = 'post-up touch /tmp/nodenet-pwned';
const CONTROL = ['\n', '\r', '\0', '\t', '\x1b', '\x7f', '\v', '\f', '\u0085', '\u2028', '\r\n'];
/** A valid value for each parameter, so only the control character makes it invalid. */
const VALID: Record<string, string> = {
  type: 'bridge',
  comments: 'note',
  comments6: 'note',
  bridge_ports: 'eth9',
  cidr: '10.9.0.1/24',
  gateway: '10.9.0.254',
  cidr6: 'fd00::1/64',
  gateway6: 'fd00::fe',
  address: '10.9.0.1',
  netmask: '255.255.255.0',
  address6: 'fd00::1',
  netmask6: '64',
  mtu: '1500',
  bridge_vids: '2-100',
  bridge_vlan_aware: '1',
  autostart: '1',
  bond_mode: 'active-backup',
  bond_xmit_hash_policy: 'layer2',
  'bond-primary': 'eth8',
  slaves: 'eth8 eth9',
  'vlan-raw-device': 'eth9',
  'vlan-id': '100',
  ovs_options: 'tag=1',
  ovs_bridge: 'vmbr0',
  bridge_stp: 'off',
  bridge_fd: '0',
  digest: 'a'.repeat(64),
};

describe('control characters', () => {
  for (const [param, valid] of Object.entries(VALID)) {
    test(`${param}: refused with every control character (form and JSON, create and update)`, async () => {
      for (const c of CONTROL) {
        const evil = `${valid}${c}${INJECT}`;
        // \n is allowed in comments: it separates comment lines (checked below).
        const allowed = c === '\n' && (param === 'comments' || param === 'comments6');
        if (allowed) continue;
        const create = { iface: 'vmbr9', type: 'bridge', [param]: evil };
        const r1 = await raw(h, 'POST', '/nodes/pve/network', { body: form(create) });
        assert.equal(r1.status, 400, `${param} ${JSON.stringify(c)}: ${r1.text}`);
        assert.ok(r1.json.errors[param], `${param} ${JSON.stringify(c)}: ${r1.text}`);
        const r2 = await raw(h, 'POST', '/nodes/pve/network', {
          body: JSON.stringify(create),
          headers: { 'Content-Type': 'application/json' },
        });
        assert.equal(r2.status, 400, `${param} JSON ${JSON.stringify(c)}: ${r2.text}`);
        const r3 = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', { body: form({ type: 'bridge', [param]: evil }) });
        assert.equal(r3.status, 400, `${param} PUT ${JSON.stringify(c)}: ${r3.text}`);
      }
      await untouched();
    });
  }

  test('iface (body and path) and delete= refuse control characters', async () => {
    for (const c of CONTROL) {
      const r1 = await raw(h, 'POST', '/nodes/pve/network', {
        body: form({ iface: `vmbr9${c}${INJECT}`, type: 'bridge' }),
      });
      assert.equal(r1.status, 400, r1.text);
      assert.ok(r1.json.errors.iface);
      for (const m of ['GET', 'PUT', 'DELETE']) {
        const r2 = await raw(
          h,
          m,
          `/nodes/pve/network/vmbr0${encodeURIComponent(c)}x`,
          m === 'PUT' ? { body: form({ type: 'bridge' }) } : {},
        );
        assert.equal(r2.status, 400, `${m} ${JSON.stringify(c)} ${r2.text}`);
      }
      const r3 = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', {
        body: form({ type: 'bridge', delete: `comments${c}mtu` }),
      });
      assert.equal(r3.status, 400, r3.text);
      const r4 = await raw(h, 'GET', `/nodes/pve/network?type=bridge${encodeURIComponent(c)}`);
      assert.equal(r4.status, 400, r4.text);
    }
    await untouched();
  });

  test('a newline in comments becomes another comment line, never an option line', async () => {
    const r = await raw(h, 'POST', '/nodes/pve/network', {
      body: form({
        iface: 'vmbr9',
        type: 'bridge',
        comments: `first\n${INJECT}\n  bridge-ports eth0\nauto evil\niface evil inet manual`,
      }),
    });
    assert.equal(r.status, 200, r.text);
    const staged = (await h.staged())!;
    for (const line of staged.split('\n')) {
      const t = line.trim();
      if (
        t.includes('nodenet-pwned') ||
        t === 'auto evil' ||
        t.startsWith('iface evil') ||
        t.endsWith('bridge-ports eth0')
      )
        assert.ok(t.startsWith('#'), `uncommented injected line: ${JSON.stringify(line)}`);
    }
    assert.equal(staged.split('\n').filter((l) => /^\s*post-up/.test(l)).length, 0);
    assert.equal((await raw(h, 'DELETE', '/nodes/pve/network')).status, 200);
    await untouched();
  });
});

describe('path tricks', () => {
  const paths = [
    '/nodes/pve/network/../x',
    '/nodes/pve/network/..',
    '/nodes/pve/network/%2e%2e',
    '/nodes/pve/network/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/nodes/pve/network/vmbr0/../../etc',
    '/nodes/pve/network/vmbr0%2F..%2F..%2Fetc',
    '/nodes/pve/network/vmbr0%00',
    '/nodes/pve/network/%ff',
    '/nodes/pve/network/%',
    '/nodes/../../etc/network',
    '/nodes/%2e%2e/network',
    '/nodes/pve/network//',
    '/../../etc/passwd',
  ];
  for (const p of paths) {
    test(`${p} is refused for GET, PUT, DELETE`, async () => {
      for (const m of ['GET', 'PUT', 'DELETE']) {
        const r = await raw(h, m, p, m === 'PUT' ? { body: form({ type: 'bridge', comments: 'x' }) } : {});
        assert.ok(r.status === 400 || r.status === 501, `${m} ${p}: ${r.status} ${r.text}`);
        if (r.text) assert.equal(r.headers['content-type'], JSON_CONTENT_TYPE);
      }
      await untouched();
    });
  }
  test('a request outside /api2/json is 501', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      void import('node:https').then(({ request }) => {
        const req = request(
          { host: '127.0.0.1', port: h.port, path: '/api2/json/../../etc/passwd', rejectUnauthorized: false },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    });
    assert.equal(r, 501);
  });
});

describe('requests', () => {
  test('oversized bodies are 413', async () => {
    const big = form({ iface: 'vmbr9', type: 'bridge', comments: 'x'.repeat(20 * 1024) });
    const r = await raw(h, 'POST', '/nodes/pve/network', { body: big });
    assert.equal(r.status, 413);
    await untouched();
  });
  test('GET and DELETE with a body are 501, as PVE', async () => {
    for (const m of ['GET', 'DELETE']) {
      const r = await raw(h, m, '/nodes/pve/network', { body: 'a=1' });
      assert.equal(r.status, 501);
      assert.equal(r.reason, `Unexpected content for method '${m}'`);
    }
    await untouched();
  });
  test('errors: byte-exact Content-Type, reason phrase = first line, PVE body', async () => {
    const r = await raw(h, 'POST', '/nodes/pve/network', { body: form({ iface: 'vmbr9', type: 'bridge', mtu: 10 }) });
    assert.equal(r.status, 400);
    assert.equal(r.reason, 'Parameter verification failed.');
    assert.equal(r.headers['content-type'], 'application/json;charset=UTF-8');
    assert.deepEqual(r.json, {
      data: null,
      errors: { mtu: 'value must have a minimum value of 1280' },
      message: 'Parameter verification failed.\n',
    });
    const u = await raw(h, 'POST', '/nodes/pve/network', { body: form({ iface: 'vmbr9', type: 'bridge', bogus: 1 }) });
    assert.match(u.json.errors.bogus, /^property is not defined in schema/);
    const b = await raw(h, 'POST', '/nodes/pve/network', {
      body: form({ iface: 'vmbr9', type: 'bridge', autostart: 'true' }),
    });
    assert.equal(b.json.errors.autostart, "type check ('boolean') failed - got 'true'");
    const n = await raw(h, 'GET', '/nodes/other/network');
    assert.equal(n.status, 400);
    assert.match(n.json.errors.node, /no such node 'other'/);
    const d = await raw(h, 'PUT', '/nodes/pve/network/vmbr0?iface=vmbr1', { body: form({ type: 'bridge' }) });
    assert.equal(d.json.errors.iface, 'duplicate parameter (already defined in URI) with conflicting values!');
    const t = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', { body: form({ mtu: 1500 }) });
    assert.equal(t.json.errors.type, 'property is missing and it is not optional');
    await untouched();
  });
  test('localhost is this node', async () => {
    const r = await raw(h, 'GET', '/nodes/localhost/network');
    assert.equal(r.status, 200);
  });
});

describe('authentication', () => {
  test('no credentials: 401 No ticket, empty body', async () => {
    for (const [m, p] of [
      ['GET', '/nodes/pve/network'],
      ['POST', '/nodes/pve/network'],
      ['GET', '/version'],
      ['PUT', '/nodes/pve/network'],
    ] as const) {
      const r = await raw(h, m, p, {
        auth: 'none',
        ...(m === 'POST' ? { body: form({ iface: 'vmbr9', type: 'bridge' }) } : {}),
      });
      assert.equal(r.status, 401);
      assert.equal(r.reason, 'No ticket');
      assert.equal(r.text, '');
    }
    await untouched();
  });
  test('wrong token, malformed token, wrong ticket: 401', async () => {
    const bad = [
      { Authorization: `PVEAPIToken=${h.tokenId}=00000000-0000-4000-8000-000000000000` },
      { Authorization: 'PVEAPIToken=root@pam!nope=00000000-0000-4000-8000-000000000000' },
      { Authorization: 'PVEAPIToken=garbage' },
      { Cookie: 'PVEAuthCookie=PVE:root@pam:6B0A1995::forged' },
    ];
    for (const headers of bad) {
      const r = await raw(h, 'GET', '/nodes/pve/network', { auth: 'none', headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
    }
  });
  test('a ticket signed for another user or tampered is refused', async () => {
    const { ticket } = await login(h);
    const tampered = ticket.replace('root@pam', 'audit@pve');
    assert.equal((await raw(h, 'GET', '/nodes/pve/network', { auth: { ticket: tampered } })).status, 401);
  });
  test('wrong password: 401 authentication failure; then rate limited', async () => {
    const r = await raw(h, 'POST', '/access/ticket', {
      auth: 'none',
      body: form({ username: 'root@pam', password: 'wrong' }),
    });
    assert.equal(r.status, 401);
    assert.equal(r.reason, 'authentication failure');
    assert.equal(r.json.message, 'authentication failure\n');
    const nouser = await raw(h, 'POST', '/access/ticket', {
      auth: 'none',
      body: form({ username: 'nobody@pve', password: 'wrong' }),
    });
    assert.equal(nouser.status, 401);
    let last = 0;
    for (let i = 0; i < 6; i++)
      last = (
        await raw(h, 'POST', '/access/ticket', {
          auth: 'none',
          body: form({ username: 'root@pam', password: 'wrong' }),
        })
      ).status;
    assert.equal(last, 429);
    // While blocked even the right password is refused from this source.
    assert.equal(
      (
        await raw(h, 'POST', '/access/ticket', {
          auth: 'none',
          body: form({ username: 'root@pam', password: PASSWORD }),
        })
      ).status,
      429,
    );
    await h.srv.audit.flush();
    const audit = await fs.readFile(join(h.root, 'var/lib/nodenet/audit.log'), 'utf8');
    assert.doesNotMatch(audit, /wrong|secret-pw/);
  });
});

describe('CSRF and privileges', () => {
  test('ticket without or with a bad CSRF token cannot write', async () => {
    // Fresh server: the login limiter above has blocked 127.0.0.1 on the shared one.
    const h2 = await startServer();
    try {
      const { ticket, csrf } = await login(h2);
      const body = form({ iface: 'vmbr9', type: 'bridge' });
      const none = await raw(h2, 'POST', '/nodes/pve/network', { auth: { ticket }, body });
      assert.equal(none.status, 401);
      assert.equal(none.reason, 'Permission denied - invalid csrf token');
      const bad = await raw(h2, 'POST', '/nodes/pve/network', {
        auth: { ticket, csrf: `${csrf.slice(0, 9)}AAAA` },
        body,
      });
      assert.equal(bad.status, 401);
      for (const m of ['PUT', 'DELETE'])
        assert.equal((await raw(h2, m, '/nodes/pve/network', { auth: { ticket } })).status, 401);
      assert.equal(await h2.staged(), null);
      // GET needs no CSRF token; a write with it works.
      assert.equal((await raw(h2, 'GET', '/nodes/pve/network', { auth: { ticket } })).status, 200);
      assert.equal((await raw(h2, 'POST', '/nodes/pve/network', { auth: { ticket, csrf }, body })).status, 200);

      // Read-only user (role audit): reads, cannot write.
      const ro = await login(h2, 'audit@pve', PASSWORD);
      assert.equal((await raw(h2, 'GET', '/nodes/pve/network', { auth: { ticket: ro.ticket } })).status, 200);
      const w = await raw(h2, 'DELETE', '/nodes/pve/network/vmbr9', { auth: { ticket: ro.ticket, csrf: ro.csrf } });
      assert.equal(w.status, 403);
      assert.equal(w.reason, 'Permission check failed (/nodes/pve, Sys.Modify)');
    } finally {
      await h2.close();
    }
  });
  test('read-only (privsep) token: reads work, every write is 403', async () => {
    assert.equal((await raw(h, 'GET', '/nodes/pve/network', { auth: 'ro' })).status, 200);
    const writes: [string, string, string?][] = [
      ['POST', '/nodes/pve/network', form({ iface: 'vmbr9', type: 'bridge' })],
      ['PUT', '/nodes/pve/network/vmbr0', form({ type: 'bridge', mtu: 9000 })],
      ['DELETE', '/nodes/pve/network/vmbr0'],
      ['PUT', '/nodes/pve/network'],
      ['DELETE', '/nodes/pve/network'],
      ['POST', '/nodes/pve/network/rollback'],
      ['POST', '/nodes/pve/network/confirm'],
    ];
    for (const [m, p, body] of writes) {
      const r = await raw(h, m, p, { auth: 'ro', ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${m} ${p}`);
      assert.equal(r.reason, 'Permission check failed (/nodes/pve, Sys.Modify)');
    }
    await untouched();
  });
});

describe('digests', () => {
  test('stale digest: 409 telling to reload and retry; fresh digest: 200', async () => {
    const l = await raw(h, 'GET', '/nodes/pve/network');
    const d0 = l.json.digest as string;
    assert.match(d0, /^[0-9a-f]{64}$/);
    const ok = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', {
      body: form({ type: 'bridge', comments: 'first', digest: d0 }),
    });
    assert.equal(ok.status, 200, ok.text);
    assert.notEqual(ok.json.digest, d0);
    const stale = await raw(h, 'PUT', '/nodes/pve/network/vmbr0', {
      body: form({ type: 'bridge', comments: 'second', digest: d0 }),
    });
    assert.equal(stale.status, 409);
    assert.match(stale.reason, /reload and retry/);
    assert.match((await h.staged())!, /# ?first/);
    assert.doesNotMatch((await h.staged())!, /second/);
    const staleDel = await raw(h, 'DELETE', `/nodes/pve/network/vmbr0?digest=${d0}`);
    assert.equal(staleDel.status, 409);
    const staleApply = await raw(h, 'PUT', '/nodes/pve/network', { body: form({ digest: d0 }) });
    assert.equal(staleApply.status, 409);
    assert.equal((await raw(h, 'DELETE', '/nodes/pve/network')).status, 200);
    await untouched();
  });
});
