/**
 * The details panel of one interface (what Cockpit shows, Proxmox VE does not): MAC, state,
 * carrier, speed, duplex, MTU, rx/tx counters and a small live traffic graph, from
 * GET .../network/linkstats (the backend's kernel: the demo's namespace or the host).
 */
import { call } from './api.ts';
import { h, modal, s } from './dom.ts';
import type { Iface } from './logic.ts';
import { fmtDecimal, fmtNumber, t } from './i18n.ts';

interface Counters {
  bytes: number;
  packets: number;
  errors: number;
  dropped: number;
}
interface LinkStats {
  iface: string;
  available: number;
  message?: string;
  mac?: string | null;
  mtu?: number | null;
  state?: string | null;
  carrier?: number | null;
  speed?: number | null;
  duplex?: string | null;
  master?: string | null;
  rx?: Counters;
  tx?: Counters;
  time?: number;
}

const KEEP = 30;

/** Bytes per second as people read them. */
export function rate(bps: number): string {
  const bits = bps * 8;
  if (bits >= 1e9) return `${fmtDecimal(bits / 1e9)} Gbit/s`;
  if (bits >= 1e6) return `${fmtDecimal(bits / 1e6)} Mbit/s`;
  if (bits >= 1e3) return `${fmtDecimal(bits / 1e3)} kbit/s`;
  return `${fmtNumber(Math.round(bits))} bit/s`;
}

export function openDetails(node: string, i: Iface): void {
  const m = modal({
    id: 'details-dialog',
    title: t('details.title', { iface: i.iface }),
    wide: true,
    onClose: () => {
      stopped = true;
    },
  });
  let stopped = false;
  const table = h('table', { class: 'details-table', id: 'details-table' });
  const graph = s('svg', {
    viewBox: '0 0 300 80',
    width: 300,
    height: 80,
    id: 'details-graph',
    'data-testid': 'details-graph',
    role: 'img',
    'aria-label': t('details.graph', { iface: i.iface }),
  });
  const legend = h('p', { class: 'muted', id: 'details-rate', role: 'status' }, t('details.measuring'));
  m.body.append(table, h('h3', {}, t('details.traffic')), graph, legend);
  m.footer.append(
    h('button', { type: 'button', 'data-testid': 'details-close', onclick: () => m.close() }, t('common.close')),
  );
  const samples: { t: number; rx: number; tx: number }[] = [];
  const rates: { rx: number; tx: number }[] = [];
  const row = (k: string, v: string, id: string): HTMLElement =>
    h('tr', {}, h('th', { scope: 'row' }, k), h('td', { id: `details-${id}`, 'data-testid': `details-${id}` }, v));
  const fmt = (n: number | undefined): string => fmtNumber(n ?? 0);
  const counters = (c: Counters | undefined): string =>
    t('details.counters', {
      bytes: fmt(c?.bytes),
      packets: fmt(c?.packets),
      errors: fmt(c?.errors),
      dropped: fmt(c?.dropped),
    });
  const draw = (): void => {
    graph.replaceChildren();
    const max = Math.max(1, ...rates.flatMap((r) => [r.rx, r.tx]));
    const line = (k: 'rx' | 'tx'): string =>
      rates.map((r, x) => `${300 - ((rates.length - 1 - x) * 300) / (KEEP - 1)},${78 - (r[k] / max) * 74}`).join(' ');
    graph.append(s('rect', { x: 0, y: 0, width: 300, height: 80, class: 'graph-bg' }));
    if (rates.length > 1) {
      graph.append(
        s('polyline', { points: line('rx'), class: 'graph-rx' }),
        s('polyline', { points: line('tx'), class: 'graph-tx' }),
      );
    }
    const last = rates[rates.length - 1];
    legend.textContent = last
      ? t('details.rate', { rx: rate(last.rx), tx: rate(last.tx), max: rate(max) })
      : t('details.measuring');
  };
  const poll = async (): Promise<void> => {
    while (!stopped) {
      let d: LinkStats;
      try {
        d = (await call<LinkStats>('GET', `/nodes/${node}/network/linkstats`, { iface: i.iface })).data;
      } catch (e) {
        table.replaceChildren(
          h('tr', {}, h('td', { class: 'bad' }, t('details.cannot', { msg: (e as Error).message }))),
        );
        return;
      }
      if (!d.available) {
        table.replaceChildren(h('tr', {}, h('td', { id: 'details-none' }, d.message ?? t('details.none'))));
        graph.replaceChildren();
        legend.textContent = '';
        return;
      }
      table.replaceChildren(
        row(t('details.mac'), d.mac ?? '—', 'mac'),
        row(
          t('details.state'),
          `${d.state ?? '?'}${d.master ? t('details.portOf', { master: d.master }) : ''}`,
          'state',
        ),
        row(t('details.carrier'), d.carrier ? t('details.carrierYes') : t('details.carrierNo'), 'carrier'),
        row(t('details.speed'), d.speed ? `${fmtNumber(d.speed)} Mbit/s` : t('common.unknown'), 'speed'),
        row(t('details.duplex'), d.duplex ?? t('common.unknown'), 'duplex'),
        row(t('col.mtu'), String(d.mtu ?? '—'), 'mtu'),
        row(t('details.received'), counters(d.rx), 'rx'),
        row(t('details.sent'), counters(d.tx), 'tx'),
      );
      const now = { t: d.time ?? Date.now(), rx: d.rx?.bytes ?? 0, tx: d.tx?.bytes ?? 0 };
      const prev = samples[samples.length - 1];
      samples.push(now);
      if (prev && now.t > prev.t) {
        const dt = (now.t - prev.t) / 1000;
        rates.push({ rx: Math.max(0, (now.rx - prev.rx) / dt), tx: Math.max(0, (now.tx - prev.tx) / dt) });
        if (rates.length > KEEP) rates.shift();
      }
      draw();
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void poll();
}
