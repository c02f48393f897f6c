/**
 * The parameters of the network API and CLI, Proxmox VE's names and formats
 * (research/clients.md §1.2–1.4), as one schema that both validates requests and generates
 * the OpenAPI document. Validation messages follow PVE's wording, because proxmoxer users see
 * only the reason phrase and bpg matches some texts.
 *
 * Security: every string value is refused if it contains a control character. Only
 * `comments`/`comments6` may contain `\n`, which separates comment lines; each line is written
 * as a `#` line, so no input can ever create an option line (a `post-up` line runs as root).
 */
import { parseIPv4, parseIPv6, maskToPrefix, parseCidr } from './ip.ts';
import { didYouMean } from '../interfaces/suggest.ts';
import { BOND_MODES } from './types.ts';

// The parameter ↔ file option table lives in a self-contained module the web UI gets a copy of.
export { PARAM_OPTIONS, SIMPLE_PARAMS, fieldOf, splitList } from './param-options.ts';
export type { ParamOption } from './param-options.ts';

export type ParamType = 'string' | 'integer' | 'boolean';

export interface ParamSpec {
  name: string;
  type: ParamType;
  description: string;
  format?: Format;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  /** Another parameter that must be present with this one. */
  requires?: string;
  optional?: boolean;
  /** Multi-line text (comments): `\n` allowed and separates lines. */
  multiline?: boolean;
}

export type Format =
  | 'pve-iface'
  | 'pve-iface-list'
  | 'pve-vlan-id-or-range-list'
  | 'pve-configid-list'
  | 'pve-node'
  | 'ipv4'
  | 'ipv6'
  | 'ipv4mask'
  | 'CIDRv4'
  | 'CIDRv6'
  | 'CIDRv4-list'
  | 'CIDRv6-list'
  | 'digest'
  | 'upid';

/** PVE's interface types (the API's `type` enum), `unknown` only in answers. */
const PVE_TYPES = [
  'bridge',
  'bond',
  'eth',
  'alias',
  'vlan',
  'fabric',
  'OVSBridge',
  'OVSBond',
  'OVSPort',
  'OVSIntPort',
  'vnet',
] as const;
export const IFACE_TYPES = [...PVE_TYPES, 'unknown'] as const;
/** The `type` filter of GET .../network: a type, or one of PVE's groups. */
export const LIST_TYPES = [...PVE_TYPES, 'any_bridge', 'any_local_bridge', 'include_sdn'] as const;
/** Linux bonding's modes and Open vSwitch's bond modes. */
export const API_BOND_MODES = [...BOND_MODES, 'balance-slb', 'lacp-balance-slb', 'lacp-balance-tcp'] as const;

const IFACE_RE = /^[a-zA-Z][a-zA-Z0-9_-]*(?:(?:\.\d+)+|:\d+)?$/;
const NODE_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const CONFIGID_RE = /^[a-z][a-z0-9_-]+$/i;

