/** One version(): the CLI's and the API's come from src/version.ts, read from package.json. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { version as cliVersion } from '../../src/cli/main.ts';
import { version } from '../../src/version.ts';

test("version() is package.json's version, with or without a fallback; the CLI uses the same", () => {
  const pkg = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
  assert.match(pkg, /^\d+\.\d+\.\d+/);
  assert.equal(version(), pkg);
  assert.equal(version('0.0.0'), pkg);
  assert.equal(cliVersion, version);
});
