/**
 * The part every create/edit dialog shares (as Cockpit's networkmanager splits its dialogs): the
 * form with its two columns, field builders, the port/slave picker, checks as you type, the
 * submit that sends only what changed (cleared fields as `delete=`), and server `errors` /
 * diagnostics shown at the field. Each kind (bridge.ts, bond.ts, vlan.ts, eth.ts) adds its own
 * fields and the rules by which they follow each other.
 */
import { ApiError, call } from '../api.ts';
import type { Params } from '../api.ts';
import { focusFirst, h, modal } from '../dom.ts';
import { checkField, freeName, optionToParam, typeLabel, words } from '../logic.ts';
import type { Iface } from '../logic.ts';
import { diagText, t } from '../i18n.ts';
import { apiText } from '../server-text.ts';

export interface EditContext {
  node: string;
  list: Iface[];
  digest: string | undefined;
  done(): Promise<void>;
  /** Instead of creating on `node`: hand the new interface's parameters (with `iface`) here (the fleet's staging). */
  submit?(p: Params): Promise<void>;
}

export type FieldEl = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** What a kind of interface adds to the common dialog. */
export interface Kind {
  /** The API `type`. */
  type: string;
  /** Prefix of the first free name offered on create. */
  prefix: string;
  /** Disabled fields are implied by the name (VLAN) and left out, rather than deleted as unused. */
  impliedWhenDisabled?: boolean;
  /** No address fields (OVS Bond and OVS Port, as Proxmox VE's GUI). */
  noAddress?: boolean;
  /** Add the kind's fields (column 1, after Autostart, before MTU and Comment). */
  fields(f: EditorForm): void;
  /** Fields that follow other fields (run before every check). */
  follow?(f: EditorForm): void;
}

/** The form of one open dialog: its fields by parameter name and their error lines. */
export class EditorForm {
  readonly fields = new Map<string, FieldEl>();
  readonly errs = new Map<string, HTMLElement>();
  readonly cols = [h('div', { class: 'col' }), h('div', { class: 'col' })] as const;
  readonly editing: boolean;
  private readonly known: Set<string>;

  constructor(
    readonly ctx: EditContext,
    readonly kind: Kind,
    readonly existing: Iface | undefined,
  ) {
    this.editing = Boolean(existing);
    this.known = new Set(ctx.list.filter((i) => !(i.type === 'eth' && i.exists === 0)).map((i) => i.iface));
  }

  /** Add a labelled field to column `col`; it is checked as you type. */
  add(col: 0 | 1, name: string, label: string, el: FieldEl, help?: string): HTMLElement {
    const id = `f-${name.replace(/[^a-z0-9]/gi, '_')}`;
    el.id = id;
    el.name = name;
    el.dataset.testid = id;
    const err = h('div', { class: 'field-error', id: `${id}-err`, 'data-testid': `${id}-err` });
    el.setAttribute('aria-describedby', `${id}-err${help ? ` ${id}-help` : ''}`);
    const wrap =
      el instanceof HTMLInputElement && el.type === 'checkbox'
        ? h('div', { class: 'field check' }, el, h('label', { for: id }, label), err)
        : h(
            'div',
            { class: 'field' },
            h('label', { for: id }, label),
            el,
            help ? h('div', { class: 'help', id: `${id}-help` }, help) : null,
            err,
          );
    this.fields.set(name, el);
    this.errs.set(name, err);
    this.cols[col].append(wrap);
    el.addEventListener('input', () => this.validate(name));
    el.addEventListener('change', () => this.validate(name));
    return wrap;
  }

  get(name: string): FieldEl | undefined {
    return this.fields.get(name);
  }

