/** list, get, create, set, delete, diff, revert, check: the editing commands. */
import { promises as fs } from 'node:fs';
import { NodenetError } from '../../errors.ts';
import { hasErrors } from '../../interfaces/diagnostic.ts';
import { IFACE_PARAMS } from '../../model/params.ts';
import type { PveIface } from '../../model/pve-view.ts';
import type { EditResult } from '../../core/network.ts';
import type { ParsedArgs } from '../args.ts';
import { onlyOptions, opt } from '../args.ts';
import type { CliContext, Command } from '../context.ts';
import { colorDiff, formatDiagnostics, summarize, table } from '../format.ts';

const PARAM_NAMES = IFACE_PARAMS.map((p) => p.name);

function paramHelp(): string {
  return IFACE_PARAMS.filter((p) => p.name !== 'type')
    .map((p) => {
      const range = p.minimum !== undefined ? ` (${p.minimum}-${p.maximum})` : p.enum ? ` (${p.enum.join('|')})` : p.type === 'boolean' ? ' (1|0)' : '';
      return `  --${p.name.padEnd(22)} ${p.description}${range}`;
    })
    .join('\n');
}

/** Collect `--PARAM VALUE` into PVE params (repeated list params are joined with commas). */
function collectParams(args: ParsedArgs, allowed: readonly string[], command: string): Record<string, string> {
  onlyOptions(args, allowed, command);
  const params: Record<string, string> = {};
  for (const [k, vs] of args.options) {
    if (k === 'help' || k === 'delete') continue;
    params[k] = vs.length > 1 ? vs.join(',') : vs[0]!;
  }
  return params;
}

function oneIface(args: ParsedArgs, command: string): string {
  if (args.positionals.length !== 1) throw new NodenetError('USAGE', `${command} needs exactly one interface name; see \`nodenet ${command} --help\``);
  return args.positionals[0]!;
}

function reportEdit(ctx: CliContext, what: string, r: EditResult): number {
  if (ctx.format === 'json') {
    ctx.out(`${JSON.stringify({ changed: r.changed, digest: r.digest, diagnostics: r.diagnostics, warnings: r.warnings })}\n`);
    return 0;
  }
  for (const w of r.warnings) ctx.err(`nodenet: warning: ${w}\n`);
  if (!r.changed) {
    ctx.out(`nothing to change: ${what} is already as requested\n`);
    return 0;
  }
  ctx.out(`staged: ${what} (review with \`nodenet diff\`, make it live with \`nodenet apply\`)\n`);
  const shown = r.diagnostics.filter((d) => d.severity !== 'info');
  if (shown.length) ctx.err(formatDiagnostics(shown));
  return 0;
}

const COLUMNS: [string, (o: PveIface) => string][] = [
  ['NAME', (o) => String(o.iface ?? '')],
  ['TYPE', (o) => String(o.type ?? '')],
  ['AUTO', (o) => (o.autostart ? 'yes' : 'no')],
  ['PORTS/SLAVES', (o) => String(o.bridge_ports ?? o.slaves ?? o['vlan-raw-device'] ?? '')],
  ['MODE', (o) => String(o.bond_mode ?? (o.bridge_vlan_aware ? `vlan-aware${o.bridge_vids ? ` ${o.bridge_vids}` : ''}` : ''))],
  ['CIDR', (o) => [o.cidr, o['cidr-extra'], o.cidr6, o['cidr6-extra']].filter(Boolean).join(' ') || String(o.method === 'dhcp' ? 'dhcp' : '')],
  ['GATEWAY', (o) => [o.gateway, o.gateway6].filter(Boolean).join(' ')],
  ['MTU', (o) => String(o.mtu ?? '')],
  ['COMMENT', (o) => String(o.comments ?? '').trim().split('\n')[0] ?? ''],
];

