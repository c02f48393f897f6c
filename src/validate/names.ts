/**
 * Names: the kernel's limits on interface names, duplicate stanzas, and `auto` lines that
 * name nothing.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { didYouMean } from '../interfaces/suggest.ts';
import type { Rule } from './context.ts';
import { atOffset, atStanza, indexOf, localRule } from './common.ts';

/** IFNAMSIZ is 16 including the terminating NUL. */
const MAX_NAME = 15;
/**
 * The kernel refuses '/', ':' and whitespace; we also refuse other punctuation because tools
 * (iptables, sysctl paths, the PVE API) choke on it. `:N` is ifupdown's alias suffix.
 */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*(?::\d+)?$/;

/** IFACE_NAME_TOO_LONG, IFACE_NAME_INVALID. */
export const nameRules: Rule = localRule((i, _ctx, out) => {
  const st = i.stanzas[0]!;
  // An alias (`eth0:1`) is a label on eth0, not a device; only the device part is limited.
  const dev = i.name.replace(/:\d+$/, '');
  if (!NAME_RE.test(i.name) || i.name === '.' || i.name === '..') {
    out.push(
      atStanza(
        {
          severity: 'error',
          code: 'IFACE_NAME_INVALID',
          message: `interface name '${i.name}' contains characters the kernel or the tools do not accept`,
          iface: i.name,
          hint: 'use letters, digits, and - _ . only (a dot followed by a number makes a VLAN)',
        },
        st,
      ),
    );
  } else if (dev.length > MAX_NAME) {
    out.push(
      atStanza(
        {
          severity: 'error',
          code: 'IFACE_NAME_TOO_LONG',
          message: `interface name '${dev}' is ${dev.length} characters long; Linux allows at most ${MAX_NAME}`,
          iface: i.name,
          hint: `shorten it to ${MAX_NAME} characters or fewer (for a VLAN, a custom name with vlan-raw-device and vlan-id keeps it short)`,
        },
        st,
      ),
    );
  }
});

/** DUPLICATE_STANZA: the same interface and family defined twice. */
export const duplicateStanzas: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const i of ctx.model.ifaces.values()) {
    if (i.stanzas.length < 2) continue;
    const seen = new Map<string, number>();
    for (const st of i.stanzas) {
      const fam = st.family ?? '(no family)';
      const first = seen.get(fam);
      if (first === undefined) {
        seen.set(fam, st.node.header.lineNo);
        continue;
      }
      const famText = st.family ? `an ${st.family} stanza` : 'a stanza without a family';
      out.push(
        atStanza(
          {
            severity: 'error',
            code: 'DUPLICATE_STANZA',
            message: `${i.name} already has ${famText} on line ${first}; this second one conflicts with it`,
            iface: i.name,
            hint: 'merge the options into the first stanza and delete this one (ifupdown2 and Proxmox VE each pick a different winner)',
          },
          st,
        ),
      );
    }
  }
  return out;
};

/** AUTO_WITHOUT_STANZA: `auto`/`allow-*` names an interface with no stanza that is not a NIC. */
export const autoWithoutStanza: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const idx = indexOf(ctx);
  for (const [name, nodes] of ctx.model.autoOnly) {
    // A NIC, a sourced interface or an implicit VLAN comes up fine without a stanza.
    if (name !== 'lo' && idx.exists(name)) continue;
    const node = nodes[0]!;
    const w = node.names.find((n) => n.text === name);
    const s = name === 'lo' ? undefined : didYouMean(name, ctx.model.ifaces.keys());
    out.push(
      atOffset(
        {
          severity: 'warning',
          code: 'AUTO_WITHOUT_STANZA',
          message:
            name === 'lo'
              ? `'${node.keyword.text} lo' has no 'iface lo inet loopback' stanza, so ifupdown2 finds nothing to bring up`
              : `'${node.keyword.text} ${name}' names an interface that has no stanza and is not a known NIC${s ? `; did you mean '${s}'?` : ''}`,
          iface: name,
          hint:
            name === 'lo'
              ? "add 'iface lo inet loopback'"
              : s
                ? `write '${s}'`
                : `add an 'iface ${name} ...' stanza or remove ${name} from this line`,
        },
        node.line,
        w ? w.start : -1,
      ),
    );
  }
  return out;
};
