/** list, get, create, set, delete, diff, revert, check: the editing commands. */
import { promises as fs } from 'node:fs';
import { NodenetError } from '../../errors.ts';
import { decodeBytes } from '../../interfaces/bytes.ts';
import { hasErrors } from '../../interfaces/diagnostic.ts';
import { IFACE_PARAMS } from '../../model/params.ts';
import type { PveIface } from '../../model/pve-view.ts';
import type { EditResult } from '../../core/network.ts';
import type { ParsedArgs } from '../args.ts';
import { onlyOptions, opt } from '../args.ts';
import type { CliContext, Command } from '../context.ts';
import { colorDiff, formatDiagnostics, summarize, table } from '../format.ts';

const PARAM_NAMES = IFACE_PARAMS.map((p) => p.name);

/** Collect `--PARAM VALUE` into PVE params (repeated list params are joined with commas). */
function collectParams(args: ParsedArgs, allowed: readonly string[], command: string): Record<string, string> {
  onlyOptions(args, allowed, command);
  // Null prototype: an option named like an Object.prototype member is a key, never merged.
  const params = Object.create(null) as Record<string, string>;
  for (const [k, vs] of args.options) {
    if (k === 'help' || k === 'delete') continue;
    params[k] = vs.length > 1 ? vs.join(',') : vs[0]!;
  }
  return params;
}

function oneIface(args: ParsedArgs, command: string): string {
  if (args.positionals.length !== 1)
    throw new NodenetError('USAGE', `${command} needs exactly one interface name; see \`nodenet ${command} --help\``);
  return args.positionals[0]!;
}

function reportEdit(ctx: CliContext, what: string, r: EditResult): number {
  if (ctx.format === 'json') {
    ctx.out(
      `${JSON.stringify({ changed: r.changed, digest: r.digest, diagnostics: r.diagnostics, warnings: r.warnings })}\n`,
    );
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
  [
    'PORTS/SLAVES',
    (o) => String(o.bridge_ports ?? o.slaves ?? o.ovs_ports ?? o.ovs_bonds ?? o['vlan-raw-device'] ?? ''),
  ],
  [
    'MODE',
    (o) => String(o.bond_mode ?? (o.bridge_vlan_aware ? `vlan-aware${o.bridge_vids ? ` ${o.bridge_vids}` : ''}` : '')),
  ],
  [
    'CIDR',
    (o) =>
      [o.cidr, o['cidr-extra'], o.cidr6, o['cidr6-extra']].filter(Boolean).join(' ') ||
      String(o.method === 'dhcp' ? 'dhcp' : ''),
  ],
  ['GATEWAY', (o) => [o.gateway, o.gateway6].filter(Boolean).join(' ')],
  ['MTU', (o) => String(o.mtu ?? '')],
  [
    'COMMENT',
    (o) =>
      String(o.comments ?? '')
        .trim()
        .split('\n')[0] ?? '',
  ],
];

export const list: Command = {
  name: 'list',
  async run(ctx, args) {
    onlyOptions(args, ['type'], 'list');
    const r = await ctx.core().list(opt(args, 'type'));
    if (ctx.format === 'json') {
      ctx.out(`${JSON.stringify(r.data)}\n`);
      return 0;
    }
    for (const w of r.warnings) ctx.err(`nodenet: warning: ${w}\n`);
    ctx.out(
      table(
        COLUMNS.map((c) => c[0]),
        r.data.map((o) => COLUMNS.map((c) => c[1](o))),
      ),
    );
    if (r.changes)
      ctx.out(
        `\n${r.changes.split('\n').filter((l) => /^[+-][^+-]/.test(l)).length} changed line(s) staged: review with \`nodenet diff\`, make live with \`nodenet apply\`, drop with \`nodenet revert\`\n`,
      );
    return 0;
  },
};

export const get: Command = {
  name: 'get',
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
      const text = Array.isArray(v)
        ? v.join('; ')
        : String(v)
            .replace(/\n$/, '')
            .replace(/\n/g, `\n${' '.repeat(w + 4)}`);
      out += `  ${k.padEnd(w)}  ${text}\n`;
    }
    ctx.out(out);
    return 0;
  },
};

export const create: Command = {
  name: 'create',
  async run(ctx, args) {
    const name = oneIface(args, 'create');
    const params = collectParams(args, PARAM_NAMES, 'create');
    if (params.type === undefined) throw new NodenetError('USAGE', 'create needs --type (bridge, bond, vlan or eth)');
    return reportEdit(ctx, `created ${name}`, await ctx.core().create(name, params));
  },
};

export const set: Command = {
  name: 'set',
  async run(ctx, args) {
    const name = oneIface(args, 'set');
    const params = collectParams(args, [...PARAM_NAMES, 'delete'], 'set');
    const del = args.options.get('delete') ?? [];
    if (!Object.keys(params).length && !del.length)
      throw new NodenetError('USAGE', 'set needs at least one --PARAM VALUE or --delete; see `nodenet set --help`');
    return reportEdit(ctx, `changed ${name}`, await ctx.core().update(name, params, del));
  },
};

export const del: Command = {
  name: 'delete',
  async run(ctx, args) {
    onlyOptions(args, ['digest'], 'delete');
    const name = oneIface(args, 'delete');
    return reportEdit(ctx, `removed ${name}`, await ctx.core().remove(name, opt(args, 'digest')));
  },
};

export const diff: Command = {
  name: 'diff',
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
  async run(ctx, args) {
    onlyOptions(args, [], 'check');
    if (args.positionals.length > 1) throw new NodenetError('USAGE', 'check takes at most one FILE');
    const file = args.positionals[0];
    let text: string | undefined;
    let name: string | undefined;
    if (file === '-') {
      text = decodeBytes(await readStdin());
      name = '<stdin>';
    } else if (file !== undefined) {
      try {
        text = decodeBytes(await fs.readFile(file));
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

/** All of standard input, as bytes. */
async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  } catch (e) {
    throw new NodenetError('IO', `cannot read standard input: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

export const commands: Command[] = [list, get, create, set, del, diff, revert, check];
