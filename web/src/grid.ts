/**
 * The interface grid: PVE's columns, sortable and filterable, with virtualised rows (only the
 * rows in view are in the DOM, so 4094 interfaces cost the same as 40).
 */
import { h } from './dom.ts';
import { allCidrs, bondModeLabel, members, naturalCompare, typeLabel } from './logic.ts';
import type { Iface } from './logic.ts';
import { fmtNumber, t } from './i18n.ts';
import type { Key } from './i18n/en.ts';

interface Column {
  key: string;
  /** The catalogue key of the column header. */
  head: Key;
  width: string;
  value: (i: Iface) => string;
}

const yesNo = (v: unknown): string =>
  v === 1 || v === '1' ? t('common.yes') : v === 0 || v === '0' ? t('common.no') : '';

export const COLUMNS: readonly Column[] = [
  { key: 'iface', head: 'col.iface', width: 'minmax(90px,1.1fr)', value: (i) => i.iface },
  {
    key: 'type',
    head: 'col.type',
    width: 'minmax(140px,1fr)',
    value: (i) => (i.source ? `${typeLabel(i.type)} (${i.source})` : typeLabel(i.type)),
  },
  { key: 'active', head: 'col.active', width: '70px', value: (i) => yesNo(i.active) },
  { key: 'autostart', head: 'col.autostart', width: '100px', value: (i) => yesNo(i.autostart ?? 0) },
  {
    key: 'bridge_vlan_aware',
    head: 'col.bridge_vlan_aware',
    width: '124px',
    value: (i) => (i.type === 'bridge' ? yesNo(i.bridge_vlan_aware ?? 0) : ''),
  },
  { key: 'ports', head: 'col.ports', width: 'minmax(115px,1.2fr)', value: members },
  {
    key: 'bond_mode',
    head: 'col.bond_mode',
    width: 'minmax(125px,1fr)',
    value: bondModeLabel,
  },
  { key: 'cidr', head: 'col.cidr', width: 'minmax(110px,1.3fr)', value: (i) => allCidrs(i).join('\n') },
  {
    key: 'gateway',
    head: 'col.gateway',
    width: 'minmax(90px,1.1fr)',
    value: (i) => [i.gateway, i.gateway6].filter(Boolean).join('\n'),
  },
  { key: 'mtu', head: 'col.mtu', width: '56px', value: (i) => String(i.mtu ?? '') },
  { key: 'comments', head: 'col.comments', width: 'minmax(90px,1.6fr)', value: (i) => String(i.comments ?? '').trim() },
];

export const ROW_HEIGHT = 30;
const OVERSCAN = 8;

export interface GridEvents {
  onSelect(i: Iface | null): void;
  onOpen(i: Iface): void;
  onDelete(i: Iface): void;
}

export class Grid {
  readonly el: HTMLElement;
  private readonly head: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rowsBox: HTMLElement;
  private readonly status: HTMLElement;
  private all: Iface[] = [];
  private view: Iface[] = [];
  private sortKey = 'iface';
  private sortDir = 1;
  private filter = '';
  private typeFilter = '';
  selected: string | null = null;
  private changed = new Set<string>();
  private readonly template: string;

  constructor(private readonly ev: GridEvents) {
    this.template = COLUMNS.map((c) => c.width).join(' ');
    this.head = h('div', { class: 'grid-head', role: 'row', style: `grid-template-columns:${this.template}` });
    for (const c of COLUMNS) {
      this.head.append(
        h(
          'div',
          { role: 'columnheader', 'aria-sort': 'none', 'data-col': c.key },
          h(
            'button',
            {
              type: 'button',
              class: 'sort',
              title: t('grid.sort', { col: t(c.head) }),
              'data-testid': `sort-${c.key}`,
              onclick: () => this.sortBy(c.key),
            },
            t(c.head),
          ),
        ),
      );
    }
    this.spacer = h('div', { class: 'grid-spacer' });
    this.rowsBox = h('div', { class: 'grid-rows', role: 'presentation' });
    this.viewport = h(
      'div',
      { class: 'grid-viewport', id: 'grid-viewport', role: 'rowgroup', tabindex: 0, 'aria-label': t('grid.keys') },
      this.spacer,
      this.rowsBox,
    );
    this.status = h('div', { class: 'grid-status', id: 'grid-status', 'aria-live': 'polite' });
    const table = h(
      'div',
      {
        class: 'grid',
        id: 'iface-grid',
        'data-testid': 'iface-grid',
        role: 'grid',
        'aria-label': t('grid.label'),
        'aria-rowcount': 0,
      },
      this.head,
      this.viewport,
    );
    const filterInput = h('input', {
      type: 'search',
      id: 'grid-filter',
      'data-testid': 'grid-filter',
      placeholder: t('grid.filter'),
      'aria-label': t('grid.filterLabel'),
    });
    filterInput.addEventListener('input', () => {
      this.filter = filterInput.value.trim().toLowerCase();
      this.refresh();
    });
    const typeSel = h(
      'select',
      { id: 'grid-type', 'aria-label': t('grid.typeLabel') },
      h('option', { value: '' }, t('grid.allTypes')),
      ...['bridge', 'bond', 'vlan', 'eth', 'loopback', 'unknown'].map((t) => h('option', { value: t }, typeLabel(t))),
    );
    typeSel.addEventListener('change', () => {
      this.typeFilter = typeSel.value;
      this.refresh();
    });
    this.el = h(
      'section',
      { class: 'grid-wrap', 'aria-label': t('grid.list') },
      h('div', { class: 'grid-tools' }, filterInput, typeSel, this.status),
      table,
    );
    this.viewport.addEventListener('scroll', () => this.paint());
    new ResizeObserver(() => this.paint()).observe(this.viewport);
    this.viewport.addEventListener('keydown', (e) => this.key(e));
    this.rowsBox.addEventListener('click', (e) => {
      const r = (e.target as HTMLElement).closest<HTMLElement>('[data-iface]');
      if (r) this.select(r.dataset.iface ?? null);
    });
    this.rowsBox.addEventListener('dblclick', (e) => {
      const r = (e.target as HTMLElement).closest<HTMLElement>('[data-iface]');
      const i = r ? this.all.find((x) => x.iface === r.dataset.iface) : undefined;
      if (i) this.ev.onOpen(i);
    });
  }

