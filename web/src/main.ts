/** The nodenet web UI: login, the node network panel, and the views beyond PVE. */
import { ApiError, call, currentSession, login, logout, setExpiredHandler } from './api.ts';
import { confirmDialog, h, modal, toast } from './dom.ts';
import { followTask, openApply } from './apply.ts';
import { openEditor } from './edit.ts';
import { openDetails } from './details.ts';
import { diffView, history, ipv6Panel, ipv6Put, ipv6StagedText, topology, wizard } from './extras.ts';
import type { Ipv6State } from './extras.ts';
import { Grid } from './grid.ts';
import { dependents, splitDifference } from './logic.ts';
import { driftPart } from './server-text.ts';
import { WindowWatch } from './window.ts';
import { FleetPage, detectFleet } from './fleet.ts';
import type { FleetNode } from './fleet.ts';
import { LANGS, diagText, lang, setLang, t, tOr, type Lang } from './i18n.ts';
import type { Iface } from './logic.ts';

const app = document.getElementById('app')!;

const state = {
  node: 'localhost',
  list: [] as Iface[],
  digest: undefined as string | undefined,
  changes: '',
  tab: 'interfaces',
  /** A confirm window is open: no new apply until it ends. */
  windowOpen: false,
  /** A fleet server (nodenet serve --etcd): the Fleet tab and a node switch. */
  fleet: false,
  nodes: [] as FleetNode[],
};

// ---- theme -----------------------------------------------------------------------------------
function applyTheme(t: string | null): void {
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem('nodenet.theme'));
function themeButton(): HTMLButtonElement {
  const b = h(
    'button',
    {
      type: 'button',
      id: 'theme-toggle',
      'data-testid': 'theme-toggle',
      class: 'ghost',
      'aria-label': t('header.theme'),
    },
    '◐',
  );
  b.addEventListener('click', () => {
    const dark =
      document.documentElement.dataset.theme === 'dark' ||
      (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    const t = dark ? 'light' : 'dark';
    localStorage.setItem('nodenet.theme', t);
    applyTheme(t);
  });
  return b;
}

/** The language switch of the header (and the login page); `redraw` rebuilds the page in it. */
function langSwitch(redraw: () => void): HTMLSelectElement {
  const sel = h(
    'select',
    {
      id: 'lang-switch',
      'data-testid': 'lang-switch',
      class: 'lang-switch',
      'aria-label': `${t('lang.switch')} / Language` /* i18n-ok: always also in English, to find the way back */,
    },
    ...(Object.keys(LANGS) as Lang[]).map((l) => h('option', { value: l, lang: l }, LANGS[l]['lang.name'])),
  );
  sel.value = lang();
  sel.addEventListener('change', () => {
    setLang(sel.value as Lang);
    redraw();
    document.getElementById('lang-switch')?.focus();
  });
  return sel;
}
document.documentElement.lang = lang();
document.title = t('app.title');

// ---- login -----------------------------------------------------------------------------------
function showLogin(message = ''): void {
  const user = h('input', {
    id: 'login-user',
    'data-testid': 'login-user',
    name: 'username',
    autocomplete: 'username',
    required: true,
    value: 'root',
  });
  const pw = h('input', {
    id: 'login-password',
    'data-testid': 'login-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const realm = h(
    'select',
    { id: 'login-realm', name: 'realm' },
    h('option', { value: 'pam' }, t('realm.pam')),
    h('option', { value: 'pve' }, t('realm.pve')),
  );
  realm.value = 'pam';
  const err = h(
    'div',
    { class: 'form-error', id: 'login-error', 'data-testid': 'login-error', role: 'alert' },
    message,
  );
  const submit = h(
    'button',
    { type: 'submit', class: 'primary', id: 'login-submit', 'data-testid': 'login-submit' },
    t('login.submit'),
  );
  const form = h(
    'form',
    { id: 'login-form', class: 'login-card', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'nodenet'),
    h('p', { class: 'muted' }, t('login.subtitle')),
    h('div', { class: 'field' }, h('label', { for: 'login-user' }, t('login.user')), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, t('login.password')), pw),
    h('div', { class: 'field' }, h('label', { for: 'login-realm' }, t('login.realm')), realm),
    err,
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.textContent = '';
    login(user.value.trim(), pw.value, realm.value)
      .then(() => start())
      .catch((x: Error) => {
        err.textContent =
          x instanceof ApiError && x.status === 401 ? t('login.failed') : t('main.loginFailed', { msg: x.message });
        submit.disabled = false;
        pw.select();
      });
  });
  app.replaceChildren(
    h(
      'main',
      { class: 'login-page' },
      h(
        'div',
        { class: 'login-theme' },
        langSwitch(() => showLogin(message)),
        themeButton(),
      ),
      form,
    ),
  );
  (user.value ? pw : user).focus();
}

