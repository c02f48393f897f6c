/**
 * Apply, safely: PUT with a confirm timeout, the task log live, then a countdown with Keep /
 * Roll back. If the node cannot be reached during the window, the page says that the node rolls
 * back by itself at the deadline; if the page's own address moves, it shows and tries the new one.
 */
import { ApiError, call } from './api.ts';
import { h, modal } from './dom.ts';
import type { Modal } from './dom.ts';
import { addressMove } from './logic.ts';
import type { Iface } from './logic.ts';
import { fmtTime, t } from './i18n.ts';
import { apiText, logLine } from './server-text.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One task log line, in the chosen language when it is a known one (the English original as tooltip). */
function logRow(line: string, cls: string): HTMLElement {
  const shown = logLine(line);
  return h('div', { class: cls, title: shown.title || null }, shown.text);
}

/** Polls a task's log into `logEl` until it stops; resolves with its exit status. */
export async function followTask(node: string, upid: string, logEl: HTMLElement): Promise<string> {
  let start = 0;
  for (;;) {
    const log = await call<{ n: number; t: string }[]>('GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`, {
      start,
      limit: 500,
    });
    for (const l of log.data) {
      logEl.append(logRow(l.t, /ERROR|error|failed/.test(l.t) ? 'log-err' : ''));
      start = Math.max(start, l.n);
    }
    if (log.data.length) logEl.scrollTop = logEl.scrollHeight;
    const st = await call<{ status: string; exitstatus?: string }>(
      'GET',
      `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
    );
    if (st.data.status === 'stopped') {
      // one last read for lines written just before the stop
      const rest = await call<{ n: number; t: string }[]>(
        'GET',
        `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`,
        { start, limit: 500 },
      );
      for (const l of rest.data) logEl.append(logRow(l.t, ''));
      return st.data.exitstatus ?? 'unknown';
    }
    await sleep(400);
  }
}

export interface ApplyContext {
  node: string;
  list: Iface[];
  changes: string;
  digest: string | undefined;
  reload(): Promise<void>;
  /** The apply task started (the page's confirm-window banner polls at once). */
  started?: () => void;
}

/** The Apply dialog: asks for the confirm window, then runs the whole flow. */
export function openApply(ctx: ApplyContext): void {
  const m = modal({ id: 'apply-dialog', title: t('apply.title'), wide: true, sticky: false });
  const move = addressMove(location.hostname, ctx.changes, ctx.list);
  const timeout = h('input', {
    type: 'number',
    id: 'apply-timeout',
    'data-testid': 'apply-timeout',
    min: 0,
    max: 3600,
    value: 60,
  });
  m.body.append(
    h('p', {}, t('apply.intro')),
    h('div', { class: 'field inline' }, h('label', { for: 'apply-timeout' }, t('apply.timeout')), timeout),
  );
  if (move) m.body.append(h('p', { class: 'warn', id: 'apply-move', 'data-testid': 'apply-move' }, move.message));
  const go = h(
    'button',
    { type: 'button', class: 'primary', id: 'apply-go', 'data-testid': 'apply-go' },
    t('apply.go'),
  );
  m.footer.append(h('button', { type: 'button', onclick: () => m.close() }, t('common.cancel')), go);
  go.focus();
  go.addEventListener('click', () => {
    const t = Math.max(0, Math.floor(Number(timeout.value) || 0));
    void run(ctx, m, t, move);
  });
}

async function run(ctx: ApplyContext, m: Modal, timeoutS: number, move: ReturnType<typeof addressMove>): Promise<void> {
  m.body.replaceChildren();
  m.footer.replaceChildren();
  const state = h('p', { id: 'apply-state', 'data-testid': 'apply-state', role: 'status' }, t('apply.applying'));
  const log = h('div', {
    class: 'tasklog',
    id: 'apply-log',
    'data-testid': 'apply-log',
    'aria-label': t('common.taskLog'),
    tabindex: 0,
  });
  m.body.append(state, log);
  const started = Date.now();
  let upid: string;
  try {
    const r = await call<string>('PUT', `/nodes/${ctx.node}/network`, {
      ...(timeoutS > 0 ? { 'confirm-timeout': timeoutS } : {}),
      ...(ctx.digest ? { digest: ctx.digest } : {}),
    });
    upid = r.data;
    ctx.started?.();
  } catch (e) {
    state.textContent = t('apply.refused', { msg: apiText((e as Error).message).text });
    state.className = 'bad';
    m.footer.append(h('button', { type: 'button', onclick: () => m.close() }, t('common.close')));
    await ctx.reload();
    return;
  }
  // the deadline counts from the request: the earliest moment the node may roll back
  const deadline = started + timeoutS * 1000;
  let exit: string;
  try {
    exit = await followTask(ctx.node, upid, log);
  } catch (e) {
    lost(state, deadline, move, e);
    m.footer.append(h('button', { type: 'button', onclick: () => m.close() }, t('common.close')));
    return;
  }
  if (exit !== 'OK') {
    state.textContent = t('apply.failed', { exit });
    state.className = 'bad';
    m.footer.append(h('button', { type: 'button', onclick: () => m.close() }, t('common.close')));
    await ctx.reload();
    return;
  }
  if (timeoutS <= 0) {
    state.textContent = t('apply.done');
    state.className = 'good';
    m.footer.append(
      h('button', { type: 'button', 'data-testid': 'apply-close', onclick: () => m.close() }, t('common.close')),
    );
    await ctx.reload();
    return;
  }
  await countdown(ctx, m, state, deadline, move);
}

function lost(state: HTMLElement, deadline: number, move: ReturnType<typeof addressMove>, e: unknown): void {
  const when = fmtTime(new Date(deadline));
  state.className = 'bad';
  state.replaceChildren(t('apply.lost', { msg: (e as Error).message, when }));
  if (move?.to) state.append(newAddress(move.to));
}

/** A link to the same page on the new address, and a probe whether it answers. */
function newAddress(to: string): HTMLElement {
  const host = to.includes(':') ? `[${to}]` : to;
  const url = `${location.protocol}//${host}${location.port ? `:${location.port}` : ''}/`;
  const probe = h('span', { id: 'new-address-probe' }, t('apply.checking'));
  // no-cors: we only learn whether something answers there; the page's CSP may refuse the probe
  fetch(`${url}api2/json/version`, { mode: 'no-cors', cache: 'no-store' })
    .then(() => {
      probe.textContent = t('apply.answers');
    })
    .catch(() => {
      probe.textContent = t('apply.noAnswer');
    });
  return h(
    'span',
    { id: 'new-address', 'data-testid': 'new-address' },
    t('apply.newAddress'),
    h('a', { href: url }, url),
    probe,
  );
}

async function countdown(
  ctx: ApplyContext,
  m: Modal,
  state: HTMLElement,
  deadline: number,
  move: ReturnType<typeof addressMove>,
): Promise<void> {
  state.className = 'warn';
  const clock = h('strong', { id: 'apply-countdown', 'data-testid': 'apply-countdown' });
  state.replaceChildren(t('apply.keepWithin'), clock, t('apply.keepEnd'));
  if (move?.to) m.body.append(h('p', { class: 'warn' }, newAddress(move.to)));
  const keep = h(
    'button',
    { type: 'button', class: 'primary', id: 'apply-keep', 'data-testid': 'apply-keep' },
    t('banner.keep'),
  );
  const back = h(
    'button',
    { type: 'button', class: 'danger', id: 'apply-rollback', 'data-testid': 'apply-rollback' },
    t('banner.rollback'),
  );
  m.footer.append(back, keep);
  keep.focus();
  let over = false;
  let failures = 0;
  const finish = async (text: string, cls: string): Promise<void> => {
    over = true;
    clearInterval(tick);
    state.className = cls;
    state.textContent = text;
    m.footer.replaceChildren(
      h(
        'button',
        { type: 'button', 'data-testid': 'apply-close', id: 'apply-close', onclick: () => m.close() },
        t('common.close'),
      ),
    );
    (m.footer.firstChild as HTMLElement).focus();
    await ctx.reload().catch(() => undefined);
  };
  const tick = setInterval(() => {
    if (over) return;
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    clock.textContent = `${left} s`;
    if (left <= 0) void finish(t('apply.timedOut'), 'bad');
  }, 250);
  clock.textContent = `${Math.max(0, Math.ceil((deadline - Date.now()) / 1000))} s`;
  // watch the connection during the window
  void (async () => {
    while (!over) {
      await sleep(2000);
      if (over) break;
      try {
        await call('GET', '/version');
        failures = 0;
      } catch (e) {
        if (e instanceof ApiError && e.status !== 0) continue;
        if (++failures >= 2) {
          lost(state, deadline, move, e);
        }
      }
    }
  })();
  keep.addEventListener('click', () => {
    keep.disabled = true;
    call<{ confirmed: number; message?: string }>('POST', `/nodes/${ctx.node}/network/confirm`)
      .then((r) =>
        finish(
          r.data.confirmed ? t('apply.kept') : t('apply.notKept', { msg: r.data.message ?? t('apply.windowClosed') }),
          r.data.confirmed ? 'good' : 'bad',
        ),
      )
      .catch((e: Error) => {
        keep.disabled = false;
        state.textContent = t('apply.cannotConfirm', { msg: e.message });
      });
  });
  back.addEventListener('click', () => {
    back.disabled = true;
    keep.disabled = true;
    clearInterval(tick);
    over = true;
    call<string>('POST', `/nodes/${ctx.node}/network/rollback`)
      .then(async (r) => {
        state.textContent = t('apply.rollingBack');
        const exit = await followTask(ctx.node, r.data, m.body.querySelector('#apply-log') as HTMLElement);
        over = false;
        await finish(
          exit === 'OK' ? t('apply.rolledBack') : t('apply.rollbackFailed', { exit }),
          exit === 'OK' ? 'good' : 'bad',
        );
      })
      .catch((e: Error) => {
        state.textContent = t('apply.cannotRollback', { msg: e.message });
      });
  });
}
