import { NetworkCore } from '../core/network.ts';
import { hostLinkInfo, hostNics } from '../core/host.ts';
import type { ParsedArgs } from './args.ts';

export type OutputFormat = 'text' | 'json';

export interface CliContext {
  root: string;
  node: string;
  format: OutputFormat;
  /** Write to stdout / stderr (injected so tests can capture). */
  out: (s: string) => void;
  err: (s: string) => void;
  /** Whether stdout is a terminal (colours, progress). */
  tty: boolean;
  /** Global `--backend`, when given. */
  backend?: string;
  core(): NetworkCore;
}

export interface Command {
  name: string;
  /** One line for `nodenet --help`. */
  summary: string;
  /** Usage line(s) after `nodenet [global options] `. */
  usage: string;
  /** The long help: what it does, options, examples. */
  help: string;
  /** Options that take no value. */
  booleans?: readonly string[];
  /** Returns the exit code. */
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

export function makeCore(root: string): () => NetworkCore {
  let core: NetworkCore | undefined;
  return () => {
    if (core) return core;
    const nics = hostNics(root);
    const host = hostLinkInfo(root);
    core = new NetworkCore({ root, ...(nics ? { nics } : {}), ...(host ? { host } : {}) });
    return core;
  };
}
