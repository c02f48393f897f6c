import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodenetError } from '../errors.ts';
import { createFakeRunner, createRunner, runChecked } from './runner.ts';

test('the real runner resolves on non-zero exit, with output and input', async () => {
  const run = createRunner();
  const r = await run('sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'hello\n' });
  assert.deepEqual(r, { code: 3, stdout: 'hello\n', stderr: 'err\n' });
  const e = await run('sh', ['-c', 'echo "$X"'], { env: { X: 'from-env' } });
  assert.equal(e.stdout, 'from-env\n');
});

test('the real runner streams lines and rejects on spawn failure and timeout', async () => {
  const run = createRunner();
  const lines: string[] = [];
  await run('sh', ['-c', 'printf "a\\nb\\nc"'], { onLine: (l) => lines.push(l) });
  assert.deepEqual(lines, ['a', 'b', 'c']);
  await assert.rejects(run('/nonexistent/cmd', []), (e: unknown) => e instanceof NodenetError && e.code === 'BACKEND');
  const t0 = Date.now();
  await assert.rejects(run('sh', ['-c', 'sleep 5 & sleep 5'], { timeoutMs: 200 }), /timed out/);
  assert.ok(Date.now() - t0 < 3000);
});

test('the fake runner records calls and answers from its handler', async () => {
  const run = createFakeRunner(({ cmd }) => (cmd === 'false' ? { code: 1, stderr: 'no\n' } : { stdout: 'ok\n' }));
  assert.deepEqual(await run('echo', ['x']), { code: 0, stdout: 'ok\n', stderr: '' });
  await assert.rejects(runChecked(run, 'false', []), /false failed \(exit 1\): no/);
  assert.deepEqual(
    run.calls.map((c) => [c.cmd, c.args]),
    [
      ['echo', ['x']],
      ['false', []],
    ],
  );
});
