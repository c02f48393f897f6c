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

/**
 * The core for a root. `backendNics`: the NICs of the backend the config will be applied to
 * (the netns sandbox's); without them, the host's for `--root /`.
 */
export function makeCore(root: string, backendNics?: ReadonlySet<string>): () => NetworkCore {
  let core: NetworkCore | undefined;
  return () => {
    if (core) return core;
    const nics = backendNics ?? hostNics(root);
    const host = hostLinkInfo(root);
    core = new NetworkCore({ root, ...(nics ? { nics } : {}), ...(host ? { host } : {}) });
    return core;
  };
}

/**
 * The NICs of the netns backend's sandbox for `root`: its veth NICs once it exists, else the
 * NICs the live file names (those the first apply makes it with).
 */
export async function netnsNics(root: string): Promise<Set<string>> {
  const { createNetnsBackend } = await import('../apply/backend.ts');
  const have = await createNetnsBackend({ root }).nics();
  if (have !== null) return new Set(have);
  const { modelOf, nicsOf } = await import('../apply/pipeline.ts');
  const { ConfigStore } = await import('../store/store.ts');
  return new Set(nicsOf(modelOf((await new ConfigStore(root).read()).live)));
}
