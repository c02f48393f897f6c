/**
 * Free text the server writes itself (task log lines, the parts of a verify difference) in the
 * chosen language. The server gives no code for these, so they are recognised by pattern; a line
 * no pattern knows is shown as the server wrote it (English), and a translated one keeps the
 * English original as its tooltip. Patterns only read the text: an unknown wording is never lost.
 */
import { t } from './i18n.ts';
import { lang } from './i18n.ts';
import type { Key } from './i18n/en.ts';

/**
 * A pattern and the catalogue key whose `{a}`, `{b}`, `{c}` ... take its groups; a third part,
 * when there, turns the groups into those values itself (for optional parts of a wording).
 */
type Rule = readonly [RegExp, Key, ((m: RegExpExecArray) => Record<string, string>)?];

/** The optional " with ADDRESS" and " via GATEWAY" of a bridged note, in the chosen language. */
const bridgeParts = (m: RegExpExecArray) => ({
  a: m[1]!,
  b: m[2]!,
  c: m[3] ? t('srv.nWith', { a: m[3] }) : '',
  d: m[4] ? t('srv.nVia', { a: m[4] }) : '',
});

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
  [
    /^reload: (.+) left under IPv4's minimum MTU by ifupdown2 \(it read a lower device's MTU from its netlink cache before the kernel's update\): up again, alone$/,
    'srv.reloadMtuRepair',
  ],
  [/^reload: the repair exited (-?\d+)$/, 'srv.reloadRepairExit'],
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
  [/^guests: plugged (\S+) back into (\S+) \(the reload had detached it\)$/, 'srv.guestsPlugged'],
  [/^guests: could not plug (\S+) back into (\S+): (.*)$/, 'srv.guestsNotPlugged'],
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
  [/^mtu (\d+) or more$/, 'srv.dMtuMin'],
  [/^a bond$/, 'srv.dBond'],
  [/^a VLAN device$/, 'srv.dVlan'],
  [/^kind (.*)$/, 'srv.dKind'],
  [/^bond mode (\S+)$/, 'srv.dBondMode'],
  [/^miimon (\S+)$/, 'srv.dMiimon'],
  [/^primary slave \(none\)$/, 'srv.dPrimaryNone'],
  [/^primary slave (\S+)$/, 'srv.dPrimary'],
  [/^xmit-hash-policy (\S+)$/, 'srv.dHashPolicy'],
  [/^lacp-rate (\S+)$/, 'srv.dLacpRate'],
  [/^VLAN id (\S+)$/, 'srv.dVlanId'],
  [/^VLAN protocol (\S+)$/, 'srv.dVlanProto'],
  [/^VLAN filtering on$/, 'srv.dVlanFilterOn'],
  [/^VLAN filtering off$/, 'srv.dVlanFilterOff'],
  [/^STP on$/, 'srv.dStpOn'],
  [/^STP off$/, 'srv.dStpOff'],
  [/^sysctl (\S+) = (\S+)$/, 'srv.dSysctlFile'],
  [/^(\S+) = (\S+)$/, 'srv.dSysctl'],
  [/^bridge port (\S+) does not exist in the kernel \((\S+) is not brought up at boot\)$/, 'srv.dNoBridgePortBoot'],
  [/^bond slave (\S+) does not exist in the kernel \((\S+) is not brought up at boot\)$/, 'srv.dNoBondSlaveBoot'],
  [/^VLAN raw device (\S+) does not exist in the kernel \((\S+) is not brought up at boot\)$/, 'srv.dNoVlanRawBoot'],
];

