/**
 * Free text the server writes itself (task log lines, the parts of a verify difference) in the
 * chosen language. The server gives no code for these, so they are recognised by pattern; a line
 * no pattern knows is shown as the server wrote it (English), and a translated one keeps the
 * English original as its tooltip. Patterns only read the text: an unknown wording is never lost.
 */
import { t } from './i18n.ts';
import { lang } from './i18n.ts';
import type { Key } from './i18n/en.ts';

/** A pattern and the catalogue key whose `{a}`, `{b}`, `{c}` take its groups. */
type Rule = readonly [RegExp, Key];

const LOG: readonly Rule[] = [
  [/^validate: checking the staged file$/, 'srv.validate'],
  [/^nothing staged: re-applying the live file$/, 'srv.nothingStaged'],
  [/^changed interfaces: \(none\)$/, 'srv.changedNone'],
  [/^changed interfaces: (.+)$/, 'srv.changed'],
  [/^lock-out warning: (.+); the confirm window protects you$/, 'srv.lockout'],
  [/^backend: (.+)$/, 'srv.backend'],
  [/^history: recorded entry #(\d+) \(previous file and running state\)$/, 'srv.history'],
  [/^live: interfaces\.new renamed over interfaces \((.+)\)$/, 'srv.liveRenamed'],
  [/^live: interfaces written \((.+)\)$/, 'srv.liveWritten'],
  [/^confirm window: (\d+) s \(until (\S+)\), guard pid (\S+)$/, 'srv.window'],
  [
    /^confirm window open: press Keep within (\S+) s, or the previous configuration comes back by itself$/,
    'srv.windowOpen',
  ],
  [/^waiting for `nodenet confirm` within (\d+) s$/, 'srv.waiting'],
  [/^waiting for you to press Keep within (\d+) s$/, 'srv.waiting'],
  [/^reload: all interfaces \((.+)\)$/, 'srv.reloadAll'],
  [/^reload: targeted: down (.+), up (.+)$/, 'srv.reloadTargeted'],
  [/^reload: (.+) changed hook lines or bond mode: taking them down with the old config first$/, 'srv.reloadHooks'],
  [/^reload: exit (-?\d+)$/, 'srv.reloadExit'],
  [/^verify: skipped \(backend none reloads nothing\)$/, 'srv.verifySkipped'],
  [/^verify: the interfaces the reload touched: (.+)$/, 'srv.verifyScope'],
  [/^verify: ok$/, 'srv.verifyOk'],
  [/^verify: FAILED \((\d+) critical caused by this apply\)$/, 'srv.verifyFailed'],
  [
    /^verify: ok for this apply; (\d+) difference\(s\) existed before it on interfaces it did not change/,
    'srv.verifyPre',
  ],
  [/^verify: drift from before this apply \(not touched by it, not a reason to roll back\): (.+)$/, 'srv.verifyOld'],
  [/^verify: critical: (.+)$/, 'srv.verifyCritical'],
  [/^verify: warning: (.+)$/, 'srv.verifyWarning'],
  [/^verification failed inside the confirm window: rolling back now$/, 'srv.verifyRollback'],
  [/^rollback: restoring the file live before entry #(\d+) \((.+)\)$/, 'srv.rollbackTo'],
  [/^rollback: restored the previous file \((.+)\): (.+)$/, 'srv.rollbackDone'],
  [/^rollback reload: exit (-?\d+)$/, 'srv.rollbackExit'],
  [/^sourced files: no record of an earlier reload; taking (.+) as applied$/, 'srv.sourcedNoRecord'],
  [/^sourced files: \(none\)$/, 'srv.sourcedNone'],
  [/^sourced files: ([^;]+)$/, 'srv.sourced'],
  [/^TASK OK$/, 'srv.taskOk'],
  [/^TASK ERROR: (.+)$/, 'srv.taskError'],
];

/** The "what the file says" / "what the kernel has" parts of a verify difference (see splitDifference). */
const DRIFT: readonly Rule[] = [
  [/^an interface that comes up at boot \(auto\)$/, 'srv.dUpAtBoot'],
  [/^no such interface$/, 'srv.dNoIface'],
  [/^up \(auto\)$/, 'srv.dUp'],
  [/^down$/, 'srv.dDown'],
  [/^no such address$/, 'srv.dNoAddr'],
  [/^\(no such address\)$/, 'srv.dNoAddrFile'],
  [/^address (\S+) \(no prefix\)$/, 'srv.dAddrNoPrefix'],
  [/^address (\S+) with a prefix$/, 'srv.dAddrPrefix'],
  [/^address (\S+)$/, 'srv.dAddr'],
  [/^gateway (\S+)$/, 'srv.dGateway'],
  [/^no default route via (\S+)$/, 'srv.dNoRoute'],
  [/^port (\S+)$/, 'srv.dPort'],
  [/^bridge port (\S+)$/, 'srv.dBridgePort'],
  [/^bond slave (\S+)$/, 'srv.dBondSlave'],
  [/^VLAN raw device (\S+)$/, 'srv.dVlanRaw'],
  [/^no interface (\S+)$/, 'srv.dNoPort'],
  [/^(\S+) in no bridge or bond$/, 'srv.dFreePort'],
  [/^(\S+) is a port of (\S+)$/, 'srv.dPortOf'],
  [/^mtu (\d+)$/, 'srv.dMtu'],
  [/^a bond$/, 'srv.dBond'],
  [/^a VLAN device$/, 'srv.dVlan'],
  [/^kind (.*)$/, 'srv.dKind'],
];

function translate(rules: readonly Rule[], s: string): { text: string; title: string } {
  if (lang() === 'en') return { text: s, title: '' };
  const lead = /^\s*/.exec(s)![0];
  const body = s.slice(lead.length);
  for (const [re, key] of rules) {
    const m = re.exec(body);
    if (m)
      return {
        text: lead + t(key, { a: m[1] ?? '', b: m[2] ?? '', c: m[3] ?? '' }),
        title: t('diag.original', { msg: s }),
      };
  }
  return { text: s, title: '' };
}

/** A task log line as shown: translated when known, else as the server wrote it. */
export function logLine(s: string): { text: string; title: string } {
  return translate(LOG, s);
}

/** One part of a verify difference as shown. */
export function driftPart(s: string): { text: string; title: string } {
  return translate(DRIFT, s);
}
