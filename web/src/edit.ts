/**
 * Create/edit dialogs per type (Linux Bridge, Linux Bond, Linux VLAN) with PVE's fields, the bond
 * mode rules, name-driven VLAN fields, checks as you type, and server diagnostics at the field.
 */
import { ApiError, call } from './api.ts';
import type { Params } from './api.ts';
import { focusFirst, h, modal } from './dom.ts';
import { BOND_MODES, HASH_POLICIES, bondMode, checkField, freeName, optionToParam, typeLabel, vlanFromName, words } from './logic.ts';
import type { Iface } from './logic.ts';
import { diagText, t } from './i18n.ts';

export interface EditContext {
  node: string;
  list: Iface[];
  digest: string | undefined;
  done(): Promise<void>;
}

type FieldEl = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** Open the dialog: `existing` edits, else creates an interface of `type`. */
export function openEditor(ctx: EditContext, type: string, existing?: Iface): void {
  if (existing?.source) {
    // nodenet never rewrites sourced files: say where to edit instead of offering a form.
    const info = modal({ id: 'edit-dialog', title: t('edit.sourcedTitle', { iface: existing.iface, source: existing.source }) });
    info.body.append(h('p', { id: 'edit-sourced' }, t('edit.sourcedBody', { iface: existing.iface, source: existing.source })));
    info.footer.append(h('button', { type: 'button', onclick: () => info.close() }, t('common.close')));
    return;
  }
  const editing = Boolean(existing);
  const m = modal({ id: 'edit-dialog', title: t(editing ? 'edit.titleEdit' : 'edit.titleCreate', { type: typeLabel(type) }), wide: true });
  const form = h('form', { id: 'edit-form', novalidate: true });
  const general = h('div', { class: 'form-error', id: 'edit-error', role: 'alert' });
  const fields = new Map<string, FieldEl>();
  const errs = new Map<string, HTMLElement>();
  const cols = [h('div', { class: 'col' }), h('div', { class: 'col' })] as const;

  const add = (col: 0 | 1, name: string, label: string, el: FieldEl, help?: string): HTMLElement => {
    const id = `f-${name.replace(/[^a-z0-9]/gi, '_')}`;
    el.id = id;
    el.name = name;
    el.dataset.testid = id;
    const err = h('div', { class: 'field-error', id: `${id}-err`, 'data-testid': `${id}-err` });
    el.setAttribute('aria-describedby', `${id}-err${help ? ` ${id}-help` : ''}`);
    const wrap = el instanceof HTMLInputElement && el.type === 'checkbox'
      ? h('div', { class: 'field check' }, el, h('label', { for: id }, label), err)
      : h('div', { class: 'field' }, h('label', { for: id }, label), el, help ? h('div', { class: 'help', id: `${id}-help` }, help) : null, err);
    fields.set(name, el);
    errs.set(name, err);
    cols[col].append(wrap);
    el.addEventListener('input', () => validate(name));
    el.addEventListener('change', () => validate(name));
    return wrap;
  };
  const text = (v: unknown, ph = ''): HTMLInputElement => h('input', { type: 'text', value: v === undefined || v === null ? '' : String(v).trim(), placeholder: ph, autocomplete: 'off', spellcheck: 'false' });
  const check = (v: boolean): HTMLInputElement => h('input', { type: 'checkbox', checked: v });

  /**
   * Ports and slaves are picked from the node's devices (a toggle per NIC; typing stays possible);
   * a name the node does not have is flagged under the field (it may be plugged in later).
   */
  const known = new Set(ctx.list.filter((i) => !(i.type === 'eth' && i.exists === 0)).map((i) => i.iface));
  const pickable = (forType: string): string[] =>
    ctx.list.filter((i) => i.iface !== existing?.iface && i.exists !== 0 && (i.type === 'eth' || (forType === 'bridge' && (i.type === 'bond' || i.type === 'vlan')))).map((i) => i.iface);
  const picker = (name: string, forType: string): void => {
    const input = fields.get(name) as HTMLInputElement;
    const warn = h('div', { class: 'field-warn', id: `${input.id}-warn`, 'data-testid': `${input.id}-warn`, 'aria-live': 'polite' });
    const chips = h('div', { class: 'chips', role: 'group', 'aria-label': t(name === 'slaves' ? 'edit.chooseSlaves' : 'edit.choosePorts') });
    const sync = (): void => {
      const have = words(input.value);
      for (const c of chips.querySelectorAll<HTMLButtonElement>('button')) c.setAttribute('aria-pressed', String(have.includes(c.value)));
      const unknown = have.filter((w) => !known.has(w) && !/[*?[]/.test(w));
      warn.textContent = unknown.length ? t('edit.notDevice', { names: unknown.join(', ') }) : '';
    };
    for (const n of pickable(forType)) {
      const b = h('button', { type: 'button', class: 'chip', value: n, 'data-testid': `pick-${name}-${n}`, 'aria-pressed': 'false' }, n);
      b.addEventListener('click', () => {
        const have = words(input.value);
        input.value = (have.includes(n) ? have.filter((w) => w !== n) : [...have, n]).join(' ');
        input.dispatchEvent(new Event('input'));
      });
      chips.append(b);
    }
    input.addEventListener('input', sync);
    input.parentElement?.append(chips, warn);
    sync();
  };

  const prefix = type === 'bridge' ? 'vmbr' : type === 'bond' ? 'bond' : type === 'eth' ? 'eno' : 'vlan';
  const nameInput = text(existing?.iface ?? freeName(ctx.list, prefix));
  if (editing) nameInput.readOnly = true;
  add(0, 'iface', t('edit.name'), nameInput);
  add(0, 'cidr', t('edit.cidr'), text(existing?.cidr, '192.0.2.10/24'));
  add(0, 'gateway', t('edit.gateway'), text(existing?.gateway));
  add(0, 'cidr6', t('edit.cidr6'), text(existing?.cidr6, '2001:db8::10/64'));
  add(0, 'gateway6', t('edit.gateway6'), text(existing?.gateway6));
  add(1, 'autostart', t('edit.autostart'), check(editing ? existing?.autostart === 1 : true));

  let modeHelp: HTMLElement | null = null;
  if (type === 'bridge') {
    const aware = check(existing?.bridge_vlan_aware === 1);
    add(1, 'bridge_vlan_aware', t('edit.vlanAware'), aware);
    add(1, 'bridge_ports', t('edit.bridgePorts'), text(existing?.bridge_ports, t('edit.bridgePortsPh')));
    picker('bridge_ports', 'bridge');
    add(1, 'bridge_vids', t('edit.vids'), text(existing?.bridge_vids, '2-4094'), t('edit.vidsHelp'));
  } else if (type === 'bond') {
    add(1, 'slaves', t('edit.slaves'), text(existing?.slaves, 'eno2 eno3'));
    picker('slaves', 'bond');
    const mode = h('select', {}, ...BOND_MODES.map((bm) => h('option', { value: bm.value }, bm.label)));
    mode.value = existing?.bond_mode ?? 'balance-rr';
    add(1, 'bond_mode', t('edit.mode'), mode);
    modeHelp = h('p', { class: 'mode-help', id: 'bond-mode-help', 'data-testid': 'bond-mode-help', 'aria-live': 'polite' });
    cols[1].append(modeHelp);
    const hp = h('select', {}, h('option', { value: '' }, t('edit.hashDefault')), ...HASH_POLICIES.map((p) => h('option', { value: p }, p)));
    hp.value = existing?.bond_xmit_hash_policy ?? '';
    add(1, 'bond_xmit_hash_policy', t('edit.hash'), hp);
    add(1, 'bond-primary', t('edit.primary'), text(existing?.['bond-primary']));
    cols[1].append(h('p', { class: 'note', id: 'bond-note' }, t('edit.lacpNote')));
  } else if (type === 'vlan') {
    add(1, 'vlan-raw-device', t('edit.vlanRaw'), text(existing?.['vlan-raw-device']));
    add(1, 'vlan-id', t('edit.vlanTag'), text(existing?.['vlan-id']));
    cols[1].append(h('p', { class: 'help', id: 'vlan-hint' }, t('edit.vlanHint')));
  }
  if (type === 'eth') cols[1].append(h('p', { class: 'help', id: 'eth-hint' }, t('edit.ethHint')));
  add(1, 'mtu', t('edit.mtu'), text(existing?.mtu, '1500'));
  const comments = h('textarea', { rows: 2 });
  comments.value = String(existing?.comments ?? '').trim();
  add(1, 'comments', t('edit.comment'), comments);

  /** Fields that follow other fields: VLAN aware → VIDs, bond mode → hash/primary, VLAN name → raw/tag. */
  const follow = (): void => {
    const get = (n: string): FieldEl | undefined => fields.get(n);
    if (type === 'bridge') {
      const aware = (get('bridge_vlan_aware') as HTMLInputElement).checked;
      get('bridge_vids')!.disabled = !aware;
    }
    if (type === 'bond') {
      const bm = bondMode(get('bond_mode')!.value);
      get('bond_xmit_hash_policy')!.disabled = !bm.hashPolicy;
      get('bond-primary')!.disabled = !bm.primary;
      if (modeHelp) modeHelp.textContent = t(bm.explain);
    }
    if (type === 'vlan' && !editing) {
      const v = vlanFromName(get('iface')!.value.trim());
      const raw = get('vlan-raw-device') as HTMLInputElement;
      const tag = get('vlan-id') as HTMLInputElement;
      if (v?.raw !== undefined) {
        raw.value = v.raw;
        raw.disabled = true;
      } else raw.disabled = false;
      if (v) {
        tag.value = String(v.tag);
        tag.disabled = true;
      } else tag.disabled = false;
    }
  };
  const validate = (name: string): void => {
    follow();
    const el = fields.get(name);
    const err = errs.get(name);
    if (!el || !err) return;
    const msg = el.disabled ? null : checkField(name, el.value, type);
    setErr(name, msg);
  };
  const setErr = (name: string, msg: string | null): void => {
    const el = fields.get(name);
    const err = errs.get(name);
    if (!el || !err) return;
    err.textContent = msg ?? '';
    if (msg) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
  };
  follow();

  form.append(general, h('div', { class: 'cols' }, ...cols));
  m.body.append(form);
  const cancel = h('button', { type: 'button', 'data-testid': 'edit-cancel', onclick: () => m.close() }, t('common.cancel'));
  const ok = h('button', { type: 'submit', class: 'primary', form: 'edit-form', 'data-testid': 'edit-ok', id: 'edit-ok' }, editing ? t('common.ok') : t('common.create'));
  m.footer.append(cancel, ok);
  focusFirst(m);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });

  async function submit(): Promise<void> {
    general.textContent = '';
    let bad = false;
    for (const [n, el] of fields) {
      const msg = el.disabled ? null : checkField(n, el.value, type);
      setErr(n, msg);
      if (msg) bad = true;
    }
    if (bad) {
      general.textContent = t('edit.fix');
      return;
    }
    const p: Params = { type };
    const del: string[] = [];
    for (const [n, el] of fields) {
      if (n === 'iface') continue;
      let v: string;
      if (el instanceof HTMLInputElement && el.type === 'checkbox') v = el.checked ? '1' : '0';
      else v = el.value.trim();
      // disabled name-driven VLAN fields are implied by the name; other disabled fields are unused by this mode
      if (el.disabled) {
        if (type === 'vlan') continue;
        if (editing && existing?.[n] !== undefined) del.push(n);
        continue;
      }
      if (v === '') {
        if (editing && existing?.[n] !== undefined && existing[n] !== '') del.push(n);
        continue;
      }
      if (n === 'bridge_vlan_aware' && v === '0' && !editing) continue;
      p[n] = v;
    }
    if (del.length) p.delete = del.join(',');
    if (ctx.digest) p.digest = ctx.digest;
    ok.disabled = true;
    try {
      if (editing) await call('PUT', `/nodes/${ctx.node}/network/${encodeURIComponent(existing!.iface)}`, p);
      else await call('POST', `/nodes/${ctx.node}/network`, { ...p, iface: nameInput.value.trim() });
      m.close();
      await ctx.done();
    } catch (e) {
      ok.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      showServerErrors(e);
    }
  }

  function showServerErrors(e: ApiError): void {
    const left: string[] = [];
    const titles: string[] = [];
    for (const [k, v] of Object.entries(e.errors)) {
      const name = fields.has(k) ? k : fields.has(optionToParam(k)) ? optionToParam(k) : null;
      if (name) setErr(name, v.trim());
      else left.push(`${k}: ${v.trim()}`);
    }
    for (const d of e.diagnostics) {
      const name = d.option ? optionToParam(d.option) : null;
      const shown = diagText(d);
      const text = shown.text;
      if (shown.title) titles.push(shown.title);
      if (name && fields.has(name)) {
        const err = errs.get(name)!;
        if (!err.textContent?.includes(d.message) && !err.textContent?.includes(text)) setErr(name, err.textContent ? `${err.textContent} ${text}` : text);
        else setErr(name, text);
        if (shown.title) err.title = shown.title;
      } else if (!Object.values(e.errors).some((v) => v.includes(d.message))) left.push(text);
    }
    general.title = titles.join('\n');
    general.textContent = left.length ? left.join('\n') : e.status === 409 ? e.message : Object.keys(e.errors).length ? t('edit.refused') : e.message;
    const first = [...fields.values()].find((f) => f.getAttribute('aria-invalid') === 'true');
    first?.focus();
  }
}
