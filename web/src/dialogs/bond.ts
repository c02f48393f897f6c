/** Linux Bond: slaves, the 7 modes each with a sentence; hash policy and primary only where the mode uses them. */
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { BOND_MODES, HASH_POLICIES, bondMode } from '../logic.ts';
import { text } from './common.ts';
import type { Kind } from './common.ts';

export const bond: Kind = {
  type: 'bond',
  prefix: 'bond',
  fields(f) {
    const e = f.existing;
    f.add(1, 'slaves', t('edit.slaves'), text(e?.slaves, 'eno2 eno3'));
    f.picker('slaves', 'bond');
    const mode = h('select', {}, ...BOND_MODES.map((bm) => h('option', { value: bm.value }, bm.label)));
    mode.value = e?.bond_mode ?? 'balance-rr';
    f.add(1, 'bond_mode', t('edit.mode'), mode);
    f.cols[1].append(
      h('p', { class: 'mode-help', id: 'bond-mode-help', 'data-testid': 'bond-mode-help', 'aria-live': 'polite' }),
    );
    const hp = h(
      'select',
      {},
      h('option', { value: '' }, t('edit.hashDefault')),
      ...HASH_POLICIES.map((p) => h('option', { value: p }, p)),
    );
    hp.value = e?.bond_xmit_hash_policy ?? '';
    f.add(1, 'bond_xmit_hash_policy', t('edit.hash'), hp);
    f.add(1, 'bond-primary', t('edit.primary'), text(e?.['bond-primary']));
    f.cols[1].append(h('p', { class: 'note', id: 'bond-note' }, t('edit.lacpNote')));
  },
  follow(f) {
    const bm = bondMode(f.get('bond_mode')!.value);
    f.get('bond_xmit_hash_policy')!.disabled = !bm.hashPolicy;
    f.get('bond-primary')!.disabled = !bm.primary;
    const help = f.cols[1].querySelector('#bond-mode-help');
    if (help) help.textContent = t(bm.explain);
  },
};
