/**
 * Create/edit dialogs per type (Linux Bridge, Linux Bond, Linux VLAN) with PVE's fields, the bond
 * mode rules, name-driven VLAN fields, checks as you type, and server diagnostics at the field.
 */
import { ApiError, call } from './api.ts';
import type { Params } from './api.ts';
import { focusFirst, h, modal } from './dom.ts';
import { BOND_MODES, HASH_POLICIES, bondMode, checkField, freeName, optionToParam, typeLabel, vlanFromName, words } from './logic.ts';
import type { Iface } from './logic.ts';

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
    const info = modal({ id: 'edit-dialog', title: `${existing.iface} lives in ${existing.source}` });
    info.body.append(h('p', { id: 'edit-sourced' }, `${existing.iface} is defined in /etc/network/${existing.source}, a file the main configuration sources. nodenet shows it and counts it when checking, but never rewrites that file: edit it by hand.`));
    info.footer.append(h('button', { type: 'button', onclick: () => info.close() }, 'Close'));
    return;
  }
  const editing = Boolean(existing);
  const m = modal({ id: 'edit-dialog', title: `${editing ? 'Edit' : 'Create'}: ${typeLabel(type)}`, wide: true });
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
    const chips = h('div', { class: 'chips', role: 'group', 'aria-label': `Choose ${name === 'slaves' ? 'slaves' : 'ports'} from this node's devices` });
    const sync = (): void => {
      const have = words(input.value);
      for (const c of chips.querySelectorAll<HTMLButtonElement>('button')) c.setAttribute('aria-pressed', String(have.includes(c.value)));
      const unknown = have.filter((w) => !known.has(w) && !/[*?[]/.test(w));
      warn.textContent = unknown.length ? `Not a device of this node: ${unknown.join(', ')} (kept as typed; it must exist when the configuration is applied).` : '';
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
  add(0, 'iface', 'Name', nameInput);
  add(0, 'cidr', 'IPv4/CIDR', text(existing?.cidr, '192.0.2.10/24'));
  add(0, 'gateway', 'Gateway (IPv4)', text(existing?.gateway));
  add(0, 'cidr6', 'IPv6/CIDR', text(existing?.cidr6, '2001:db8::10/64'));
  add(0, 'gateway6', 'Gateway (IPv6)', text(existing?.gateway6));
  add(1, 'autostart', 'Autostart', check(editing ? existing?.autostart === 1 : true));

  let modeHelp: HTMLElement | null = null;
  if (type === 'bridge') {
    const aware = check(existing?.bridge_vlan_aware === 1);
    add(1, 'bridge_vlan_aware', 'VLAN aware', aware);
    add(1, 'bridge_ports', 'Bridge ports', text(existing?.bridge_ports, 'eno1 (space separated; empty = none)'));
    picker('bridge_ports', 'bridge');
    add(1, 'bridge_vids', 'VLAN IDs', text(existing?.bridge_vids, '2-4094'), 'Only used when the bridge is VLAN aware.');
  } else if (type === 'bond') {
    add(1, 'slaves', 'Slaves', text(existing?.slaves, 'eno2 eno3'));
    picker('slaves', 'bond');
    const mode = h('select', {}, ...BOND_MODES.map((bm) => h('option', { value: bm.value }, bm.label)));
    mode.value = existing?.bond_mode ?? 'balance-rr';
    add(1, 'bond_mode', 'Mode', mode);
    modeHelp = h('p', { class: 'mode-help', id: 'bond-mode-help', 'data-testid': 'bond-mode-help', 'aria-live': 'polite' });
    cols[1].append(modeHelp);
    const hp = h('select', {}, h('option', { value: '' }, '(default: layer2)'), ...HASH_POLICIES.map((p) => h('option', { value: p }, p)));
    hp.value = existing?.bond_xmit_hash_policy ?? '';
    add(1, 'bond_xmit_hash_policy', 'Hash policy', hp);
    add(1, 'bond-primary', 'Primary (bond-primary)', text(existing?.['bond-primary']));
    cols[1].append(h('p', { class: 'note', id: 'bond-note' }, 'LACP (802.3ad) only works when the switch has LACP configured on these ports. Without switch support, active-backup is the safe choice: it needs nothing from the switch.'));
  } else if (type === 'vlan') {
    add(1, 'vlan-raw-device', 'VLAN raw device', text(existing?.['vlan-raw-device']));
    add(1, 'vlan-id', 'VLAN Tag', text(existing?.['vlan-id']));
    cols[1].append(h('p', { class: 'help', id: 'vlan-hint' }, 'Either add the VLAN number to an existing interface name (eno1.50), or choose your own name and set the raw device and tag.'));
  }
  if (type === 'eth') cols[1].append(h('p', { class: 'help', id: 'eth-hint' }, 'A physical network device: as in Proxmox VE you set whether it comes up at boot, its addresses, gateway, MTU and comment; its name is the kernel\'s.'));
  add(1, 'mtu', 'MTU', text(existing?.mtu, '1500'));
  const comments = h('textarea', { rows: 2 });
  comments.value = String(existing?.comments ?? '').trim();
  add(1, 'comments', 'Comment', comments);

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
      if (modeHelp) modeHelp.textContent = bm.explain;
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
  const cancel = h('button', { type: 'button', 'data-testid': 'edit-cancel', onclick: () => m.close() }, 'Cancel');
  const ok = h('button', { type: 'submit', class: 'primary', form: 'edit-form', 'data-testid': 'edit-ok', id: 'edit-ok' }, editing ? 'OK' : 'Create');
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
      general.textContent = 'Please fix the marked fields.';
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
    for (const [k, v] of Object.entries(e.errors)) {
      const name = fields.has(k) ? k : fields.has(optionToParam(k)) ? optionToParam(k) : null;
      if (name) setErr(name, v.trim());
      else left.push(`${k}: ${v.trim()}`);
    }
    for (const d of e.diagnostics) {
      const name = d.option ? optionToParam(d.option) : null;
      const text = `${d.message}${d.hint ? ` — ${d.hint}` : ''}`;
      if (name && fields.has(name)) {
        const err = errs.get(name)!;
        if (!err.textContent?.includes(d.message)) setErr(name, err.textContent ? `${err.textContent} ${text}` : text);
        else setErr(name, text);
      } else if (!Object.values(e.errors).some((v) => v.includes(d.message))) left.push(text);
    }
    general.textContent = left.length ? left.join('\n') : e.status === 409 ? e.message : Object.keys(e.errors).length ? 'The server refused the change; see the marked fields.' : e.message;
    const first = [...fields.values()].find((f) => f.getAttribute('aria-invalid') === 'true');
    first?.focus();
  }
}
