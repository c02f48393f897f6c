/** serve, user, token: the REST API server and its users and API tokens. */
import { BackendLinkInfo } from '../../apply/link-info.ts';
import { NetworkCore } from '../../core/network.ts';
import { hostNics } from '../../core/host.ts';
import { createBackend, warmByDefault, type Ifupdown2Backend, type NetnsBackend } from '../../apply/backend.ts';
import { modelOf, nicsOf } from '../../apply/models.ts';
import { serveApplySocket } from '../../apply/local-socket.ts';
import { ApplyService } from '../../apply/service.ts';
import { createInterface } from 'node:readline';
import { NodenetError } from '../../errors.ts';
import { AuthStore } from '../../api/auth.ts';
import type { Role } from '../../api/auth.ts';
import { jsonLogger } from '../../api/logging.ts';
import { createServer, guardProcess } from '../../api/server.ts';
import { ensureTls } from '../../api/tls.ts';
import { journalExpired, readJournal } from '../../apply/guard.ts';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ParsedArgs } from '../args.ts';
import { onlyOptions, opt } from '../args.ts';
import type { CliContext, Command } from '../context.ts';
import { connect, parseEndpoints } from '../../fleet/etcd.ts';
import { FleetApi } from '../../fleet/api.ts';
import { Coordinator } from '../../fleet/coordinator.ts';

/** Parse `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT`. */
export function parseListen(v: string): { host: string; port: number } {
  const m =
    /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v) ??
    (/^\d{1,5}$/.test(v) ? [v, undefined, '127.0.0.1', v] : null);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new NodenetError('USAGE', `--listen wants HOST:PORT (e.g. 127.0.0.1:8006 or [::1]:8006), not '${v}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export const serve: Command = {
  name: 'serve',
  async run(ctx, args) {
    const env = process.env;
    onlyOptions(args, ['listen', 'tls-key', 'tls-cert', 'fail-delay', 'etcd'], 'serve');
    const etcdOpt = opt(args, 'etcd') ?? (env.NODENET_ETCD || undefined);
    const endpoints = etcdOpt === undefined ? undefined : parseEndpoints(etcdOpt);
    const { host, port } = listenAddress(opt(args, 'listen'), env, ctx.root);
    const node = await openNode(ctx);
    const { backend, be } = node;
    const keyPath = opt(args, 'tls-key') ?? (env.NODENET_TLS_KEY || undefined);
    const certPath = opt(args, 'tls-cert') ?? (env.NODENET_TLS_CERT || undefined);
    if ((keyPath === undefined) !== (certPath === undefined))
      throw new NodenetError('USAGE', '--tls-key and --tls-cert go together');
    const delay = opt(args, 'fail-delay');
    if (delay !== undefined && !/^\d{1,6}$/.test(delay))
      throw new NodenetError('USAGE', `--fail-delay wants milliseconds, not '${delay}'`);
    // Under systemd (stderr is the journal), `<N>` prefixes give each line its priority.
    const log = jsonLogger(undefined, 'info', { syslogPrefix: Boolean(env.JOURNAL_STREAM) });
    // A daemon: whatever escapes a handler is logged, never the end of the process.
    guardProcess(log);
    const { links, core, apply } = node;
    await rollbackExpired(apply, log);
    const sock = await node.socket();
    const tls = await ensureTls(ctx.root, {
      ...(keyPath ? { keyPath } : {}),
      ...(certPath ? { certPath } : {}),
      names: [ctx.node],
    });
    if (tls.created) log('info', 'created a self-signed certificate', { cert: tls.certPath });
    // Fleet mode: /nodes and every node's requests through etcd and the nodes' agents.
    const etcd = endpoints ? await connect(endpoints) : undefined;
    const srv = createServer({
      ...(etcd ? { remote: new FleetApi({ client: etcd, self: ctx.node }) } : {}),
      root: ctx.root,
      node: ctx.node,
      core,
      ...(links ? { linkState: () => links.refresh() } : {}),
      apply,
      ...(backend !== 'none' ? { sysctl: (argv: string[]) => be.exec(argv) } : {}),
      tls: { key: tls.key, cert: tls.cert },
      logger: log,
      ...(delay !== undefined ? { failDelayMs: Number(delay) } : {}),
    });
    // Every fleet server campaigns; the elected one advances the rollouts (coordinator.ts).
    const coordinator = etcd ? new Coordinator({ client: etcd, self: ctx.node, log }) : undefined;
    const addr = await srv.listen(port, host).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EADDRINUSE') throw e;
      throw new NodenetError(
        'IO',
        `${host}:${port} is already in use${port === 8006 ? " (on a Proxmox VE node, 8006 is pveproxy's)" : ''}: set NODENET_PORT in /etc/default/nodenet or pass --listen HOST:PORT`,
      );
    });
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    log('info', 'listening', {
      url: `https://${shown}:${addr.port}/api2/json`,
      node: ctx.node,
      root: ctx.root,
      backend,
      ...(endpoints ? { etcd: endpoints.join(',') } : {}),
    });
    coordinator?.start();
    if ((await srv.auth.listUsers()).length === 0)
      log('info', 'no users added: root@pam logs in with the system password; add others with `nodenet user add`', {
        root: ctx.root,
      });
    const onHup = () => {
      ensureTls(ctx.root, { keyPath: tls.keyPath, certPath: tls.certPath }).then(
        (t) => {
          (srv.server as unknown as import('node:tls').Server).setSecureContext({ key: t.key, cert: t.cert });
          log('info', 'reloaded the TLS key and certificate', { cert: t.certPath });
        },
        (e: unknown) =>
          log('error', 'could not reload the TLS key and certificate; keeping the old ones', {
            error: (e as Error).message,
          }),
      );
    };
    process.on('SIGHUP', onHup);
    // The CLI's fast path (src/cli/socket.ts): under systemd in RuntimeDirectory, else when asked.
    const sockPath =
      env.NODENET_CLI_SOCKET ||
      (ctx.root === '/' && env.RUNTIME_DIRECTORY ? join(env.RUNTIME_DIRECTORY.split(':')[0]!, 'cli.sock') : undefined);
    const cliSock = sockPath
      ? await import('../socket.ts').then(
          (m) => m.serveCliSocket(sockPath, (msg, f) => log('info', msg, f)),
          (e: unknown) => (log('warn', 'no CLI socket', { error: (e as Error).message }), undefined),
        )
      : undefined;
    sdNotify('READY=1');
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log('info', 'shutting down', { signal });
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        process.off('SIGHUP', onHup);
        sdNotify('STOPPING=1');
        cliSock?.close();
        void srv.close(10_000).then(resolve, resolve);
      };
      const onTerm = () => stop('SIGTERM');
      const onInt = () => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    await coordinator?.stop();
    await sock?.close();
    await be.close?.(); // the warm ifupdown2 worker
    etcd?.close();
    log('info', 'stopped');
    return 0;
  },
};

