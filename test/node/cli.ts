/** `nodenet` from the sources (tsx), for tests that need it as its own process (signals, env). */
import { main } from '../../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: false,
});
