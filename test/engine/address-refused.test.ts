/**
 * The address of the issue, `32.1.13.184::5/64` (an IPv4 address where IPv6 groups belong),
 * is refused by every path that takes an address: the parameter formats, `check` and the
 * core's create and update. The address parser itself is tested against node:net and
 * Python's ipaddress in src/model/ip.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NetworkCore } from '../../src/core/network.ts';
import { NodenetError } from '../../src/errors.ts';
import { checkFormat } from '../../src/model/params.ts';

describe('32.1.13.184::5/64 is refused everywhere', () => {
  it('by the parameter formats (cidr6, ipv6, gateway6)', () => {
    assert.match(checkFormat('CIDRv6', '32.1.13.184::5/64') ?? '', /not look like a valid IPv6/);
    assert.match(checkFormat('ipv6', '32.1.13.184::5') ?? '', /not look like a valid IPv6/);
    assert.equal(checkFormat('CIDRv6', '::ffff:192.0.2.1/120'), null);
  });

  it('by check (ADDRESS_INVALID) and by create --cidr6 / update cidr6 through the core', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodenet-addr-'));
    try {
      mkdirSync(join(dir, 'etc/network'), { recursive: true });
      writeFileSync(
        join(dir, 'etc/network/interfaces'),
        'auto lo\niface lo inet loopback\n\niface vmbr0 inet6 static\n\taddress 2001:db8::2/64\n\tbridge-ports none\n',
      );
      const core = new NetworkCore({ root: dir });
      const diags = await core.check('iface vmbr1 inet6 static\n\taddress 32.1.13.184::5/64\n\tbridge-ports none\n');
      assert.ok(
        diags.some((d) => d.code === 'ADDRESS_INVALID' && d.severity === 'error'),
        JSON.stringify(diags),
      );
      await assert.rejects(
        core.create('vmbr2', { type: 'bridge', cidr6: '32.1.13.184::5/64' }),
        (e: unknown) => e instanceof NodenetError && /cidr6/.test(JSON.stringify(e.errors)),
      );
      await assert.rejects(
        core.update('vmbr0', { cidr6: '32.1.13.184::5/64' }),
        (e: unknown) => e instanceof NodenetError && /cidr6/.test(JSON.stringify(e.errors)),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
