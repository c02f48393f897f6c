/** What every validation rule reads, and the shape of a rule (kept apart from index.ts, which runs them all). */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import type { Document } from '../interfaces/syntax.ts';
import type { Model } from '../model/types.ts';
import type { HostFacts } from './facts.ts';

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