  /**
   * Ports and slaves are picked from the node's devices (a toggle per NIC; typing stays possible);
   * a name the node does not have is flagged under the field (it may be plugged in later).
   */
  picker(name: string, forType: string): void {
    const input = this.fields.get(name) as HTMLInputElement;
    const warn = h('div', {
      class: 'field-warn',
      id: `${input.id}-warn`,
      'data-testid': `${input.id}-warn`,
      'aria-live': 'polite',
    });
    const chips = h('div', {
      class: 'chips',
      role: 'group',
      'aria-label': t(name === 'slaves' || name === 'ovs_bonds' ? 'edit.chooseSlaves' : 'edit.choosePorts'),
    });
    const sync = (): void => {
      const have = words(input.value);
      for (const c of chips.querySelectorAll<HTMLButtonElement>('button'))
        c.setAttribute('aria-pressed', String(have.includes(c.value)));
      const unknown = have.filter((w) => !this.known.has(w) && !/[*?[]/.test(w));
      warn.textContent = unknown.length ? t('edit.notDevice', { names: unknown.join(', ') }) : '';
    };
    for (const n of this.pickable(forType)) {
      const b = h(
        'button',
        { type: 'button', class: 'chip', value: n, 'data-testid': `pick-${name}-${n}`, 'aria-pressed': 'false' },
        n,
      );
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
  }

  private pickable(forType: string): string[] {
    return this.ctx.list
      .filter(
        (i) =>
          i.iface !== this.existing?.iface &&
          i.exists !== 0 &&
          (i.type === 'eth' ||
            (forType === 'bridge' && (i.type === 'bond' || i.type === 'vlan')) ||
            (forType === 'OVSBridge' && ['OVSPort', 'OVSBond', 'OVSIntPort'].includes(i.type))),
      )
      .map((i) => i.iface);
  }

  follow(): void {
    this.kind.follow?.(this);
  }

  validate(name: string): void {
    this.follow();
    const el = this.fields.get(name);
    const err = this.errs.get(name);
    if (!el || !err) return;
    const msg = el.disabled ? null : checkField(name, el.value, this.kind.type);
    this.setErr(name, msg);
  }

  setErr(name: string, msg: string | null): void {
    const el = this.fields.get(name);
    const err = this.errs.get(name);
    if (!el || !err) return;
    err.textContent = msg ?? '';
    if (msg) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
  }
}

export const text = (v: unknown, ph = ''): HTMLInputElement =>
  h('input', {
    type: 'text',
    value: v === undefined || v === null ? '' : String(v).trim(),
    placeholder: ph,
    autocomplete: 'off',
    spellcheck: 'false',
  });
export const check = (v: boolean): HTMLInputElement => h('input', { type: 'checkbox', checked: v });

/** nodenet never rewrites sourced files: say where to edit instead of offering a form. */
export function openSourced(existing: Iface & { source: string }): void {
  const info = modal({
    id: 'edit-dialog',
    title: t('edit.sourcedTitle', { iface: existing.iface, source: existing.source }),
  });
  info.body.append(
    h('p', { id: 'edit-sourced' }, t('edit.sourcedBody', { iface: existing.iface, source: existing.source })),
  );
  info.footer.append(h('button', { type: 'button', onclick: () => info.close() }, t('common.close')));
}

/** Open the create (no `existing`) or edit dialog of one kind. */
export function openDialog(ctx: EditContext, kind: Kind, existing?: Iface): void {
  const type = kind.type;
  const f = new EditorForm(ctx, kind, existing);
  const editing = f.editing;
  const m = modal({
    id: 'edit-dialog',
    title: t(editing ? 'edit.titleEdit' : 'edit.titleCreate', { type: typeLabel(type) }),
    wide: true,
  });
  const form = h('form', { id: 'edit-form', novalidate: true });
  const general = h('div', { class: 'form-error', id: 'edit-error', role: 'alert' });

  const nameInput = text(existing?.iface ?? freeName(ctx.list, kind.prefix));
  if (editing) nameInput.readOnly = true;
  f.add(0, 'iface', t('edit.name'), nameInput);
  if (!kind.noAddress) {
    f.add(0, 'cidr', t('edit.cidr'), text(existing?.cidr, '192.0.2.10/24'));
    f.add(0, 'gateway', t('edit.gateway'), text(existing?.gateway));
    f.add(0, 'cidr6', t('edit.cidr6'), text(existing?.cidr6, '2001:db8::10/64'));
    f.add(0, 'gateway6', t('edit.gateway6'), text(existing?.gateway6));
  }
  f.add(1, 'autostart', t('edit.autostart'), check(editing ? existing?.autostart === 1 : true));
  kind.fields(f);
  f.add(1, 'mtu', t('edit.mtu'), text(existing?.mtu, '1500'));
  const comments = h('textarea', { rows: 2 });
  comments.value = String(existing?.comments ?? '').trim();
  f.add(1, 'comments', t('edit.comment'), comments);
  f.follow();

  form.append(general, h('div', { class: 'cols' }, ...f.cols));
  m.body.append(form);
  const cancel = h(
    'button',
    { type: 'button', 'data-testid': 'edit-cancel', onclick: () => m.close() },
    t('common.cancel'),
  );
  const ok = h(
    'button',
    { type: 'submit', class: 'primary', form: 'edit-form', 'data-testid': 'edit-ok', id: 'edit-ok' },
    editing ? t('common.ok') : t('common.create'),
  );
  m.footer.append(cancel, ok);
  focusFirst(m);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });

