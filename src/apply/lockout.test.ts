import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../interfaces/parser.ts';
import { buildModel } from '../model/build.ts';
import { lockoutRisk, sshConnection } from './lockout.ts';

const base = `auto lo
iface lo inet loopback

iface eno1 inet manual
iface eno2 inet manual

auto vmbr0
iface vmbr0 inet static
	address 192.0.2.50/24
	gateway 192.0.2.1
	bridge-ports eno1
	bridge-stp off
	bridge-fd 0

auto vmbr1
iface vmbr1 inet static
	address 10.10.10.1/24
	bridge-ports none
`;
const m = (t: string) => buildModel(parse(t));
const conn = { local: '192.0.2.50', remote: '198.51.100.7' };

describe('lockoutRisk', () => {
  it('is silent for changes that do not touch the connection', () => {
    assert.equal(lockoutRisk(m(base), m(base.replace('10.10.10.1/24', '10.10.20.1/24')), conn), null);
    assert.equal(lockoutRisk(m(base), m(base), { local: '127.0.0.1', remote: '127.0.0.1' }), null);
    assert.equal(
      lockoutRisk(m(base), m(base.replace('bridge-ports eno1', 'bridge-ports eno2')), {
        local: '10.10.10.1',
        remote: '10.10.10.5',
      }),
      null,
    );
  });
  it('names the interface when its port moves', () => {
    const r = lockoutRisk(m(base), m(base.replace('bridge-ports eno1', 'bridge-ports eno2')), conn);
    assert.match(
      r ?? '',
      /ports under vmbr0, which carries your connection \(you reached this node on 192\.0\.2\.50 from 198\.51\.100\.7\): eno1 → eno2/,
    );
  });
  it('catches a moved address, a removed interface and a new default gateway', () => {
    assert.match(
      lockoutRisk(m(base), m(base.replace('192.0.2.50/24', '192.0.2.60/24')), conn) ?? '',
      /moves or removes the address 192\.0\.2\.50/,
    );
    assert.match(
      lockoutRisk(m(base), m(base.replace(/auto vmbr0[\s\S]*bridge-fd 0\n/, '')), conn) ?? '',
      /removes vmbr0/,
    );
    assert.match(
      lockoutRisk(m(base), m(base.replace('gateway 192.0.2.1', 'gateway 192.0.2.254')), conn) ?? '',
      /default gateway 192\.0\.2\.1 with 192\.0\.2\.254/,
    );
    // a client on the same subnet does not need the gateway
    assert.equal(
      lockoutRisk(m(base), m(base.replace('gateway 192.0.2.1', 'gateway 192.0.2.254')), {
        local: '192.0.2.50',
        remote: '192.0.2.9',
      }),
      null,
    );
  });
  it('sees an auto line that a comment ending in a backslash swallows, as ifupdown2 does', () => {
    // ifupdown2 joins `# spare port \` with the next line: `auto vmbr0` is gone for it.
    const after = base.replace('iface eno2 inet manual\n', 'iface eno2 inet manual\n# spare port \\\n');
    assert.equal(m(after).ifaces.get('vmbr0')?.autostart, false);
    assert.match(
      lockoutRisk(m(base), m(after), conn) ?? '',
      /takes vmbr0, which carries your connection .* out of autostart/,
    );
  });
  it('reads SSH_CONNECTION', () => {
    assert.deepEqual(sshConnection({ SSH_CONNECTION: '198.51.100.7 52814 192.0.2.50 22' }), {
      remote: '198.51.100.7',
      local: '192.0.2.50',
    });
    assert.equal(sshConnection({}), undefined);
  });
});
