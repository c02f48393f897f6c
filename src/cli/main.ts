/**
 * The `nodenet` command: a thin shell over the same core as the API. Only this top level
 * turns errors into output and exit codes (0 ok, 1 refused/found errors, 2 usage or I/O).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { NodenetError, isNodenetError } from '../errors.ts';
import { parseArgs } from './args.ts';
import type { CliContext, Command, OutputFormat } from './context.ts';
import { makeCore } from './context.ts';
import { color, formatDiagnostics } from './format.ts';
import { commands as editCommands } from './commands/edit.ts';

/** Commands implemented in their own modules, loaded on demand (keeps `nodenet list` fast). */
const LAZY: Record<string, { module: string; summary: string }> = {
  apply: { module: 'apply', summary: 'make the staged config live (validate, reload, verify, confirm window)' },
  confirm: { module: 'apply', summary: 'keep the applied config (ends the rollback window)' },
  rollback: { module: 'apply', summary: 'go back to an earlier applied config through the safe path' },
  history: { module: 'apply', summary: 'list applied configs' },
  verify: { module: 'apply', summary: 'compare the running kernel state with the live file' },
  netns: { module: 'apply', summary: 'manage the netns backend sandbox (netns destroy)' },
  setup: { module: 'setup', summary: 'planning modes: setup bridged | routed | nat' },
  ipv6: { module: 'setup', summary: 'disable, enable or show IPv6 (sysctl.d file)' },
  fix: { module: 'setup', summary: 'rewrite forms ifupdown2 ignores (fix ifupdown2)' },
  serve: { module: 'serve', summary: 'the REST API and web UI over HTTPS' },
  user: { module: 'serve', summary: 'manage local pve-realm users (user add)' },
  token: { module: 'serve', summary: 'manage API tokens (token add)' },
};

const GLOBAL_HELP = `Global options:
  --root DIR               the root the files live under (default /)
  --node NAME              node name (default: the host name)
  --output-format F        text (default) or json (stable, machine-readable)
  --backend B              ifupdown2 | netns | none (apply, verify, serve)
  --help                   help for nodenet or a command
  --version                print the version`;

