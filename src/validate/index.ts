/**
 * Validation entry point: pure rules over the model, `(ctx) => Diagnostic[]`.
 * Each rule family lives in its own file; this module runs them all.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { ALL_RULES } from './rules.ts';

import type { ValidateContext } from './context.ts';
export type { Rule, ValidateContext } from './context.ts';

/** Run every rule. Parser diagnostics are not included (the caller merges them). */
export function validate(ctx: ValidateContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of ALL_RULES) for (const d of r(ctx)) out.push(d.file ? d : { ...d, file: ctx.file });
  return out;
}
