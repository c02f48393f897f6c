/** Physical NIC, as Proxmox VE allows: autostart, addresses, gateways, MTU, comment (the name is the kernel's). */
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import type { Kind } from './common.ts';

export const eth: Kind = {
  type: 'eth',
  prefix: 'eno',
  fields(f) {
    f.cols[1].append(h('p', { class: 'help', id: 'eth-hint' }, t('edit.ethHint')));
  },
};
