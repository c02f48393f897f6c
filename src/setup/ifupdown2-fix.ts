/**
 * `nodenet fix ifupdown2`: rewrite the ifupdown (1) forms that ifupdown2 ignores (see
 * src/validate/ifupdown1.ts for what ifupdown2 does with each) into what it reads, as a staged
 * change like any edit. Pure: text in, text out.
 * - `bond-master BOND` on slaves → the slaves listed in BOND's `bond-slaves` (replacing
 *   `none`), the bond-master lines removed;
 * - `allow-auto X` → `auto X`;
 * - `source-directory DIR` → `source DIR/*`;
 * - `iface X inet6 auto` (no other options) → SLAAC as `post-up echo 2 > …/X/accept_ra` on X's
 *   inet stanza (the form `setup bridged` writes; see src/setup/takeover.ts).
 * `mapping` and `rename` have no equivalent in the file; they are left, and the notes say what
 * to do instead.
 */
import type { TextEdit } from '../interfaces/edits.ts';
import type { Line } from '../interfaces/syntax.ts';
import { removeLines } from '../interfaces/edits.ts';
import { bondMasters } from '../validate/ifupdown1.ts';
import type { PlanContext, SetupResult } from './common.ts';
import { Draft, ownerOf, setOption, syncHookLines } from './common.ts';
import { removeStanza, slaacLine } from './takeover.ts';

/** Plan the rewrite; `notes` say what changed and what could not be rewritten. */
export function planIfupdown2Fix(text: string, ctx: PlanContext = {}): SetupResult {
  const d = new Draft(text, ctx);
  const notes: string[] = [];
  fixBondMaster(d, notes);
  fixKeywords(d, notes);
  fixInet6Auto(d, notes);
  // ifupdown2 3.0 reads mapping and rename lines as options of the stanza above (or ignores
  // them before the first stanza): see src/validate/ifupdown1.ts.
  for (const { line, name, value } of ifupdown1Lines(d)) {
    if (name === 'rename')
      notes.push(
        `line ${line.lineNo}: '${line.text.trim()}' is left as it is: ifupdown2 has no rename; name the NIC with a systemd .link file (see \`nodenet check\`)`,
      );
    else if (name === 'mapping')
      notes.push(
        `line ${line.lineNo}: 'mapping ${value}' is left as it is: ifupdown2 has no mappings; write the stanza you want as a plain iface stanza and remove the mapping`,
      );
  }
  return { text: d.text, notes };
}

function fixBondMaster(d: Draft, notes: string[]): void {
  for (const [bond, slaves] of bondMasters(d.model.ifaces.values())) {
    const b = d.iface(bond);
    if (!b || b.kind !== 'bond') {
      notes.push(
        `bond-master ${bond} on ${slaves.map((s) => s.slave.name).join(', ')}: ${bond} has no bond stanza; create it with \`nodenet create ${bond} --type bond --slaves ${slaves.map((s) => s.slave.name).join(',')}\` and run this again`,
      );
      continue;
    }
    const listed = b.bond?.slaves ?? [];
    const add: string[] = [];
    for (const s of slaves) {
      const other = ownerOf(d.model, s.slave.name, bond);
      if (other) {
        notes.push(
          `${s.slave.name} names ${bond} by bond-master but is ${other.as === 'port' ? 'a port of' : 'a slave of'} ${other.owner.name}: left as it is (decide which it belongs to)`,
        );
        continue;
      }
      if (!listed.includes(s.slave.name) && !add.includes(s.slave.name)) add.push(s.slave.name);
    }
    const moved = slaves.filter((s) => !ownerOf(d.model, s.slave.name, bond)).map((s) => s.slave.name);
    if (add.length) {
      const all = [...listed, ...add].join(' ');
      setOption(d, bond, 'bond-slaves', all, ['address', 'gateway']);
      notes.push(`${bond}: bond-slaves ${all} (the slaves named it by bond-master, which ifupdown2 ignores)`);
    }
    // Drop the bond-master lines of the slaves now listed on the bond.
    const edits: TextEdit[] = [];
    for (const name of moved) {
      const o = d.iface(name)?.options.find((x) => x.key === 'bond-master' && x.value.trim() === bond);
      if (o) edits.push(removeLines(d.doc, o.node.line, o.node.line));
    }
    if (edits.length) {
      d.apply(edits);
      notes.push(`removed bond-master from ${moved.join(', ')}`);
    }
  }
}

