/**
 * The golden model of a fixture: what the model layer makes of it, in a stable JSON form.
 * Shared by the golden test and by `update-golden.ts`, which rewrites the files.
 */
import { parse } from '../../src/interfaces/parser.ts';
import { buildModel } from '../../src/model/build.ts';
import { toPve } from '../../src/model/pve-view.ts';

export const CORPUS = new URL('../fixtures/corpus/', import.meta.url);

export function goldenModel(text: string): unknown {
  const doc = parse(text, 'interfaces');
  const model = buildModel(doc);
  return {
    diagnostics: doc.diagnostics.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code}`),
    interfaces: [...model.ifaces.values()].map((i) => ({
      name: i.name,
      kind: i.kind,
      autostart: i.autostart,
      hotplug: i.hotplug,
      ...(i.classes.length ? { classes: i.classes } : {}),
      stanzas: i.stanzas.map((s) => ({
        line: s.node.header.lineNo,
        family: s.family,
        method: s.method,
        addresses: s.addresses.map((a) => `${a.ip}/${a.prefix ?? '?'}`),
        options: s.options.map((o) => `${o.key}=${o.value}`),
        comments: s.comments.length,
      })),
      ...(i.bridge ? { bridge: { ...i.bridge, portsOption: undefined } } : {}),
      ...(i.bond ? { bond: { ...i.bond, other: i.bond.other.map((o) => `${o.key}=${o.value}`) } } : {}),
      ...(i.vlan ? { vlan: i.vlan } : {}),
      pve: toPve(i),
    })),
    autoOnly: [...model.autoOnly.keys()],
    sources: model.sources.map((s) => `${s.keyword.text} ${s.path}`),
  };
}