/** The notes of a setup wizard's plan (src/setup/*.ts `notes.push`), one rule per wording. */
export const NOTE: readonly Rule[] = [
  [/^new bridge (\S+) over (.+?)(?: with (\S+))?(?: via (\S+))?$/, 'srv.nBridgeNew', bridgeParts],
  [/^updated bridge (\S+) over (.+?)(?: with (\S+))?(?: via (\S+))?$/, 'srv.nBridgeUpdated', bridgeParts],
  [/^(\S+) does not exist: no NAT setup to remove$/, 'srv.nNatNone'],
  [
    /^no --ports given: chose (\S+), the first physical NIC in the file \(as the Proxmox VE installer does\)$/,
    'srv.nPortFile',
  ],
  [
    /^no --ports given: chose (\S+), the first physical NIC of the host \(as the Proxmox VE installer does\)$/,
    'srv.nPortHost',
  ],
  [
    /^line (\d+): '(.+)' is left as it is: ifupdown2 has no rename; name the NIC with a systemd \.link file \(see `nodenet check`\)$/,
    'srv.nRename',
  ],
  [
    /^line (\d+): 'mapping (.+)' is left as it is: ifupdown2 has no mappings; write the stanza you want as a plain iface stanza and remove the mapping$/,
    'srv.nMapping',
  ],
  [/^bond-master (\S+) on (.+): \S+ has no bond stanza; create it with `(.+)` and run this again$/, 'srv.nNoBond'],
  [
    /^(\S+) names (\S+) by bond-master but is a port of (\S+): left as it is \(decide which it belongs to\)$/,
    'srv.nMasterPort',
  ],
  [
    /^(\S+) names (\S+) by bond-master but is a slave of (\S+): left as it is \(decide which it belongs to\)$/,
    'srv.nMasterSlave',
  ],
  [/^(\S+): bond-slaves (.+) \(the slaves named it by bond-master, which ifupdown2 ignores\)$/, 'srv.nBondSlaves'],
  [/^removed bond-master from (.+)$/, 'srv.nMasterRemoved'],
  [/^line (\d+): allow-auto → auto \(ifupdown2 brings up only auto interfaces with -a\)$/, 'srv.nAllowAuto'],
  [
    /^line (\d+): source-directory (\S+) → source (\S+)\/\* \(ifupdown2 3\.0 has no source-directory; note that the glob also reads file names with dots, which source-directory skipped\)$/,
    'srv.nSourceDir',
  ],
  [
    /^(\S+): 'inet6 auto' → 'post-up (.+)' \(SLAAC in a form ifupdown2 3\.0 reads; it rejects the method auto\)$/,
    'srv.nSlaacHook',
  ],
  [
    /^(\S+): 'inet6 auto' is left as it is \(\S+ is in (\S+): `nodenet setup bridged` moves SLAAC to a bridge\)$/,
    'srv.nSlaacPort',
  ],
  [/^(\S+): 'inet6 auto' is left as it is \(its stanza has options of its own or is the only one\)$/, 'srv.nSlaacKept'],
  [
    /^removed bridge (\S+) and its NAT lines; on apply ifupdown2 takes \S+ down and runs its post-down lines, which delete nft table (\S+) \(IPv4 forwarding stays on\)$/,
    'srv.nNatRemovedNft',
  ],
  [
    /^removed bridge (\S+) and its NAT lines; on apply ifupdown2 takes \S+ down and runs its post-down lines, which delete every rule \(IPv4 forwarding stays on\)$/,
    'srv.nNatRemoved',
  ],
  [/^no forward (\S+) on (\S+): nothing to remove$/, 'srv.nNoForward'],
  [
    /^rewrote (\d+) hand-written NAT line\(s\) of (\S+) \(the Proxmox VE docs' rules, which add a copy on every reload\) as nodenet's idempotent lines, in place: see the diff$/,
    'srv.nNatAdopted',
  ],
  [
    /^new NAT bridge (\S+) \((\S+), no ports\) masquerading (\S+) out of (\S+) with (\S+); forwards: (.+)$/,
    'srv.nNatNewFwd',
  ],
  [/^new NAT bridge (\S+) \((\S+), no ports\) masquerading (\S+) out of (\S+) with (\S+)$/, 'srv.nNatNew'],
  [/^NAT bridge (\S+): (\S+) out of (\S+) with (\S+); forwards: (.+)$/, 'srv.nNatFwd'],
  [/^NAT bridge (\S+): (\S+) out of (\S+) with (\S+); no forwards$/, 'srv.nNatNoFwd'],
  [
    /^after apply, the running kernel still has the old rule\(s\) until (\S+) goes down or the node reboots; to drop them at once run:(\n[\s\S]*)$/,
    'srv.nStaleRules',
  ],
  [
    /^switched (\S+) from (\S+) to (\S+): the old \S+ rules stay in the running kernel until \S+ goes down or the node reboots$/,
    'srv.nFirewallSwitched',
  ],
  [/^new routed bridge (\S+) \((\S+), no ports\); forwarding and proxy_arp on (\S+)$/, 'srv.nRoutedNew'],
  [/^updated routed bridge (\S+) \((\S+), no ports\); forwarding and proxy_arp on (\S+)$/, 'srv.nRoutedUpdated'],
  [/^guests on (\S+) use addresses of (\S+) with (\S+) as their gateway$/, 'srv.nRoutedGuests'],
  [
    /^(\S+) has no 'auto' line, so its post-up lines \(forwarding, proxy_arp\) run only when it is brought up by hand$/,
    'srv.nNoAuto',
  ],
  [/^moved (\S+) from (\S+) to (\S+) \(a bridge port carries no address\)$/, 'srv.nMovedAddr'],
  [/^removed (.+) from (\S+): a bridge port carries no address \((\S+) gets (\S+)\)$/, 'srv.nRemovedAddr'],
  [/^moved gateway (\S+) from (\S+) to (\S+)$/, 'srv.nMovedGw'],
  [
    /^(\S+) takes over (\S+)'s '(\S+)' \(inet\): a bridge port gets no address, so \S+ becomes 'inet manual'$/,
    'srv.nTakeInet',
  ],
  [
    /^(\S+) was 'inet (\S+)'; it becomes 'inet manual' \(a bridge port gets no address; (\S+) has (\S+)\)$/,
    'srv.nPortManual',
  ],
  [
    /^(\S+) takes over (\S+)'s SLAAC \('inet6 auto'\): \S+'s inet6 stanza is dropped, and \S+ accepts router advertisements \((.+)\); 'inet6 auto' itself is not written, as Debian's ifupdown2 3\.0 rejects that method$/,
    'srv.nTakeSlaac',
  ],
  [
    /^(\S+) takes over (\S+)'s '(\S+)' \(inet6\): \S+'s inet6 stanza is dropped \(a bridge port gets no address\)$/,
    'srv.nTakeInet6',
  ],
];

/** "IFACE, which carries your connection (...)" inside a lock-out risk. */
const VIA: readonly Rule[] = [
  [/^(\S+), which carries your connection \(you reached this node on (\S+) from (\S+)\)$/, 'srv.eVia'],
];

/** Every group of a lock-out risk, the connection part translated too. */
const viaVars = (m: RegExpExecArray) =>
  Object.fromEntries(['a', 'b', 'c', 'd'].map((k, i) => [k, m[i + 1] ? translate(VIA, m[i + 1]!).text : '']));

/** Why an apply may cut the connection (src/apply/lockout.ts). */
const RISK: readonly Rule[] = [
  [/^the change removes (.+)$/, 'srv.eRemoves', viaVars],
  [/^the change moves or removes the address (\S+) of (.+)$/, 'srv.eMovesAddr', viaVars],
  [/^the change turns (\S+) from a (\S+) into a (\S+); (.+)$/, 'srv.eTurns', viaVars],
  [/^the change takes (.+) out of autostart$/, 'srv.eAutostart', viaVars],
  [/^the change alters the ports under (.+): (.*) → (.*)$/, 'srv.ePorts', viaVars],
  [/^the change alters (\S+), a port under (.+)$/, 'srv.ePort', viaVars],
  [
    /^the change replaces the default gateway (\S+) with (\S+), the route your connection from (\S+) takes to (\S+)$/,
    'srv.eGateway',
  ],
];

/** The commonest API error messages and field errors shown in dialogs. */
const ERR: readonly Rule[] = [
  [/^Parameter verification failed\.$/, 'srv.eParam'],
  [/^interface does not exist$/, 'srv.eNoIface'],
  [/^interface already exists$/, 'srv.eExists'],
  [/^property is missing and it is not optional$/, 'srv.eMissing'],
  [/^detected modified configuration - file changed by other user\? Try again\.$/, 'srv.eStaleDigest'],
  [/^the configuration was changed by someone else since you read it; reload and retry$/, 'srv.eStale'],
  [/^bridge '(\S+)' does not exist$/, 'srv.eNoBridge'],
  [
    /^(.+); apply it with a confirm window \(confirm-timeout, e\.g\. --confirm-timeout 120\) so the node rolls back by itself if your connection is lost$/,
    'srv.eLockout',
    (m) => ({ a: translate(RISK, m[1]!).text }),
  ],
];

function translate(rules: readonly Rule[], s: string): { text: string; title: string } {
  if (lang() === 'en') return { text: s, title: '' };
  const lead = /^\s*/.exec(s)![0];
  const body = s.slice(lead.length);
  for (const [re, key, vars] of rules) {
    const m = re.exec(body);
    if (m)
      return {
        text:
          lead +
          t(
            key,
            vars
              ? vars(m)
              : { a: m[1] ?? '', b: m[2] ?? '', c: m[3] ?? '', d: m[4] ?? '', e: m[5] ?? '', f: m[6] ?? '' },
          ),
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

/** A note of a setup wizard's plan as shown. */
export function wizardNote(s: string): { text: string; title: string } {
  return translate(NOTE, s);
}

/** An API error message or field error as shown (the common ones translated). */
export function apiText(s: string): { text: string; title: string } {
  return translate(ERR, s);
}
