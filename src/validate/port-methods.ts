/**
 * PORT_DYNAMIC_ADDRESS: a bridge port or bond slave whose stanza asks for an address by DHCP,
 * SLAAC (`inet6 auto`) or another addressing method. A member's frames are handed to its
 * master, so the client on the port gets nothing, and the master — often left `inet manual` —
 * has no address either: on a fresh Debian install (`iface eno1 inet dhcp`) a bridge over eno1
 * leaves the node unreachable after apply. The same mistake as PORT_HAS_ADDRESS, so the same
 * severity.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import type { Rule } from './context.ts';
import { atOffset, indexOf, memberUse, roleText } from './common.ts';

/** Methods that give an interface an address without an `address` line (interfaces(5)). */
const DYNAMIC = new Set(['dhcp', 'auto', 'bootp', 'ppp', 'wvdial', 'ipv4ll']);

export const portDynamicAddress: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const idx = indexOf(ctx);
  for (const i of ctx.model.ifaces.values()) {
    const u = memberUse(idx, i.name);
    if (!u) continue;
    for (const st of i.stanzas) {
      const m = st.node.method;
      if (st.method === null || !m || !DYNAMIC.has(st.method)) continue;
      const fam = st.family ?? 'inet';
      const what =
        st.method === 'auto'
          ? 'SLAAC (inet6 auto)'
          : st.method === 'dhcp'
            ? `DHCP (${fam} dhcp)`
            : `'${fam} ${st.method}'`;
      out.push(
        atOffset(
          {
            severity: 'error',
            code: 'PORT_DYNAMIC_ADDRESS',
            message: `${i.name} is ${roleText(u)} but asks for an address by ${what}; a ${u.role === 'slave' ? 'slave' : 'port'} gets no address (its traffic arrives on ${u.master}), so the node may be left without one`,
            iface: i.name,
            hint:
              st.method === 'auto'
                ? `drop ${i.name}'s inet6 stanza and let ${u.master} accept router advertisements ('post-up echo 2 > /proc/sys/net/ipv6/conf/${u.master}/accept_ra'; \`nodenet setup bridged\` does this for a bridge)`
                : `make ${i.name} '${fam} manual' and give ${u.master} '${fam} ${st.method}' instead (\`nodenet setup bridged\` does this for a bridge)`,
          },
          st.node.header,
          m.start,
        ),
      );
    }
  }
  return out;
};
