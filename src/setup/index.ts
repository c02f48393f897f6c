/** The planning modes (pure planners) and their effect wrappers. */
export { planBridged, type BridgedIntent } from './bridged.ts';
export { planRouted, type RoutedIntent } from './routed.ts';
export { planNat, readNatState, type NatIntent, type NatState } from './nat.ts';
export { CONDONE_REGEX, type PlanContext, type SetupResult } from './common.ts';
export { stageSetup, type StageResult } from './stage.ts';
export { IPV6_FILE, IPV6_KEYS, ipv6Apply, ipv6Running, planIpv6, disablesIpv6, parseSysctl } from './ipv6.ts';
export { parseForward, natLines, routedLines, recogniseNatLine, type Firewall, type Forward } from './rules.ts';
