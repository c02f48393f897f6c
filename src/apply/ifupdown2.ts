/**
 * Locating ifupdown2: the host's installed package (the `ifupdown2` backend) or a copy unpacked
 * from Debian's .deb into a cache (the `netns` sandbox, which must not install anything).
 *
 * Facts (../shared/research/ifupdown2.md §0.3): which command runs is decided by the end of
 * argv[0] (`ifup|ifdown|ifquery|ifreload`), and the script's `#!/usr/bin/env python3` shebang may
 * find a python without ifupdown2's needs (pyenv here), so the unpacked copy gets small wrappers
 * that exec Debian's `/usr/bin/python3` on a symlink whose name ends with the command.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodenetError } from '../errors.ts';
import { createRunner, runChecked, type Runner } from './runner.ts';

/** The four ifupdown2 commands; each is a name ifupdown2 recognises at the end of argv[0]. */
export type Ifupdown2Command = 'ifreload' | 'ifup' | 'ifdown' | 'ifquery';
export const IFUPDOWN2_COMMANDS: readonly Ifupdown2Command[] = ['ifreload', 'ifup', 'ifdown', 'ifquery'];

/** Debian's python: the one whose stdlib ifupdown2 3.0.0 was packaged against. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** A usable ifupdown2. */
export interface Ifupdown2Install {
  kind: 'host' | 'unpacked';
  /** Package version, e.g. `3.0.0-1.1` (dpkg's, else the python package's `__version__`). */
  version: string;
  /** The directory holding `__main__.py`. */
  shareDir: string;
  /** The package's own `ifupdown2.conf` + `addons.conf` directory (a template for the sandbox). */
  confDir: string;
  /** Absolute path of each command (host: /usr/sbin/X; unpacked: our wrapper). */
  commands: Record<Ifupdown2Command, string>;
  /** Directory holding the commands, to put first on PATH. */
  binDir: string;
}

/** `ifupdown2 3.0.0-1.1, unpacked` — for describe() and task logs. */
export function describeInstall(i: Ifupdown2Install): string {
  return `ifupdown2 ${i.version}, ${i.kind === 'host' ? 'installed' : 'unpacked'}`;
}

const HOST_SHARE = '/usr/share/ifupdown2';
/** usrmerge hosts have both; pre-usrmerge ones only /sbin. */
const HOST_SBIN = ['/usr/sbin', '/sbin'];

/**
 * Finds the host's installed ifupdown2 (for the `ifupdown2` backend on `--root /`).
 * Throws NodenetError('BACKEND') naming what is missing and how to install it.
 */
export async function findHostIfupdown2(run: Runner = createRunner()): Promise<Ifupdown2Install> {
  const sbin = HOST_SBIN.find((d) => existsSync(join(d, 'ifreload')));
  if (sbin === undefined || !existsSync(join(HOST_SHARE, '__main__.py'))) {
    throw new NodenetError(
      'BACKEND',
      'ifupdown2 is not installed (no /usr/sbin/ifreload or /usr/share/ifupdown2); ' +
        'install it with `apt install ifupdown2`, or use --backend netns or --backend none',
    );
  }
  let version = '';
  try {
    const r = await run('dpkg-query', ['-W', '-f', '${Version}', 'ifupdown2']);
    if (r.code === 0) version = r.stdout.trim();
  } catch {
    // no dpkg (not Debian): fall back to the python package's version below
  }
  if (version === '') version = await pythonVersion(HOST_SHARE);
  const commands = Object.fromEntries(IFUPDOWN2_COMMANDS.map((c) => [c, join(sbin, c)])) as Record<
    Ifupdown2Command,
    string
  >;
  return { kind: 'host', version, shareDir: HOST_SHARE, confDir: '/etc/network/ifupdown2', commands, binDir: sbin };
}

