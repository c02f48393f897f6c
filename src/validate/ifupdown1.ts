/**
 * Forms of Debian's old ifupdown that ifupdown2 ignores or reads differently. Files written for
 * ifupdown often meet ifupdown2 for the first time under nodenet (Proxmox VE: "make sure
 * ifupdown2 is installed"). What ifupdown2 does with each was seen by running it (3.0.0,
 * unpacked, `ifquery -a` and `ifreload -a` in a namespace; see docs/diagnostics.md):
 * - `bond-master BOND` on a slave: not an ifupdown2 attribute; no module acts on it, so the
 *   bond gets only the slaves of its own `bond-slaves` line. `bond-slaves none` is read as a
 *   slave named "none" ("skipping slave none, does not exist").
 * - `allow-auto IFACE`: not `auto` for ifupdown2; `ifquery -a`/`ifreload -a` leave IFACE out.
 * - `inet6 auto`: no such method in 3.0 ("unsupported address method 'auto'", exit 1).
 * - `mapping`, `rename`, `source-directory`: not keywords; their lines become options of the
 *   stanza above, so the mapping script never runs, nothing is renamed, no file of the
 *   directory is read.
 * `nodenet fix ifupdown2` (src/setup/ifupdown2-fix.ts) rewrites the first three.
 */
import type { Diagnostic, DiagnosticCode } from '../interfaces/diagnostic.ts';
import type { Line } from '../interfaces/syntax.ts';
import type { Iface, Model, ModelOption } from '../model/types.ts';
import type { Rule } from './context.ts';
import { atOffset, atOption, atOptionName, indexOf, opt, roleText } from './common.ts';

const FIX = 'nodenet fix ifupdown2 stages the rewrite';

/** The `bond-master` lines of a model: bond name → slaves that name it, in file order. */
export function bondMasters(ifaces: Iterable<Iface>): Map<string, { slave: Iface; option: ModelOption }[]> {
  const out = new Map<string, { slave: Iface; option: ModelOption }[]>();
  for (const i of ifaces) {
    const o = opt(i, 'bond-master');
    if (!o) continue;
    const b = o.value.trim();
    const l = out.get(b);
    if (l) l.push({ slave: i, option: o });
    else out.set(b, [{ slave: i, option: o }]);
  }
  return out;
}

/**
 * One sentence per bond that slaves name by bond-master without being in its bond-slaves: the
 * list shows the slaves ifupdown2 will give the bond (not these), so it says why.
 */
export function bondMasterNotes(model: Model): string[] {
  const out: string[] = [];
  for (const [bond, slaves] of bondMasters(model.ifaces.values())) {
    const listed = model.ifaces.get(bond)?.bond?.slaves ?? [];
    const missing = slaves.map((s) => s.slave.name).filter((n) => !listed.includes(n));
    if (missing.length)
      out.push(
        `${bond}: ${missing.join(', ')} name ${bond} by bond-master, which ifupdown2 ignores; ${bond} gets ${listed.length ? `only ${listed.join(' ')}` : 'no slaves'} (see \`nodenet check\`; \`nodenet fix ifupdown2\` rewrites it)`,
      );
  }
  return out;
}

/** IFUPDOWN1_BOND_MASTER, BOND_MASTER_CONFLICT. */
export const bondMasterRules: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  const masters = bondMasters(ctx.model.ifaces.values());
  if (!masters.size) return out;
  const uses = indexOf(ctx).uses;
  for (const [bond, slaves] of masters) {
    const b = ctx.model.ifaces.get(bond);
    const listed = b?.bond?.slaves ?? [];
    for (const { slave, option } of slaves) {
      const other = uses.get(slave.name)?.find((u) => u.master !== bond);
      if (other) {
        out.push(
          atOption(
            {
              severity: 'error',
              code: 'BOND_MASTER_CONFLICT',
              iface: slave.name,
              message: `${slave.name} names ${bond} as its bond (bond-master) but is also ${roleText(other)}; it cannot be both, and ifupdown2, which ignores bond-master, would make it ${roleText(other)}`,
              hint: `use another interface for ${other.master}, or remove the bond-master line of ${slave.name} if it is no longer meant for ${bond}`,
            },
            option,
            bond,
          ),
        );
      }
      if (listed.includes(slave.name)) continue;
      out.push(
        atOptionName(
          {
            severity: 'warning',
            code: 'IFUPDOWN1_BOND_MASTER',
            iface: slave.name,
            message: `${slave.name}: bond-master is ifupdown (1) only; ifupdown2 ignores it, so ${bond} comes up without ${slave.name}`,
            hint: `list the slaves on the bond instead: 'bond-slaves ${slaves.map((s) => s.slave.name).join(' ')}' in ${bond}'s stanza, and drop the bond-master lines (${FIX})`,
          },
          option,
        ),
      );
    }
    const so = b ? opt(b, 'bond-slaves') : undefined;
    if (b && so && so.value.trim() === 'none') {
      out.push(
        atOption(
          {
            severity: 'warning',
            code: 'IFUPDOWN1_BOND_MASTER',
            iface: bond,
            message: `${bond}: 'bond-slaves none' with slaves that name it by bond-master (${slaves.map((s) => s.slave.name).join(', ')}): ifupdown2 reads 'none' as a slave named none and ignores bond-master, so ${bond} has no slaves`,
            hint: `write 'bond-slaves ${slaves.map((s) => s.slave.name).join(' ')}' (${FIX})`,
          },
          so,
        ),
      );
    }
  }
  return out;
};

