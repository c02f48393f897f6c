/** Small DOM helpers: element builder, modal dialogs with a focus trap, toasts. */
import { t } from './i18n.ts';

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** `h('button', {id: 'x', onclick: f}, 'Label')`; attributes `false`/null/undefined are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && el instanceof HTMLInputElement) el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: (Node | string)[]
): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface Modal {
  el: HTMLDialogElement;
  body: HTMLElement;
  footer: HTMLElement;
  close(): void;
}

/**
 * A modal dialog (native `<dialog>`: the page behind is inert) with a focus trap, Escape to close
 * (unless `sticky`) and focus returned to where it was.
 */
export function modal(opts: {
  id: string;
  title: string;
  wide?: boolean;
  sticky?: boolean;
  onClose?: () => void;
}): Modal {
  document.getElementById(opts.id)?.remove();
  const prev = document.activeElement as HTMLElement | null;
  const titleId = `${opts.id}-title`;
  const body = h('div', { class: 'dlg-body' });
  const footer = h('div', { class: 'dlg-footer' });
  const el = h(
    'dialog',
    { id: opts.id, 'data-testid': opts.id, class: opts.wide ? 'wide' : '', 'aria-labelledby': titleId },
    h(
      'div',
      { class: 'dlg-head' },
      h('h2', { id: titleId }, opts.title),
      opts.sticky
        ? null
        : h('button', { type: 'button', class: 'icon', 'aria-label': t('common.close'), onclick: () => close() }, '×'),
    ),
    body,
    footer,
  );
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    el.close();
    el.remove();
    opts.onClose?.();
    prev?.focus?.();
  };
  el.addEventListener('cancel', (e) => {
    e.preventDefault();
    if (!opts.sticky) close();
  });
  el.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    const f = [...el.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((x) => x.offsetParent !== null);
    if (!f.length) return;
    const first = f[0]!;
    const last = f[f.length - 1]!;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });
  document.body.append(el);
  el.showModal();
  return { el, body, footer, close };
}

/** Focus the first field of a dialog (after it is filled). */
export function focusFirst(m: Modal): void {
  const f =
    m.body.querySelector<HTMLElement>(
      'input:not([disabled]):not([readonly]), select:not([disabled]), textarea, button',
    ) ?? m.footer.querySelector<HTMLElement>('button');
  f?.focus();
}

/** A yes/no question; resolves true on the confirm button. */
export function confirmDialog(
  id: string,
  title: string,
  content: Node | string,
  yes: string,
  danger = false,
): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const m = modal({
      id,
      title,
      onClose: () => {
        if (!answered) resolve(false);
      },
    });
    m.body.append(typeof content === 'string' ? h('p', {}, content) : content);
    const no = h('button', { type: 'button', 'data-testid': `${id}-no`, onclick: () => m.close() }, t('common.cancel'));
    const ok = h(
      'button',
      {
        type: 'button',
        class: danger ? 'danger' : 'primary',
        'data-testid': `${id}-yes`,
        onclick: () => {
          answered = true;
          resolve(true);
          m.close();
        },
      },
      yes,
    );
    m.footer.append(no, ok);
    ok.focus();
  });
}

/** A short message in the corner (polite live region). */
export function toast(msg: string, kind: 'ok' | 'error' | 'info' = 'info'): void {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, msg);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

export function clear(el: Element): void {
  el.replaceChildren();
}
