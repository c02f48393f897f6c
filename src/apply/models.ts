/**
 * Model helpers of the apply path (pure): the model of a file's text, cached by text, and the
 * physical NIC names a configuration mentions.
 */
import { parse } from '../interfaces/parser.ts';
import { PHYSICAL_NIC_RE, buildModel } from '../model/build.ts';
import type { Model } from '../model/types.ts';

/** The last few models built, by text: an apply's new file is the next apply's live one. */
const models = new Map<string, Model>();

export function modelOf(text: string): Model {
  const hit = models.get(text);
  if (hit !== undefined) return hit;
  const m = buildModel(parse(text, 'interfaces'));
  models.set(text, m);
  if (models.size > 4) models.delete(models.keys().next().value as string);
  return m;
}

/** Physical NIC names a config mentions (the netns backend makes a veth for each). */
export function nicsOf(...models: Model[]): string[] {
  const out = new Set<string>();
  for (const m of models) {
    for (const i of m.ifaces.values()) {
      if (PHYSICAL_NIC_RE.test(i.name)) out.add(i.name);
      for (const p of [...(i.bridge?.ports ?? []), ...(i.bond?.slaves ?? [])]) if (PHYSICAL_NIC_RE.test(p)) out.add(p);
      if (i.vlan?.rawDevice !== undefined && PHYSICAL_NIC_RE.test(i.vlan.rawDevice)) out.add(i.vlan.rawDevice);
    }
  }
  return [...out].sort();
}