function at(
  code: DiagnosticCode,
  iface: string,
  line: Line,
  offset: number,
  message: string,
  hint: string,
): Diagnostic {
  return atOffset({ severity: 'warning', code, iface, message, hint }, line, offset);
}

/**
 * IFUPDOWN1_INET6_AUTO: `iface X inet6 auto` (SLAAC). Debian 12's ifupdown2 3.0 has no method
 * `auto` for inet6: "unsupported address method 'auto'", a parse error; ifreload exits 1.
 */
export const inet6Auto: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  for (const i of ctx.model.ifaces.values()) {
    for (const st of i.stanzas) {
      const m = st.node.method;
      if (st.family !== 'inet6' || st.method !== 'auto' || !m) continue;
      out.push(
        at(
          'IFUPDOWN1_INET6_AUTO',
          i.name,
          st.node.header,
          m.start,
          `${i.name}: 'inet6 auto' (SLAAC) is ifupdown (1)'s; Debian 12's ifupdown2 3.0 has no method auto ("unsupported address method 'auto'"): ifreload reports a parse error and exits 1`,
          `for SLAAC without it, drop the inet6 stanza and add 'post-up echo 2 > /proc/sys/net/ipv6/conf/${i.name}/accept_ra' to ${i.name}'s inet stanza (accept_ra 2: also while ifupdown2 turns IPv6 forwarding on); keep it only if your ifupdown2 build accepts 'auto'`,
        ),
      );
    }
  }
  return out;
};

/**
 * IFUPDOWN1_ALLOW_AUTO, IFUPDOWN1_MAPPING, IFUPDOWN1_RENAME, IFUPDOWN1_SOURCE_DIRECTORY. The
 * parser reads `mapping`, `source-directory` and `rename` as ifupdown2 3.0 does: options of the
 * stanza above (UNKNOWN_LINE_IN_STANZA says so too), or lines it ignores before the first stanza.
 */
export const ifupdown1Keywords: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  let above = '';
  const word = (line: Line, name: string, offset: number, value: string): void => {
    if (name === 'rename') out.push(renameAt(line, offset, value, above));
    else if (name === 'source-directory') out.push(sourceDirectoryAt(line, offset, value, above));
    else if (name === 'mapping') out.push(mappingAt(line, offset, value, above));
  };
  for (const n of ctx.doc.nodes) {
    if (n.kind === 'iface') {
      above = n.name?.text ?? above;
      for (const b of n.body)
        if (b.kind === 'option')
          word(b.line, b.name.toLowerCase() === 'rename' ? 'rename' : b.name, b.nameStart, b.value.trim());
    } else if (n.kind === 'auto' && n.keyword.text === 'allow-auto') {
      const names = n.names.map((w) => w.text);
      out.push(
        at(
          'IFUPDOWN1_ALLOW_AUTO',
          names[0] ?? '',
          n.line,
          n.keyword.start,
          `allow-auto ${names.join(' ')}: ifupdown (1) reads allow-auto as auto, ifupdown2 does not — ifreload -a and boot leave ${names.join(', ')} down`,
          `write 'auto ${names.join(' ')}' (${FIX})`,
        ),
      );
    } else if (n.kind === 'unknown') {
      const m = /^\s*(\S+)\s*(.*)$/.exec(n.line.text);
      if (m)
        word(
          n.line,
          m[1]!.toLowerCase() === 'rename' ? 'rename' : m[1]!,
          n.line.start + n.line.indent.length,
          m[2]!.trim(),
        );
    }
  }
  return out;
};

function sourceDirectoryAt(line: Line, offset: number, dir: string, above: string): Diagnostic {
  return at(
    'IFUPDOWN1_SOURCE_DIRECTORY',
    above || 'source-directory',
    line,
    offset,
    `source-directory ${dir}: ifupdown2 3.0 has no source-directory; it ${above ? `reads the line as an option of ${above}, the stanza above,` : 'ignores the line'} and configures nothing from ${dir}`,
    `write 'source ${dir.replace(/\/+$/, '')}/*' (${FIX})`,
  );
}

function mappingAt(line: Line, offset: number, value: string, above: string): Diagnostic {
  const name = value.split(/\s+/)[0] ?? '';
  return at(
    'IFUPDOWN1_MAPPING',
    name || above || 'mapping',
    line,
    offset,
    `mapping ${value}: ifupdown2 has no mappings; it ${above ? `reads this line and the indented ones after it as options of ${above}, the stanza above,` : 'ignores this line and the indented ones after it,'} never runs the mapping script, and configures ${value || 'the interface'} from its own iface stanza (the mapped logical stanzas are never used)`,
    `write the stanza you want for ${value || 'the interface'} as 'iface ${name || 'NAME'} …' and remove the mapping (a choice at ifup time needs a script of your own)`,
  );
}

function renameAt(line: Line, offset: number, value: string, above: string): Diagnostic {
  const pair = /^(\S+)=(\S+)$/.exec(value);
  const to = pair?.[2] ?? 'NEW';
  return at(
    'IFUPDOWN1_RENAME',
    to,
    line,
    offset,
    `rename ${value}: ifupdown2 has no rename; it reads the line as an option${above ? ` of ${above}` : ''} and nothing is renamed, so ${to} does not exist`,
    `name the NIC with a systemd .link file instead: /etc/systemd/network/10-${to}.link with [Match] MACAddress=… (or OriginalName=${pair?.[1] ?? 'OLD'}) and [Link] Name=${to}, then update the initramfs and reboot`,
  );
}
