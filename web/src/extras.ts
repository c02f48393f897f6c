/** Beyond PVE: topology picture, setup wizard, history with rollback, the IPv6 switch. */
import { ApiError, call } from './api.ts';
import { h, modal, s } from './dom.ts';
import { followTask } from './apply.ts';
import { diffLines, freeSubnet, layoutTopology, typeLabel } from './logic.ts';
import type { Iface, TopoNode } from './logic.ts';
import { diagText, fmtDate, t } from './i18n.ts';
import type { Key } from './i18n/en.ts';
import { apiText, wizardNote } from './server-text.ts';

/** Coloured unified diff. */
export function diffView(diff: string, id: string): HTMLElement {
  const pre = h('pre', { class: 'diff', id, 'data-testid': id });
  for (const l of diffLines(diff)) pre.append(h('span', { class: `d-${l.kind}` }, `${l.text}\n`));
  return pre;
}

const MAX_TOPO = 400;

const EDGE_NAMES: Record<string, Key> = {
  member: 'topo.member',
  nat: 'topo.nat',
  forward: 'topo.forward',
  route: 'topo.route',
  gateway: 'topo.gateway',
  guest: 'topo.guestEdge',
};

/**
 * The topology: a layered picture (see layoutTopology) — no line crosses a box. Every node is a
 * button (Tab, Enter/Space or a click opens Edit); NAT, port-forward and route relations from
 * hook lines and the default gateway are drawn as dashed edges.
 */
export function topology(list: readonly Iface[], onOpen?: (i: Iface) => void): HTMLElement {
  const shown = list.slice(0, MAX_TOPO);
  const lay = layoutTopology(shown);
  const svg = s('svg', {
    viewBox: `0 0 ${lay.width} ${lay.height}`,
    width: lay.width,
    height: lay.height,
    role: 'group',
    'aria-labelledby': 'topo-title',
    id: 'topology-svg',
    'data-testid': 'topology-svg',
  });
  svg.append(s('title', { id: 'topo-title' }, t('topo.title')));
  for (const e of lay.edges) {
    const d = e.points.map(([x, y], k) => `${k ? 'L' : 'M'}${x},${y}`).join(' ');
    const p = s('path', {
      d,
      class: `topo-edge edge-${e.kind}`,
      'data-from': e.from,
      'data-to': e.to,
      'data-kind': e.kind,
    });
    p.append(s('title', {}, `${e.from} → ${e.to}: ${EDGE_NAMES[e.kind] ? t(EDGE_NAMES[e.kind]!) : e.kind}`));
    svg.append(p);
  }
  const byName = new Map(shown.map((x) => [x.iface, x]));
  for (const n of lay.nodes) {
    if (n.kind === 'guest') {
      svg.append(guestNode(n, byName.get(n.bridge ?? ''), onOpen));
      continue;
    }
    const i = n.iface;
    const st = !i ? 'gw' : i.active === 1 ? 'up' : i.active === 0 ? 'down' : 'unknown';
    const shownText = n.label.length > 26 ? `${n.label.slice(0, 25)}…` : n.label;
    // the accessible name starts with the visible text (WCAG 2.5.3)
    const label = i
      ? t('topo.node', { text: shownText.replace(/\s+/g, ' '), type: typeLabel(i.type), state: t(`st.${st}` as Key) })
      : n.label;
    const g = s('g', {
      class: `topo-node ${st}`,
      'data-iface': i?.iface ?? '',
      'data-node': n.id,
      ...(i
        ? { tabindex: 0, role: 'button', 'aria-label': t('topo.open', { label }) }
        : { role: 'img', 'aria-label': n.label }),
    });
    g.append(s('title', {}, label));
    g.append(s('rect', { x: n.x, y: n.y, width: n.w, height: n.h, rx: 5 }));
    if (i) g.append(s('circle', { cx: n.x + 12, cy: n.y + n.h / 2, r: 4, class: 'dot' }));
    g.append(s('text', { x: n.x + (i ? 22 : 10), y: n.y + 17 }, shownText.replace(/\s+/g, ' ')));
    if (i && onOpen) {
      g.addEventListener('click', () => onOpen(i));
      g.addEventListener('keydown', (ev) => {
        const k = (ev as KeyboardEvent).key;
        if (k === 'Enter' || k === ' ') {
          ev.preventDefault();
          onOpen(i);
        }
      });
    }
    svg.append(g);
  }
  const wrap = h('div', { class: 'topo-wrap' });
  wrap.append(svg);
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'lg up' }, t('topo.up')),
      h('span', { class: 'lg down' }, t('topo.down')),
      h('span', { class: 'lg unknown' }, t('topo.unknown')),
      h('span', { class: 'lg-edge nat' }, t('topo.natLegend')),
      h('span', { class: 'lg-edge gateway' }, t('topo.gwLegend')),
      lay.nodes.some((n) => n.kind === 'guest') ? h('span', { class: 'lg guest' }, t('topo.guestLegend')) : '',
      list.length > MAX_TOPO ? t('topo.first', { max: MAX_TOPO, total: list.length }) : '',
    ),
    wrap,
  );
}