/** A node as `serve` and `agent` run it: its backend (brought up), core and apply service. */
export interface OpenNode {
  backend: 'ifupdown2' | 'netns' | 'none';
  be: ReturnType<typeof createBackend>;
  links: BackendLinkInfo | undefined;
  core: NetworkCore;
  apply: ApplyService;
  /** The apply socket `nodenet apply` on this root goes through (none for the `none` backend). */
  socket(): Promise<{ close(): Promise<void> } | undefined>;
}

/** Open the node of `ctx`: the backend (netns brought up with the live file), one core, one apply service. */
export async function openNode(ctx: CliContext): Promise<OpenNode> {
  const env = process.env;
  const backend = ctx.backend ?? (env.NODENET_BACKEND || undefined) ?? (ctx.root === '/' ? 'ifupdown2' : 'none');
  if (backend !== 'none' && backend !== 'netns' && backend !== 'ifupdown2')
    throw new NodenetError('USAGE', `--backend must be ifupdown2, netns or none, not '${backend}'`);
  // warm: targeted reloads through a long-lived ifupdown2 worker (NODENET_WARM=0: off)
  const be = createBackend(backend, { root: ctx.root, warm: warmByDefault() });
  // The host's worker starts now, in the background (see the netns comment below).
  if (backend === 'ifupdown2')
    void (be as Ifupdown2Backend)
      .warm()
      .then((w) => w?.start())
      .catch(() => undefined);
  if (backend === 'netns') {
    // The demo: bring the namespace up with the live file, as a node would be at boot.
    const live = (await ctx.core().store.read()).live;
    await be.prepare(nicsOf(modelOf(live)));
    const r = await be.reload({ all: true }, () => undefined);
    for (const e of r.errors)
      if (e.severity === 'error')
        process.stderr.write(`nodenet: netns: ${e.iface ? `${e.iface}: ` : ''}${e.message}\n`);
    // Start the warm ifupdown2 worker now, in the background, so the first apply from the UI
    // does not pay its start (about what one cold ifupdown2 run costs); it falls back to
    // cold commands by itself when it cannot start.
    void (be as NetnsBackend)
      .warm()
      .then((w) => w?.start())
      .catch(() => undefined);
  }
  const links = backend === 'none' ? undefined : new BackendLinkInfo(be);
  // Validation knows the NICs of the node it applies to: the sandbox's under netns.
  const sandboxNics = backend === 'netns' ? await be.nics?.() : undefined;
  const nics = sandboxNics ? new Set(sandboxNics) : hostNics(ctx.root);
  const core = new NetworkCore({ root: ctx.root, ...(nics ? { nics } : {}), ...(links ? { host: links } : {}) });
  // One apply service for the API and the CLI's socket: it validates with this core.
  const apply = new ApplyService({ root: ctx.root, backend: be, core, liveChanged: () => links?.invalidate() });
  // `nodenet apply` on this node goes through this server (and its warm worker): local-socket.ts
  const socket = async () =>
    backend === 'none'
      ? undefined
      : await serveApplySocket({
          root: ctx.root,
          backend: be,
          service: apply,
          log: (m) => process.stderr.write(`nodenet: ${m}\n`),
        });
  return { backend, be, links, core, apply, socket };
}

