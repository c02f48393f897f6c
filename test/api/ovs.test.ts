/**
 * Open vSwitch through the HTTP API (issue 17): POST/PUT/DELETE of OVS interfaces with Proxmox
 * VE's parameters, GET with `ovs_tag`/`bond_mode` lifted out of `ovs_options`, and a deleted
 * port taken out of its bridge's `ovs_ports`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { form, raw, startServer } from './helpers.ts';
import type { Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startServer('03-bridged-default.interfaces');
});
after(() => h.close());

async function ok(method: string, path: string, body?: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await raw(h, method, `/nodes/pve/network${path}`, body ? { body: form(body) } : {});
  assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
  return (r.json as { data: Record<string, unknown> }).data;
}

describe('OVS objects through the API', () => {
  test('POST, GET, PUT and DELETE give Proxmox VE shape and clean the bridge', async () => {
    await ok('POST', '', { iface: 'vmbr1', type: 'OVSBridge', autostart: '1' });
    await ok('POST', '', {
      iface: 'int1',
      type: 'OVSIntPort',
      ovs_bridge: 'vmbr1',
      ovs_tag: '10',
      cidr: '10.1.0.2/24',
    });
    await ok('POST', '', {
      iface: 'bond0',
      type: 'OVSBond',
      ovs_bridge: 'vmbr1',
      ovs_bonds: 'enp3s0f1 enp3s0f2',
      bond_mode: 'balance-slb',
    });
    const staged = (await h.staged()) ?? '';
    assert.match(staged, /\nauto int1\niface int1 inet static\n\taddress 10.1.0.2\/24\n\tovs_type OVSIntPort\n/);
    assert.match(staged, /\tovs_bridge vmbr1\n\tovs_options tag=10\n/);
    assert.match(
      staged,
      /\tovs_bonds enp3s0f1 enp3s0f2\n\tovs_type OVSBond\n\tovs_bridge vmbr1\n\tovs_options bond_mode=balance-slb\n/,
    );
    assert.match(staged, /\tovs_type OVSBridge\n\tovs_ports int1 bond0\n/);
    const int = await ok('GET', '/int1');
    assert.equal(int.ovs_tag, '10');
    assert.equal(int.ovs_options, undefined);
    assert.equal((await ok('GET', '/bond0')).bond_mode, 'balance-slb');
    await ok('PUT', '/int1', { type: 'OVSIntPort', ovs_tag: '20' });
    assert.equal((await ok('GET', '/int1')).ovs_tag, '20');
    const list = (await ok('GET', '?type=OVSBridge')) as unknown as { iface: string; ovs_ports: string }[];
    assert.deepEqual(
      list.map((i) => [i.iface, i.ovs_ports]),
      [['vmbr1', 'int1 bond0']],
    );
    await ok('DELETE', '/int1');
    assert.equal((await ok('GET', '/vmbr1')).ovs_ports, 'bond0');
    assert.doesNotMatch((await h.staged()) ?? '', /int1/);
  });
});
