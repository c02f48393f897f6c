/**
 * The typed model of an interfaces file, composed from the lossless syntax tree.
 * Option spellings (`bridge_ports` / `bridge-ports`) are unified here, and only here:
 * `key` is the canonical spelling, `name` what the file says.
 */
import type { AutoNode, CommentNode, Family, IfaceNode, OptionNode, SourceNode } from '../interfaces/syntax.ts';

export type IfaceKind =
  | 'loopback'
  | 'eth'
  | 'bridge'
  | 'bond'
  | 'vlan'
  | 'alias'
  | 'vxlan'
  | 'dummy'
  | 'OVSBridge'
  | 'OVSBond'
  | 'OVSPort'
  | 'OVSIntPort'
  | 'unknown';

export const OVS_KINDS: readonly IfaceKind[] = ['OVSBridge', 'OVSBond', 'OVSPort', 'OVSIntPort'];

export interface ModelOption {
  /** Spelling in the file. */
  name: string;
  /** Canonical key: lower case, `_` → `-` (`bridge_ports` → `bridge-ports`). */
  key: string;
  value: string;
  node: OptionNode;
}

export interface Address {
  /** The value as written (`10.0.0.2/24` or `10.0.0.2`). */
  raw: string;
  ip: string;
  /** Prefix length from `/N` or the stanza's `netmask`; null when neither is given. */
  prefix: number | null;
  version: 4 | 6;
  option: ModelOption;
  /** The `netmask` option the prefix came from, if any. */
  netmask?: ModelOption;
}

/** One `iface NAME [FAMILY METHOD]` stanza of an interface. */
export interface Stanza {
  node: IfaceNode;
  /** null for a typeless stanza (`iface vmbr1`), which ifupdown2 accepts. */
  family: Family | null;
  method: string | null;
  options: ModelOption[];
  comments: CommentNode[];
  addresses: Address[];
  gateways: ModelOption[];
}

export const BOND_MODES = [
  'balance-rr',
  'active-backup',
  'balance-xor',
  'broadcast',
  '802.3ad',
  'balance-tlb',
  'balance-alb',
] as const;
export type BondMode = (typeof BOND_MODES)[number];

export interface BridgeConf {
  ports: string[];
  /** The bridge-ports option, absent when the stanza has none. */
  portsOption?: ModelOption;
  stp?: boolean;
  fd?: string;
  vlanAware: boolean;
  vids?: string;
}

export interface BondConf {
  slaves: string[];
  /** Mode as a name; numeric forms 0–6 mapped. undefined when not given or not recognised. */
  mode?: BondMode;
  /** The mode as written. */
  modeRaw?: string;
  miimon?: string;
  xmitHashPolicy?: string;
  primary?: string;
  lacpRate?: string;
  /** Every other `bond-*` option, kept in order. */
  other: ModelOption[];
}

export interface VlanConf {
  form: 'dotted' | 'vlanN' | 'custom';
  rawDevice?: string;
  id?: number;
  /** The id as written, when it is not a valid integer. */
  idRaw?: string;
  protocol?: string;
}

export interface Iface {
  name: string;
  kind: IfaceKind;
  /** Stanzas in file order (inet, inet6, typeless; duplicates kept). */
  stanzas: Stanza[];
  /** `auto`/`allow-*` lines naming this interface. */
  autoNodes: AutoNode[];
  autostart: boolean;
  hotplug: boolean;
  /** allow-CLASS classes other than auto/hotplug. */
  classes: string[];
  /** 1-based position among interfaces in the file (PVE's `priority`). */
  priority: number;
  /** Every option of every stanza in file order. */
  options: ModelOption[];
  bridge?: BridgeConf;
  bond?: BondConf;
  vlan?: VlanConf;
  mtu?: string;
}

export interface Model {
  /** Interfaces by name, in file order (Map keeps insertion order). */
  ifaces: Map<string, Iface>;
  /** `auto` lines naming interfaces that have no stanza. */
  autoOnly: Map<string, AutoNode[]>;
  sources: SourceNode[];
}