/** A guest's port on its bridge: a small node; Tab reaches it, Enter/Space or a click opens its bridge. */
function guestNode(n: TopoNode, bridge: Iface | undefined, onOpen?: (i: Iface) => void): SVGElement {
  const label = t('topo.guestNode', { port: n.label, bridge: n.bridge ?? '' });
  const g = s('g', {
    class: 'topo-node guest',
    'data-guest': n.label,
    'data-bridge': n.bridge ?? '',
    'data-node': n.id,
    ...(bridge && onOpen
      ? { tabindex: 0, role: 'button', 'aria-label': t('topo.guestOpen', { label, bridge: bridge.iface }) }
      : { role: 'img', 'aria-label': label }),
  });
  g.append(s('title', {}, label));
  g.append(s('rect', { x: n.x, y: n.y, width: n.w, height: n.h, rx: 12 }));
  g.append(s('text', { x: n.x + 10, y: n.y + 17 }, n.label.length > 14 ? `${n.label.slice(0, 13)}…` : n.label));
  if (bridge && onOpen) {
    g.addEventListener('click', () => onOpen(bridge));
    g.addEventListener('keydown', (ev) => {
      const k = (ev as KeyboardEvent).key;
      if (k === 'Enter' || k === ' ') {
        ev.preventDefault();
        onOpen(bridge);
      }
    });
  }
  return g;
}

interface WizardCtx {
  node: string;
  list: Iface[];
  reload(): Promise<void>;
}

const MODES = {
  bridged: { title: 'wiz.bridged', when: 'wiz.bridgedWhen' },
  routed: { title: 'wiz.routed', when: 'wiz.routedWhen' },
  nat: { title: 'wiz.nat', when: 'wiz.natWhen' },
} as const;
type Mode = keyof typeof MODES;