setExpiredHandler(() => {
  watch?.stop();
  fleet?.stop();
  showLogin(t('login.ended'));
});

// ---- the panel -------------------------------------------------------------------------------
let grid: Grid;
let pendingBox: HTMLElement;
let views: Record<string, HTMLElement>;
let buttons: Record<string, HTMLButtonElement>;
let drift: HTMLElement;
let diagBox: HTMLElement;
let watch: WindowWatch | undefined;
let fleet: FleetPage | undefined;

async function start(): Promise<void> {
  try {
    const nodes = await call<FleetNode[]>('GET', '/nodes');
    state.nodes = nodes.data;
    state.fleet = await detectFleet(nodes.data as unknown as Record<string, unknown>[]);
    state.node = (nodes.data.find((n) => n.status === 'online') ?? nodes.data[0])?.node ?? 'localhost';
    state.tab = state.fleet ? 'fleet' : 'interfaces';
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    showLogin(t('main.unreachable', { msg: (e as Error).message }));
    return;
  }
  buildShell();
  await reload();
  void verify();
}

function buildShell(): void {
  const s = currentSession();
  grid = new Grid({
    onSelect: (i) => {
      buttons.edit!.disabled = !i || !EDITABLE.includes(i.type);
      buttons.remove!.disabled = !i;
      buttons.details!.disabled = !i;
    },
    onOpen: (i) => edit(i),
    onDelete: (i) => void remove(i),
  });
  const menu = h('div', { class: 'menu', id: 'create-menu', role: 'menu', hidden: true });
  const createBtn = h(
    'button',
    {
      type: 'button',
      id: 'btn-create',
      'data-testid': 'btn-create',
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      'aria-controls': 'create-menu',
    },
    t('tb.create'),
  );
  const closeMenu = (): void => {
    menu.hidden = true;
    createBtn.setAttribute('aria-expanded', 'false');
  };
  for (const [type, label] of [
    ['bridge', t('create.bridge')],
    ['bond', t('create.bond')],
    ['vlan', t('create.vlan')],
    ['OVSBridge', t('create.OVSBridge')],
    ['OVSBond', t('create.OVSBond')],
    ['OVSIntPort', t('create.OVSIntPort')],
  ] as const) {
    menu.append(
      h(
        'button',
        {
          type: 'button',
          role: 'menuitem',
          'data-testid': `create-${type}`,
          id: `create-${type}`,
          onclick: () => {
            closeMenu();
            openEditor(editCtx(), type);
          },
        },
        label,
      ),
    );
  }
  createBtn.addEventListener('click', () => {
    menu.hidden = !menu.hidden;
    createBtn.setAttribute('aria-expanded', String(!menu.hidden));
    if (!menu.hidden) (menu.firstChild as HTMLElement).focus();
  });
  menu.addEventListener('keydown', (e) => {
    const items = [...menu.querySelectorAll<HTMLElement>('[role=menuitem]')];
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape') {
      closeMenu();
      createBtn.focus();
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    }
  });
  document.addEventListener('click', (e) => {
    if (!(e.target as HTMLElement).closest('.create-wrap')) closeMenu();
  });
  buttons = {
    edit: h(
      'button',
      {
        type: 'button',
        id: 'btn-edit',
        'data-testid': 'btn-edit',
        disabled: true,
        onclick: () => {
          const i = grid.selectedIface();
          if (i) edit(i);
        },
      },
      t('tb.edit'),
    ),
    details: h(
      'button',
      {
        type: 'button',
        id: 'btn-details',
        'data-testid': 'btn-details',
        disabled: true,
        title: t('tb.detailsTitle'),
        onclick: () => {
          const i = grid.selectedIface();
          if (i) openDetails(state.node, i);
        },
      },
      t('tb.details'),
    ),
    remove: h(
      'button',
      {
        type: 'button',
        id: 'btn-remove',
        'data-testid': 'btn-remove',
        disabled: true,
        onclick: () => {
          const i = grid.selectedIface();
          if (i) void remove(i);
        },
      },
      t('tb.remove'),
    ),
    revert: h(
      'button',
      { type: 'button', id: 'btn-revert', 'data-testid': 'btn-revert', disabled: true, onclick: () => void revert() },
      t('tb.revert'),
    ),
    apply: h(
      'button',
      {
        type: 'button',
        class: 'primary',
        id: 'btn-apply',
        'data-testid': 'btn-apply',
        disabled: true,
        onclick: () =>
          openApply({
            node: state.node,
            list: state.list,
            changes: state.changes,
            digest: state.digest,
            reload: reloadAndVerify,
            started: () => void watch?.poll(),
          }),
      },
      t('tb.apply'),
    ),
  };
  watch?.stop();
  watch = new WindowWatch(
    () => state.node,
    reloadAndVerify,
    (open) => {
      state.windowOpen = open;
      buttons.apply!.disabled = open || state.changes.trim() === '';
      buttons.apply!.title = open ? t('tb.windowOpen') : '';
    },
  );
  drift = h(
    'button',
    {
      type: 'button',
      class: 'badge',
      id: 'drift-badge',
      'data-testid': 'drift-badge',
      title: t('drift.badgeTitle'),
      'aria-haspopup': 'dialog',
      onclick: () => void driftPanel(),
    },
    t('drift.verifying'),
  );
  const tabs = h('nav', { class: 'tabs', role: 'tablist', 'aria-label': t('main.views') });
  views = {};
  const tabDefs: [string, string][] = [
    ...(state.fleet ? [['fleet', t('tab.fleet')] as [string, string]] : []),
    ['interfaces', t('tab.interfaces')],
    ['topology', t('tab.topology')],
    ['setup', t('tab.setup')],
    ['history', t('tab.history')],
    ['system', t('tab.system')],
  ];
  for (const [id, label] of tabDefs) {
    const t = h(
      'button',
      {
        type: 'button',
        role: 'tab',
        id: `tab-${id}`,
        'data-testid': `tab-${id}`,
        'aria-controls': `view-${id}`,
        'aria-selected': String(id === state.tab),
        tabindex: id === state.tab ? 0 : -1,
        onclick: () => showTab(id),
      },
      label,
    );
    tabs.append(t);
    views[id] = h('section', {
      role: 'tabpanel',
      id: `view-${id}`,
      'aria-labelledby': `tab-${id}`,
      class: 'view',
      hidden: id !== state.tab,
    });
  }
  tabs.addEventListener('keydown', (e) => {
    const ids = tabDefs.map((d) => d[0]);
    const i = ids.indexOf(state.tab);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const n = ids[(i + (e.key === 'ArrowRight' ? 1 : ids.length - 1)) % ids.length]!;
      showTab(n);
      document.getElementById(`tab-${n}`)?.focus();
    }
  });
  pendingBox = h('section', {
    class: 'pending',
    id: 'pending',
    'data-testid': 'pending',
    'aria-label': t('main.pending'),
    hidden: true,
  });
  diagBox = h('div', { id: 'diagnostics', 'data-testid': 'diagnostics', 'aria-live': 'polite' });
  views.interfaces!.append(
    h(
      'div',
      { class: 'toolbar', role: 'toolbar', 'aria-label': t('main.actions') },
      h('div', { class: 'create-wrap' }, createBtn, menu),
      buttons.edit,
      buttons.details,
      buttons.remove,
      h('span', { class: 'sep' }),
      buttons.revert,
      buttons.apply,
    ),
    grid.el,
    diagBox,
    pendingBox,
  );
  const header = h(
    'header',
    { class: 'top' },
    h(
      'div',
      { class: 'brand' },
      h('span', { class: 'logo', 'aria-hidden': 'true' }, '⇄'),
      h('strong', {}, 'nodenet'),
      state.fleet
        ? nodeSwitch()
        : h('span', { class: 'muted', id: 'node-name' }, ` ${t('header.node', { node: state.node })}`),
    ),
    drift,
    h(
      'div',
      { class: 'right' },
      h('span', { class: 'muted', id: 'user-name' }, s?.username ?? ''),
      langSwitch(() => {
        buildShell();
        void reload();
        void verify();
      }),
      themeButton(),
      h(
        'button',
        {
          type: 'button',
          id: 'btn-logout',
          'data-testid': 'btn-logout',
          onclick: () => {
            watch?.stop();
            fleet?.stop();
            void logout().then(() => showLogin(t('login.out')));
          },
        },
        t('header.logout'),
      ),
    ),
  );
  app.replaceChildren(
    header,
    watch.el,
    h('main', { id: 'main' }, tabs, ...Object.values(views)),
    h('div', { id: 'toasts', class: 'toasts' }),
  );
  watch.start();
  fleet?.stop();
  fleet = undefined;
  if (state.fleet) {
    fleet = new FleetPage({ open: (n) => switchNode(n), nodes: state.nodes });
    views.fleet!.replaceChildren(fleet.el);
  }
  if (state.tab !== 'interfaces') showTab(views[state.tab] ? state.tab : 'interfaces');
}

