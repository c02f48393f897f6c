/** A small, strict argument parser: `--key value`, `--key=value`, repeated keys, positionals. */
import { NodenetError } from '../errors.ts';

export interface ParsedArgs {
  positionals: string[];
  /** Every `--key value`; repeated keys keep all values in order. */
  options: Map<string, string[]>;
}

/**
 * Parse `argv`. Flags listed in `booleans` take no value (`--now`); every other `--key`
 * takes the next word as its value (values may start with `-`, e.g. `--comments -x`).
 */
export function parseArgs(argv: readonly string[], booleans: ReadonlySet<string> = new Set()): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  const add = (k: string, v: string) => {
    const l = options.get(k);
    if (l) l.push(v);
    else options.set(k, [v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const key = eq === -1 ? a.slice(2) : a.slice(2, eq);
      if (eq !== -1) add(key, a.slice(eq + 1));
      else if (booleans.has(key) || key === 'help') add(key, '1');
      else {
        const v = argv[i + 1];
        if (v === undefined) throw new NodenetError('USAGE', `option --${key} needs a value`);
        add(key, v);
        i++;
      }
    } else positionals.push(a);
  }
  return { positionals, options };
}

/** The last value of an option, or undefined. */
export function opt(args: ParsedArgs, key: string): string | undefined {
  const l = args.options.get(key);
  return l ? l[l.length - 1] : undefined;
}

/** Refuse options a command does not know, suggesting the closest. */
export function onlyOptions(args: ParsedArgs, allowed: readonly string[], command: string): void {
  for (const k of args.options.keys()) {
    if (k === 'help' || allowed.includes(k)) continue;
    throw new NodenetError('USAGE', `${command}: unknown option --${k}${suggest(k, allowed)}; see \`nodenet ${command} --help\``);
  }
}

function suggest(k: string, allowed: readonly string[]): string {
  const near = allowed.find((a) => a.replace(/[-_]/g, '') === k.replace(/[-_]/g, ''));
  return near ? ` (did you mean --${near}?)` : '';
}
