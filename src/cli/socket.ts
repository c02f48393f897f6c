/**
 * The CLI's fast path: a running `nodenet serve` answers read-only commands (`check`, `list`,
 * `get`, `diff`, `history`) over a root-only Unix socket (/run/nodenet/cli.sock under systemd:
 * RuntimeDirectory, mode 0700, the socket 0600), so `nodenet check` costs Node's start-up plus
 * warm code instead of loading and warming the whole program (bench/README.md, start-up).
 * bin/nodenet tries the socket first and runs the command itself when there is none.
 *
 * Protocol: the client sends one JSON line {argv, cwd, tty}; the server answers JSON lines
 * {out} / {err} (base64 of the bytes the CLI writes: a byte that is not UTF-8 stays that
 * byte, src/interfaces/bytes.ts) and finally {code}. Requests run one at a time (the CLI has process-wide
 * state such as colour).
 */
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { encodeText } from '../interfaces/bytes.ts';
import { main } from './main.ts';

/** Commands that only read, and may run in the server for the CLI. */
export const SOCKET_COMMANDS: ReadonlySet<string> = new Set(['check', 'list', 'get', 'diff', 'history']);

const GLOBAL_WITH_VALUE = new Set(['--root', '--node', '--output-format', '--backend']);

/**
 * argv with the paths a read-only command names (FILE of `check`, --root) made absolute
 * against the client's `cwd`; null when the command may not run over the socket.
 */
export function socketArgv(argv: readonly string[], cwd: string): string[] | null {
  const out: string[] = [];
  let cmd: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (GLOBAL_WITH_VALUE.has(flag)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) return null;
      out.push(flag, flag === '--root' && !isAbsolute(v) ? resolve(cwd, v) : v);
    } else if (a.startsWith('-')) {
      if (cmd === undefined) return null; // --help, --version, unknown global options: local
      out.push(a);
    } else if (cmd === undefined) {
      if (!SOCKET_COMMANDS.has(a)) return null;
      cmd = a;
      out.push(a);
    } else out.push(cmd === 'check' && a !== '-' && !isAbsolute(a) ? resolve(cwd, a) : a);
  }
  if (cmd === undefined || out.includes('-') || out.includes('--help')) return null;
  return out;
}

/** Serve the CLI socket at `path` (replacing a stale one); returns the server. */
export async function serveCliSocket(
  path: string,
  log: (msg: string, fields?: Record<string, unknown>) => void,
): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) rmSync(path);
  let queue: Promise<unknown> = Promise.resolve();
  const srv = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 64 * 1024) sock.destroy();
        return;
      }
      sock.pause();
      let req: { argv?: unknown; cwd?: unknown; tty?: unknown };
      try {
        req = JSON.parse(buf.slice(0, nl)) as typeof req;
      } catch {
        sock.destroy();
        return;
      }
      const argv =
        Array.isArray(req.argv) && req.argv.every((x) => typeof x === 'string') && typeof req.cwd === 'string'
          ? socketArgv(req.argv as string[], req.cwd)
          : null;
      if (!argv) {
        sock.end(`${JSON.stringify({ refused: true })}\n`);
        return;
      }
      const send = (o: object) => sock.write(`${JSON.stringify(o)}\n`);
      queue = queue.then(async () => {
        const code = await main(argv, {
          out: (s) => send({ out: encodeText(s).toString('base64') }),
          err: (s) => send({ err: encodeText(s).toString('base64') }),
          tty: req.tty === true,
        }).catch(() => 2);
        sock.end(`${JSON.stringify({ code })}\n`);
      });
    });
  });
  await new Promise<void>((res, rej) => {
    srv.once('error', rej);
    srv.listen(path, () => res());
  });
  chmodSync(path, 0o600);
  srv.unref();
  log('CLI socket listening', { socket: path });
  return srv;
}