/** The lines whose first word is an ifupdown (1) keyword that ifupdown2 3.0 reads as an option or ignores. */
function ifupdown1Lines(d: Draft): { line: Line; name: string; nameStart: number; value: string }[] {
  const out: { line: Line; name: string; nameStart: number; value: string }[] = [];
  for (const n of d.doc.nodes) {
    if (n.kind === 'iface') {
      for (const b of n.body)
        if (b.kind === 'option')
          out.push({
            line: b.line,
            name: b.name.toLowerCase() === 'rename' ? 'rename' : b.name,
            nameStart: b.nameStart,
            value: b.value.trim(),
          });
    } else if (n.kind === 'unknown') {
      const m = /^\s*(\S+)\s*(.*)$/.exec(n.line.text);
      if (m)
        out.push({
          line: n.line,
          name: m[1]!.toLowerCase() === 'rename' ? 'rename' : m[1]!,
          nameStart: n.line.start + n.line.indent.length,
          value: m[2]!.trim(),
        });
    }
  }
  return out.filter((x) => x.name === 'rename' || x.name === 'mapping' || x.name === 'source-directory');
}

function fixKeywords(d: Draft, notes: string[]): void {
  const edits: TextEdit[] = [];
  for (const n of d.doc.nodes) {
    if (n.kind === 'auto' && n.keyword.text === 'allow-auto') {
      edits.push({ offset: n.keyword.start, length: n.keyword.end - n.keyword.start, content: 'auto' });
      notes.push(`line ${n.line.lineNo}: allow-auto → auto (ifupdown2 brings up only auto interfaces with -a)`);
    }
  }
  for (const { line, name, nameStart, value } of ifupdown1Lines(d)) {
    // One physical line only (a continued line is left, as any line the fixer cannot place).
    if (name !== 'source-directory' || !value || line.physical !== 1) continue;
    const dir = value.replace(/\/+$/, '');
    edits.push({ offset: nameStart, length: line.contentEnd - nameStart, content: `source ${dir}/*` });
    notes.push(
      `line ${line.lineNo}: source-directory ${value} → source ${dir}/* (ifupdown2 3.0 has no source-directory; note that the glob also reads file names with dots, which source-directory skipped)`,
    );
  }
  d.apply(edits);
}

function fixInet6Auto(d: Draft, notes: string[]): void {
  for (;;) {
    const i = [...d.model.ifaces.values()].find(
      (x) =>
        x.stanzas.some(
          (s) => s.family === 'inet6' && s.method === 'auto' && s.options.length === 0 && x.stanzas.length > 1,
        ) && !ownerOf(d.model, x.name),
    );
    if (!i) break;
    const s6 = i.stanzas.find((s) => s.family === 'inet6' && s.method === 'auto')!;
    const line = slaacLine(i.name);
    d.apply([removeStanza(d.doc, s6)]);
    syncHookLines(d, i.name, [{ key: 'up:slaac', hook: 'post-up', value: line }], (h, v) =>
      h === 'post-up' && v === line ? 'up:slaac' : null,
    );
    notes.push(
      `${i.name}: 'inet6 auto' → 'post-up ${line}' (SLAAC in a form ifupdown2 3.0 reads; it rejects the method auto)`,
    );
  }
  for (const i of d.model.ifaces.values()) {
    for (const s of i.stanzas) {
      if (s.family !== 'inet6' || s.method !== 'auto') continue;
      const owner = ownerOf(d.model, i.name);
      notes.push(
        `${i.name}: 'inet6 auto' is left as it is${owner ? ` (${i.name} is in ${owner.owner.name}: \`nodenet setup bridged\` moves SLAAC to a bridge)` : ' (its stanza has options of its own or is the only one)'}`,
      );
    }
  }
}