export const list: Command = {
  name: 'list',
  summary: 'list the interfaces of the pending config',
  usage: 'list [--type T]',
  help: `Lists the interfaces of the pending configuration: etc/network/interfaces.new when changes
are staged, else the live etc/network/interfaces. With --output-format json it prints the
array Proxmox VE's GET /nodes/{node}/network returns.

Options:
  --type T   only this type: bridge, bond, eth, vlan, alias, OVSBridge, ..., any_bridge

Examples:
  nodenet list
  nodenet list --type bridge --output-format json`,
  async run(ctx, args) {
    onlyOptions(args, ['type'], 'list');
    const r = await ctx.core().list(opt(args, 'type'));
    if (ctx.format === 'json') {
      ctx.out(`${JSON.stringify(r.data)}\n`);
      return 0;
    }
    for (const w of r.warnings) ctx.err(`nodenet: warning: ${w}\n`);
    ctx.out(table(COLUMNS.map((c) => c[0]), r.data.map((o) => COLUMNS.map((c) => c[1](o)))));
    if (r.changes) ctx.out(`\n${r.changes.split('\n').filter((l) => /^[+-][^+-]/.test(l)).length} changed line(s) staged: review with \`nodenet diff\`, make live with \`nodenet apply\`, drop with \`nodenet revert\`\n`);
    return 0;
  },
};

export const get: Command = {
  name: 'get',
  summary: 'show one interface',
  usage: 'get IFACE',
  help: `Shows one interface of the pending configuration, with the fields of Proxmox VE's
GET /nodes/{node}/network/{iface}.

Example:
  nodenet get vmbr0`,
  async run(ctx, args) {
    onlyOptions(args, [], 'get');
    const name = oneIface(args, 'get');
    const r = await ctx.core().get(name);
    if (ctx.format === 'json') {
      ctx.out(`${JSON.stringify(r.data)}\n`);
      return 0;
    }
    const w = Math.max(...Object.keys(r.data).map((k) => k.length));
    let out = `${name}\n`;
    for (const [k, v] of Object.entries(r.data)) {
      const text = Array.isArray(v) ? v.join('; ') : String(v).replace(/\n$/, '').replace(/\n/g, `\n${' '.repeat(w + 4)}`);
      out += `  ${k.padEnd(w)}  ${text}\n`;
    }
    ctx.out(out);
    return 0;
  },
};

export const create: Command = {
  name: 'create',
  summary: 'stage a new interface',
  usage: 'create IFACE --type T [--PARAM VALUE]...',
  help: `Stages a new interface in etc/network/interfaces.new; nothing goes live until apply.
Parameter names are those of Proxmox VE's API. The new stanza goes after the last one of
its kind and copies the file's indentation and line endings; the rest of the file is kept
byte for byte. A change that would introduce a validation error is refused.

Parameters:
  --type                   bridge, bond, vlan or eth (required)
${paramHelp()}

Examples:
  nodenet create vmbr1 --type bridge --bridge_ports eno2 --cidr 10.0.0.1/24 --autostart 1
  nodenet create bond0 --type bond --slaves eno1,eno2 --bond_mode 802.3ad --bond_xmit_hash_policy layer2+3
  nodenet create eno1.50 --type vlan --cidr 10.50.0.2/24
  nodenet create storage --type vlan --vlan-raw-device bond0 --vlan-id 60`,
  async run(ctx, args) {
    const name = oneIface(args, 'create');
    const params = collectParams(args, PARAM_NAMES, 'create');
    if (params.type === undefined) throw new NodenetError('USAGE', 'create needs --type (bridge, bond, vlan or eth)');
    return reportEdit(ctx, `created ${name}`, await ctx.core().create(name, params));
  },
};

