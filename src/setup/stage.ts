/**
 * The effect side of the planning modes: stage a planner's result through the store exactly
 * like any edit (under the lock, against the digest, refused when it introduces a validation
 * error). Nothing goes live here; `nodenet apply` does that.
 */
import type { NetworkCore } from '../core/network.ts';
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import { unifiedDiff } from '../interfaces/diff.ts';
import type { PlanContext, SetupResult } from './common.ts';

export interface StageResult {
  changed: boolean;
  digest: string;
  /** Sentences from the planner (what was chosen, what apply will and will not do). */
  notes: string[];
  /** Warnings and infos of the new pending config (errors refuse the write). */
  diagnostics: Diagnostic[];
  /** The change this call made, as a unified diff ('' when nothing changed). */
  diff: string;
  warnings: string[];
}

/**
 * Run `plan` on the pending text under the store's lock and stage its result (through the
 * core's one edit path).
 * @throws NodenetError('INVALID') when the result has a validation error the pending text did
 *   not have; NodenetError('STALE') on a digest mismatch; the planner's refusals as they are.
 */
export async function stageSetup(
  core: NetworkCore,
  plan: (text: string, ctx: PlanContext) => SetupResult,
  digest?: string,
): Promise<StageResult> {
  let notes: string[] = [];
  let staged = '';
  const ctx: PlanContext = core.opts.nics ? { nics: core.opts.nics } : {};
  const r = await core.editText(digest, (text) => {
    const res = plan(text, ctx);
    notes = res.notes;
    staged = res.text;
    return res.text;
  });
  return {
    changed: r.changed,
    digest: r.digest,
    notes,
    diagnostics: r.diagnostics,
    diff: r.changed ? unifiedDiff(r.previous, staged) : '',
    warnings: r.warnings,
  };
}
