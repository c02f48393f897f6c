/**
 * The real demo for browser tests: `node scripts/demo.mjs --fresh --root TMP --listen 127.0.0.1:PORT`
 * (the netns backend with the real ifupdown2 when root), its printed login, and a stop that sends
 * SIGTERM like Ctrl-C would and waits for the demo to exit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface Demo {
  root: string;
  url: string;
  user: string;
  password: string;
  output: () => string;
  /** The demo's namespace names (from its root). */
  namespaces(): string[];
  /** SIGTERM, wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Namespaces whose name starts with `prefix`. */
export function namespacesLike(prefix: string): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

export function demoPrereqs(): string[] {
  return [
    process.getuid?.() !== 0 && 'root (the demo runs the netns backend)',
    !existsSync(join(REPO, 'dist/api/auth.js')) && 'dist/ (npm run build)',
    !existsSync('/usr/bin/chromium') && '/usr/bin/chromium (apt-get install chromium)',
  ].filter((x): x is string => typeof x === 'string');
}

export async function startDemo(): Promise<Demo> {
  const root = await fs.mkdtemp(join(tmpdir(), 'nodenet-demo-'));
  const port = await freePort();
  let out = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO, 'scripts/demo.mjs'), '--fresh', '--root', root, '--listen', `127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let login: { user: string; password: string };
  try {
    // ready when the server says it listens
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`the demo exited: ${out}`);
      if (/"msg":"listening"/.test(out)) break;
      if (i > 600) throw new Error(`the demo did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    login = JSON.parse(await fs.readFile(join(root, 'etc/nodenet/demo-login.json'), 'utf8')) as typeof login;
  } catch (e) {
    // leave nothing behind: the demo removes its namespace on SIGTERM
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await fs.rm(root, { recursive: true, force: true });
    throw e;
  }
  const { sandboxNames } = await import('../../src/apply/netns.ts');
  const names = sandboxNames(root);
  return {
    root,
    url: `https://127.0.0.1:${port}/`,
    user: login.user,
    password: login.password,
    output: () => out,
    namespaces: () => namespacesLike(names.ns),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await fs.rm(root, { recursive: true, force: true });
      return code;
    },
  };
}