/** The port Proxmox VE's pveproxy owns. */
export const PVE_PORT = 8006;

/**
 * Where `serve` listens: --listen, else NODENET_LISTEN and NODENET_PORT, else 127.0.0.1 and
 * 8006 — 8007 on a Proxmox VE node (ROOT/etc/pve exists), where 8006 is refused.
 */
export function listenAddress(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  root: string,
): { host: string; port: number } {
  const pve = existsSync(join(root, 'etc/pve'));
  let r: { host: string; port: number };
  if (flag !== undefined) r = parseListen(flag);
  else {
    const h = env.NODENET_LISTEN || '127.0.0.1';
    const p = env.NODENET_PORT || String(pve ? PVE_PORT + 1 : PVE_PORT);
    if (!/^\d{1,5}$/.test(p)) throw new NodenetError('USAGE', `NODENET_PORT wants a port number, not '${p}'`);
    r = parseListen(`${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${p}`);
  }
  if (pve && r.port === PVE_PORT) {
    throw new NodenetError(
      'USAGE',
      `port ${PVE_PORT} belongs to Proxmox VE's pveproxy on this node (${join(root, 'etc/pve')} exists): set NODENET_PORT=${PVE_PORT + 1} (or another free port) in /etc/default/nodenet, or pass --listen HOST:PORT`,
    );
  }
  return r;
}

/** Rolls back an apply whose confirm window ran out (or whose guard died) while nothing watched it. */
export async function rollbackExpired(apply: ApplyService, log: ReturnType<typeof jsonLogger>): Promise<void> {
  const j = await readJournal(apply.root);
  if (j === null || !journalExpired(j)) return;
  log('warn', 'an apply was not confirmed before its deadline while the guard was gone: rolling back', { id: j.id });
  const reason = 'window expired while nodenet was not running';
  const done = await apply.rollbackUnconfirmed(
    { user: 'nodenet serve', ifExpired: true, noReload: false, reason },
    (l) => log('info', l),
  );
  if (done) log('warn', 'rolled back the unconfirmed apply', { id: j.id });
}

/**
 * sd_notify(3) without a library: Node has no Unix datagram sockets, so python3 (always there:
 * ifupdown2 runs on it) sends the datagram, with the unit's NotifyAccess=all. It lingers a
 * second so systemd can still read its cgroup when the message arrives.
 */
export function sdNotify(state: string): void {
  const sock = process.env.NOTIFY_SOCKET;
  if (!sock) return;
  const code = [
    'import socket,sys,time',
    'a=sys.argv[1]',
    "a='\\0'+a[1:] if a.startswith('@') else a",
    's=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)',
    's.connect(a)',
    's.send(sys.argv[2].encode())',
    'time.sleep(1)',
  ].join('\n');
  try {
    const c = spawn('python3', ['-c', code, sock, `${state}\nMAINPID=${process.pid}`], { stdio: 'ignore' });
    c.on('error', () => undefined);
    c.unref();
  } catch {
    // no python3: systemd's start timeout will say so
  }
}