/** The header's node switch (fleet servers): which node the network views show. */
function nodeSwitch(): HTMLElement {
  const sel = h(
    'select',
    { id: 'node-switch', 'data-testid': 'node-switch', 'aria-label': t('fleet.nodeSwitch') },
    ...state.nodes.map((n) =>
      h('option', { value: n.node }, n.status === 'online' ? n.node : t('stage.nodeOffline', { node: n.node })),
    ),
  );
  if (!state.nodes.some((n) => n.node === state.node)) sel.append(h('option', { value: state.node }, state.node));
  sel.value = state.node;
  sel.addEventListener('change', () => {
    switchNode(sel.value, 'node-switch');
  });
  return h(
    'span',
    { class: 'node-switch' },
    h('span', { class: 'muted', id: 'node-name' }, ` ${t('fleet.nodeLabel')}`),
    sel,
  );
}

/** Show the network of another node of the fleet (the header's switch, or a click on the Fleet page). */
function switchNode(node: string, focus?: string): void {
  state.node = node;
  state.list = [];
  state.digest = undefined;
  state.changes = '';
  state.windowOpen = false;
  if (!focus || state.tab === 'fleet') state.tab = 'interfaces';
  // the node list of the switch: as the Fleet page last read it
  void call<FleetNode[]>('GET', '/nodes')
    .then((r) => (state.nodes = r.data))
    .catch(() => undefined)
    .finally(() => {
      buildShell();
      void reload();
      void verify();
      document.getElementById(focus ?? `tab-${state.tab}`)?.focus();
    });
}