/** Parameters an interface takes on create and update (POST / PUT {iface}). */
export const IFACE_PARAMS: readonly ParamSpec[] = [
  { name: 'type', type: 'string', enum: IFACE_TYPES, description: 'Network interface type' },
  { name: 'address', type: 'string', format: 'ipv4', requires: 'netmask', optional: true, description: 'IP address.' },
  {
    name: 'netmask',
    type: 'string',
    format: 'ipv4mask',
    requires: 'address',
    optional: true,
    description: 'Network mask.',
  },
  { name: 'cidr', type: 'string', format: 'CIDRv4', optional: true, description: 'IPv4 CIDR.' },
  { name: 'gateway', type: 'string', format: 'ipv4', optional: true, description: 'Default gateway address.' },
  {
    name: 'address6',
    type: 'string',
    format: 'ipv6',
    requires: 'netmask6',
    optional: true,
    description: 'IP address.',
  },
  {
    name: 'netmask6',
    type: 'integer',
    minimum: 0,
    maximum: 128,
    requires: 'address6',
    optional: true,
    description: 'Network mask.',
  },
  { name: 'cidr6', type: 'string', format: 'CIDRv6', optional: true, description: 'IPv6 CIDR.' },
  { name: 'gateway6', type: 'string', format: 'ipv6', optional: true, description: 'Default ipv6 gateway address.' },
  {
    name: 'cidr-extra',
    type: 'string',
    format: 'CIDRv4-list',
    maxLength: 4096,
    optional: true,
    description:
      "IPv4 addresses after the first (cidr), in CIDR form, space separated; '' removes them (nodenet extension).",
  },
  {
    name: 'cidr6-extra',
    type: 'string',
    format: 'CIDRv6-list',
    maxLength: 4096,
    optional: true,
    description:
      "IPv6 addresses after the first (cidr6), in CIDR form, space separated; '' removes them (nodenet extension).",
  },
  { name: 'autostart', type: 'boolean', optional: true, description: 'Automatically start interface on boot.' },
  { name: 'mtu', type: 'integer', minimum: 1280, maximum: 65520, optional: true, description: 'MTU.' },
  { name: 'comments', type: 'string', multiline: true, maxLength: 4096, optional: true, description: 'Comments' },
  { name: 'comments6', type: 'string', multiline: true, maxLength: 4096, optional: true, description: 'Comments' },
  {
    name: 'bridge_ports',
    type: 'string',
    format: 'pve-iface-list',
    optional: true,
    description: 'Specify the interfaces you want to add to your bridge.',
  },
  { name: 'bridge_vlan_aware', type: 'boolean', optional: true, description: 'Enable bridge vlan support.' },
  {
    name: 'bridge_vids',
    type: 'string',
    format: 'pve-vlan-id-or-range-list',
    optional: true,
    description: "Specify the allowed VLANs. For example: '2 4 100-200'. Only used if the bridge is VLAN aware.",
  },
  {
    name: 'bridge_stp',
    type: 'string',
    enum: ['on', 'off'],
    optional: true,
    description: 'Spanning tree protocol (nodenet extension).',
  },
  {
    name: 'bridge_fd',
    type: 'integer',
    minimum: 0,
    maximum: 30,
    optional: true,
    description: 'Bridge forward delay in seconds (nodenet extension).',
  },
  {
    name: 'slaves',
    type: 'string',
    format: 'pve-iface-list',
    optional: true,
    description: 'Specify the interfaces used by the bonding device.',
  },
  { name: 'bond_mode', type: 'string', enum: API_BOND_MODES, optional: true, description: 'Bonding mode.' },
  {
    name: 'bond_xmit_hash_policy',
    type: 'string',
    enum: ['layer2', 'layer2+3', 'layer3+4', 'encap2+3', 'encap3+4'],
    optional: true,
    description: 'Selects the transmit hash policy to use for slave selection in balance-xor and 802.3ad modes.',
  },
  {
    name: 'bond-primary',
    type: 'string',
    format: 'pve-iface',
    optional: true,
    description: 'Specify the primary interface for active-backup bond.',
  },
  {
    name: 'bond_miimon',
    type: 'integer',
    minimum: 0,
    maximum: 10000,
    optional: true,
    description: 'Link monitoring interval in ms (nodenet extension).',
  },
  {
    name: 'bond_lacp_rate',
    type: 'string',
    enum: ['slow', 'fast', '0', '1'],
    optional: true,
    description: 'LACP rate for 802.3ad bonds (nodenet extension).',
  },
  {
    name: 'vlan-raw-device',
    type: 'string',
    format: 'pve-iface',
    optional: true,
    description: 'Specify the raw interface for the vlan interface.',
  },
  {
    name: 'vlan-id',
    type: 'integer',
    minimum: 1,
    maximum: 4094,
    optional: true,
    description: 'vlan-id for a custom named vlan interface (ifupdown2 only).',
  },
  {
    name: 'ovs_bonds',
    type: 'string',
    format: 'pve-iface-list',
    optional: true,
    description: 'Specify the interfaces used by the bonding device.',
  },
  {
    name: 'ovs_bridge',
    type: 'string',
    format: 'pve-iface',
    optional: true,
    description: 'The OVS bridge associated with a OVS port. This is required when you create an OVS port.',
  },
  { name: 'ovs_options', type: 'string', maxLength: 1024, optional: true, description: 'OVS interface options.' },
  {
    name: 'ovs_ports',
    type: 'string',
    format: 'pve-iface-list',
    optional: true,
    description: 'Specify the interfaces you want to add to your bridge.',
  },
  {
    name: 'ovs_tag',
    type: 'integer',
    minimum: 1,
    maximum: 4094,
    optional: true,
    description: 'Specify a VLan tag (used by OVSPort, OVSIntPort, OVSBond)',
  },
  {
    name: 'digest',
    type: 'string',
    format: 'digest',
    optional: true,
    description: 'Refuse the change if the staged configuration no longer has this SHA-256 digest (nodenet extension).',
  },
];

