#!/usr/bin/env node
/**
 * Lints the messages of the commits on this branch (not run by CI: history is not code).
 *
 *   node scripts/check-commits.mjs [BASE]      (BASE defaults to main; checks BASE..HEAD)
 *
 * A subject is under 72 characters, not empty, and is followed by a blank line when a body
 * follows. A commit without a body gets a warning: the body says why, with the figures.
 * Merge commits are skipped (their subjects are written by git). Exit 1 on any error.
 */
import { execFileSync } from 'node:child_process';

const MAX_SUBJECT = 71; // "under 72 characters"

const args = process.argv.slice(2);
if (args.length > 1 || args[0]?.startsWith('-')) {
  console.error('usage: node scripts/check-commits.mjs [BASE]');
  process.exit(2);
}
const base = args[0] ?? 'main';
let log;
try {
  log = execFileSync('git', ['log', '--no-merges', '--format=%h%x00%B%x1e', `${base}..HEAD`], { encoding: 'utf8' });
} catch {
  process.exit(2); // git has said why on stderr
}

let errors = 0;
let commits = 0;
for (const record of log.split('\x1e')) {
  const nul = record.indexOf('\0');
  if (nul < 0) continue;
  commits++;
  const hash = record.slice(0, nul).trim();
  const lines = record
    .slice(nul + 1)
    .replace(/\n+$/, '')
    .split('\n');
  const subject = lines[0] ?? '';
  const length = [...subject].length;
  const problems = [];
  if (subject.trim() === '') problems.push('empty subject');
  if (length > MAX_SUBJECT) problems.push(`subject has ${length} characters (at most ${MAX_SUBJECT})`);
  if (lines.length > 1 && lines[1] !== '') problems.push('no blank line between subject and body');
  for (const p of problems) console.error(`${hash} ${p}: ${subject}`);
  errors += problems.length;
  if (lines.length === 1 && problems.length === 0) console.warn(`${hash} warning: no body (why, figures): ${subject}`);
}
if (errors > 0) {
  console.error(`check-commits: ${errors} problem(s) in ${commits} commit(s) since ${base}`);
  process.exit(1);
}
console.log(`check-commits: ok (${commits} commit(s) since ${base})`);
