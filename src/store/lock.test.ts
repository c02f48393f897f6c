/**
 * The cross-process lock: stale locks are broken (dead owner, or no pid file and old), live
 * and fresh ones are waited for, and breaking keeps mutual exclusion (issue 12).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NO_PID_STALE_MS, withLock } from './lock.ts';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'nodenet-lock-'));
});
after(() => fs.rm(dir, { recursive: true, force: true }));

/** A lock directory as a process killed between mkdir and the pid write leaves it, `ageMs` old. */
async function leftWithoutPid(path: string, ageMs: number): Promise<void> {
  await fs.mkdir(path);
  const t = new Date(Date.now() - ageMs);
  await fs.utimes(path, t, t);
}

test('a lock directory without a pid file is broken once it is old', async () => {
  const path = join(dir, 'old.lock');
  await leftWithoutPid(path, NO_PID_STALE_MS + 60_000);
  assert.equal(await withLock(path, async () => 'ran', 2000), 'ran');
  await assert.rejects(fs.access(path));
  assert.deepEqual(
    (await fs.readdir(dir)).filter((n) => n.startsWith('old.lock')),
    [],
  );
});

test('a fresh lock directory without a pid file is waited for, not broken', async () => {
  const path = join(dir, 'fresh.lock');
  await fs.mkdir(path);
  await assert.rejects(
    withLock(path, async () => 'ran', 100),
    { code: 'LOCKED' },
  );
  await fs.rm(path, { recursive: true });
});

test('a dead owner’s lock is broken; a live owner’s is not', async () => {
  const dead = join(dir, 'dead.lock');
  await fs.mkdir(dead);
  // A pid that exited: a child that has been reaped.
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  await fs.writeFile(join(dead, 'pid'), `${child.stdout}\n`);
  assert.equal(await withLock(dead, async () => 'ran', 2000), 'ran');
  const live = join(dir, 'live.lock');
  await fs.mkdir(live);
  await fs.writeFile(join(live, 'pid'), `${process.pid}\n`);
  await assert.rejects(
    withLock(live, async () => 'ran', 100),
    /locked by another nodenet process \(pid \d+\)/,
  );
  await fs.rm(live, { recursive: true });
});

test('many writers racing to break one stale lock: still one holder at a time', async () => {
  const path = join(dir, 'race.lock');
  for (let round = 0; round < 5; round++) {
    await leftWithoutPid(path, NO_PID_STALE_MS + 60_000);
    let holders = 0;
    let most = 0;
    let ran = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withLock(
          path,
          async () => {
            most = Math.max(most, ++holders);
            await new Promise((r) => setTimeout(r, 2));
            holders--;
            ran++;
          },
          10_000,
        ),
      ),
    );
    assert.equal(most, 1, `round ${round}: ${most} holders at once`);
    assert.equal(ran, 12);
  }
});