export const IFACE_NAME_PARAM: ParamSpec = {
  name: 'iface',
  type: 'string',
  format: 'pve-iface',
  minLength: 2,
  maxLength: 20,
  description: 'Network interface name.',
};
export const NODE_PARAM: ParamSpec = {
  name: 'node',
  type: 'string',
  format: 'pve-node',
  description: 'The cluster node name.',
};
export const DELETE_PARAM: ParamSpec = {
  name: 'delete',
  type: 'string',
  format: 'pve-configid-list',
  optional: true,
  description: 'A list of settings you want to delete.',
};

/** Keys `delete=` may name (the settable ones, minus type/digest). */
export const DELETABLE = new Set(IFACE_PARAMS.map((p) => p.name).filter((n) => n !== 'type' && n !== 'digest'));

/**
 * Find the first control character in a value. `\n` is allowed only when `multiline`.
 * Returns a description like `U+000A (line feed)` or null.
 */
export function controlChar(v: string, multiline = false): string | null {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 10 && multiline) continue;
    // A lone surrogate is refused too. In text read from the file, U+DC80..U+DCFF stands for a
    // byte that was not UTF-8 (interfaces/bytes.ts): a comment read with such a byte and sent
    // back unchanged keeps it (set → get → set), and it can never make a line (0x80..0xFF);
    // any other lone surrogate, or one outside a comment, is refused.
    const escapedByte = multiline && c >= 0xdc80 && c <= 0xdcff && !((v.charCodeAt(i - 1) & 0xfc00) === 0xd800);
    const lone =
      !escapedByte && c >= 0xd800 && c <= 0xdfff && !(c <= 0xdbff && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00);
    if (c >= 0xd800 && c <= 0xdbff && !lone) {
      i++;
      continue;
    }
    if (c < 32 || c === 127 || (c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029 || lone) {
      const names: Record<number, string> = {
        0: 'NUL',
        9: 'tab',
        10: 'line feed',
        13: 'carriage return',
        27: 'escape',
        127: 'delete',
      };
      return `U+${c.toString(16).toUpperCase().padStart(4, '0')}${names[c] ? ` (${names[c]})` : ''}`;
    }
  }
  return null;
}

/**
 * Why a value may not be written into the interfaces file as given, or null. ifupdown2 renders
 * the file as a mako template when it holds a `%` (Debian's ifupdown2.conf: template_enable=1)
 * and joins the text around every backslash before it reads lines, so a value must hold no mako
 * syntax and no backslash (docs/security.md, "Values written to the interfaces file"):
 * `${` (expression), `<%` (code block, `<%!`, `<%def`, `<%include`, `<%inherit`, `<%doc>`, ...),
 * `</%` (tag end), `%>`, `<&` / `</&` (mako drops the `<`), and a comment line (each line of
 * `comments`) starting with `#` (written after the comment's own `#`, the line would start with
 * `##`, a mako comment line). A `%` elsewhere is fine: values never start a line.
 * Nothing is stripped: the caller refuses the value with this message.
 */
