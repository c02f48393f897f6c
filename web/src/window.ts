/**
 * The confirm window you cannot lose: a banner under the header, on every tab and after a reload,
 * fed by polling GET .../network/pending (every open browser tab polls, so every tab shows it).
 * While a window is open it shows the countdown, Keep and Roll back; when it ends (kept, rolled
 * back, timed out) it says so, and a rolled-back change is offered back as staged (one click).
 */
import { call } from './api.ts';
import { h, toast } from './dom.ts';
import { t } from './i18n.ts';
import type { LastOutcome, PendingState, PendingWindow } from './generated/wire.ts';

export type { LastOutcome, PendingState, PendingWindow };

const DISMISSED = 'nodenet.dismissedEnd';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How a window ended, in words (and whether that is good news). */
export function endMessage(last: LastOutcome | null, id: number): { text: string; good: boolean } {
  if (last === null || last.id !== id) return { text: t('win.ended', { id }), good: false };
  if (last.outcome === 'committed') return { text: t('end.kept', { id }), good: true };
  if (last.outcome === 'rolled-back') {
    const timedOut = /not confirmed before the deadline/.test(last.detail ?? '');
    const failed = /verification failed/.test(last.detail ?? '');
    const why = timedOut
      ? t('end.timeout')
      : failed
        ? t('end.failed', { detail: (last.detail ?? '').replace(/^verification failed: /, '') })
        : t('end.byHand');
    return { text: t('end.rolledBack', { id, why }), good: false };
  }
  return {
    text: t('win.endedOther', { id, outcome: last.outcome, detail: last.detail ? ` (${last.detail})` : '' }),
    good: false,
  };
}

export class WindowWatch {
  readonly el: HTMLElement;
  private state: PendingState = { pending: null, last: null };
  /** Local clock time the deadline falls on (from `left`: no clock skew with the node). */
  private localDeadline = 0;
  private seenId: number | null = null;
  private stopped = false;
  private tick: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private first = true;

  constructor(
    private readonly node: () => string,
    /** Reload the interface list (the window started or ended: the pending diff changed). */
    private readonly reload: () => Promise<void>,
    /** Tells the page whether applies are blocked (a window is open). */
    private readonly onPending: (open: boolean) => void,
  ) {
    this.el = h('section', {
      id: 'confirm-banner',
      'data-testid': 'confirm-banner',
      class: 'confirm-banner',
      'aria-label': t('win.label'),
      hidden: true,
    });
  }

  get pending(): PendingWindow | null {
    return this.state.pending;
  }