/** The setup wizard: pick a mode by its guidance, fill the few fields, stage it, see the diff. */
export function wizard(ctx: WizardCtx): HTMLElement {
  const out = h('div', { id: 'wizard-result', 'aria-live': 'polite' });
  const formBox = h('div', { id: 'wizard-form' });
  const cards = h('div', { class: 'cards', role: 'radiogroup', 'aria-label': t('wiz.modeLabel') });
  const bridges = ctx.list.filter((i) => i.type === 'bridge').map((i) => i.iface);
  const nextBridge = (): string => {
    for (let n = 0; ; n++) if (!bridges.includes(`vmbr${n}`) || n > 9998) return `vmbr${n}`;
  };
  const pick = (mode: Mode): void => {
    for (const c of cards.children) c.setAttribute('aria-checked', String((c as HTMLElement).dataset.mode === mode));
    formBox.replaceChildren(form(mode));
    formBox.querySelector('input')?.focus();
  };
  for (const mode of Object.keys(MODES) as Mode[]) {
    cards.append(
      h(
        'button',
        {
          type: 'button',
          class: 'card',
          role: 'radio',
          'aria-checked': 'false',
          'data-mode': mode,
          'data-testid': `wizard-${mode}`,
          onclick: () => pick(mode),
        },
        h('strong', {}, t(MODES[mode].title)),
        h('span', {}, t(MODES[mode].when)),
      ),
    );
  }
  const field = (name: string, label: string, value = '', help = ''): HTMLElement =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: `wz-${name}` }, label),
      h('input', { type: 'text', id: `wz-${name}`, name, value, 'data-testid': `wz-${name}`, autocomplete: 'off' }),
      help ? h('div', { class: 'help' }, help) : null,
      h('div', { class: 'field-error', id: `wz-${name}-err` }),
    );
  function form(mode: Mode): HTMLElement {
    const uplink = ctx.list.find((i) => i.gateway)?.iface ?? '';
    const f = h(
      'form',
      { id: 'wizard-form-el', novalidate: true },
      h('h3', {}, t(MODES[mode].title)),
      mode === 'bridged'
        ? [
            field('bridge', t('wiz.bridge'), nextBridge()),
            field('ports', t('wiz.ports'), '', t('wiz.portsHelp')),
            field('cidr', t('wiz.hostCidr'), '', t('wiz.hostCidrHelp')),
            field('gateway', t('wiz.gateway')),
          ]
        : null,
      mode === 'routed'
        ? [
            field('uplink', t('wiz.uplink'), uplink),
            field('bridge', t('wiz.guestBridge'), nextBridge()),
            field('cidr', t('wiz.routedCidr'), '', t('wiz.routedCidrHelp')),
          ]
        : null,
      mode === 'nat'
        ? [
            field('uplink', t('wiz.uplink'), uplink),
            field('bridge', t('wiz.guestBridge'), nextBridge()),
            field('cidr', t('wiz.natCidr'), freeSubnet(ctx.list), t('wiz.natCidrHelp')),
            field('forward', t('wiz.forward'), '', t('wiz.forwardHelp')),
          ]
        : null,
      h('div', { class: 'form-error', id: 'wizard-error', role: 'alert' }),
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'wizard-submit' }, t('wiz.submit')),
    );
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      const p: Record<string, string> = {};
      for (const el of f.querySelectorAll('input'))
        if (el.value.trim()) p[el.name] = el.value.trim().replace(/\s+/g, ',');
      if (p.forward) p.forward = p.forward.replace(/,+/g, ',');
      if (p.ports) p.ports = p.ports.replace(/,+/g, ',');
      for (const el of f.querySelectorAll('.field-error')) el.textContent = '';
      const err = f.querySelector('#wizard-error')!;
      err.textContent = '';
      call<{ changed: number | boolean; notes?: string[]; diff?: string }>(
        'POST',
        `/nodes/${ctx.node}/network/setup/${mode}`,
        p,
      )
        .then(async (r) => {
          out.replaceChildren(
            h('h3', {}, r.data.changed ? t('wiz.staged') : t('wiz.nothing')),
            h(
              'ul',
              { id: 'wizard-notes' },
              ...(r.data.notes ?? []).map((n) => {
                const shown = wizardNote(n);
                return h('li', { title: shown.title || null }, shown.text);
              }),
            ),
            r.data.diff ? diffView(r.data.diff, 'wizard-diff') : '',
          );
          await ctx.reload();
        })
        .catch((e: unknown) => {
          if (!(e instanceof ApiError)) throw e;
          if (e.status === 501) err.textContent = t('wiz.noEndpoint');
          else {
            const left: string[] = [];
            for (const [k, v] of Object.entries(e.errors)) {
              const slot = f.querySelector(`#wz-${k}-err`);
              if (slot) slot.textContent = apiText(v).text;
              else left.push(`${k}: ${apiText(v).text}`);
            }
            for (const d of e.diagnostics)
              if (!Object.values(e.errors).some((v) => v.includes(d.message))) left.push(diagText(d).text);
            err.textContent = left.join('\n') || apiText(e.message).text;
          }
        });
    });
    return f;
  }
  return h('div', { class: 'wizard' }, h('p', {}, t('wiz.intro')), cards, formBox, out);
}

