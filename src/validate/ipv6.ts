/**
 * IPV6_DISABLED: an interface is given IPv6 (an address, a gateway, SLAAC or DHCPv6) while a
 * sysctl file disables IPv6 at boot (`net.ipv6.conf.{all,default,IFACE}.disable_ipv6 = 1`,
 * under any file name — `nodenet ipv6 disable` writes one, admins write others). The kernel
 * refuses the address, so the interface comes up without it, and ifupdown2 reports an error
 * on every reload. Needs the host facts (src/store/host-files.ts); without them it is silent.
 */
import type { Diagnostic } from '../interfaces/diagnostic.ts';
import type { Rule } from './context.ts';
import { atOption, atStanza } from './common.ts';
import { ipv6DisabledBy } from './facts.ts';

export const ipv6Disabled: Rule = (ctx) => {
  const out: Diagnostic[] = [];
  if (!ctx.host?.sysctl?.length) return out;
  for (const i of ctx.model.ifaces.values()) {
    if (i.name === 'lo') continue;
    const a6 = i.stanzas.flatMap((s) => s.addresses).find((a) => a.version === 6);
    const gw6 = i.stanzas.flatMap((s) => s.gateways).find((g) => g.value.includes(':'));
    const dyn = i.stanzas.find((s) => s.family === 'inet6' && (s.method === 'auto' || s.method === 'dhcp'));
    if (!a6 && !gw6 && !dyn) continue;
    const by = ipv6DisabledBy(ctx.host, i.name);
    if (!by) continue;
    const what = a6 ? `the IPv6 address ${a6.raw}` : gw6 ? `the IPv6 gateway ${gw6.value}` : `'inet6 ${dyn!.method}'`;
    const f = {
      severity: 'warning' as const,
      code: 'IPV6_DISABLED' as const,
      iface: i.name,
      message: `${i.name} has ${what}, but IPv6 is disabled at boot by ${by.file} line ${by.line} (${by.key} = ${by.value}); the interface comes up without IPv6`,
      hint: `remove the IPv6 settings (nodenet set ${i.name} --delete cidr6,gateway6), or enable IPv6 again (${by.file === '/etc/sysctl.d/disable-ipv6.conf' ? 'nodenet ipv6 enable' : `edit ${by.file}`})`,
    };
    out.push(a6 ? atOption(f, a6.option) : gw6 ? atOption(f, gw6) : atStanza(f, dyn!));
  }
  return out;
};
