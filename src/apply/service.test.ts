import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { NetworkCore } from '../core/network.ts';
import { NodenetError } from '../errors.ts';
import { ConfigStore } from '../store/store.ts';
import { createBackend } from './backend.ts';
import { listHistory, type HistoryMeta } from './history.ts';
import { ApplyService, CONFIRM_TIMEOUT, confirmWindow, parseConfirmTimeout, resolveRollbackTarget } from './service.ts';

const file = (addr: string, port = 'eno1'): string =>
  `auto lo\niface lo inet loopback\n\niface ${port} inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress ${addr}\n\tgateway 192.168.100.1\n\tbridge-ports ${port}\n\tbridge-stp off\n\tbridge-fd 0\n`;

const isCode = (code: string, msg?: RegExp) => (e: unknown) =>
  e instanceof NodenetError && e.code === code && (msg === undefined || msg.test(e.message));

describe('confirm-timeout spec', () => {
  test('one range, 0 to 86400, for the CLI and the API; 0 or absent = no window', () => {
    assert.deepEqual([CONFIRM_TIMEOUT.minimum, CONFIRM_TIMEOUT.maximum], [0, 86400]);
    assert.equal(parseConfirmTimeout(undefined), undefined);
    assert.equal(parseConfirmTimeout('0'), 0);
    assert.equal(parseConfirmTimeout('120'), 120);
    assert.equal(parseConfirmTimeout('86400'), 86400);
    for (const bad of ['86401', '-1', '1.5', '1e3', '0x10', ' 60', '', 'sixty']) {
      assert.throws(() => parseConfirmTimeout(bad), isCode('USAGE', /from 0 \(no window\) to 86400/), bad);
    }
    assert.equal(confirmWindow(undefined), undefined);
    assert.equal(confirmWindow(0), undefined);
    assert.equal(confirmWindow(30), 30);
  });
});

