/** Shared by the validator tests, the golden updater and the bench: check a text in-process. */
import { sortDiagnostics, type Diagnostic } from '../../src/interfaces/diagnostic.ts';
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { validate } from '../../src/validate/index.ts';
import type { HostFacts } from '../../src/validate/facts.ts';
import { existsSync, readFileSync } from 'node:fs';

/** The NICs of the pretend host the fixtures are written for. */
export const TEST_NICS: ReadonlySet<string> = new Set([
  'eno1',
  'eno2',
  'eno3',
  'eno4',
  'enp3s0f0',
  'enp3s0f1',
  'ens18',
  'eth0',
  'eth1',
]);

/** Parser + validator diagnostics of a text, sorted as `nodenet check` prints them. */
export function checkText(
  text: string,
  file: string,
  nics: ReadonlySet<string> | undefined = TEST_NICS,
  api = false,
  host?: HostFacts,
): Diagnostic[] {
  const doc = parse(text, file);
  const model = buildModel(doc, nics ? { nics } : {});
  return sortDiagnostics([
    ...doc.diagnostics,
    ...validate({ doc, model, file, ...(nics ? { nics } : {}), ...(api ? { api } : {}), ...(host ? { host } : {}) }),
  ]);
}

/** Fixtures checked as if the values came through the API (PVE's stricter bounds). */
export const API_FIXTURES: ReadonlySet<string> = new Set(['MTU_RANGE']);

export const RULES_DIR = new URL('../fixtures/rules/', import.meta.url);

/** The diagnostics of a rule fixture (`CODE.bad.interfaces` or `CODE.good.interfaces`). */
export function checkFixture(name: string, text: string): Diagnostic[] {
  const code = name.split('.')[0]!;
  // A rule that reads the node's other files (sysctl, corosync) gets them from CODE.facts.json.
  const facts = new URL(`${code}.facts.json`, RULES_DIR);
  const host = existsSync(facts) ? (JSON.parse(readFileSync(facts, 'utf8')) as HostFacts) : undefined;
  return checkText(text, name, TEST_NICS, API_FIXTURES.has(code), host);
}
