/**
 * Option spellings. ifupdown2 accepts `bridge_ports` and `bridge-ports`; nodenet reads both
 * as the same option and never rewrites the spelling in the text.
 */

/** Canonical key of an option name: lower case with `_` turned into `-`. */
export function canonicalKey(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 95 || (c >= 65 && c <= 90)) return name.replace(/_/g, '-').toLowerCase();
  }
  return name; // already canonical: the common case, no allocation
}

/**
 * Options ifupdown2 (Debian 3.0 and PVE builds) and the Proxmox VE tools know, by canonical
 * key. Used to suggest the right spelling of a misspelt option; unknown options are still kept.
 */
export const KNOWN_OPTIONS: readonly string[] = [
  'address',
  'netmask',
  'broadcast',
  'network',
  'gateway',
  'pointopoint',
  'scope',
  'preferred-lifetime',
  'hwaddress',
  'mtu',
  'metric',
  'media',
  'alias',
  'link-type',
  'link-speed',
  'link-duplex',
  'link-autoneg',
  'pre-up',
  'up',
  'post-up',
  'pre-down',
  'down',
  'post-down',
  'dns-nameservers',
  'dns-search',
  'dns-domain',
  'dns-nameserver',
  'bridge-ports',
  'bridge-stp',
  'bridge-fd',
  'bridge-vlan-aware',
  'bridge-vids',
  'bridge-pvid',
  'bridge-access',
  'bridge-learning',
  'bridge-arp-nd-suppress',
  'bridge-unicast-flood',
  'bridge-multicast-flood',
  'bridge-disable-mac-learning',
  'bridge-ports-condone-regex',
  'bridge-hello',
  'bridge-maxage',
  'bridge-ageing',
  'bridge-bridgeprio',
  'bridge-mcsnoop',
  'bridge-mcquerier',
  'bridge-hashmax',
  'bridge-waitport',
  'bridge-maxwait',
  'bridge-portprios',
  'bridge-pathcosts',
  'bridge-mclmc',
  'bridge-mcrouter',
  'bridge-mcstats',
  'bridge-vlan-protocol',
  'bridge-mac',
  'bridge-hwaddress',
  'bridge-port-vids',
  'bridge-port-pvids',
  'bond-slaves',
  'bond-mode',
  'bond-miimon',
  'bond-primary',
  'bond-xmit-hash-policy',
  'bond-lacp-rate',
  'bond-updelay',
  'bond-downdelay',
  'bond-min-links',
  'bond-use-carrier',
  'bond-ad-sys-priority',
  'bond-ad-sys-mac-addr',
  'bond-lacp-bypass-allow',
  'bond-arp-interval',
  'bond-arp-ip-target',
  'bond-primary-reselect',
  'bond-num-grat-arp',
  'bond-num-unsol-na',
  'bond-ad-actor-sys-prio',
  'bond-ad-actor-system',
  'bond-fail-over-mac',
  'bond-all-slaves-active',
  'bond-arp-validate',
  'bond-ad-select',
  'bond-resend-igmp',
  'bond-packets-per-slave',
  'bond-tlb-dynamic-lb',
  'bond-master',
  'vlan-raw-device',
  'vlan-id',
  'vlan-protocol',
  'vxlan-id',
  'vxlan-local-tunnelip',
  'vxlan-remoteip',
  'vxlan-svcnodeip',
  'vxlan-physdev',
  'vxlan-port',
  'vxlan-learning',
  'vxlan-ageing',
  'vxlan-ttl',
  'vxlan-mcastgrp',
  'vxlan-purge-remotes',
  'ovs-type',
  'ovs-ports',
  'ovs-bonds',
  'ovs-bridge',
  'ovs-options',
  'ovs-mtu',
  'ovs-extra',
  'ovs-tag',
  'uplink-id',
  'vrf',
  'vrf-table',
  'address-purge',
  'ip-forward',
  'ip6-forward',
  'accept-ra',
  'autoconf',
  'privext',
  'dad-attempts',
  'dad-interval',
  'requires',
  'hostname',
  'leasetime',
  'vendor',
  'client',
  'mstpctl-portbpdufilter',
  'mstpctl-bpduguard',
  'mstpctl-treeprio',
  'mstpctl-portnetwork',
  'mstpctl-portadminedge',
  'post-up-once',
  'tx-queue-len',
  'arp-accept',
  'mpls-enable',
  'ipv6-addrgen',
  'hwaddress-ether',
];

const KNOWN = new Set(KNOWN_OPTIONS);

/** Whether a canonical key is a known option (or a family that takes free-form keys). */
export function isKnownOption(key: string): boolean {
  // Exact for the families nodenet manages (so `bridge-port` is caught as a misspelling);
  // prefix match only for families of add-ons with open-ended option sets.
  return (
    KNOWN.has(key) ||
    key.startsWith('dns-') ||
    key.startsWith('wpa-') ||
    key.startsWith('ethtool-') ||
    key.startsWith('mstpctl-')
  );
}
