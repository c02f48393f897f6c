/**
 * By hand: apply interfaces files in one guest boot and print one JSON
 * record per file.
 *
 *   node --import tsx test/kernel/run.ts FILE [FILE...] [--script 'bash code']
 */
import { readFileSync } from 'node:fs';
import { runInGuest } from './harness.ts';

export {};
const args = process.argv.slice(2);
const at = args.indexOf('--script');
const script = at >= 0 ? args.splice(at, 2)[1] : undefined;
if (args.length === 0) {
  process.stderr.write("usage: node --import tsx test/kernel/run.ts FILE [FILE...] [--script 'bash code']\n");
  process.exit(2);
}
const run = await runInGuest({
  steps: args.map((f) => ({ name: f, files: readFileSync(f, 'utf8'), ...(script === undefined ? {} : { script }) })),
});
for (const s of run.steps) process.stdout.write(JSON.stringify({ input: s.name, kernel: run.kernel, ...s }) + '\n');
process.stderr.write(`kernel tier: ${run.steps.length} file(s) in ${run.seconds.toFixed(1)} s\n`);
