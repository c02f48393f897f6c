/** apply, confirm, rollback, history, verify, netns: the safe apply commands (issue 4). */
import { sshConnection } from '../../apply/lockout.ts';
import { realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { NodenetError } from '../../errors.ts';
import { createBackend, createNetnsBackend, type Backend, type BackendKind } from '../../apply/backend.ts';
import { isReloadMode } from '../../apply/plan.ts';
import { readJournal } from '../../apply/guard.ts';
import { listHistory } from '../../apply/history.ts';
import { applyViaServer } from '../../apply/local-socket.ts';
import type { ApplyResult } from '../../apply/pipeline.ts';
import { verifyLive } from '../../apply/settle.ts';
import { ApplyService, confirmWindow, parseConfirmTimeout, resolveRollbackTarget } from '../../apply/service.ts';
import { pathsFor } from '../../store/paths.ts';
import type { ParsedArgs } from '../args.ts';
import { onlyOptions, opt } from '../args.ts';
import type { CliContext, Command } from '../context.ts';
import { formatDiagnostics, table } from '../format.ts';

const KINDS: readonly BackendKind[] = ['ifupdown2', 'netns', 'none'];

function isHostRoot(root: string): boolean {
  try {
    return realpathSync(root) === '/';
  } catch {
    return false;
  }
}

/** `--backend`, else ifupdown2 for `--root /`, else netns when root (uid 0). */
export function backendKind(ctx: CliContext): BackendKind {
  const b = ctx.backend;
  if (b !== undefined) {
    if (!(KINDS as readonly string[]).includes(b))
      throw new NodenetError('USAGE', `unknown backend ${JSON.stringify(b)}: use ifupdown2, netns or none`);
    return b as BackendKind;
  }
  if (isHostRoot(ctx.root)) return 'ifupdown2';
  if (process.getuid?.() === 0) return 'netns';
  throw new NodenetError(
    'USAGE',
    `--root ${ctx.root} is not the host: choose --backend netns (needs root) or --backend none`,
  );
}

function backendFor(ctx: CliContext): Backend {
  return createBackend(backendKind(ctx), { root: ctx.root });
}

/** The apply service over this root's backend, validating with the same core as the edit commands. */
function serviceFor(ctx: CliContext): ApplyService {
  return new ApplyService({ root: ctx.root, backend: backendFor(ctx), core: ctx.core() });
}

function user(): string {
  const u = process.env['SUDO_USER'] ?? userInfo().username;
  return `${u}@cli`;
}

function liveLog(ctx: CliContext): (line: string) => void {
  // progress on stderr so `--output-format json` stdout stays one document
  return (line) => ctx.err(`${line}\n`);
}

function report(ctx: CliContext, r: ApplyResult): number {
  const ok = r.entry.outcome === 'committed' || r.entry.outcome === 'pending-confirm';
  if (ctx.format === 'json') {
    ctx.out(
      `${JSON.stringify({ entry: r.entry, verify: r.verify, reload: { code: r.reload.code, errors: r.reload.errors }, ...(r.journal ? { pending: r.journal } : {}) })}\n`,
    );
    return ok ? 0 : 1;
  }
  const warn = r.diagnostics.filter((d) => d.severity === 'warning');
  if (warn.length) ctx.err(formatDiagnostics(warn));
  switch (r.entry.outcome) {
    case 'committed':
      ctx.out(`applied: history entry #${r.entry.id}\n`);
      break;
    case 'pending-confirm':
      ctx.out(
        `applied: history entry #${r.entry.id}; run \`nodenet confirm\` before ${new Date(r.journal?.deadline ?? 0).toISOString()} or it is rolled back\n`,
      );
      break;
    case 'rolled-back':
      ctx.out(`rolled back: entry #${r.entry.id}: ${r.entry.detail ?? ''}\n`);
      break;
    case 'failed':
    case 'in-progress':
    default:
      ctx.out(`FAILED: entry #${r.entry.id}: ${r.entry.detail ?? 'verification failed'}\n`);
  }
  return ok ? 0 : 1;
}

export const apply: Command = {
  name: 'apply',
  async run(ctx, args) {
    onlyOptions(args, ['confirm-timeout', 'force', 'reload'], 'apply');
    if (args.positionals.length) throw new NodenetError('USAGE', 'apply takes no arguments');
    const reload = opt(args, 'reload');
    if (reload !== undefined && !isReloadMode(reload))
      throw new NodenetError('USAGE', `--reload takes all or targeted, not ${JSON.stringify(reload)}`);
    const t = confirmWindow(parseConfirmTimeout(opt(args, 'confirm-timeout')));
    const ssh = ctx.root === '/' ? sshConnection() : undefined;
    const kind = backendKind(ctx);
    // Through `nodenet serve` when it runs for this root (its warm worker), else in this process.
    if (kind !== 'none' && process.env['NODENET_VIA_SERVE'] !== '0') {
      const via = await applyViaServer(
        {
          root: ctx.root,
          backend: kind,
          user: user(),
          ...(t === undefined ? {} : { confirmTimeout: t }),
          ...(args.options.has('force') ? { force: true } : {}),
          ...(reload === undefined ? {} : { reload }),
          ...(ssh ? { connection: ssh } : {}),
        },
        liveLog(ctx),
      );
      if ('result' in via) return report(ctx, via.result);
      ctx.err(`nodenet: ${via.fallback}: applying in this process\n`);
    }
    const r = await serviceFor(ctx).apply(
      {
        user: user(),
        ...(t === undefined ? {} : { confirmTimeout: t }),
        ...(args.options.has('force') ? { force: true } : {}),
        ...(reload === undefined ? {} : { reload }),
        // Over SSH, a change that touches the connection itself needs a confirm window.
        ...(ssh ? { connection: ssh } : {}),
      },
      liveLog(ctx),
    );
    return report(ctx, r);
  },
};

export const confirm: Command = {
  name: 'confirm',
  async run(ctx, args) {
    onlyOptions(args, [], 'confirm');
    const c = await new ApplyService({ root: ctx.root, backend: createBackend('none', { root: ctx.root }) }).confirm({
      user: user(),
    });
    if (!c.confirmed || c.entry === undefined) throw new NodenetError('NO_CHANGES', c.message);
    const m = c.entry;
    if (ctx.format === 'json') ctx.out(`${JSON.stringify({ entry: m })}\n`);
    else ctx.out(`confirmed: history entry #${m.id}\n`);
    return 0;
  },
};

export const rollback: Command = {
  name: 'rollback',
  async run(ctx, args) {
    onlyOptions(args, ['confirm-timeout', 'if-unconfirmed', 'no-reload'], 'rollback');
    const log = liveLog(ctx);
    const ifUnconfirmed = args.options.has('if-unconfirmed');
    const n = args.positionals[0];
    if (ifUnconfirmed && n !== undefined) throw new NodenetError('USAGE', '--if-unconfirmed takes no entry number');
    const pending = (await readJournal(ctx.root)) !== null;
    let t: number | undefined;
    if (!ifUnconfirmed && !(pending && n === undefined)) {
      // the form that restores an entry's previous file: `rollback [N] [--confirm-timeout S]`
      if (args.options.has('no-reload')) throw new NodenetError('USAGE', '--no-reload only goes with --if-unconfirmed');
      if (args.positionals.length > 1) throw new NodenetError('USAGE', 'rollback takes at most one entry number');
      if (n !== undefined && !/^\d+$/.test(n))
        throw new NodenetError('USAGE', `rollback: N is a history entry number (got ${n})`);
      t = confirmWindow(parseConfirmTimeout(opt(args, 'confirm-timeout')));
    }
    // N is the entry id `nodenet history` shows; none: the pending apply, else the newest entry
    const list = ifUnconfirmed ? [] : await listHistory(pathsFor(ctx.root).varLib);
    const target = ifUnconfirmed
      ? { pending: true as const }
      : resolveRollbackTarget(list, pending, n === undefined ? {} : { id: Number(n) });
    if (target.pending) {
      const noReload = args.options.has('no-reload');
      // nothing is validated here: no core (the boot check runs before the network is up)
      const svc = new ApplyService({
        root: ctx.root,
        backend: noReload ? createBackend('none', { root: ctx.root }) : backendFor(ctx),
      });
      const done = await svc.rollbackUnconfirmed({ user: user(), ifExpired: ifUnconfirmed, noReload }, log);
      if (ctx.format === 'json') ctx.out(`${JSON.stringify({ rolledBack: done })}\n`);
      else ctx.out(done ? 'rolled back the unconfirmed apply\n' : 'nothing to roll back\n');
      return 0;
    }
    const r = await serviceFor(ctx).rollback(
      { user: user(), id: target.id, ...(t === undefined ? {} : { confirmTimeout: t }) },
      log,
    );
    if (r.pending)
      throw new NodenetError('INTERNAL', 'rollback: the pending apply was rolled back instead of an entry');
    return report(ctx, r.result);
  },
};

export const history: Command = {
  name: 'history',
  async run(ctx, args: ParsedArgs) {
    onlyOptions(args, [], 'history');
    const h = await listHistory(pathsFor(ctx.root).varLib);
    if (ctx.format === 'json') {
      ctx.out(`${JSON.stringify(h)}\n`);
      return 0;
    }
    if (h.length === 0) {
      ctx.out('no applies yet\n');
      return 0;
    }
    ctx.out(
      table(
        ['ID', 'WHEN', 'USER', 'ACTION', 'OUTCOME', 'DIGEST', 'CHANGED'],
        h.map((m) => [
          String(m.id),
          m.when.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
          m.user,
          m.action === 'rollback' ? `rollback #${m.rollbackOf ?? '?'}` : 'apply',
          m.outcome,
          `${m.digestBefore.slice(0, 8)}→${m.digestAfter.slice(0, 8)}`,
          m.changed.join(' '),
        ]),
      ),
    );
    return 0;
  },
};

export const verify: Command = {
  name: 'verify',
  async run(ctx, args) {
    onlyOptions(args, [], 'verify');
    if (backendKind(ctx) === 'none') {
      // Nothing was read, so nothing can be said to match: an explicit failure, never "ok".
      const why =
        'nothing was checked: the none backend has no kernel to read; use --backend netns (the sandbox) or ifupdown2 (the host, --root /)';
      if (ctx.format === 'json')
        ctx.out(`${JSON.stringify({ ok: false, checked: false, differences: [], message: why })}\n`);
      else ctx.err(`nodenet: verify: ${why}\n`);
      return 1;
    }
    const r = await verifyLive({ root: ctx.root, backend: backendFor(ctx) });
    if (ctx.format === 'json') {
      ctx.out(`${JSON.stringify(r)}\n`);
      return r.ok ? 0 : 1;
    }
    const by = new Map<string, string[]>();
    for (const d of r.differences) {
      const k = d.iface ?? '(global)';
      by.set(k, [...(by.get(k) ?? []), `  ${d.severity === 'critical' ? 'critical ' : 'tolerated'} ${d.message}`]);
    }
    for (const [k, ls] of by) ctx.out(`${k}:\n${ls.join('\n')}\n`);
    ctx.out(
      r.ok ? 'verify: the kernel matches the live file\n' : 'verify: DRIFT: the kernel does not match the live file\n',
    );
    return r.ok ? 0 : 1;
  },
};

export const netns: Command = {
  name: 'netns',
  async run(ctx, args) {
    onlyOptions(args, [], 'netns');
    if (args.positionals.length !== 1 || args.positionals[0] !== 'destroy')
      throw new NodenetError('USAGE', 'usage: nodenet netns destroy');
    await createNetnsBackend({ root: ctx.root }).destroy();
    ctx.out('netns sandbox removed\n');
    return 0;
  },
};

export const commands: Command[] = [apply, confirm, rollback, history, verify, netns];