export function writtenTextProblem(v: string, multiline = false): string | null {
  if (v.includes('\\'))
    return "value contains a backslash ('\\'), which is not allowed: ifupdown2 joins the text around every backslash (a line continuation), so the file would not say what was written";
  const m = /\$\{|<\/?%|%>|<\/?&/.exec(v);
  if (m)
    return `value contains '${m[0]}', which is not allowed: ifupdown2 reads the interfaces file as a mako template, where '${m[0]}' starts template code (run as root)`;
  if (multiline) {
    for (const line of v.split('\n')) {
      if (line.startsWith('#'))
        return "a comment line may not start with '#': written after the comment's own '#', it would make a '##' line, which mako (ifupdown2's template engine) treats as a template comment";
    }
  }
  return null;
}

/** Split a PVE list value (`,` `;` or whitespace separated). */
export function splitPveList(v: string): string[] {
  return v.split(/[,; \t]+/).filter((x) => x !== '');
}

/** Check a value against a format; returns an error message (PVE wording) or null. */
export function checkFormat(format: Format, v: string): string | null {
  switch (format) {
    case 'pve-iface':
      return IFACE_RE.test(v) && v.length <= 20 ? null : `invalid format - invalid network interface name '${v}'\n`;
    case 'pve-iface-list': {
      for (const item of splitPveList(v)) {
        if (!IFACE_RE.test(item) || item.length > 20)
          return `invalid format - invalid network interface name '${item}'\n`;
      }
      return null;
    }
    case 'pve-vlan-id-or-range-list': {
      const items = splitPveList(v);
      if (!items.length) return 'VLAN list items are empty';
      for (const item of items) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(item);
        if (!m) return `invalid format - invalid VLAN configuration '${item}'\n`;
        const a = Number(m[1]);
        if (a < 2 || a > 4094) return `invalid format - invalid VLAN tag '${m[1]}'\n`;
        if (m[2] !== undefined) {
          const b = Number(m[2]);
          if (b < 2 || b > 4094) return `invalid format - invalid VLAN tag '${m[2]}'\n`;
          if (b <= a) return `invalid format - VLAN range must go from lower to higher tag '${item}'\n`;
        }
      }
      return null;
    }
    case 'pve-configid-list': {
      for (const item of splitPveList(v))
        if (!CONFIGID_RE.test(item)) return `invalid format - invalid configuration ID '${item}'\n`;
      return null;
    }
    case 'pve-node':
      return NODE_RE.test(v) ? null : `invalid format - value does not look like a valid node name\n`;
    case 'ipv4':
      return parseIPv4(v) !== null ? null : `invalid format - value does not look like a valid IPv4 address\n`;
    case 'ipv6':
      return parseIPv6(v) !== null ? null : `invalid format - value does not look like a valid IPv6 address\n`;
    case 'ipv4mask':
      return maskToPrefix(v) !== null ? null : `invalid format - value does not look like a valid IP netmask\n`;
    case 'CIDRv4': {
      const c = parseCidr(v);
      if (!c || c.version !== 4)
        return `invalid format - value does not look like a valid IPv4 network configuration (CIDR)\n`;
      return c.prefix >= 8 ? null : `invalid format - IPv4 CIDR mask '${c.prefix}' out of range (8..32)\n`;
    }
    case 'CIDRv6': {
      const c = parseCidr(v);
      if (!c || c.version !== 6)
        return `invalid format - value does not look like a valid IPv6 network configuration (CIDR)\n`;
      return c.prefix >= 8 ? null : `invalid format - IPv6 CIDR mask '${c.prefix}' out of range (8..128)\n`;
    }
    case 'CIDRv4-list':
    case 'CIDRv6-list': {
      const one = format === 'CIDRv4-list' ? 'CIDRv4' : 'CIDRv6';
      for (const item of splitPveList(v)) {
        const e = checkFormat(one, item);
        if (e) return e.replace('invalid format - ', `invalid format - '${item}': `);
      }
      return null;
    }
    case 'digest':
      return /^[a-f0-9]{40,64}$/i.test(v) ? null : `invalid format - value does not look like a digest\n`;
    case 'upid':
      return /^UPID:[a-zA-Z0-9-]+:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[a-z0-9]+:[^:\s]*:[^:\s]+:$/.test(v)
        ? null
        : `invalid format - invalid UPID\n`;
  }
}

export type RawParams = Record<string, unknown>;

export interface CheckedParams {
  /** Values as strings (booleans as '1'/'0', integers normalised). */
  values: Record<string, string>;
  errors: Record<string, string>;
}