/** History of applied configs with their diffs and a rollback button each. */
export async function history(ctx: WizardCtx, box: HTMLElement): Promise<void> {
  box.replaceChildren(h('p', {}, t('common.loading')));
  let r;
  try {
    r = await call<
      {
        n: number;
        id?: number;
        time: number | string;
        user?: string;
        digest?: string;
        summary?: string;
        diff?: string;
        rollbackDiff?: string;
      }[]
    >('GET', `/nodes/${ctx.node}/network/history`);
  } catch (e) {
    box.replaceChildren(h('p', { class: 'bad' }, t('hist.cannot', { msg: (e as Error).message })));
    return;
  }
  if (!r.data.length) {
    box.replaceChildren(h('p', { id: 'history-empty' }, t('hist.empty')));
    return;
  }
  const items = r.data.map((e) => {
    // the entry's id is the #N of the CLI and the task log; `n` (1 = newest) only orders
    const id = e.id ?? e.n;
    const when = fmtDate(typeof e.time === 'number' ? new Date(e.time * 1000) : new Date(e.time));
    const btn = h(
      'button',
      { type: 'button', 'data-testid': `history-rollback-${id}`, id: `history-rollback-${id}` },
      t('hist.rollbackBtn', { id }),
    );
    btn.addEventListener('click', () => {
      const m = modal({ id: 'rollback-dialog', title: t('hist.rollback', { id }), wide: true });
      const changes = (e.rollbackDiff ?? '').trim();
      m.body.append(
        h('p', { id: 'rollback-what' }, t('hist.what', { id }) + t(changes ? 'hist.changes' : 'hist.noChanges')),
        changes ? diffView(changes, 'rollback-diff') : h('span'),
      );
      const go = h(
        'button',
        { type: 'button', class: 'danger', id: 'rollback-go', 'data-testid': 'rollback-go' },
        t('hist.rollback', { id }),
      );
      m.footer.append(
        h('button', { type: 'button', 'data-testid': 'rollback-cancel', onclick: () => m.close() }, t('common.cancel')),
        go,
      );
      go.focus();
      go.addEventListener('click', () => {
        const log = h('div', { class: 'tasklog', id: 'rollback-log', 'aria-label': t('common.taskLog'), tabindex: 0 });
        const st = h('p', { role: 'status', id: 'rollback-state' }, t('apply.rollingBack'));
        m.body.replaceChildren(st, log);
        m.footer.replaceChildren(h('button', { type: 'button', onclick: () => m.close() }, t('common.close')));
        call<string>('POST', `/nodes/${ctx.node}/network/rollback`, e.id !== undefined ? { id: e.id } : { n: e.n })
          .then((u) => followTask(ctx.node, u.data, log))
          .then(async (exit) => {
            st.textContent = exit === 'OK' ? t('hist.rolledBack', { id }) : t('apply.rollbackFailed', { exit });
            st.className = exit === 'OK' ? 'good' : 'bad';
            await ctx.reload();
            void history(ctx, box);
          })
          .catch((err: Error) => {
            st.textContent = t('hist.refused', { msg: err.message });
          });
      });
    });
    return h(
      'details',
      { class: 'hist', 'data-testid': `history-${id}`, id: `history-${id}` },
      h('summary', {}, h('strong', {}, `#${id}`), ` ${when} — ${e.user ?? ''} — ${e.summary ?? ''}`),
      e.diff
        ? diffView(e.diff, `history-diff-${id}`)
        : h('p', { class: 'muted' }, t('hist.digest', { digest: e.digest ?? '' })),
      btn,
    );
  });
  box.replaceChildren(...items);
}

/** What GET .../network/ipv6 answers (the saved file, the running kernel, the staged change). */
export interface Ipv6State {
  disabled: number | boolean;
  file?: string;
  running?: unknown;
  staged?: 'disable' | 'enable' | null;
}

/** Stage (`stage`), or make the staged change: saved for the next boot, or also applied now. */
export function ipv6Put(
  node: string,
  disable: boolean,
  how: 'stage' | 'save' | 'now',
): Promise<{ data: { message?: string; staged?: string | null } }> {
  return call('PUT', `/nodes/${node}/network/ipv6`, {
    disable: disable ? 1 : 0,
    ...(how === 'stage' ? { stage: 1 } : how === 'now' ? { now: 1 } : {}),
  });
}

