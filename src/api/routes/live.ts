/**
 * Routes of what follows an apply and of the running kernel: the confirm window, link
 * statistics, history, restage, rollback and verify.
 */
import { paramError } from '../../errors.ts';
import { UPID_RET, str } from './common.ts';
import type { Route } from './types.ts';

export const LIVE_ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/nodes/{node}/network/confirm',
    summary: 'Keep the applied configuration (ends the confirm window).',
    params: [],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object', properties: { confirmed: { type: 'boolean' }, message: { type: 'string' } } },
    async handler(ctx, deps) {
      const r = await deps.apply.confirm({ user: ctx.principal!.id, source: ctx.source });
      return { data: { confirmed: r.confirmed ? 1 : 0, message: r.message } };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/linkstats',
    summary:
      'Link details of one interface where the backend runs a kernel: MAC, MTU, state, carrier, speed, duplex, rx/tx counters.',
    params: [{ name: 'iface', type: 'string', description: 'Interface name.' }],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx, deps) {
      const iface = str(ctx.params.iface);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/.test(iface)) throw paramError({ iface: 'not an interface name' });
      const run = deps.sysctl;
      if (!run)
        return {
          data: {
            iface,
            available: 0,
            message: `the ${deps.apply.backend} backend runs no kernel here: no link details`,
          },
        };
      const link = await run(['ip', '-j', '-s', 'link', 'show', 'dev', iface]);
      if (link.code !== 0)
        return { data: { iface, available: 0, message: `${iface} does not exist in the running kernel` } };
      const j = (JSON.parse(link.stdout) as Record<string, unknown>[])[0] ?? {};
      // speed and duplex from sysfs (unreadable while a link is down: then null)
      const sys = await run([
        'sh',
        '-c',
        'd=/sys/class/net/$1; for f in speed duplex carrier; do v=$(cat "$d/$f" 2>/dev/null) || v=; echo "$v"; done',
        'linkstats',
        iface,
      ]);
      const [speed, duplex, carrier] = sys.stdout.split('\n');
      const st = (j.stats64 ?? j.stats ?? {}) as { rx?: Record<string, number>; tx?: Record<string, number> };
      const num = (v: string | undefined): number | null =>
        v === undefined || v.trim() === '' || Number.isNaN(Number(v)) ? null : Number(v);
      const flags = Array.isArray(j.flags) ? (j.flags as string[]) : [];
      return {
        data: {
          iface,
          available: 1,
          mac: j.address ?? null,
          mtu: j.mtu ?? null,
          state: j.operstate ?? null,
          carrier: num(carrier) ?? (flags.includes('LOWER_UP') ? 1 : 0),
          speed: num(speed) !== null && num(speed)! >= 0 ? num(speed) : null,
          duplex: duplex?.trim() || null,
          master: j.master ?? null,
          rx: {
            bytes: st.rx?.bytes ?? 0,
            packets: st.rx?.packets ?? 0,
            errors: st.rx?.errors ?? 0,
            dropped: st.rx?.dropped ?? 0,
          },
          tx: {
            bytes: st.tx?.bytes ?? 0,
            packets: st.tx?.packets ?? 0,
            errors: st.tx?.errors ?? 0,
            dropped: st.tx?.dropped ?? 0,
          },
          time: Date.now(),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/pending',
    summary: 'The open confirm window (history id, deadline, seconds left), if any, and the newest history entry.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: {
      type: 'object',
      properties: { pending: { type: 'object', optional: true }, last: { type: 'object', optional: true } },
    },
    async handler(_ctx, deps) {
      return { data: await deps.apply.pending() };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/restage',
    summary: 'Stage again the file history entry `id` made live (a change that was rolled back).',
    params: [{ name: 'id', type: 'integer', minimum: 1, description: 'History entry id (#N).' }],
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object', properties: { changes: { type: 'string' } } },
    async handler(ctx, deps) {
      const id = Number(ctx.params.id);
      return { data: await deps.serial(() => deps.apply.restage(id)) };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/history',
    summary: 'Applied configurations, newest first.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: { type: 'array', items: { type: 'object' } },
    async handler(_ctx, deps) {
      return { data: await deps.apply.history() };
    },
  },
  {
    method: 'POST',
    path: '/nodes/{node}/network/rollback',
    summary: 'Go back to history entry n (default 1, the previous configuration); returns a task UPID.',
    params: [
      {
        name: 'n',
        type: 'integer',
        minimum: 1,
        maximum: 1000,
        optional: true,
        description: 'History entry (1 = the previous configuration).',
      },
      {
        name: 'id',
        type: 'integer',
        minimum: 1,
        optional: true,
        description:
          'History entry id (#N as the CLI, the task log and the UI number it): restore the file live before it.',
      },
    ],
    perm: 'Sys.Modify',
    extension: true,
    returns: UPID_RET,
    async handler(ctx, deps) {
      const user = ctx.principal!.id;
      const n = ctx.params.n === undefined ? undefined : Number(ctx.params.n);
      const id = ctx.params.id === undefined ? undefined : Number(ctx.params.id);
      const upid = await deps.tasks.start('netrollback', 'networking', user, (log) =>
        deps.apply.rollback(
          { user, source: ctx.source, ...(n !== undefined ? { n } : {}), ...(id !== undefined ? { id } : {}) },
          log,
        ),
      );
      return { data: upid };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/verify',
    summary: 'Compare the running kernel state with the live file.',
    params: [],
    perm: 'Sys.Audit',
    extension: true,
    returns: {
      type: 'object',
      properties: { ok: { type: 'boolean' }, drift: { type: 'array', items: { type: 'string' } } },
    },
    async handler(_ctx, deps) {
      const r = await deps.apply.verify();
      return { data: { ...r, ok: r.ok ? 1 : 0 } };
    },
  },
];