  start(): void {
    void this.loop();
    this.tick = setInterval(() => this.renderClock(), 250);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.tick);
  }

  /** Poll now (after an apply started, or a Keep elsewhere). */
  async poll(): Promise<void> {
    let r;
    try {
      r = await call<PendingState>('GET', `/nodes/${this.node()}/network/pending`);
    } catch {
      return; // unreachable or logged out: the banner keeps its last countdown
    }
    const before = this.seenId;
    this.state = r.data;
    const p = r.data.pending;
    if (p !== null) {
      this.localDeadline = Date.now() + p.left * 1000;
      if (before !== p.id) {
        this.seenId = p.id;
        this.onPending(true);
        void this.reload();
      }
      this.renderOpen(p);
    } else if (before !== null) {
      this.seenId = null;
      this.onPending(false);
      this.renderEnded(before, true);
      void this.reload();
      // and once more when the rollback's reload has settled (a slow node answers the first
      // list while the guard is still finishing)
      setTimeout(() => void this.reload(), 2000);
    } else if (this.first) {
      // a page opened after a window ended by rollback still offers the change back
      const last = r.data.last;
      if (
        last &&
        last.outcome === 'rolled-back' &&
        last.restorable &&
        localStorage.getItem(DISMISSED) !== String(last.id)
      )
        this.renderEnded(last.id, false);
    }
    this.first = false;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.poll();
      await sleep(this.state.pending ? 1000 : 2500);
    }
  }

  private renderClock(): void {
    const clock = this.el.querySelector('#banner-countdown');
    if (!clock || !this.state.pending) return;
    clock.textContent = `${Math.max(0, Math.ceil((this.localDeadline - Date.now()) / 1000))} s`;
  }

  private renderOpen(p: PendingWindow): void {
    this.el.hidden = false;
    this.el.className = 'confirm-banner open';
    if (this.el.dataset.id === String(p.id) && this.el.dataset.phase === p.phase && !this.busy) {
      this.renderClock();
      return;
    }
    if (this.busy) return;
    this.el.dataset.id = String(p.id);
    this.el.dataset.phase = p.phase;
    const clock = h('strong', { id: 'banner-countdown', 'data-testid': 'banner-countdown' });
    const what = p.changed.length ? ` (${p.changed.join(', ')})` : '';
    const text =
      p.phase === 'waiting'
        ? h('span', { id: 'banner-text' }, t('banner.trial', { id: p.id, what }), clock, t('banner.trialEnd'))
        : h('span', { id: 'banner-text' }, t('banner.applying', { id: p.id, what }), clock);
    const keep = h(
      'button',
      {
        type: 'button',
        class: 'primary',
        id: 'banner-keep',
        'data-testid': 'banner-keep',
        disabled: p.phase !== 'waiting',
      },
      t('banner.keep'),
    );
    const back = h(
      'button',
      { type: 'button', class: 'danger', id: 'banner-rollback', 'data-testid': 'banner-rollback' },
      t('banner.rollback'),
    );
    keep.addEventListener('click', () => void this.keep(keep, back));
    back.addEventListener('click', () => void this.rollback(keep, back));
    this.el.replaceChildren(text, h('span', { class: 'banner-actions' }, back, keep));
    this.renderClock();
  }

  private async keep(keep: HTMLButtonElement, back: HTMLButtonElement): Promise<void> {
    this.busy = true;
    keep.disabled = true;
    back.disabled = true;
    try {
      const r = await call<{ confirmed: number; message?: string }>('POST', `/nodes/${this.node()}/network/confirm`);
      if (!r.data.confirmed) toast(t('apply.notKept', { msg: r.data.message ?? t('apply.windowClosed') }), 'error');
    } catch (e) {
      toast(t('win.cannotKeep', { msg: (e as Error).message }), 'error');
    }
    this.busy = false;
    this.el.dataset.id = '';
    await this.poll();
  }

  private async rollback(keep: HTMLButtonElement, back: HTMLButtonElement): Promise<void> {
    this.busy = true;
    keep.disabled = true;
    back.disabled = true;
    try {
      const r = await call<string>('POST', `/nodes/${this.node()}/network/rollback`);
      // wait for the rollback task; the poll then sees the window gone
      for (;;) {
        const st = await call<{ status: string }>(
          'GET',
          `/nodes/${this.node()}/tasks/${encodeURIComponent(r.data)}/status`,
        );
        if (st.data.status === 'stopped') break;
        await sleep(400);
      }
    } catch (e) {
      toast(t('apply.cannotRollback', { msg: (e as Error).message }), 'error');
    }
    this.busy = false;
    this.el.dataset.id = '';
    await this.poll();
  }

  private renderEnded(id: number, announce: boolean): void {
    const last = this.state.last;
    const { text, good } = endMessage(last, id);
    this.el.hidden = false;
    this.el.className = `confirm-banner ended ${good ? 'good-end' : 'bad-end'}`;
    this.el.dataset.id = '';
    const actions = h('span', { class: 'banner-actions' });
    if (last && last.id === id && last.restorable) {
      const restore = h(
        'button',
        { type: 'button', class: 'primary', id: 'banner-restage', 'data-testid': 'banner-restage' },
        t('banner.restage'),
      );
      restore.addEventListener('click', () => void this.restage(id, restore));
      actions.append(restore);
    }
    actions.append(
      h(
        'button',
        {
          type: 'button',
          id: 'banner-dismiss',
          'data-testid': 'banner-dismiss',
          onclick: () => {
            localStorage.setItem(DISMISSED, String(id));
            this.el.hidden = true;
            this.el.replaceChildren();
          },
        },
        t('banner.dismiss'),
      ),
    );
    this.el.replaceChildren(h('span', { id: 'banner-text', role: 'status' }, text), actions);
    if (announce) toast(text, good ? 'ok' : 'error');
  }

  private async restage(id: number, btn: HTMLButtonElement): Promise<void> {
    btn.disabled = true;
    try {
      await call('POST', `/nodes/${this.node()}/network/restage`, { id });
      toast(t('win.restaged', { id }), 'ok');
      this.el.hidden = true;
      this.el.replaceChildren();
    } catch (e) {
      btn.disabled = false;
      toast(t('win.cannotRestage', { msg: (e as Error).message }), 'error');
    }
    await this.reload();
  }
}