export const set: Command = {
  name: 'set',
  summary: 'change an interface',
  usage: 'set IFACE [--PARAM VALUE]... [--delete a,b]',
  help: `Changes an interface in the staged configuration. Only the lines concerned change: a
changed option changes its value in place, a new one gets a line of its own, and
--delete removes settings (cidr also removes the netmask line).

Parameters:
${paramHelp()}
  --delete                 settings to remove, comma separated (e.g. gateway,mtu)

Examples:
  nodenet set vmbr0 --mtu 9000
  nodenet set vmbr1 --bridge_ports "eno2 eno3" --delete gateway
  nodenet set vmbr0 --comments "uplink bridge"`,
  async run(ctx, args) {
    const name = oneIface(args, 'set');
    const params = collectParams(args, [...PARAM_NAMES, 'delete'], 'set');
    const del = args.options.get('delete') ?? [];
    if (!Object.keys(params).length && !del.length) throw new NodenetError('USAGE', 'set needs at least one --PARAM VALUE or --delete; see `nodenet set --help`');
    return reportEdit(ctx, `changed ${name}`, await ctx.core().update(name, params, del));
  },
};

export const del: Command = {
  name: 'delete',
  summary: 'remove an interface',
  usage: 'delete IFACE [--digest D]',
  help: `Removes an interface from the staged configuration: its stanzas and its auto/allow-*
mentions, and nothing else. Refused when another interface still uses it (a bridge port,
a bond slave, a VLAN's raw device), because ifreload would fail on the dangling name.

Example:
  nodenet delete vmbr1`,
  async run(ctx, args) {
    onlyOptions(args, ['digest'], 'delete');
    const name = oneIface(args, 'delete');
    return reportEdit(ctx, `removed ${name}`, await ctx.core().remove(name, opt(args, 'digest')));
  },
};

export const diff: Command = {
  name: 'diff',
  summary: 'show the pending change as a unified diff',
  usage: 'diff',
  help: `Shows the staged change as a unified diff from etc/network/interfaces to
etc/network/interfaces.new. Prints nothing when nothing is staged.`,
  async run(ctx, args) {
    onlyOptions(args, [], 'diff');
    const d = await ctx.core().diff();
    if (ctx.format === 'json') ctx.out(`${JSON.stringify({ changes: d })}\n`);
    else ctx.out(colorDiff(d));
    return 0;
  },
};

export const revert: Command = {
  name: 'revert',
  summary: 'drop the staged change',
  usage: 'revert',
  help: `Drops the staged change (removes etc/network/interfaces.new). The live file and the
running network are not touched. To undo an applied change, use \`nodenet rollback\`.`,
  async run(ctx, args) {
    onlyOptions(args, [], 'revert');
    const had = await ctx.core().revert();
    if (ctx.format === 'json') ctx.out(`${JSON.stringify({ reverted: had })}\n`);
    else ctx.out(had ? 'dropped the staged changes\n' : 'nothing was staged\n');
    return 0;
  },
};

export const check: Command = {
  name: 'check',
  summary: 'lint a file (default: the pending config)',
  usage: 'check [FILE]',
  help: `Checks an interfaces file and prints every problem like a compiler would, with the
line, the column, a stable code and a hint. Without FILE it checks the pending config.
Exit status 1 when there is an error. Codes are listed in docs/diagnostics.md.

Examples:
  nodenet check
  nodenet check /tmp/interfaces.proposed --output-format json`,
  async run(ctx, args) {
    onlyOptions(args, [], 'check');
    if (args.positionals.length > 1) throw new NodenetError('USAGE', 'check takes at most one FILE');
    const file = args.positionals[0];
    let text: string | undefined;
    let name: string | undefined;
    if (file !== undefined) {
      try {
        text = await fs.readFile(file, 'utf8');
      } catch (e) {
        throw new NodenetError('IO', `cannot read ${file}: ${(e as Error).message}`);
      }
      name = file;
    }
    const core = ctx.core();
    const ds = await core.check(text, name);
    if (ctx.format === 'json') {
      ctx.out(`${JSON.stringify({ diagnostics: ds })}\n`);
    } else {
      const src = text ?? (await core.store.read()).pending;
      ctx.out(formatDiagnostics(ds, src));
      ctx.out(`${summarize(ds)}\n`);
    }
    return hasErrors(ds) ? 1 : 0;
  },
};

export const commands: Command[] = [list, get, create, set, del, diff, revert, check];