/**
 * Validate raw request parameters against a schema, PVE style.
 * Arrays (repeated form keys) are joined with `,` for list formats.
 * @param allowExtra when false, unknown keys are errors (PVE's additionalProperties: 0)
 */
export function checkParams(raw: RawParams, specs: readonly ParamSpec[], allowExtra = false): CheckedParams {
  // Null-prototype maps: a parameter named `__proto__` is an unknown key like any other.
  const values = Object.create(null) as Record<string, string>;
  const errors = Object.create(null) as Record<string, string>;
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const [k, rv] of Object.entries(raw)) {
    if (k === '_dc') continue; // ExtJS cache buster, ignored by PVE
    const spec = byName.get(k);
    if (!spec) {
      if (!allowExtra) {
        const s = didYouMean(k, byName.keys());
        errors[k] =
          `property is not defined in schema and the schema does not allow additional properties${s ? ` (did you mean '${s}'?)` : ''}`;
      }
      continue;
    }
    let v: string;
    if (Array.isArray(rv)) {
      // Only scalars are joined: String() of a nested list recurses as deep as the list.
      if (!rv.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) {
        errors[k] = `type check ('${spec.type}') failed - got a nested list`;
        continue;
      }
      v = rv.map((x) => String(x)).join(',');
    } else if (typeof rv === 'boolean') v = rv ? '1' : '0';
    else if (typeof rv === 'number') v = String(rv);
    else if (typeof rv === 'string') v = rv;
    else if (rv === null || rv === undefined) continue;
    else {
      errors[k] = `type check ('${spec.type}') failed - got an object`;
      continue;
    }
    const cc = controlChar(v, spec.multiline === true);
    if (cc) {
      errors[k] =
        `value contains the control character ${cc}, which is not allowed${spec.multiline ? ' (only line feeds separate comment lines)' : ''}`;
      continue;
    }
    const wp = spec.type === 'string' ? writtenTextProblem(v, spec.multiline === true) : null;
    if (wp) {
      errors[k] = wp;
      continue;
    }
    if (spec.type === 'boolean') {
      if (v !== '0' && v !== '1') {
        errors[k] = `type check ('boolean') failed - got '${v}'`;
        continue;
      }
    } else if (spec.type === 'integer') {
      if (!/^[+-]?\d+$/.test(v)) {
        errors[k] = `type check ('integer') failed - got '${v}'`;
        continue;
      }
      const n = Number(v);
      v = String(n);
      if (spec.minimum !== undefined && n < spec.minimum) {
        errors[k] = `value must have a minimum value of ${spec.minimum}`;
        continue;
      }
      if (spec.maximum !== undefined && n > spec.maximum) {
        errors[k] = `value must have a maximum value of ${spec.maximum}`;
        continue;
      }
    } else {
      if (spec.minLength !== undefined && v.length < spec.minLength) {
        errors[k] = `value must be at least ${spec.minLength} characters long`;
        continue;
      }
      if (spec.maxLength !== undefined && v.length > spec.maxLength) {
        errors[k] = `value may only be ${spec.maxLength} characters long`;
        continue;
      }
      if (spec.enum && !spec.enum.includes(v)) {
        const s = didYouMean(v, spec.enum);
        errors[k] =
          `value '${v}' does not have a value in the enumeration '${spec.enum.join(', ')}'${s ? ` (did you mean '${s}'?)` : ''}`;
        continue;
      }
      if (spec.format) {
        const e = checkFormat(spec.format, v);
        if (e) {
          errors[k] = e;
          continue;
        }
      }
    }
    values[k] = v;
  }
  for (const spec of specs) {
    if (!spec.optional && values[spec.name] === undefined && errors[spec.name] === undefined) {
      errors[spec.name] = 'property is missing and it is not optional';
    }
    if (
      spec.requires &&
      values[spec.name] !== undefined &&
      values[spec.requires] === undefined &&
      errors[spec.requires] === undefined
    ) {
      errors[spec.requires] = `missing property required by '${spec.name}'`;
    }
  }
  return { values, errors };
}