/** Read a password: from stdin when piped (or --password-stdin), else prompted twice on the terminal without echo. */
async function readPassword(args: ParsedArgs, ctx: CliContext): Promise<string> {
  if (opt(args, 'password-stdin') !== undefined || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      const w = rl as unknown as { _writeToOutput: (s: string) => void };
      let prompted = false;
      w._writeToOutput = (s: string) => {
        if (!prompted) {
          process.stderr.write(s);
          prompted = true;
        }
      };
      rl.question(q, (a) => {
        rl.close();
        process.stderr.write('\n');
        resolve(a);
      });
    });
  const a = await ask('Password: ');
  const b = await ask('Retype password: ');
  if (a !== b) throw new NodenetError('USAGE', 'the passwords do not match');
  void ctx;
  return a;
}

export const user: Command = {
  name: 'user',
  async run(ctx, args) {
    onlyOptions(args, ['password-stdin', 'role'], 'user');
    const [sub, id, ...more] = args.positionals;
    const store = new AuthStore(ctx.root);
    if (sub === 'add' && id !== undefined && !more.length) {
      const role = opt(args, 'role') ?? 'admin';
      if (role !== 'admin' && role !== 'audit')
        throw new NodenetError('USAGE', `--role must be admin or audit, not '${role}'`);
      const pam = id.endsWith('@pam') && opt(args, 'password-stdin') === undefined;
      const password = pam ? null : await readPassword(args, ctx);
      await store.addUser(id, password, role as Role);
      if (ctx.format === 'json') ctx.out(`${JSON.stringify({ userid: id, role })}\n`);
      else ctx.out(`user ${id} added (role ${role}${pam ? '; password checked by PAM' : ''})\n`);
      return 0;
    }
    if (sub === 'list' && id === undefined) {
      const list = await store.listUsers();
      if (ctx.format === 'json') ctx.out(`${JSON.stringify(list)}\n`);
      else
        ctx.out(
          list
            .map(
              (u) =>
                `${u.userid}  ${u.role}${u.enable ? '' : ' (disabled)'}${u.tokens.length ? `  tokens: ${u.tokens.join(', ')}` : ''}\n`,
            )
            .join('') || 'no users\n',
        );
      return 0;
    }
    if (sub === 'delete' && id !== undefined && !more.length) {
      if (!(await store.removeUser(id))) throw new NodenetError('USAGE', `no such user '${id}'`);
      ctx.out(
        ctx.format === 'json' ? `${JSON.stringify({ deleted: id })}\n` : `user ${id} deleted (with its tokens)\n`,
      );
      return 0;
    }
    throw new NodenetError(
      'USAGE',
      'usage: nodenet user add USERID [--password-stdin] [--role admin|audit] | user list | user delete USERID',
    );
  },
};

export const token: Command = {
  name: 'token',
  async run(ctx, args) {
    onlyOptions(args, ['privsep'], 'token');
    const [sub, a, b, ...more] = args.positionals;
    const store = new AuthStore(ctx.root);
    if (sub === 'add' && a !== undefined && b !== undefined && !more.length) {
      const r = await store.addToken(a, b, opt(args, 'privsep') !== undefined);
      if (ctx.format === 'json') ctx.out(`${JSON.stringify(r)}\n`);
      else
        ctx.out(
          `full-tokenid: ${r['full-tokenid']}\nvalue:        ${r.value}\n(the value is shown only now; header: Authorization: PVEAPIToken=${r['full-tokenid']}=${r.value})\n`,
        );
      return 0;
    }
    if (sub === 'list' && a === undefined) {
      const list = (await store.listUsers()).flatMap((u) => u.tokens);
      ctx.out(
        ctx.format === 'json' ? `${JSON.stringify(list)}\n` : list.map((t) => `${t}\n`).join('') || 'no tokens\n',
      );
      return 0;
    }
    if (sub === 'delete' && a !== undefined && b === undefined) {
      if (!(await store.removeToken(a))) throw new NodenetError('USAGE', `no such token '${a}'`);
      ctx.out(ctx.format === 'json' ? `${JSON.stringify({ deleted: a })}\n` : `token ${a} deleted\n`);
      return 0;
    }
    throw new NodenetError(
      'USAGE',
      'usage: nodenet token add USERID TOKENID [--privsep] | token list | token delete USERID!TOKENID',
    );
  },
};

export const commands: Command[] = [serve, user, token];
