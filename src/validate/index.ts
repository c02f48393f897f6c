/**
 * Validation entry point: pure rules over the model, `(ctx) => Diagnostic[]`.
 * Each rule family lives in its own file; this module runs them all.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import type { Document } from '../interfaces/syntax.ts';
import type { Model } from '../model/types.ts';
import type { HostFacts } from './facts.ts';
import { ALL_RULES } from './rules.ts';

export interface ValidateContext {
  doc: Document;
  model: Model;
  /** File name to put into diagnostics. */
  file: string;
  /** Physical NICs known to exist on the host (undefined: unknown, skip host checks). */
  nics?: ReadonlySet<string>;
  /** Interfaces defined in sourced files (interfaces.d), which count as existing. */
  external?: ReadonlyMap<string, string>;
  /** Whether values come from the API (MTU bounds as PVE) rather than a hand-written file. */
  api?: boolean;
  /** Facts from the node's other files (sysctl, corosync); rules that need them skip without. */
  host?: HostFacts;
}

export type Rule = (ctx: ValidateContext) => Diagnostic[];

/** Run every rule. Parser diagnostics are not included (the caller merges them). */
export function validate(ctx: ValidateContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of ALL_RULES) for (const d of r(ctx)) out.push(d.file ? d : { ...d, file: ctx.file });
  return out;
}