  async function submit(): Promise<void> {
    general.textContent = '';
    let bad = false;
    for (const [n, el] of f.fields) {
      const msg = el.disabled ? null : checkField(n, el.value, type);
      f.setErr(n, msg);
      if (msg) bad = true;
    }
    if (bad) {
      general.textContent = t('edit.fix');
      return;
    }
    const p = changes(f);
    if (ctx.digest) p.digest = ctx.digest;
    ok.disabled = true;
    try {
      if (ctx.submit && !editing) await ctx.submit({ ...p, iface: nameInput.value.trim() });
      else if (editing) await call('PUT', `/nodes/${ctx.node}/network/${encodeURIComponent(existing!.iface)}`, p);
      else await call('POST', `/nodes/${ctx.node}/network`, { ...p, iface: nameInput.value.trim() });
      m.close();
      await ctx.done();
    } catch (e) {
      ok.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      showServerErrors(f, general, e);
    }
  }
}

/** The request parameters: the fields' values, cleared or unused fields of an existing interface as `delete`. */
function changes(f: EditorForm): Params {
  const { existing, editing } = f;
  const p: Params = { type: f.kind.type };
  const del: string[] = [];
  for (const [n, el] of f.fields) {
    if (n === 'iface') continue;
    let v: string;
    if (el instanceof HTMLInputElement && el.type === 'checkbox') v = el.checked ? '1' : '0';
    else v = el.value.trim();
    // disabled name-driven VLAN fields are implied by the name; other disabled fields are unused by this mode
    if (el.disabled) {
      if (f.kind.impliedWhenDisabled) continue;
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
  return p;
}

/** Server `errors` and diagnostics at their field; the rest above the form. */
function showServerErrors(f: EditorForm, general: HTMLElement, e: ApiError): void {
  const { fields, errs } = f;
  const left: string[] = [];
  const titles: string[] = [];
  for (const [k, v] of Object.entries(e.errors)) {
    const name = fields.has(k) ? k : fields.has(optionToParam(k)) ? optionToParam(k) : null;
    if (name) f.setErr(name, apiText(v.trim()).text);
    else left.push(`${k}: ${apiText(v.trim()).text}`);
  }
  for (const d of e.diagnostics) {
    const name = d.option ? optionToParam(d.option) : null;
    const shown = diagText(d);
    const text = shown.text;
    if (shown.title) titles.push(shown.title);
    if (name && fields.has(name)) {
      const err = errs.get(name)!;
      if (!err.textContent?.includes(d.message) && !err.textContent?.includes(text))
        f.setErr(name, err.textContent ? `${err.textContent} ${text}` : text);
      else f.setErr(name, text);
      if (shown.title) err.title = shown.title;
    } else if (!Object.values(e.errors).some((v) => v.includes(d.message))) left.push(text);
  }
  general.title = titles.join('\n');
  general.textContent = left.length
    ? left.join('\n')
    : e.status === 409
      ? apiText(e.message).text
      : Object.keys(e.errors).length
        ? t('edit.refused')
        : apiText(e.message).text;
  const first = [...fields.values()].find((el) => el.getAttribute('aria-invalid') === 'true');
  first?.focus();
}