function version(): string {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    for (const p of [join(here, '../../package.json'), join(here, '../package.json')]) {
      try {
        return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
      } catch {
        continue;
      }
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

async function loadCommand(name: string): Promise<Command | undefined> {
  const direct = editCommands.find((c) => c.name === name);
  if (direct) return direct;
  const lazy = LAZY[name];
  if (!lazy) return undefined;
  try {
    const mod = (await import(`./commands/${lazy.module}.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`)) as { commands: Command[] };
    return mod.commands.find((c) => c.name === name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(`commands/${lazy.module}`)) return undefined;
    throw e;
  }
}

function topHelp(): string {
  const all: [string, string][] = [...editCommands.map((c): [string, string] => [c.name, c.summary]), ...Object.entries(LAZY).map(([k, v]): [string, string] => [k, v.summary])];
  return `nodenet ${version()} — safe, lossless network management for Proxmox-VE-style nodes

Usage: nodenet [--root DIR] [--output-format text|json] COMMAND [ARGS]...

Commands:
${all.map(([n, s]) => `  ${n.padEnd(10)} ${s}`).join('\n')}

${GLOBAL_HELP}

Edits are staged in etc/network/interfaces.new and never touch the live file; \`nodenet
apply\` makes them live. Run \`nodenet COMMAND --help\` for a command's options and examples.
`;
}

export interface RunIO {
  out: (s: string) => void;
  err: (s: string) => void;
  tty: boolean;
}

/** Run the CLI with `argv` (without node and script). Returns the exit code. */
export async function main(argv: readonly string[], io: RunIO): Promise<number> {
  let format: OutputFormat = 'text';
  try {
    // Global options may come before the command.
    let i = 0;
    let root = '/';
    let node: string | undefined;
    let backend: string | undefined;
    const takeValue = (flag: string) => {
      const v = argv[i + 1];
      if (v === undefined) throw new NodenetError('USAGE', `option ${flag} needs a value`);
      i += 2;
      return v;
    };
    for (;;) {
      const a = argv[i];
      if (a === undefined) break;
      const [flag, inline] = a.includes('=') && a.startsWith('--') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      const value = () => (inline !== undefined ? (i++, inline) : takeValue(flag));
      if (flag === '--root') root = value();
      else if (flag === '--node') node = value();
      else if (flag === '--backend') backend = value();
      else if (flag === '--output-format') {
        const f = value();
        if (f !== 'text' && f !== 'json') throw new NodenetError('USAGE', `--output-format must be text or json, not '${f}'`);
        format = f;
      } else if (flag === '--version') {
        io.out(`nodenet ${version()}\n`);
        return 0;
      } else if (flag === '--help' || flag === '-h') {
        io.out(topHelp());
        return 0;
      } else break;
    }
    const name = argv[i];
    if (name === undefined) {
      io.err(topHelp());
      return 2;
    }
    const cmd = await loadCommand(name);
    if (!cmd) {
      const known = [...editCommands.map((c) => c.name), ...Object.keys(LAZY)];
      const near = known.find((k) => k.startsWith(name.slice(0, 3)));
      throw new NodenetError('USAGE', `unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; see \`nodenet --help\``);
    }
    const rest = argv.slice(i + 1);
    // Global options are also accepted after the command.
    const local: string[] = [];
    for (let j = 0; j < rest.length; j++) {
      const a = rest[j]!;
      const m = /^--(root|node|output-format|backend)(?:=(.*))?$/.exec(a);
      if (m) {
        const v = m[2] ?? rest[++j];
        if (v === undefined) throw new NodenetError('USAGE', `option --${m[1]} needs a value`);
        if (m[1] === 'root') root = v;
        else if (m[1] === 'node') node = v;
        else if (m[1] === 'backend') backend = v;
        else {
          if (v !== 'text' && v !== 'json') throw new NodenetError('USAGE', `--output-format must be text or json, not '${v}'`);
          format = v;
        }
      } else local.push(a);
    }
    const args = parseArgs(local, new Set(cmd.booleans ?? []));
    if (args.options.has('help')) {
      io.out(`Usage: nodenet [global options] ${cmd.usage}\n\n${cmd.help}\n\n${GLOBAL_HELP}\n`);
      return 0;
    }
    color.on = io.tty && format === 'text' && !process.env.NO_COLOR;
    const ctx: CliContext = {
      root: resolve(root),
      node: node ?? (await import('node:os')).hostname().split('.')[0]!,
      format,
      out: io.out,
      err: io.err,
      tty: io.tty,
      core: makeCore(resolve(root)),
      ...(backend !== undefined ? { backend } : {}),
    };
    return await cmd.run(ctx, args);
  } catch (e) {
    return reportError(e, format, io);
  }
}

/** Map an error to stderr output and an exit code. */
export function reportError(e: unknown, format: OutputFormat, io: RunIO): number {
  if (isNodenetError(e)) {
    const code = e.code === 'USAGE' || e.code === 'IO' || e.code === 'BACKEND' || e.code === 'INTERNAL' ? 2 : 1;
    if (format === 'json') {
      io.err(`${JSON.stringify({ error: { code: e.code, message: e.message, ...(e.errors ? { errors: e.errors } : {}), ...(e.diagnostics ? { diagnostics: e.diagnostics } : {}) } })}\n`);
      return code;
    }
    let msg = `nodenet: ${e.message}\n`;
    if (e.diagnostics?.length) msg = `nodenet: the change was refused:\n${formatDiagnostics(e.diagnostics)}`;
    else if (e.errors) {
      const fields = Object.entries(e.errors);
      if (e.code === 'PARAM') msg = `nodenet: ${fields.map(([k, v]) => `${k === 'iface' ? 'interface' : `--${k}`}: ${v.trim()}`).join('\n         ')}\n`;
    }
    io.err(msg);
    return code;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
    io.err(`nodenet: ${err.message}\n`);
    return 2;
  }
  io.err(`nodenet: internal error: ${err?.stack ?? String(e)}\n`);
  return 2;
}
