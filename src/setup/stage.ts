/**
 * The effect side of the planning modes: stage a planner's result through the store exactly
 * like any edit (under the lock, against the digest, refused when it introduces a validation
 * error). Nothing goes live here; `nodenet apply` does that.
 */
import type { NetworkCore } from '../core/network.ts';
import { NodenetError } from '../errors.ts';
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

const key = (d: Diagnostic) => `${d.code}\u0000${d.iface ?? ''}\u0000${d.message}`;

/**
 * Run `plan` on the pending text under the store's lock and stage its result.
 * @throws NodenetError('INVALID') when the result has a validation error the pending text did
 *   not have; NodenetError('STALE') on a digest mismatch; the planner's refusals as they are.
 */
export async function stageSetup(
  core: NetworkCore,
  plan: (text: string, ctx: PlanContext) => SetupResult,
  digest?: string,
): Promise<StageResult> {
  let notes: string[] = [];
  let diagnostics: Diagnostic[] = [];
  let diff = '';
  const ctx: PlanContext = core.opts.nics ? { nics: core.opts.nics } : {};
  const { after, changed, before } = await core.store.update(async (snap) => {
    const r = plan(snap.pending, ctx);
    notes = r.notes;
    if (r.text === snap.pending) return r.text;
    const [old, now] = await Promise.all([core.diagnose(snap.pending, 'interfaces.new'), core.diagnose(r.text, 'interfaces.new')]);
    const had = new Set(old.filter((d) => d.severity === 'error').map(key));
    const introduced = now.filter((d) => d.severity === 'error' && !had.has(key(d)));
    if (introduced.length) {
      throw new NodenetError('INVALID', `the change was refused: ${introduced.map((d) => d.message).join('; ')}`, { diagnostics: introduced });
    }
    diagnostics = now;
    diff = unifiedDiff(snap.pending, r.text);
    return r.text;
  }, digest);
  return {
    changed,
    digest: after.digest,
    notes,
    diagnostics,
    diff,
    warnings: before.liveChangedSinceStaging ? ['the live file etc/network/interfaces was edited by hand after the staged changes were made; review `nodenet diff`'] : [],
  };
}