describe('resolveRollbackTarget', () => {
  const meta = (id: number): HistoryMeta => ({
    id,
    action: 'apply',
    user: 'u',
    when: '',
    digestBefore: '',
    digestAfter: '',
    changed: [],
    outcome: 'committed',
  });
  const list = [meta(3), meta(4), meta(7)]; // oldest first, ids with gaps (retention)

  test('an id is the entry with that id, the number `history` shows, pending or not', () => {
    assert.deepEqual(resolveRollbackTarget(list, false, { id: 4 }), { pending: false, id: 4 });
    assert.deepEqual(resolveRollbackTarget(list, true, { id: 3 }), { pending: false, id: 3 });
    assert.throws(() => resolveRollbackTarget(list, false, { id: 5 }), isCode('NOT_FOUND', /^no history entry #5$/));
    assert.throws(() => resolveRollbackTarget(list, false, { id: 2 }), isCode('NOT_FOUND'));
  });

  test('n is a position, 1 = the newest entry', () => {
    assert.deepEqual(resolveRollbackTarget(list, false, { n: 1 }), { pending: false, id: 7 });
    assert.deepEqual(resolveRollbackTarget(list, false, { n: 3 }), { pending: false, id: 3 });
    assert.throws(
      () => resolveRollbackTarget(list, false, { n: 4 }),
      isCode('NOT_FOUND', /^no history entry 4 \(there are 3\)$/),
    );
    assert.throws(() => resolveRollbackTarget(list, false, { n: 0 }), isCode('NOT_FOUND'));
  });

  test('neither: the pending apply while a window is open, else the newest entry', () => {
    assert.deepEqual(resolveRollbackTarget(list, true, {}), { pending: true });
    assert.deepEqual(resolveRollbackTarget(list, false, {}), { pending: false, id: 7 });
    assert.throws(() => resolveRollbackTarget([], false, {}), isCode('NOT_FOUND', /history is empty/));
  });
});

describe('ApplyService (none backend)', () => {
  let root: string;
  const lines: string[] = [];
  const log = (l: string): void => void lines.push(l);
  const stage = async (text: string): Promise<void> => void (await new ConfigStore(root).update(() => text));
  const live = (): string => readFileSync(join(root, 'etc/network/interfaces'), 'utf8');
  const service = (core?: NetworkCore): ApplyService =>
    new ApplyService({
      root,
      backend: createBackend('none', { root }),
      ...(core ? { core } : {}),
      startGuard: () => undefined,
    });
  // the client reached the node on vmbr0's address
  const connection = { local: '192.168.100.2', remote: '198.51.100.7' };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nodenet-service-'));
    mkdirSync(join(root, 'etc/network'), { recursive: true });
    writeFileSync(join(root, 'etc/network/interfaces'), file('192.168.100.2/24'));
    lines.length = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('apply validates with the caller core: its NICs are the host the edit saw', async () => {
    // enp9s0 is a card name, but not one of this host's cards (eno1 is)
    await stage(file('192.168.100.2/24', 'enp9s0'));
    const core = new NetworkCore({ root, nics: new Set(['eno1']) });
    const edited = await core.check();
    assert.ok(
      edited.some((d) => d.code === 'NIC_NOT_ON_HOST'),
      'the edit sees the missing card',
    );
    const r = await service(core).apply({ user: 'u' }, log);
    assert.equal(r.entry.outcome, 'committed');
    assert.deepEqual(
      r.diagnostics.filter((d) => d.code === 'NIC_NOT_ON_HOST').map((d) => d.iface),
      ['vmbr0'],
      'the apply reports what the edit reported',
    );
  });

  test('a 0 confirm-timeout is no window: committed at once', async () => {
    await stage(file('192.168.100.9/24'));
    const r = await service().apply({ user: 'u', confirmTimeout: 0 }, log);
    assert.equal(r.entry.outcome, 'committed');
    assert.equal(r.journal, undefined);
  });

  test('lock-out: refused without a window before anything is recorded', async () => {
    await stage(file('192.168.100.3/24'));
    const s = service();
    for (const confirmTimeout of [undefined, 0]) {
      await assert.rejects(
        s.precheck({ user: 'u', connection, ...(confirmTimeout === undefined ? {} : { confirmTimeout }) }),
        (e: unknown) =>
          isCode('LOCKOUT', /carries your connection/)(e) &&
          /confirm window/.test((e as NodenetError).errors?.['confirm-timeout'] ?? ''),
      );
    }
    assert.match((await s.lockout(connection)) ?? '', /moves or removes the address 192\.168\.100\.2 of vmbr0/);
    // the apply itself (the CLI, which asks no pre-check) applies the same rule
    await assert.rejects(s.apply({ user: 'u', connection }, log), isCode('LOCKOUT'));
    assert.deepEqual(await listHistory(join(root, 'var/lib/nodenet')), []);
    assert.match(live(), /192\.168\.100\.2\/24/);
  });

  test('lock-out: the pre-check decision is used by the apply, not made again', async () => {
    await stage(file('192.168.100.3/24'));
    const s = service();
    const checked = await s.precheck({ user: 'u', connection, confirmTimeout: 60 });
    assert.ok(checked !== undefined);
    assert.match(checked.risk ?? '', /carries your connection/);
    // Hand the apply a decision it could not have made itself: it reports that one.
    const r = await s.apply(
      { user: 'u', connection, confirmTimeout: 60, checked: { ...checked, risk: 'DECIDED-ONCE' } },
      log,
    );
    assert.equal(r.entry.outcome, 'pending-confirm');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('lock-out warning')),
      ['lock-out warning: DECIDED-ONCE; the confirm window protects you'],
    );
    assert.equal((await s.confirm({ user: 'u' })).confirmed, true);
  });

  test('lock-out: when the files changed after the pre-check, the apply decides afresh', async () => {
    const s = service();
    const checked = await s.precheck({ user: 'u', connection }); // nothing staged: no risk
    assert.equal(checked?.risk, null);
    await stage(file('192.168.100.3/24'));
    await assert.rejects(s.apply({ user: 'u', connection, ...(checked ? { checked } : {}) }, log), isCode('LOCKOUT'));
    assert.match(live(), /192\.168\.100\.2\/24/);
  });

  test('rollback by id, by position, and of the pending apply', async () => {
    const s = service();
    await stage(file('192.168.100.4/24'));
    const a = await s.apply({ user: 'u' }, log);
    await stage(file('192.168.100.5/24'));
    await s.apply({ user: 'u' }, log);
    // by id: the file live before entry a
    const r1 = await s.rollback({ user: 'u', id: a.entry.id }, log);
    assert.ok(!r1.pending && r1.result.entry.rollbackOf === a.entry.id);
    assert.match(live(), /192\.168\.100\.2\/24/);
    // by position: n=1 is the newest entry (that rollback): back to .5
    const r2 = await s.rollback({ user: 'u', n: 1 }, log);
    assert.ok(!r2.pending);
    assert.match(live(), /192\.168\.100\.5\/24/);
    // a window open: rollback without a target undoes it
    await stage(file('192.168.100.6/24'));
    assert.equal((await s.apply({ user: 'u', confirmTimeout: 60 }, log)).entry.outcome, 'pending-confirm');
    const r3 = await s.rollback({ user: 'u' }, log);
    assert.deepEqual(r3, { pending: true, rolledBack: true });
    assert.match(live(), /192\.168\.100\.5\/24/);
    assert.deepEqual(await s.confirm({ user: 'u' }), {
      confirmed: false,
      message: 'no apply awaits confirmation (already confirmed, or rolled back: see `nodenet history`)',
    });
  });
});
