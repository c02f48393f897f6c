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

/**
 * What a command does. What it is called, what it takes and its help live in the command table
 * (spec.ts); the parser has checked the arguments against it before run() is called.
 */
export interface Command {
  name: string;
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