function showTab(id: string): void {
  state.tab = id;
  for (const [k, v] of Object.entries(views)) {
    v.hidden = k !== id;
    const t = document.getElementById(`tab-${k}`)!;
    t.setAttribute('aria-selected', String(k === id));
    t.tabIndex = k === id ? 0 : -1;
  }
  const v = views[id]!;
  if (id === 'fleet') fleet?.start();
  else fleet?.stop();
  const ctx = { node: state.node, list: state.list, reload };
  if (id === 'topology') v.replaceChildren(topology(state.list, edit));
  if (id === 'setup' && !v.firstChild) v.replaceChildren(wizard(ctx));
  if (id === 'history') void history(ctx, v);
  if (id === 'system') void ipv6Panel(ctx, v);
}

function editCtx(): { node: string; list: Iface[]; digest: string | undefined; done: () => Promise<void> } {
  return { node: state.node, list: state.list, digest: state.digest, done: reload };
}

/** Types the Edit dialog handles (physical NICs as Proxmox VE allows: autostart, addresses, gateway, MTU, comment). */
const EDITABLE = ['bridge', 'bond', 'vlan', 'eth', 'OVSBridge', 'OVSBond', 'OVSIntPort', 'OVSPort'];

function edit(i: Iface): void {
  if (!EDITABLE.includes(i.type)) {
    toast(t('main.notEditable', { iface: i.iface, type: i.type }), 'info');
    return;
  }
  openEditor(editCtx(), i.type, i);
}

