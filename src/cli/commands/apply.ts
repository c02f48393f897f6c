/** apply, confirm, rollback, history, verify, netns: the safe apply commands (issue 4). */
import { sshConnection } from '../../apply/lockout.ts';
import { realpathSync } from 'node:fs';
import { userInfo } from 'node:os';
import { NodenetError } from '../../errors.ts';
import { createBackend, createNetnsBackend, type Backend, type BackendKind } from '../../apply/backend.ts';
import { readJournal } from '../../apply/guard.ts';
import { listHistory } from '../../apply/history.ts';
import { applyViaServer } from '../../apply/local-socket.ts';
import { applyStaged, confirmApply, rollbackPending, rollbackTo, verifyLive, type ApplyResult } from '../../apply/pipeline.ts';
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
    if (!(KINDS as readonly string[]).includes(b)) throw new NodenetError('USAGE', `unknown backend ${JSON.stringify(b)}: use ifupdown2, netns or none`);
    return b as BackendKind;
  }
  if (isHostRoot(ctx.root)) return 'ifupdown2';
  if (process.getuid?.() === 0) return 'netns';
  throw new NodenetError('USAGE', `--root ${ctx.root} is not the host: choose --backend netns (needs root) or --backend none`);
}

function backendFor(ctx: CliContext): Backend {
  return createBackend(backendKind(ctx), { root: ctx.root });
}

function user(): string {
  const u = process.env['SUDO_USER'] ?? userInfo().username;
  return `${u}@cli`;
}

function liveLog(ctx: CliContext): (line: string) => void {
  // progress on stderr so `--output-format json` stdout stays one document
  return (line) => ctx.err(`${line}\n`);
}

function seconds(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1 || n > 86400 || !Number.isInteger(n)) throw new NodenetError('USAGE', `${what}: a whole number of seconds from 1 to 86400 (got ${v})`);
  return n;
}

function report(ctx: CliContext, r: ApplyResult): number {
  const ok = r.entry.outcome === 'committed' || r.entry.outcome === 'pending-confirm';
  if (ctx.format === 'json') {
    ctx.out(`${JSON.stringify({ entry: r.entry, verify: r.verify, reload: { code: r.reload.code, errors: r.reload.errors }, ...(r.journal ? { pending: r.journal } : {}) })}\n`);
    return ok ? 0 : 1;
  }
  const warn = r.diagnostics.filter((d) => d.severity === 'warning');
  if (warn.length) ctx.err(formatDiagnostics(warn));
  switch (r.entry.outcome) {
    case 'committed':
      ctx.out(`applied: history entry #${r.entry.id}\n`);
      break;
    case 'pending-confirm':
      ctx.out(`applied: history entry #${r.entry.id}; run \`nodenet confirm\` before ${new Date(r.journal?.deadline ?? 0).toISOString()} or it is rolled back\n`);
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
    onlyOptions(args, ['confirm-timeout', 'force'], 'apply');
    if (args.positionals.length) throw new NodenetError('USAGE', 'apply takes no arguments');
    const t = seconds(opt(args, 'confirm-timeout'), '--confirm-timeout');
    const ssh = ctx.root === '/' ? sshConnection() : undefined;
    const kind = backendKind(ctx);
    // Through `nodenet serve` when it runs for this root (its warm worker), else in this process.
    if (kind !== 'none' && process.env['NODENET_VIA_SERVE'] !== '0') {
      const via = await applyViaServer(
        { root: ctx.root, backend: kind, user: user(), ...(t === undefined ? {} : { confirmTimeout: t }), ...(args.options.has('force') ? { force: true } : {}), ...(ssh ? { connection: ssh } : {}) },
        liveLog(ctx),
      );
      if ('result' in via) return report(ctx, via.result);
      ctx.err(`nodenet: ${via.fallback}: applying in this process\n`);
    }
    const r = await applyStaged({
      root: ctx.root,
      backend: backendFor(ctx),
      user: user(),
      log: liveLog(ctx),
      ...(t === undefined ? {} : { confirmTimeout: t }),
      ...(args.options.has('force') ? { force: true } : {}),
      // Over SSH, a change that touches the connection itself needs a confirm window.
      ...(ssh ? { connection: ssh } : {}),
    });
    return report(ctx, r);
  },
};

export const confirm: Command = {
  name: 'confirm',
  async run(ctx, args) {
    onlyOptions(args, [], 'confirm');
    const m = await confirmApply({ root: ctx.root, user: user() });
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
    const pending = await readJournal(ctx.root);
    if (args.options.has('if-unconfirmed') || (pending !== null && args.positionals.length === 0)) {
      if (args.positionals.length) throw new NodenetError('USAGE', '--if-unconfirmed takes no entry number');
      const ifExpired = args.options.has('if-unconfirmed');
      const noReload = args.options.has('no-reload');
      const done = await rollbackPending({
        root: ctx.root,
        backend: noReload ? createBackend('none', { root: ctx.root }) : backendFor(ctx),
        reason: ifExpired ? 'not confirmed (window over)' : `rolled back by ${user()}`,
        log,
        ifExpired,
        noReload,
        user: user(),
      });
      if (ctx.format === 'json') ctx.out(`${JSON.stringify({ rolledBack: done })}\n`);
      else ctx.out(done ? 'rolled back the unconfirmed apply\n' : 'nothing to roll back\n');
      return 0;
    }
    if (args.options.has('no-reload')) throw new NodenetError('USAGE', '--no-reload only goes with --if-unconfirmed');
    if (args.positionals.length > 1) throw new NodenetError('USAGE', 'rollback takes at most one entry number');
    const n = args.positionals[0];
    if (n !== undefined && !/^\d+$/.test(n)) throw new NodenetError('USAGE', `rollback: N is a history entry number (got ${n})`);
    const t = seconds(opt(args, 'confirm-timeout'), '--confirm-timeout');
    const r = await rollbackTo({
      root: ctx.root,
      backend: backendFor(ctx),
      user: user(),
      log,
      ...(n === undefined ? {} : { id: Number(n) }),
      ...(t === undefined ? {} : { confirmTimeout: t }),
    });
    return report(ctx, r);
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
      const why = 'nothing was checked: the none backend has no kernel to read; use --backend netns (the sandbox) or ifupdown2 (the host, --root /)';
      if (ctx.format === 'json') ctx.out(`${JSON.stringify({ ok: false, checked: false, differences: [], message: why })}\n`);
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
    ctx.out(r.ok ? 'verify: the kernel matches the live file\n' : 'verify: DRIFT: the kernel does not match the live file\n');
    return r.ok ? 0 : 1;
  },
};

export const netns: Command = {
  name: 'netns',
  async run(ctx, args) {
    onlyOptions(args, [], 'netns');
    if (args.positionals.length !== 1 || args.positionals[0] !== 'destroy') throw new NodenetError('USAGE', 'usage: nodenet netns destroy');
    await createNetnsBackend({ root: ctx.root }).destroy();
    ctx.out('netns sandbox removed\n');
    return 0;
  },
};

export const commands: Command[] = [apply, confirm, rollback, history, verify, netns];
