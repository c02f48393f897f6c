/**
 * The rule registry: every rule family, and the catalogue of codes they produce (used by the
 * docs and fixture tests to prove every code is documented and exercised).
 */
import { addressRules, duplicateRules, gatewayRules } from './addresses.ts';
import { bondCluster, bondRules } from './bonds.ts';
import { bridgeRules, vlanOutsideVids } from './bridges.ts';
import { hookRules } from './hooks.ts';
import { bondMasterRules, ifupdown1Keywords, inet6Auto } from './ifupdown1.ts';
import { ipv6Disabled } from './ipv6.ts';
import type { Rule } from './context.ts';
import { mtuRules } from './mtu.ts';
import { ovsRules } from './ovs.ts';
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
  ovsRules,
  mtuRules,
  hookRules,
  ipv6Disabled,
  bondMasterRules,
  ifupdown1Keywords,
  inet6Auto,
];

/** The code catalogue lives beside the Diagnostic type (the union of codes is derived from it). */
export { PARSER_CODES, RULE_CODES } from '../interfaces/codes.ts';