/** The staged IPv6 change in words: what it does and when it takes effect. */
export function ipv6StagedText(st: Ipv6State): string {
  const running = st.running && typeof st.running === 'object';
  return t(running ? 'ipv6.staged' : 'ipv6.stagedNoKernel', {
    state: t(st.staged === 'enable' ? 'ipv6.enabled' : 'ipv6.disabled'),
  });
}

/**
 * The IPv6 switch (the sysctl.d file). The switch stages its change on the node (next to
 * interfaces.new, shown with the pending changes in every tab); Save writes the file for the next
 * boot, Save and apply now also sets the running kernel, Revert drops the staged change.
 */
export async function ipv6Panel(ctx: WizardCtx, box: HTMLElement, note?: { cls: string; text: string }): Promise<void> {
  box.replaceChildren(h('p', {}, t('common.loading')));
  let st: Ipv6State;
  try {
    st = (await call<Ipv6State>('GET', `/nodes/${ctx.node}/network/ipv6`)).data;
  } catch (e) {
    box.replaceChildren(
      h(
        'p',
        { class: 'muted', id: 'ipv6-unsupported' },
        e instanceof ApiError && (e.status === 501 || e.status === 400)
          ? t('ipv6.unsupported')
          : t('ipv6.cannot', { msg: (e as Error).message }),
      ),
    );
    return;
  }
  const enabled = !st.disabled;
  const running =
    st.running && typeof st.running === 'object' ? Object.entries(st.running as Record<string, string | null>) : [];
  const runText = running.length
    ? running
        .map(
          ([k, v]) => `${k} = ${v ?? t('ipv6.unreadable')}${v === '1' ? t('ipv6.off') : v === '0' ? t('ipv6.on') : ''}`,
        )
        .join('; ')
    : t('ipv6.noKernel');
  const staged = st.staged ?? null;
  const sw = h('input', {
    type: 'checkbox',
    id: 'ipv6-switch',
    role: 'switch',
    'data-testid': 'ipv6-switch',
    checked: staged ? staged === 'enable' : enabled,
  });
  const state = h(
    'p',
    { id: 'ipv6-state' },
    t(enabled ? 'ipv6.stateOn' : 'ipv6.stateOff', { file: st.file ?? 'etc/sysctl.d/disable-ipv6.conf', run: runText }),
  );
  const msg = h(
    'p',
    { role: 'status', id: 'ipv6-msg', class: note?.cls ?? (staged ? 'warn' : '') },
    note?.text ?? (staged ? ipv6StagedText(st) : ''),
  );
  const save = h(
    'button',
    { type: 'button', class: 'primary', id: 'ipv6-save', 'data-testid': 'ipv6-save', disabled: !staged },
    t('ipv6.save'),
  );
  const now = h(
    'button',
    { type: 'button', id: 'ipv6-now', 'data-testid': 'ipv6-now', disabled: !staged || !running.length },
    t('ipv6.now'),
  );
  const undo = h('button', { type: 'button', id: 'ipv6-undo', disabled: !staged }, t('tb.revert'));
  const run = (disable: boolean, how: 'stage' | 'save' | 'now'): void => {
    for (const b of [sw, save, now, undo]) b.disabled = true;
    ipv6Put(ctx.node, disable, how)
      .then(async (r) => {
        await ipv6Panel(
          ctx,
          box,
          how === 'stage' ? undefined : { cls: 'good', text: t('ipv6.saved', { msg: r.data.message ?? '' }) },
        );
        await ctx.reload();
      })
      .catch(async (e: Error) => {
        await ipv6Panel(ctx, box, { cls: 'bad', text: t('ipv6.notChanged', { msg: e.message }) });
      });
  };
  // the switch stages a change; nothing is written to the sysctl file until Save
  sw.addEventListener('change', () => run(!sw.checked, 'stage'));
  save.addEventListener('click', () => run(staged === 'disable', 'save'));
  now.addEventListener('click', () => run(staged === 'disable', 'now'));
  undo.addEventListener('click', () => run(!enabled, 'stage'));
  box.replaceChildren(
    h('div', { class: 'field check' }, sw, h('label', { for: 'ipv6-switch' }, t('ipv6.switch'))),
    state,
    msg,
    h('div', { class: 'toolbar' }, undo, save, now),
  );
}
