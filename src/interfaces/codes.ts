/**
 * The catalogue of diagnostic codes: every code the validator (src/validate) and the parser
 * produce, with its severity. `DiagnosticCode`, the type of `Diagnostic.code`, is derived from
 * these tables, so a misspelt code is a compile error; docs/diagnostics.md documents exactly
 * these codes (test/validate/rules.test.ts checks both ways).
 */

/** The severities a code is registered with (a Diagnostic's Severity, without 'info': none uses it). */
type Registered = 'error' | 'warning';

/** Every code the validator can produce, with its severity. */
export const RULE_CODES = {
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
  OVS_BRIDGE_INVALID: 'error',
  OVS_PORT_NOT_FOUND: 'error',
  OVS_NOT_INSTALLED: 'warning',
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
} as const satisfies Readonly<Record<string, Registered>>;

/**
 * Codes the parser produces (src/interfaces/parser.ts), and NOT_UTF8 of the byte decoding
 * (src/interfaces/bytes.ts), documented alongside.
 */
export const PARSER_CODES = {
  BOM: 'warning',
  NOT_UTF8: 'warning',
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
} as const satisfies Readonly<Record<string, Registered | 'error|warning'>>;

export type RuleCode = keyof typeof RULE_CODES;
export type ParserCode = keyof typeof PARSER_CODES;
/** Every code a Diagnostic can have. */
export type DiagnosticCode = RuleCode | ParserCode;

/** Every code of {@link DiagnosticCode}, validator codes first, in table order. */
export const ALL_CODES: readonly DiagnosticCode[] = [
  ...(Object.keys(RULE_CODES) as RuleCode[]),
  ...(Object.keys(PARSER_CODES) as ParserCode[]),
];

/** The registered severity of a code ('error|warning' for codes that may be either). */
export function registeredSeverity(code: DiagnosticCode): Registered | 'error|warning' {
  return code in RULE_CODES ? RULE_CODES[code as RuleCode] : PARSER_CODES[code as ParserCode];
}