async function remove(i: Iface): Promise<void> {
  const deps = dependents(state.list, i.iface, location.hostname);
  const body = h(
    'div',
    { id: 'remove-body' },
    h('p', {}, t('remove.question', { iface: i.iface })),
    deps.length
      ? h(
          'div',
          { class: 'warn', id: 'remove-deps', 'data-testid': 'remove-deps' },
          h('p', {}, t('remove.deps', { iface: i.iface })),
          h('ul', {}, ...deps.map((d) => h('li', {}, h('strong', {}, d.iface), `: ${d.how}`))),
        )
      : h('p', { class: 'muted', id: 'remove-nodeps' }, t('remove.nodeps')),
  );
  if (!(await confirmDialog('remove-dialog', t('remove.title', { iface: i.iface }), body, t('tb.remove'), true)))
    return;
  try {
    await call(
      'DELETE',
      `/nodes/${state.node}/network/${encodeURIComponent(i.iface)}`,
      state.digest ? { digest: state.digest } : {},
    );
    toast(t('remove.done', { iface: i.iface }), 'ok');
  } catch (e) {
    toast(t('remove.failed', { msg: (e as Error).message }), 'error');
  }
  await reload();
}

async function revert(): Promise<void> {
  if (!(await confirmDialog('revert-dialog', t('tb.revert'), t('revert.question'), t('tb.revert'), true))) return;
  try {
    await call('DELETE', `/nodes/${state.node}/network`);
    toast(t('revert.done'), 'ok');
  } catch (e) {
    toast(t('revert.failed', { msg: (e as Error).message }), 'error');
  }
  await reload();
}

/** Changed interfaces in the diff (stanza names on + / - lines, and the stanza a change is in). */
function changedIfaces(diff: string): Set<string> {
  const out = new Set<string>();
  let cur = '';
  for (const l of diff.split('\n')) {
    if (l.startsWith('---') || l.startsWith('+++') || l.startsWith('@@')) continue;
    const m = /^\s*(?:iface|auto|allow-\S+)\s+(\S+)/.exec(l.slice(1));
    if (m && l[0] !== '-') cur = m[1]!;
    if ((l[0] === '+' || l[0] === '-') && cur) out.add(m ? m[1]! : cur);
  }
  return out;
}

/** Reloads overlap (a window's end, an apply's task, a tab switch): only the newest one's answer is shown. */
let reloadSeq = 0;

async function reload(): Promise<void> {
  const seq = ++reloadSeq;
  let r;
  try {
    r = await call<Iface[]>('GET', `/nodes/${state.node}/network`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401))
      toast(t('main.loadFailed', { msg: (e as Error).message }), 'error');
    return;
  }
  const v6 = await stagedIpv6();
  if (seq !== reloadSeq) return; // a newer reload was started while this one was on the wire
  state.list = r.data;
  state.digest = r.digest;
  state.changes = typeof r.changes === 'string' ? r.changes : '';
  grid.setData(state.list, changedIfaces(state.changes));
  const staged = state.changes.trim() !== '';
  buttons.revert!.disabled = !staged;
  buttons.apply!.disabled = !staged || state.windowOpen;
  pendingBox.hidden = !staged && !v6;
  pendingBox.replaceChildren(
    ...(staged
      ? [
          h('h2', {}, t('pending.title'), h('span', { class: 'muted' }, t('pending.hint'))),
          diffView(state.changes, 'pending-diff'),
        ]
      : []),
    ...(v6 ? [ipv6Pending(v6)] : []),
  );
  void checkDiagnostics(staged);
  if (state.tab === 'topology') views.topology!.replaceChildren(topology(state.list, edit));
}

