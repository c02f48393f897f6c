import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { NodenetError } from '../errors.ts';
import { withApplyLock } from './apply-lock.ts';

describe('withApplyLock', () => {
  let root: string;
  beforeEach(() => void (root = mkdtempSync(join(tmpdir(), 'nodenet-apply-lock-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  test('a second caller is refused at once, told who runs what', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const first = withApplyLock(root, { user: 'alice', what: 'apply' }, 0, async () => {
      entered();
      await held;
      return 'first';
    });
    await inside;
    await assert.rejects(
      withApplyLock(root, { user: 'bob', what: 'apply' }, 0, async () => 'second'),
      (e: unknown) =>
        e instanceof NodenetError &&
        e.code === 'LOCKED' &&
        /^another apply is running: apply by alice \(pid \d+, since /.test(e.message),
    );
    release();
    assert.equal(await first, 'first');
  });

  test('a LOCKED from inside the locked work passes through unchanged, whatever its text', async () => {
    // e.g. the configuration's own lock timing out inside an apply: not "another apply is running"
    const inner = new NodenetError(
      'LOCKED',
      'the configuration is locked by another nodenet process (pid 1); try again in a moment',
    );
    await assert.rejects(
      withApplyLock(root, { user: 'alice', what: 'apply' }, 0, () => Promise.reject(inner)),
      (e: unknown) => e === inner,
    );
  });
});
