/**
 * The Fleet page (fleet servers, `nodenet serve --etcd`): every node with its liveness, pending
 * changes, the age of what it last published and its drift; one change staged on several nodes
 * (a rollout with `start=0`: each node's diff is shown before anything is applied), and the
 * rollouts with their live progress, per-node state, events, Start, Halt and Rollback.
 */
import { ApiError, call } from './api.ts';
import type { Params } from './api.ts';
import { confirmDialog, focusFirst, h, modal, toast } from './dom.ts';
import type { Modal } from './dom.ts';
import { openEditor } from './edit.ts';
import { diffView } from './extras.ts';
import { fmtDate, t, tOr } from './i18n.ts';
import type { Iface } from './logic.ts';
import { apiText } from './server-text.ts';

export interface FleetNode {
  node: string;
  status: string;
  pending?: boolean;
  interfaces?: number;
  digest?: string;
  updated?: string;
  uptime?: number;
  version?: string;
  backend?: string;
}

export interface RolloutSummary {
  id: string;
  state: string;
  user: string;
  created: string;
  nodes: string[];
  counts: Record<string, number>;
}

export interface RolloutNode {
  node: string;
  state: string;
  changes?: string;
  upid?: string;
  error?: string;
  updated?: string;
}

export interface RolloutDetail {
  id: string;
  state: string;
  user: string;
  created: string;
  spec?: Record<string, unknown>;
  nodes: RolloutNode[];
  events: { ts: string; user?: string; node?: string; msg: string }[];
}

/** Rollout states after which nothing changes any more (polling stops). */
const FINAL = new Set(['rolled-back', 'done', 'failed']);

/** Whether the server is a fleet server: it has the rollout API (a single node answers 501). */
export async function detectFleet(nodes: readonly Record<string, unknown>[]): Promise<boolean> {
  try {
    await call('GET', '/cluster/network/rollouts');
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    // without the rollout API: a fleet server still says when each node last published its state
    return nodes.some((n) => 'updated' in n || 'uptime' in n);
  }
}

/** "12 s ago", "3 min ago", else the date (from an ISO time). */
export function ageText(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return iso;
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 90) return t('fleet.ageS', { n: s });
  if (s < 5400) return t('fleet.ageM', { n: Math.round(s / 60) });
  return fmtDate(new Date(at));
}

const nodeState = (s: string): string => tOr(`nstate.${s}`, s);
const rolloutState = (s: string): string => tOr(`rstate.${s}`, s);
const stateClass = (s: string): string =>
  ['confirmed', 'done', 'online'].includes(s)
    ? 'good'
    : ['failed', 'offline', 'halted', 'aborted'].includes(s)
      ? 'bad'
      : ['rolled-back', 'rolling-back'].includes(s)
        ? 'warn-badge'
        : '';

/** Re-render `box` by `fn` and give focus back to the element with the same id (tables re-drawn every 2 s). */
function keepFocus(box: HTMLElement, fn: () => void): void {
  const a = document.activeElement;
  const id = a && box.contains(a) ? a.id : '';
  fn();
  if (id) document.getElementById(id)?.focus();
}

interface Drift {
  digest: string | undefined;
  at: number;
  text: string;
  cls: string;
}

/** The Fleet tab: call start() when it is shown, stop() when it is left. */
export class FleetPage {
  readonly el: HTMLElement;
  private nodes: FleetNode[] = [];
  private readonly nodeBody: HTMLElement;
  private readonly rolloutBox: HTMLElement;
  private readonly drift = new Map<string, Drift>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private busy = false;
  private shownRollouts = '';

