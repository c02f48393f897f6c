/**
 * The `nodenet` command: a thin shell over the same core as the API. Only this top level
 * turns errors into output and exit codes (0 ok, 1 refused/found errors, 2 usage or I/O).
 */
import { resolve } from 'node:path';
import { version } from '../version.ts';
import { NodenetError, exitCodeOf, isNodenetError } from '../errors.ts';
import { encodeText } from '../interfaces/bytes.ts';
import { parseCommandLine } from './args.ts';
import type { CliContext, Command, OutputFormat } from './context.ts';
import { makeCore, netnsNics } from './context.ts';
import { color, formatDiagnostics } from './format.ts';
import { COMMANDS, GLOBAL_OPTIONS, commandHelp, commandSpec, topHelp, type CommandSpec } from './spec.ts';

export { version };

/** The module that runs a command, loaded on demand (keeps `nodenet list` fast). */
async function loadCommand(spec: CommandSpec): Promise<Command> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const mod = (await import(`./commands/${spec.module}.${ext}`)) as { commands: Command[] };
  const cmd = mod.commands.find((c) => c.name === spec.name);
  if (!cmd)
    throw new Error(`the command table names ${spec.name} in commands/${spec.module}, which does not define it`);
  return cmd;
}

export interface RunIO {
  out: (s: string) => void;
  err: (s: string) => void;
  tty: boolean;
}

/**
 * Run the CLI with `argv` (without node and script). Returns the exit code. The whole line is
 * parsed against the command table first: help, version and usage errors are answered without
 * touching any file.
 */
export async function main(argv: readonly string[], io: RunIO): Promise<number> {
  const line = parseCommandLine(argv);
  const f = line.globals.get('output-format');
  const format: OutputFormat = f === 'json' ? 'json' : 'text';
  try {
    if (line.help || line.command?.name === 'help') {
      // `nodenet help CMD`, `nodenet CMD --help`, `nodenet --help`: help only, nothing else runs.
      const target = line.command?.name === 'help' ? line.args.positionals[0] : line.command?.name;
      if (target === undefined) {
        if (line.error && !line.help) throw line.error;
        // json: the command table itself, for generating a man page or shell completion
        io.out(
          format === 'json'
            ? `${JSON.stringify({ version: version(), globalOptions: GLOBAL_OPTIONS, commands: COMMANDS })}\n`
            : topHelp(version()),
        );
        return 0;
      }
      const spec = commandSpec(target);
      if (!spec) throw line.error ?? new NodenetError('USAGE', `unknown command '${target}'; see \`nodenet --help\``);
      io.out(format === 'json' ? `${JSON.stringify(spec)}\n` : commandHelp(spec));
      return 0;
    }
    if (line.version) {
      io.out(`nodenet ${version()}\n`);
      return 0;
    }
    if (line.error) throw line.error;
    if (!line.command) {
      io.err(topHelp(version()));
      return 2;
    }
    const cmd = await loadCommand(line.command);
    const root = resolve(line.globals.get('root') ?? '/');
    const backend = line.globals.get('backend');
    // Validation knows the NICs of the backend the config will be applied to: the sandbox's
    // under netns (the host's for --root / come from /sys/class/net); apply validates as edit did.
    const nics =
      backend === 'netns' && ['edit', 'setup', 'apply'].includes(line.command.module)
        ? await netnsNics(root)
        : undefined;
    color.on = io.tty && format === 'text' && !process.env.NO_COLOR;
    const ctx: CliContext = {
      root,
      node: line.globals.get('node') ?? (await import('node:os')).hostname().split('.')[0]!,
      format,
      out: io.out,
      err: io.err,
      tty: io.tty,
      core: makeCore(root, nics),
      ...(backend !== undefined ? { backend } : {}),
    };
    return await cmd.run(ctx, line.args);
  } catch (e) {
    return reportError(e, format, io);
  }
}

/**
 * The process's own stdout and stderr for {@link main}: text is written as the bytes it stands
 * for ({@link encodeText}: a byte of the file that is not UTF-8 is printed as that byte, as
 * `cat` and `diff` would), and a reader that goes away (`nodenet diff | head -5`) ends the
 * output quietly: the command itself runs to its end (an apply is never cut short by a closed
 * pipe), and nothing more is written to that stream.
 */
export function processIO(): RunIO {
  const stream = (s: NodeJS.WriteStream): ((text: string) => void) => {
    let closed = false;
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') closed = true;
      else throw e;
    });
    return (text) => {
      if (!closed) s.write(encodeText(text));
    };
  };
  return { out: stream(process.stdout), err: stream(process.stderr), tty: Boolean(process.stdout.isTTY) };
}

/** Map an error to stderr output and an exit code (the code table of src/errors.ts). */
export function reportError(e: unknown, format: OutputFormat, io: RunIO): number {
  if (isNodenetError(e)) {
    const code = exitCodeOf(e.code);
    if (format === 'json') {
      io.err(
        `${JSON.stringify({ error: { code: e.code, message: e.message, ...(e.errors ? { errors: e.errors } : {}), ...(e.diagnostics ? { diagnostics: e.diagnostics } : {}) } })}\n`,
      );
      return code;
    }
    let msg = `nodenet: ${e.message}\n`;
    if (e.diagnostics?.length) msg = `nodenet: the change was refused:\n${formatDiagnostics(e.diagnostics)}`;
    else if (e.errors) {
      const fields = Object.entries(e.errors);
      if (e.code === 'PARAM')
        msg = `nodenet: ${fields.map(([k, v]) => `${k === 'iface' ? 'interface' : `--${k}`}: ${v.trim()}`).join('\n         ')}\n`;
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
