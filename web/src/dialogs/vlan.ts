/** Linux VLAN: `eno1.50` fills and locks raw device and tag, `vlanN` the tag (on create). */
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { vlanFromName } from '../logic.ts';
import { text } from './common.ts';
import type { Kind } from './common.ts';

export const vlan: Kind = {
  type: 'vlan',
  prefix: 'vlan',
  impliedWhenDisabled: true,
  fields(f) {
    f.add(1, 'vlan-raw-device', t('edit.vlanRaw'), text(f.existing?.['vlan-raw-device']));
    f.add(1, 'vlan-id', t('edit.vlanTag'), text(f.existing?.['vlan-id']));
    f.cols[1].append(h('p', { class: 'help', id: 'vlan-hint' }, t('edit.vlanHint')));
  },
  follow(f) {
    if (f.editing) return;
    const v = vlanFromName(f.get('iface')!.value.trim());
    const raw = f.get('vlan-raw-device') as HTMLInputElement;
    const tag = f.get('vlan-id') as HTMLInputElement;
    if (v?.raw !== undefined) {
      raw.value = v.raw;
      raw.disabled = true;
    } else raw.disabled = false;
    if (v) {
      tag.value = String(v.tag);
      tag.disabled = true;
    } else tag.disabled = false;
  },
};