  constructor(
    private readonly o: {
      /** Open the single-node network view of `node`. */
      open(node: string): void;
      /** The nodes as last read (GET /nodes): shown at once, then re-read. */
      nodes: FleetNode[];
    },
  ) {
    this.nodes = o.nodes;
    this.nodeBody = h('tbody', { id: 'fleet-nodes-body' });
    this.rolloutBox = h(
      'div',
      { id: 'fleet-rollouts', 'aria-live': 'polite' },
      h('p', { class: 'muted' }, t('common.loading')),
    );
    const stage = h(
      'button',
      {
        type: 'button',
        class: 'primary',
        id: 'fleet-stage',
        'data-testid': 'fleet-stage',
        'aria-haspopup': 'dialog',
        onclick: () => this.stageDialog(),
      },
      t('fleet.stage'),
    );
    const refresh = h(
      'button',
      { type: 'button', id: 'fleet-refresh', onclick: () => void this.refresh(true) },
      t('fleet.refresh'),
    );
    this.el = h(
      'div',
      { class: 'fleet' },
      h('h2', { id: 'fleet-nodes-title' }, t('fleet.nodes')),
      h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': t('fleet.actions') }, stage, refresh),
      h(
        'table',
        { class: 'drift-table fleet-table', id: 'fleet-nodes', 'aria-labelledby': 'fleet-nodes-title' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[
              t('fleet.colNode'),
              t('fleet.colStatus'),
              t('fleet.colPending'),
              t('fleet.colIfaces'),
              t('fleet.colUpdated'),
              t('fleet.colDrift'),
            ].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        this.nodeBody,
      ),
      h('h2', { id: 'fleet-rollouts-title' }, t('fleet.rollouts')),
      this.rolloutBox,
    );
    this.drawNodes();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.refresh(false);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Re-read nodes and rollouts (every 2 s while shown); `force` re-checks every node's drift. */
  async refresh(force: boolean): Promise<void> {
    clearTimeout(this.timer);
    if (this.busy) return;
    this.busy = true;
    try {
      const r = await call<FleetNode[]>('GET', '/nodes');
      this.nodes = r.data;
      if (force) this.drift.clear();
      this.renderNodes();
      void this.checkDrift();
      await this.renderRollouts();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.stop();
        return;
      }
      this.nodeBody.replaceChildren(
        h('tr', {}, h('td', { colspan: 6, class: 'bad' }, t('fleet.loadFailed', { msg: (e as Error).message }))),
      );
    } finally {
      this.busy = false;
      if (this.running) this.timer = setTimeout(() => void this.refresh(false), 2000);
    }
  }

  private renderNodes(): void {
    keepFocus(this.nodeBody, () => this.drawNodes());
  }

  private drawNodes(): void {
    if (!this.nodes.length) {
      this.nodeBody.replaceChildren(h('tr', {}, h('td', { colspan: 6, class: 'muted' }, t('fleet.noNodes'))));
      return;
    }
    this.nodeBody.replaceChildren(
      ...this.nodes.map((n) => {
        const d = this.drift.get(n.node);
        const online = n.status === 'online';
        return h(
          'tr',
          { 'data-testid': `fleet-node-${n.node}`, 'data-status': n.status },
          h(
            'th',
            { scope: 'row' },
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                id: `fleet-open-${n.node}`,
                'data-testid': `fleet-open-${n.node}`,
                title: t('fleet.openTitle', { node: n.node }),
                onclick: () => this.o.open(n.node),
              },
              n.node,
            ),
          ),
          h(
            'td',
            {},
            h(
              'span',
              { class: `badge ${online ? 'good' : 'bad'}`, 'data-testid': `fleet-status-${n.node}` },
              online ? t('fleet.online') : t('fleet.offline'),
            ),
          ),
          h('td', {}, n.pending === undefined ? '—' : n.pending ? t('fleet.pendingYes') : t('common.no')),
          h('td', {}, n.interfaces === undefined ? '—' : String(n.interfaces)),
          h('td', { title: n.updated ? fmtDate(new Date(n.updated)) : null }, ageText(n.updated)),
          h(
            'td',
            { 'data-testid': `fleet-drift-${n.node}` },
            online ? (d ? h('span', { class: `badge ${d.cls}` }, d.text) : '…') : t('fleet.driftUnknown'),
          ),
        );
      }),
    );
  }

  /** Drift of each online node (GET .../verify), re-checked when its digest changes or after 30 s. */
  private async checkDrift(): Promise<void> {
    const now = Date.now();
    const due = this.nodes.filter((n) => {
      const d = this.drift.get(n.node);
      return n.status === 'online' && (!d || d.digest !== n.digest || now - d.at > 30_000);
    });
    await Promise.all(
      due.map(async (n) => {
        let v: Drift;
        try {
          const r = await call<{ ok: number | boolean; drift: unknown[] }>(
            'GET',
            `/nodes/${encodeURIComponent(n.node)}/network/verify`,
          );
          const k = r.data.drift.length;
          v = {
            digest: n.digest,
            at: now,
            cls: r.data.ok ? (k ? 'warn-badge' : 'good') : 'bad',
            text: r.data.ok ? (k ? t('drift.notes', { n: k }) : t('drift.sync')) : t('drift.count', { n: k }),
          };
        } catch {
          v = { digest: n.digest, at: now, cls: '', text: t('drift.na') };
        }
        this.drift.set(n.node, v);
      }),
    );
    if (due.length) this.renderNodes();
  }

  private async renderRollouts(): Promise<void> {
    let list: RolloutSummary[];
    try {
      list = (await call<RolloutSummary[]>('GET', '/cluster/network/rollouts')).data;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      this.shownRollouts = '';
      this.rolloutBox.replaceChildren(
        h(
          'p',
          { class: 'muted', id: 'fleet-rollouts-none' },
          e instanceof ApiError && e.status === 501 ? t('fleet.noRolloutApi') : (e as Error).message,
        ),
      );
      return;
    }
    const key = JSON.stringify(list);
    if (key === this.shownRollouts) return;
    this.shownRollouts = key;
    keepFocus(this.rolloutBox, () => this.drawRollouts(list));
  }

  private drawRollouts(list: RolloutSummary[]): void {
    if (!list.length) {
      this.rolloutBox.replaceChildren(h('p', { class: 'muted', id: 'fleet-rollouts-none' }, t('fleet.noRollouts')));
      return;
    }
    this.rolloutBox.replaceChildren(
      h(
        'table',
        { class: 'drift-table fleet-table', id: 'fleet-rollouts-table', 'aria-labelledby': 'fleet-rollouts-title' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[
              t('fleet.colRollout'),
              t('fleet.colState'),
              t('fleet.colUser'),
              t('fleet.colCreated'),
              t('fleet.colNodes'),
              t('fleet.colProgress'),
            ].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          ...list.map((r) =>
            h(
              'tr',
              { 'data-testid': `rollout-row-${r.id}` },
              h(
                'th',
                { scope: 'row' },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    id: `rollout-open-${r.id}`,
                    'aria-haspopup': 'dialog',
                    'aria-label': t('fleet.openRollout', { id: r.id }),
                    onclick: () => void openRollout(r.id),
                  },
                  r.id,
                ),
              ),
              h('td', {}, h('span', { class: `badge ${stateClass(r.state)}` }, rolloutState(r.state))),
              h('td', {}, r.user),
              h('td', {}, r.created ? fmtDate(new Date(r.created)) : ''),
              h('td', {}, r.nodes.join(', ')),
              h('td', {}, progressText(r.counts)),
            ),
          ),
        ),
      ),
    );
  }

  /** Pick nodes and one change; the change is staged everywhere (start=0) and each node's diff shown. */
  stageDialog(): void {
    const m = modal({ id: 'stage-dialog', title: t('stage.title'), wide: true });
    const err = h('div', { class: 'form-error', id: 'stage-error', role: 'alert' });
    const nodeBoxes = this.nodes.map((n) => {
      const id = `stage-node-${n.node.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const box = h('input', {
        type: 'checkbox',
        id,
        value: n.node,
        'data-testid': id,
        disabled: n.status !== 'online',
      });
      return {
        box,
        el: h(
          'div',
          { class: 'field check' },
          box,
          h('label', { for: id }, n.status === 'online' ? n.node : t('stage.nodeOffline', { node: n.node })),
        ),
      };
    });
    const kinds: [string, string][] = [
      ['bridge', t('create.bridge')],
      ['vlan', t('create.vlan')],
      ['template', t('stage.template')],
    ];
    const radios = kinds.map(([k, label]) => {
      const r = h('input', {
        type: 'radio',
        name: 'stage-kind',
        id: `stage-kind-${k}`,
        value: k,
        checked: k === 'bridge',
      });
      return { r, el: h('div', { class: 'field check' }, r, h('label', { for: `stage-kind-${k}` }, label)) };
    });
    const tpl = h('textarea', {
      id: 'stage-template',
      rows: 10,
      spellcheck: 'false',
      'aria-describedby': 'stage-template-help',
    });
    const tplWrap = h(
      'div',
      { class: 'field', hidden: true },
      h('label', { for: 'stage-template' }, t('stage.templateLabel')),
      tpl,
      h('div', { class: 'help', id: 'stage-template-help' }, t('stage.templateHelp')),
    );
    const num = (id: string, value: string, min: number, max?: number): HTMLInputElement =>
      h('input', { type: 'number', id, value, min, max, 'data-testid': id });
    const canary = num('stage-canary', '1', 0);
    const timeout = num('stage-timeout', '60', 5, 3600);
    const onFailure = h(
      'select',
      { id: 'stage-on-failure' },
      h('option', { value: 'rollback' }, t('stage.onFailureRollback')),
      h('option', { value: 'halt' }, t('stage.onFailureHalt')),
    );
    const next = h(
      'button',
      { type: 'submit', class: 'primary', form: 'stage-form', id: 'stage-next', 'data-testid': 'stage-next' },
      t('stage.next'),
    );
    const kind = (): string => radios.find((x) => x.r.checked)?.r.value ?? 'bridge';
    const follow = (): void => {
      tplWrap.hidden = kind() !== 'template';
      next.textContent = kind() === 'template' ? t('stage.preview') : t('stage.next');
    };
    for (const x of radios) x.r.addEventListener('change', follow);
    const form = h(
      'form',
      { id: 'stage-form', novalidate: true },
      err,
      h(
        'fieldset',
        { class: 'stage-set' },
        h('legend', {}, t('stage.nodes')),
        ...(nodeBoxes.length ? nodeBoxes.map((x) => x.el) : [h('p', { class: 'muted' }, t('fleet.noNodes'))]),
      ),
      h('fieldset', { class: 'stage-set' }, h('legend', {}, t('stage.change')), ...radios.map((x) => x.el)),
      tplWrap,
      h(
        'fieldset',
        { class: 'stage-set stage-opts' },
        h('legend', {}, t('stage.options')),
        h('div', { class: 'field' }, h('label', { for: 'stage-canary' }, t('stage.canary')), canary),
        h('div', { class: 'field' }, h('label', { for: 'stage-timeout' }, t('stage.timeout')), timeout),
        h('div', { class: 'field' }, h('label', { for: 'stage-on-failure' }, t('stage.onFailure')), onFailure),
      ),
    );
    m.body.append(form);
    m.footer.append(h('button', { type: 'button', onclick: () => m.close() }, t('common.cancel')), next);
    focusFirst(m);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      err.textContent = '';
      const nodes = nodeBoxes.filter((x) => x.box.checked).map((x) => x.box.value);
      if (!nodes.length) {
        err.textContent = t('stage.pickNode');
        return;
      }
      const opts: Params = {
        nodes: nodes.join(','),
        start: 0,
        canary: canary.value.trim() || undefined,
        'confirm-timeout': timeout.value.trim() || undefined,
        'on-failure': onFailure.value,
      };
      const k = kind();
      if (k === 'template') {
        if (!tpl.value.trim()) {
          err.textContent = t('stage.templateEmpty');
          tpl.focus();
          return;
        }
        next.disabled = true;
        void createRollout({ ...opts, template: tpl.value })
          .then((id) => {
            m.close();
            void this.refresh(false);
            void openRollout(id);
          })
          .catch((x: Error) => {
            next.disabled = false;
            err.textContent = refusal(x);
          });
        return;
      }
      next.disabled = true;
      void this.changeDialog(m, nodes, k, opts).finally(() => (next.disabled = false));
    });
  }

  /** The existing create dialog of `type` (fields as for one node); its Create stages the rollout. */
  private async changeDialog(stage: Modal, nodes: string[], type: string, opts: Params): Promise<void> {
    // The port picker offers the first chosen node's devices (the names are typed for all nodes).
    let list: Iface[] = [];
    try {
      list = (await call<Iface[]>('GET', `/nodes/${encodeURIComponent(nodes[0]!)}/network`)).data;
    } catch {
      list = [];
    }
    let id = '';
    stage.close();
    openEditor(
      {
        node: nodes[0]!,
        list,
        digest: undefined,
        submit: async (p: Params) => {
          const { iface, ...params } = p;
          id = await createRollout({
            ...opts,
            ops: JSON.stringify([{ method: 'POST', iface, params }]),
          });
        },
        done: async () => {
          void this.refresh(false);
          if (id) await openRollout(id);
        },
      },
      type,
    );
  }
}

async function createRollout(p: Params): Promise<string> {
  const r = await call<{ id: string } | string>('POST', '/cluster/network/rollouts', p);
  return typeof r.data === 'string' ? r.data : r.data.id;
}

/** A refused request in words (the server's field errors first). */
function refusal(e: Error): string {
  if (e instanceof ApiError) {
    const f = Object.entries(e.errors).map(([k, v]) => `${k}: ${apiText(v.trim()).text}`);
    const msg = f.length ? f.join('\n') : apiText(e.message).text;
    return t('stage.refused', { msg });
  }
  return t('stage.refused', { msg: e.message });
}

/** "2 confirmed · 1 failed of 3" from the counts of a rollout. */
export function progressText(counts: Record<string, number>): string {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${nodeState(s)}`);
  return t('fleet.progress', { parts: parts.join(' · ') || '—', total });
}

/** The detail of one rollout, polled while open: node states, the staged diffs, events, actions. */
export async function openRollout(id: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let open = true;
  const m = modal({
    id: 'rollout-dialog',
    title: t('rollout.title', { id }),
    wide: true,
    onClose: () => {
      open = false;
      clearTimeout(timer);
    },
  });
  const status = h('p', { id: 'rollout-state', 'data-testid': 'rollout-state', role: 'status' }, t('common.loading'));
  const msg = h('div', { class: 'form-error', id: 'rollout-error', role: 'alert' });
  const nodesBody = h('tbody', {});
  const diffs = h('div', { id: 'rollout-diffs' });
  const events = h('ol', { id: 'rollout-events', class: 'rollout-events' });
  // the body scrolls (diffs, events): reachable by keyboard
  m.body.tabIndex = 0;
  m.body.setAttribute('aria-labelledby', 'rollout-dialog-title');
  m.body.setAttribute('role', 'group');
  m.body.append(
    status,
    msg,
    h(
      'table',
      { class: 'drift-table', id: 'rollout-nodes', 'aria-label': t('rollout.nodes') },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            t('fleet.colNode'),
            t('fleet.colState'),
            t('rollout.colTask'),
            t('rollout.colError'),
            t('fleet.colUpdated'),
          ].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      nodesBody,
    ),
    h('h3', {}, t('rollout.diffs')),
    diffs,
    h('h3', {}, t('rollout.events')),
    events,
  );
  const act = (
    what: 'start' | 'halt' | 'rollback',
    label: string,
    cls: string,
    question: string,
    danger: boolean,
  ): HTMLButtonElement => {
    const b = h(
      'button',
      { type: 'button', class: cls, id: `rollout-${what}`, 'data-testid': `rollout-${what}`, hidden: true },
      label,
    );
    b.addEventListener('click', () => {
      void confirmDialog(`rollout-${what}-confirm`, label, question, label, danger).then(async (yes) => {
        if (!yes) return;
        msg.textContent = '';
        b.disabled = true;
        try {
          await call('POST', `/cluster/network/rollouts/${encodeURIComponent(id)}/${what}`);
          toast(t(`rollout.${what}Done`, { id }), 'ok');
        } catch (e) {
          msg.textContent = refusal(e as Error);
        }
        b.disabled = false;
        // the coordinator takes the request up in a moment: poll on (even from a final state) until it did
        waitFrom = lastState;
        waitUntil = Date.now() + 30_000;
        await poll();
      });
    });
    return b;
  };
  const start = act('start', t('rollout.start'), 'primary', t('rollout.startQ', { id }), false);
  const halt = act('halt', t('rollout.halt'), '', t('rollout.haltQ', { id }), true);
  const rollback = act('rollback', t('rollout.rollback'), 'danger', t('rollout.rollbackQ', { id }), true);
  m.footer.append(h('button', { type: 'button', onclick: () => m.close() }, t('common.close')), halt, rollback, start);
  let shownDiffs = '';
  let lastState = '';
  let waitFrom: string | undefined;
  let waitUntil = 0;
  let shownEvents = -1;

  async function poll(): Promise<void> {
    clearTimeout(timer);
    if (!open) return;
    let d: RolloutDetail;
    try {
      d = (await call<RolloutDetail>('GET', `/cluster/network/rollouts/${encodeURIComponent(id)}`)).data;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      status.textContent = t('rollout.loadFailed', { msg: (e as Error).message });
      timer = setTimeout(() => void poll(), 2000);
      return;
    }
    if (!open) return;
    const counts: Record<string, number> = {};
    for (const n of d.nodes) counts[n.state] = (counts[n.state] ?? 0) + 1;
    status.replaceChildren(
      t('rollout.stateIs'),
      h('span', { class: `badge ${stateClass(d.state)}`, 'data-state': d.state }, rolloutState(d.state)),
      ` ${progressText(counts)}`,
    );
    nodesBody.replaceChildren(
      ...d.nodes.map((n) =>
        h(
          'tr',
          { 'data-testid': `rollout-node-${n.node}`, 'data-state': n.state },
          h('th', { scope: 'row' }, n.node),
          h('td', {}, h('span', { class: `badge ${stateClass(n.state)}` }, nodeState(n.state))),
          h('td', { class: 'mono' }, n.upid ?? ''),
          h('td', { class: n.error ? 'bad' : '' }, n.error ? apiText(n.error).text : ''),
          h('td', { title: n.updated ? fmtDate(new Date(n.updated)) : null }, ageText(n.updated)),
        ),
      ),
    );
    const key = JSON.stringify(d.nodes.map((n) => [n.node, n.changes ?? '']));
    if (key !== shownDiffs) {
      shownDiffs = key;
      diffs.replaceChildren(
        ...d.nodes.map((n) =>
          h(
            'section',
            { class: 'rollout-diff', 'aria-label': t('rollout.diffOn', { node: n.node }) },
            h('h4', {}, t('rollout.diffOn', { node: n.node })),
            n.changes?.trim()
              ? diffView(n.changes, `rollout-diff-${n.node}`)
              : h('p', { class: 'muted', id: `rollout-diff-${n.node}` }, t('rollout.noDiff')),
          ),
        ),
      );
    }
    if (d.events.length !== shownEvents) {
      shownEvents = d.events.length;
      events.replaceChildren(
        ...d.events.map((e) =>
          h(
            'li',
            {},
            h('span', { class: 'muted' }, `${fmtDate(new Date(e.ts))} ${e.user ?? ''} `),
            e.node ? h('strong', {}, `${e.node}: `) : '',
            e.msg,
          ),
        ),
      );
    }
    start.hidden = d.state !== 'staged';
    halt.hidden = !['staging', 'running'].includes(d.state);
    rollback.hidden = !['staging', 'staged', 'running', 'halted', 'done', 'failed'].includes(d.state);
    lastState = d.state;
    if (waitFrom !== undefined && (d.state !== waitFrom || Date.now() > waitUntil)) waitFrom = undefined;
    if (!FINAL.has(d.state) || waitFrom !== undefined) timer = setTimeout(() => void poll(), 1000);
  }
  await poll();
  (start.hidden ? m.footer.querySelector('button') : start)?.focus();
}
