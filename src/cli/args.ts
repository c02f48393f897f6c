/**
 * The strict, table-driven argument parser: what a word means comes from the command table
 * (spec.ts), never from a guess. The rule that matters most: a command never runs on words it
 * did not understand. `-h`/`--help` anywhere means "show help and do nothing else" (`nodenet
 * revert -h` must not drop the staged change), and an unknown option, a missing value or a
 * stray argument is a usage error (exit 2) before anything is read or written.
 */
import { NodenetError } from '../errors.ts';
import { didYouMean } from '../interfaces/suggest.ts';
import type { CommandSpec, OptionSpec } from './spec.ts';
import { COMMANDS, GLOBAL_OPTIONS, commandSpec } from './spec.ts';

export interface ParsedArgs {
  positionals: string[];
  /** Every option given; flags hold '1'; repeated options keep all values in order. */
  options: Map<string, string[]>;
}

export interface CommandLine {
  /** The command, when one was named (and exists). */
  command?: CommandSpec;
  args: ParsedArgs;
  /** Global options (root, node, output-format, backend), last value wins. */
  globals: Map<string, string>;
  help: boolean;
  version: boolean;
  /** The first usage error, when any; the caller reports it unless help or version was asked. */
  error?: NodenetError;
}

const usage = (msg: string): NodenetError => new NodenetError('USAGE', msg);

/** Words that are never an option's value when written as a separate word. */
const NEVER_VALUE = new Set(['-h', '--help', '-V', '--version']);

function find(opts: readonly OptionSpec[], long?: string, short?: string): OptionSpec | undefined {
  return opts.find((o) => (long !== undefined ? o.name === long : o.short === short));
}

/**
 * Parses a whole command line against the table. Never throws: the first problem is returned
 * in `error`, and parsing goes on so that a `--help` later on the line is still seen.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const out: CommandLine = {
    args: { positionals: [], options: new Map() },
    globals: new Map(),
    help: false,
    version: false,
  };
  const fail = (msg: string): void => {
    out.error ??= usage(msg);
  };
  let named: string | undefined;
  let endOfOptions = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const cmd = out.command;
    if (endOfOptions || a === '-' || !a.startsWith('-')) {
      if (named === undefined) {
        named = a;
        const c = commandSpec(a);
        if (c === undefined) {
          const near = didYouMean(
            a,
            COMMANDS.map((x) => x.name),
          );
          fail(`unknown command '${a}'${near ? ` (did you mean '${near}'?)` : ''}; see \`nodenet --help\``);
        } else out.command = c;
      } else out.args.positionals.push(a);
      continue;
    }
    if (a === '--') {
      endOfOptions = true;
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    let shown: string;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      if (eq !== -1) inline = a.slice(eq + 1);
      shown = `--${name}`;
      spec = find(cmd?.options ?? [], name) ?? find(GLOBAL_OPTIONS, name);
      if (spec === undefined) {
        const known = [...(cmd?.options ?? []), ...GLOBAL_OPTIONS].map((o) => o.name);
        const near = known.find((k) => k.replace(/[-_]/g, '') === name.replace(/[-_]/g, '')) ?? didYouMean(name, known);
        fail(
          `${cmd ? `${cmd.name}: ` : ''}unknown option ${shown}${near ? ` (did you mean --${near}?)` : ''}; see \`nodenet ${cmd ? `${cmd.name} ` : ''}--help\``,
        );
        continue;
      }
    } else {
      shown = a;
      spec = a.length === 2 ? find(GLOBAL_OPTIONS, undefined, a[1]) : undefined;
      if (spec === undefined) {
        fail(`${cmd ? `${cmd.name}: ` : ''}unknown option ${a}; see \`nodenet ${cmd ? `${cmd.name} ` : ''}--help\``);
        continue;
      }
    }
    if (spec.name === 'help' || spec.name === 'version') {
      if (inline !== undefined) fail(`${shown} takes no value`);
      else if (spec.name === 'help') out.help = true;
      else out.version = true;
      continue;
    }
    let value: string;
    if (spec.value === undefined) {
      if (inline !== undefined) {
        fail(`${shown} takes no value (got '${inline}')`);
        continue;
      }
      value = '1';
    } else if (inline !== undefined) value = inline;
    else {
      const next = argv[i + 1];
      // A value that looks like an option of this command line is a forgotten value, not data;
      // `--comments=--x` writes such a value on purpose.
      const looksLikeOption =
        next !== undefined &&
        (NEVER_VALUE.has(next) ||
          (/^--[A-Za-z]/.test(next) &&
            [...(cmd?.options ?? []), ...GLOBAL_OPTIONS].some((o) => next.slice(2).split('=')[0] === o.name)));
      if (next === undefined || looksLikeOption) {
        fail(
          `option ${shown} needs a value (${spec.value})${next !== undefined ? `; to give one starting with '-', write ${shown}=${next}` : ''}`,
        );
        continue;
      }
      value = next;
      i++;
    }
    if (spec.choices && !spec.choices.includes(value)) {
      fail(`${shown} must be one of ${spec.choices.join(', ')}, not '${value}'`);
      continue;
    }
    if (GLOBAL_OPTIONS.includes(spec)) {
      out.globals.set(spec.name, value);
      continue;
    }
    const have = out.args.options.get(spec.name);
    if (have && !spec.multiple) {
      fail(`${shown} was given twice`);
      continue;
    }
    if (have) have.push(value);
    else out.args.options.set(spec.name, [value]);
  }
  if (out.command) checkPositionals(out.command, out.args.positionals, fail);
  return out;
}

function checkPositionals(c: CommandSpec, given: readonly string[], fail: (m: string) => void): void {
  const min = c.positionals.filter((p) => !p.optional).length;
  const max = c.positionals.length;
  const want = c.positionals.map((p) => (p.optional ? `[${p.name}]` : p.name)).join(' ');
  if (given.length > max) {
    const stray = given
      .slice(max)
      .map((g) => `'${g}'`)
      .join(' ');
    fail(
      `${c.name}: unexpected argument${given.length - max > 1 ? 's' : ''} ${stray}${max ? ` (it takes ${want})` : ' (it takes none)'}; see \`nodenet ${c.name} --help\``,
    );
    return;
  }
  if (given.length < min) {
    fail(`${c.name} needs ${want}; see \`nodenet ${c.name} --help\``);
    return;
  }
  c.positionals.forEach((p, k) => {
    const v = given[k];
    if (v !== undefined && p.choices && !p.choices.includes(v))
      fail(`${c.name}: ${p.name} must be one of ${p.choices.join(', ')}, not '${v}'; see \`nodenet ${c.name} --help\``);
  });
}

/** The last value of an option, or undefined. */
export function opt(args: ParsedArgs, key: string): string | undefined {
  const l = args.options.get(key);
  return l ? l[l.length - 1] : undefined;
}

/**
 * Refuse options a command (or one of its modes) does not take. The table already refused
 * options the command has none of; this narrows to a mode (`setup routed` takes no --ports).
 */
export function onlyOptions(args: ParsedArgs, allowed: readonly string[], command: string): void {
  for (const k of args.options.keys()) {
    if (allowed.includes(k)) continue;
    throw new NodenetError(
      'USAGE',
      `${command}: option --${k} does not apply here; see \`nodenet ${command.split(' ')[0]} --help\``,
    );
  }
}