async function pythonVersion(shareDir: string): Promise<string> {
  try {
    const text = await readFile(join(shareDir, '__init__.py'), 'utf8');
    return /__version__\s*=\s*['"]([^'"]+)['"]/.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The repository root: the nearest ancestor of this module holding a package.json (works from
 * `src/apply/` under tsx and from `dist/src/apply/` after a build).
 */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Where the unpacked copy lives: `$NODENET_IFUPDOWN2_DIR`, else `<repo>/.cache/ifupdown2`. */
export function defaultIfupdown2CacheDir(): string {
  const env = process.env['NODENET_IFUPDOWN2_DIR'];
  return env !== undefined && env !== '' ? resolve(env) : join(repoRoot(), '.cache', 'ifupdown2');
}

/** Name of the finished copy inside the cache dir; appears only once complete (atomic rename). */
const UNPACKED = 'unpacked';
/** Marker file written last inside the copy; its content is the package version. */
const VERSION_FILE = 'VERSION';

function unpackedInstall(dir: string, version: string): Ifupdown2Install {
  const binDir = join(dir, 'bin');
  const commands = Object.fromEntries(IFUPDOWN2_COMMANDS.map((c) => [c, join(binDir, c)])) as Record<
    Ifupdown2Command,
    string
  >;
  return {
    kind: 'unpacked',
    version,
    shareDir: join(dir, 'root', 'usr', 'share', 'ifupdown2'),
    confDir: join(dir, 'root', 'etc', 'network', 'ifupdown2'),
    commands,
    binDir,
  };
}

/**
 * Returns the cached unpacked ifupdown2, preparing it first if needed: `apt-get download
 * ifupdown2` (or a `ifupdown2_*.deb` already in the cache dir), `dpkg-deb -x`, wrappers.
 * Safe when several processes prepare at once: each builds in its own temp dir and renames it
 * into place; the loser discards its copy. Nothing outside `cacheDir` is written.
 */
export async function prepareUnpackedIfupdown2(
  opts: { run?: Runner; cacheDir?: string } = {},
): Promise<Ifupdown2Install> {
  const run = opts.run ?? createRunner();
  const cacheDir = opts.cacheDir ?? defaultIfupdown2CacheDir();
  const final = join(cacheDir, UNPACKED);
  const ready = await readReady(final);
  if (ready !== undefined) {
    // Copies unpacked before byte-compiling was added get their bytecode now.
    if (!existsSync(join(final, 'root', 'usr', 'share', 'ifupdown2', '__pycache__')))
      await byteCompile(run, join(final, 'root'));
    return unpackedInstall(final, ready);
  }

  await mkdir(cacheDir, { recursive: true });
  const tmp = join(cacheDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const deb = await obtainDeb(run, cacheDir, tmp);
    const version = (await runChecked(run, 'dpkg-deb', ['-f', deb, 'Version'])).trim() || 'unknown';
    await runChecked(run, 'dpkg-deb', ['-x', deb, join(tmp, 'root')]);
    if (!existsSync(join(tmp, 'root', 'usr', 'share', 'ifupdown2', '__main__.py'))) {
      throw new NodenetError('BACKEND', `${deb} does not contain usr/share/ifupdown2/__main__.py`);
    }
    await byteCompile(run, join(tmp, 'root'));
    await writeWrappers(join(tmp, 'bin'));
    await writeFile(join(tmp, VERSION_FILE), `${version}\n`);
    try {
      await rename(tmp, final);
    } catch (e) {
      // Another process finished first (rename onto a non-empty dir fails): use theirs.
      const theirs = await readReady(final);
      if (theirs === undefined) throw e;
      await rm(tmp, { recursive: true, force: true });
      return unpackedInstall(final, theirs);
    }
    return unpackedInstall(final, version);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (e instanceof NodenetError) throw e;
    throw new NodenetError('BACKEND', `cannot prepare ifupdown2 in ${cacheDir}: ${String(e)}`, { cause: e });
  }
}

/**
 * Byte-compile the unpacked Python sources, as the package's postinst does (py3compile).
 * Without it every ifupdown2 run compiles its modules again: about 170 ms of each run here
 * (ifquery -a on 1000 bridges: ~500 ms -> ~330 ms), which is most of a targeted reload.
 */
async function byteCompile(run: Runner, root: string): Promise<void> {
  const r = await run(SYSTEM_PYTHON, ['-m', 'compileall', '-q', join(root, 'usr', 'share', 'ifupdown2')], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0)
    throw new NodenetError(
      'BACKEND',
      `byte-compiling ifupdown2 failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
}

async function readReady(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, VERSION_FILE), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** A .deb left in the cache dir (e.g. copied in by CI) wins over the network. Kept for next time. */
async function obtainDeb(run: Runner, cacheDir: string, tmp: string): Promise<string> {
  const cached = (await readdir(cacheDir)).filter((f) => /^ifupdown2_.*\.deb$/.test(f)).sort();
  const last = cached.at(-1);
  if (last !== undefined) return join(cacheDir, last);
  // apt-get download writes into its working directory. It normally drops to user _apt for
  // the download, which cannot write our root-owned temp dir (only a warning, but noise).
  const r = await run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', 'ifupdown2'], {
    cwd: tmp,
    env: { LC_ALL: 'C' },
    timeoutMs: 120_000, // a 226 kB download; two minutes covers a slow mirror, not a hang
  });
  const got = (await readdir(tmp)).find((f) => /^ifupdown2_.*\.deb$/.test(f));
  if (got === undefined) {
    throw new NodenetError(
      'BACKEND',
      `apt-get download ifupdown2 failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-2).join(' / ')}; ` +
        'run `apt-get update` first, or put ifupdown2_*.deb into the cache dir',
    );
  }
  // Keep the .deb beside the copy so a wiped copy can be rebuilt offline.
  const keep = join(cacheDir, got);
  try {
    await rename(join(tmp, got), keep);
  } catch {
    return join(tmp, got);
  }
  return keep;
}

/**
 * Wrappers `bin/ifreload` etc.: `exec /usr/bin/python3 bin/.ifreload "$@"` where `.ifreload` is a
 * relative symlink to `__main__.py`. Relative paths so the directory can be renamed into place.
 */
async function writeWrappers(binDir: string): Promise<void> {
  await mkdir(binDir);
  for (const c of IFUPDOWN2_COMMANDS) {
    await symlink(join('..', 'root', 'usr', 'share', 'ifupdown2', '__main__.py'), join(binDir, `.${c}`));
    const script = `#!/bin/sh\n# ifupdown2 picks the command from the end of argv[0]\nexec ${SYSTEM_PYTHON} "$(dirname "$0")/.${c}" "$@"\n`;
    await writeFile(join(binDir, c), script);
    await chmod(join(binDir, c), 0o755);
  }
}
