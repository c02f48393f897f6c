/**
 * The API's view of the one apply service (src/apply/service.ts): apply and rollback as tasks
 * (a non-committed outcome is a task error), the task log worded for the web UI, and the
 * lock-out refusal as PVE's "Parameter verification failed." (HTTP 400). No apply decisions here.
 */
import type { Connection } from '../apply/lockout.ts';
import type { ApplyResult, LockoutChecked } from '../apply/pipeline.ts';
import type { ApplyService as Service } from '../apply/service.ts';
import { NodenetError, paramError } from '../errors.ts';
import type {
  ApplyOptions,
  ApplyService,
  ConfirmResult,
  HistoryEntry,
  LastOutcome,
  PendingWindow,
  VerifyResult,
} from './apply-service.ts';

export class PipelineApplyService implements ApplyService {
  readonly backend: string;

  constructor(private readonly service: Service) {
    this.backend = service.backend.kind;
  }

  lockout(connection: Connection): Promise<string | null> {
    return this.service.lockout(connection);
  }

  async precheck(opts: ApplyOptions): Promise<LockoutChecked | undefined> {
    try {
      return await this.service.precheck(opts);
    } catch (e) {
      if (e instanceof NodenetError && e.code === 'LOCKOUT' && e.errors !== undefined) throw paramError(e.errors);
      throw e;
    }
  }

  async apply(opts: ApplyOptions, log: (line: string) => void): Promise<void> {
    // the task log is read in the web UI: there the window ends with its Keep button
    const forUi = (l: string): void =>
      log(l.replace(/^waiting for `nodenet confirm` within (\d+) s$/, 'waiting for you to press Keep within $1 s'));
    outcome(await this.service.apply(opts, forUi), log, opts.confirmTimeout);
  }

  async confirm(opts: { user: string }): Promise<ConfirmResult> {
    const r = await this.service.confirm(opts);
    return { confirmed: r.confirmed, message: r.message };
  }

  async rollback(opts: { n?: number; id?: number; user: string }, log: (line: string) => void): Promise<void> {
    const r = await this.service.rollback(
      {
        user: opts.user,
        ...(opts.n === undefined ? {} : { n: opts.n }),
        ...(opts.id === undefined ? {} : { id: opts.id }),
      },
      log,
    );
    if (!r.pending) outcome(r.result, log);
  }

  history(): Promise<HistoryEntry[]> {
    return this.service.history();
  }

  pending(): Promise<{ pending: PendingWindow | null; last: LastOutcome | null }> {
    return this.service.pending();
  }

  restage(id: number): Promise<{ changes: string }> {
    return this.service.restage(id);
  }

  verify(): Promise<VerifyResult> {
    return this.service.verify();
  }
}

/** Turn a non-committed outcome into a task error (the task's exitstatus is not OK). */
function outcome(r: ApplyResult, log: (line: string) => void, window?: number): void {
  const o = r.entry.outcome;
  if (o === 'committed') return;
  if (o === 'pending-confirm') {
    log(
      `confirm window open: press Keep within ${window ?? '?'} s, or the previous configuration comes back by itself`,
    );
    return;
  }
  throw new NodenetError('APPLY_FAILED', `${o}: ${r.entry.detail ?? 'see the task log'}`);
}
