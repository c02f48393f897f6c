/**
 * The rule registry: every rule family, and the catalogue of codes they produce (used by the
 * docs and fixture tests to prove every code is documented and exercised).
 */
import type { Severity } from '../interfaces/diagnostic.ts';
import { addressRules, duplicateRules, gatewayRules } from './addresses.ts';
import { bondCluster, bondRules } from './bonds.ts';
import { bridgeRules, vlanOutsideVids } from './bridges.ts';
import { hookRules } from './hooks.ts';
import { bondMasterRules, ifupdown1Keywords, inet6Auto } from './ifupdown1.ts';
import { ipv6Disabled } from './ipv6.ts';
import type { Rule } from './index.ts';
import { mtuRules } from './mtu.ts';
import { autoWithoutStanza, duplicateStanzas, nameRules } from './names.ts';
import { bondSlaveType, existenceRules, portCycle, portHasAddress, portInUse, vlanRules } from './ports.ts';
import { portDynamicAddress } from './port-methods.ts';
import { misspeltOptions } from './syntax.ts';

/** Every rule family, in the order their diagnostics are produced. */
export const ALL_RULES: Rule[] = [
  misspeltOptions,
  nameRules,
  duplicateStanzas,
  autoWithoutStanza,
  addressRules,
  gatewayRules,
  duplicateRules,
  existenceRules,
  portInUse,
  portHasAddress,
  portDynamicAddress,
  portCycle,
  bondSlaveType,
  vlanRules,
  bondRules,
  bondCluster,
  bridgeRules,
  vlanOutsideVids,
  mtuRules,
  hookRules,
  ipv6Disabled,
  bondMasterRules,
  ifupdown1Keywords,
  inet6Auto,
];

/** Every code the validator can produce, with its severity. */
export const RULE_CODES: Readonly<Record<string, Severity>> = {
  OPTION_MISSPELT: 'error',
  UNKNOWN_LINE_IN_STANZA: 'error',
  UNKNOWN_OPTION: 'warning',
  IFACE_NAME_INVALID: 'error',
  IFACE_NAME_TOO_LONG: 'error',
  DUPLICATE_STANZA: 'error',
  AUTO_WITHOUT_STANZA: 'warning',
  ADDRESS_INVALID: 'error',
  ADDRESS_FAMILY_MISMATCH: 'warning',
  ADDRESS_IS_NETWORK: 'error',
  ADDRESS_IS_BROADCAST: 'error',
  IPV6_ADDRESS_SCOPE: 'error',
  GATEWAY_INVALID: 'error',
  GATEWAY_WITHOUT_ADDRESS: 'error',
  GATEWAY_OUTSIDE_SUBNET: 'error',
  DUPLICATE_DEFAULT_GATEWAY: 'error',
  DUPLICATE_ADDRESS: 'error',
  SUBNET_OVERLAP: 'warning',
  PORT_NOT_FOUND: 'error',
  NIC_NOT_ON_HOST: 'warning',
  VLAN_PARENT_NOT_FOUND: 'error',
  PORT_IN_USE: 'error',
  PORT_HAS_ADDRESS: 'error',
  PORT_DYNAMIC_ADDRESS: 'error',
  PORT_CYCLE: 'error',
  BOND_SLAVE_TYPE: 'error',
  VLAN_ID_RANGE: 'error',
  VLAN_ID_MISMATCH: 'error',
  VLAN_PROTOCOL_INVALID: 'error',
  VLAN_INCOMPLETE: 'error',
  BOND_MODE_INVALID: 'error',
  BOND_HASH_POLICY_INVALID: 'error',
  BOND_HASH_POLICY_UNUSED: 'warning',
  BOND_PRIMARY_NOT_SLAVE: 'error',
  BOND_PRIMARY_UNUSED: 'warning',
  BOND_LACP_RATE_INVALID: 'error',
  BOND_LACP_RATE_UNUSED: 'warning',
  BOND_NO_MONITORING: 'warning',
  BOND_CLUSTER_BALANCE: 'warning',
  BRIDGE_VIDS_INVALID: 'error',
  BRIDGE_VIDS_NOT_VLAN_AWARE: 'warning',
  BRIDGE_FD_RANGE: 'error',
  VLAN_NOT_IN_BRIDGE_VIDS: 'warning',
  MTU_INVALID: 'error',
  MTU_RANGE: 'error',
  MTU_BELOW_IPV6_MIN: 'warning',
  MTU_VLAN_ABOVE_PARENT: 'error',
  MTU_BRIDGE_ABOVE_PORT: 'error',
  MTU_BOND_SLAVE_BELOW: 'error',
  HOOK_RULE_NOT_IDEMPOTENT: 'warning',
  HOOK_RULE_NO_POSTDOWN: 'warning',
  NAT_SOURCE_MISMATCH: 'warning',
  NAT_IFACE_NOT_CONFIGURED: 'warning',
  FORWARDING_DISABLED: 'warning',
  IPV6_DISABLED: 'warning',
  IFUPDOWN1_BOND_MASTER: 'warning',
  BOND_MASTER_CONFLICT: 'error',
  IFUPDOWN1_ALLOW_AUTO: 'warning',
  IFUPDOWN1_MAPPING: 'warning',
  IFUPDOWN1_RENAME: 'warning',
  IFUPDOWN1_SOURCE_DIRECTORY: 'warning',
  IFUPDOWN1_INET6_AUTO: 'warning',
};

/** Codes the parser produces (src/interfaces/parser.ts), documented alongside. */
export const PARSER_CODES: Readonly<Record<string, Severity | 'error|warning'>> = {
  BOM: 'warning',
  VLAN_STANZA_UNMANAGED: 'warning',
  TEMPLATE_SYNTAX: 'warning',
  COMMENT_CONTINUES: 'warning',
  CONTINUATION_SWALLOWS_KEYWORD: 'warning',
  UNKNOWN_KEYWORD: 'error|warning',
  OPTION_OUTSIDE_STANZA: 'error',
  IFACE_WITHOUT_NAME: 'error',
  UNKNOWN_FAMILY: 'error',
  MISSING_METHOD: 'error',
  UNKNOWN_METHOD: 'error',
  IFACE_EXTRA_WORDS: 'warning',
  OPTION_WITHOUT_VALUE: 'error',
  CONTINUATION_AT_EOF: 'warning',
  SOURCE_WITHOUT_PATH: 'error',
  AUTO_WITHOUT_NAMES: 'warning',
};