/** The staged IPv6 change (GET .../network/ipv6), or undefined when none or the server has no switch. */
async function stagedIpv6(): Promise<Ipv6State | undefined> {
  try {
    const r = await call<Ipv6State>('GET', `/nodes/${state.node}/network/ipv6`);
    return r.data.staged ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** The staged IPv6 change with the other pending changes: what it does, when, and its own Save / Revert. */
function ipv6Pending(v6: Ipv6State): HTMLElement {
  const put = (how: 'stage' | 'save' | 'now', disable: boolean): void => {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    ipv6Put(state.node, disable, how)
      .then((r) => {
        if (how !== 'stage') toast(t('ipv6.saved', { msg: r.data.message ?? '' }), 'ok');
      })
      .catch((e: Error) => toast(t('ipv6.notChanged', { msg: e.message }), 'error'))
      .finally(() => {
        void reload();
        if (state.tab === 'system') void ipv6Panel({ node: state.node, list: state.list, reload }, views.system!);
      });
  };
  const disable = v6.staged === 'disable';
  const kernel = Boolean(v6.running && typeof v6.running === 'object');
  const box = h(
    'div',
    { class: 'pending-ipv6', id: 'pending-ipv6', 'data-testid': 'pending-ipv6' },
    h('h2', {}, t('pending.ipv6Title')),
    h('p', { class: 'warn', id: 'pending-ipv6-text' }, ipv6StagedText(v6)),
    h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', id: 'pending-ipv6-revert', onclick: () => put('stage', !disable) }, t('tb.revert')),
      h(
        'button',
        { type: 'button', class: 'primary', id: 'pending-ipv6-save', onclick: () => put('save', disable) },
        t('ipv6.save'),
      ),
      h(
        'button',
        { type: 'button', id: 'pending-ipv6-now', disabled: !kernel, onclick: () => put('now', disable) },
        t('ipv6.now'),
      ),
    ),
  );
  return box;
}

async function checkDiagnostics(staged: boolean): Promise<void> {
  if (!staged) {
    diagBox.replaceChildren();
    return;
  }
  try {
    const r = await call<{
      diagnostics: { severity: string; code: string; message: string; iface?: string; line?: number; hint?: string }[];
    }>('GET', `/nodes/${state.node}/network/check`);
    const d = r.data.diagnostics;
    diagBox.replaceChildren(
      ...(d.length
        ? [
            h(
              'ul',
              { class: 'diags' },
              ...d.map((x) => {
                const shown = diagText({
                  code: x.code,
                  message: x.message,
                  ...(x.hint ? { hint: x.hint } : {}),
                  ...(x.iface ? { iface: x.iface } : {}),
                });
                return h(
                  'li',
                  { class: `sev-${x.severity}`, title: shown.title },
                  h('strong', {}, `${tOr(`sev.${x.severity}`, x.severity)} ${x.code}`),
                  ` ${shown.text}${x.line ? t('diag.line', { line: x.line }) : ''}`,
                );
              }),
            ),
          ]
        : []),
    );
  } catch {
    diagBox.replaceChildren();
  }
}

interface VerifyAnswer {
  ok: number | boolean;
  backend?: string;
  drift: unknown[];
  differences?: { iface?: string; severity: string; message: string }[];
  note?: string;
}

/** The server's verify note in the chosen language (the backend-none note is known; others as sent). */
function noteText(v: VerifyAnswer): string | undefined {
  return v.note !== undefined && v.backend === 'none' && v.note.startsWith('backend none:')
    ? t('drift.noKernel')
    : v.note;
}

/** Re-reads the list and the drift badge (after an apply, a rollback, a window's end). */
async function reloadAndVerify(): Promise<void> {
  await reload();
  await verify();
}

async function verify(): Promise<VerifyAnswer | undefined> {
  drift.textContent = t('drift.verifying');
  try {
    const r = await call<VerifyAnswer>('GET', `/nodes/${state.node}/network/verify`);
    const ok = Boolean(r.data.ok);
    const n = r.data.drift.length;
    drift.className = `badge ${ok ? (n ? 'warn-badge' : 'good') : 'bad'}`;
    drift.textContent = ok ? (n ? t('drift.notes', { n }) : t('drift.sync')) : t('drift.count', { n });
    drift.title = ok && !n ? (noteText(r.data) ?? t('drift.matches')) : t('drift.click');
    return r.data;
  } catch (e) {
    drift.className = 'badge';
    drift.textContent = t('drift.na');
    drift.title = (e as Error).message;
    return undefined;
  }
}

/** The drift panel: each difference (interface, the file says, the kernel has) and a repair. */
async function driftPanel(): Promise<void> {
  const m = modal({ id: 'drift-dialog', title: t('drift.title'), wide: true });
  const body = h('div', { id: 'drift-body', role: 'status' }, t('drift.checking'));
  m.body.append(body);
  const again = h('button', { type: 'button', id: 'drift-again', 'data-testid': 'drift-again' }, t('drift.again'));
  const repair = h(
    'button',
    { type: 'button', class: 'primary', id: 'drift-repair', 'data-testid': 'drift-repair' },
    t('drift.repair'),
  );
  m.footer.append(h('button', { type: 'button', onclick: () => m.close() }, t('common.close')), again, repair);
  const render = (v: VerifyAnswer | undefined): void => {
    if (!v) {
      body.replaceChildren(h('p', { class: 'bad' }, t('drift.cannot', { msg: drift.title })));
      return;
    }
    const diffs: { iface?: string; severity: string; message: string }[] =
      v.differences ??
      v.drift.map((d) => ({ severity: String(d).split(':')[0] ?? '', message: String(d).replace(/^\w+: /, '') }));
    const staged = state.changes.trim() !== '';
    repair.disabled = diffs.length === 0 || staged || state.windowOpen;
    repair.title = staged ? t('drift.stagedFirst') : state.windowOpen ? t('drift.windowOpen') : '';
    if (!diffs.length) {
      body.replaceChildren(h('p', { class: 'good', id: 'drift-none' }, noteText(v) ?? t('drift.none')));
      return;
    }
    const part = (x: string): HTMLElement => {
      const p = driftPart(x);
      return h('td', { title: p.title || null }, p.text || '—');
    };
    const rows = diffs.map((d) => {
      const sp = splitDifference(d.message);
      return h(
        'tr',
        { 'data-testid': `drift-row-${d.iface ?? sp.iface ?? 'node'}` },
        h('td', {}, d.iface ?? (sp.iface || t('drift.node'))),
        part(sp.file),
        part(sp.kernel),
        h(
          'td',
          { class: d.severity === 'critical' ? 'bad' : 'muted' },
          d.severity === 'critical' ? t('drift.notInEffect') : t('drift.tolerable'),
        ),
      );
    });
    body.replaceChildren(
      h('p', {}, v.ok ? t('drift.tolerated') : t('drift.notRunning')),
      h(
        'table',
        { class: 'drift-table', id: 'drift-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, t('drift.iface')),
            h('th', { scope: 'col' }, t('drift.file')),
            h('th', { scope: 'col' }, t('drift.kernel')),
            h('th', { scope: 'col' }, t('drift.effect')),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
      h('p', { class: 'muted' }, t('drift.repairNote')),
    );
  };
  render(await verify());
  again.addEventListener('click', () => {
    body.textContent = t('drift.checking');
    void verify().then(render);
  });
  repair.addEventListener('click', () => {
    repair.disabled = true;
    again.disabled = true;
    const log = h('div', { class: 'tasklog', id: 'drift-log', 'aria-label': t('common.taskLog'), tabindex: 0 });
    body.replaceChildren(h('p', { role: 'status' }, t('drift.reapplying')), log);
    call<string>('PUT', `/nodes/${state.node}/network`)
      .then((r) => followTask(state.node, r.data, log))
      .then(async (exit) => {
        const v = await verify();
        render(v);
        body.prepend(
          h(
            'p',
            { class: exit === 'OK' ? 'good' : 'bad', id: 'drift-repaired' },
            exit === 'OK' ? t('drift.reapplied') : t('drift.reapplyFailed', { exit }),
          ),
        );
        again.disabled = false;
        await reload();
      })
      .catch((e: Error) => {
        body.prepend(h('p', { class: 'bad' }, t('drift.repairRefused', { msg: e.message })));
        again.disabled = false;
      });
  });
}

if (currentSession()) void start();
else showLogin();