  /** New data (after every load); keeps selection, sort, filter and scroll position. */
  setData(list: Iface[], changed: Set<string>): void {
    this.all = list;
    this.changed = changed;
    if (this.selected && !list.some((i) => i.iface === this.selected)) this.select(null);
    this.refresh();
  }

  private refresh(): void {
    const col = COLUMNS.find((c) => c.key === this.sortKey) ?? COLUMNS[0]!;
    const f = this.filter;
    this.view = this.all.filter((i) => {
      if (this.typeFilter && i.type !== this.typeFilter) return false;
      if (!f) return true;
      return COLUMNS.some((c) => c.value(i).toLowerCase().includes(f));
    });
    const key = (i: Iface): string => col.value(i);
    this.view.sort((a, b) => this.sortDir * naturalCompare(key(a), key(b)) || naturalCompare(a.iface, b.iface));
    for (const hd of this.head.children) {
      const k = (hd as HTMLElement).dataset.col;
      hd.setAttribute('aria-sort', k === this.sortKey ? (this.sortDir > 0 ? 'ascending' : 'descending') : 'none');
    }
    this.el.querySelector('[role=grid]')?.setAttribute('aria-rowcount', String(this.view.length + 1));
    this.spacer.style.height = `${this.view.length * ROW_HEIGHT}px`;
    this.status.textContent =
      this.view.length === this.all.length
        ? t('grid.count', { n: fmtNumber(this.all.length) })
        : t('grid.countOf', { n: fmtNumber(this.view.length), total: fmtNumber(this.all.length) });
    this.paint(true);
  }

  sortBy(key: string): void {
    if (this.sortKey === key) this.sortDir = -this.sortDir;
    else {
      this.sortKey = key;
      this.sortDir = 1;
    }
    this.refresh();
  }

  private lastRange = '';

  /** Draws the rows in view (plus a few above and below). */
  private paint(force = false): void {
    const top = this.viewport.scrollTop;
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.view.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const range = `${first}:${last}`;
    if (!force && range === this.lastRange) return;
    this.lastRange = range;
    const frag = document.createDocumentFragment();
    for (let n = first; n < last; n++) {
      const i = this.view[n]!;
      const cls = [
        'grid-row',
        n % 2 ? 'odd' : '',
        i.iface === this.selected ? 'selected' : '',
        this.changed.has(i.iface) ? 'changed' : '',
      ]
        .filter(Boolean)
        .join(' ');
      const row = h('div', {
        class: cls,
        role: 'row',
        'aria-rowindex': n + 2,
        'aria-selected': i.iface === this.selected ? 'true' : 'false',
        'data-iface': i.iface,
        'data-testid': `row-${i.iface}`,
        style: `top:${n * ROW_HEIGHT}px;grid-template-columns:${this.template}`,
      });
      for (const c of COLUMNS) {
        const v = c.value(i);
        const cell = h('div', { role: 'gridcell', class: `c-${c.key}`, title: v }, v.replace('\n', ' · '));
        if (c.key === 'active' && v) cell.classList.add(v === t('common.yes') ? 'up' : 'down');
        row.append(cell);
      }
      frag.append(row);
    }
    this.rowsBox.replaceChildren(frag);
  }

  select(name: string | null): void {
    this.selected = name;
    // update in place: re-rendering would break double-click on the row
    for (const r of this.rowsBox.children) {
      const on = (r as HTMLElement).dataset.iface === name;
      r.classList.toggle('selected', on);
      r.setAttribute('aria-selected', String(on));
    }
    this.ev.onSelect(name ? (this.all.find((i) => i.iface === name) ?? null) : null);
  }

  selectedIface(): Iface | null {
    return this.selected ? (this.all.find((i) => i.iface === this.selected) ?? null) : null;
  }

  private key(e: KeyboardEvent): void {
    const idx = this.view.findIndex((i) => i.iface === this.selected);
    let next = idx;
    if (e.key === 'ArrowDown') next = Math.min(this.view.length - 1, idx + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, idx - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = this.view.length - 1;
    else if (e.key === 'PageDown')
      next = Math.min(this.view.length - 1, idx + Math.floor(this.viewport.clientHeight / ROW_HEIGHT));
    else if (e.key === 'PageUp') next = Math.max(0, idx - Math.floor(this.viewport.clientHeight / ROW_HEIGHT));
    else if (e.key === 'Enter') {
      const i = this.selectedIface();
      if (i) this.ev.onOpen(i);
      return;
    } else if (e.key === 'Delete') {
      const i = this.selectedIface();
      if (i) this.ev.onDelete(i);
      return;
    } else return;
    e.preventDefault();
    const i = this.view[next];
    if (!i) return;
    const y = next * ROW_HEIGHT;
    if (y < this.viewport.scrollTop) this.viewport.scrollTop = y;
    else if (y + ROW_HEIGHT > this.viewport.scrollTop + this.viewport.clientHeight)
      this.viewport.scrollTop = y + ROW_HEIGHT - this.viewport.clientHeight;
    this.select(i.iface);
  }
}
