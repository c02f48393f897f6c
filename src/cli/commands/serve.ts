/** serve, user, token: the REST API server and its users and API tokens. */
import { BackendLinkInfo } from '../../apply/link-info.ts';
import { NetworkCore } from '../../core/network.ts';
import { hostNics } from '../../core/host.ts';
import { createBackend, type NetnsBackend } from '../../apply/backend.ts';
import { modelOf, nicsOf } from '../../apply/pipeline.ts';
import { serveApplySocket } from '../../apply/local-socket.ts';
import { PipelineApplyService } from '../../api/pipeline-service.ts';
import { createInterface } from 'node:readline';
import { NodenetError } from '../../errors.ts';
import { AuthStore } from '../../api/auth.ts';
import type { Role } from '../../api/auth.ts';
import { jsonLogger } from '../../api/logging.ts';
import { createServer } from '../../api/server.ts';
import { ensureTls } from '../../api/tls.ts';
import type { ParsedArgs } from '../args.ts';
import { onlyOptions, opt } from '../args.ts';
import type { CliContext, Command } from '../context.ts';

/** Parse `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT`. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v) ?? (/^\d{1,5}$/.test(v) ? [v, undefined, '127.0.0.1', v] : null);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new NodenetError('USAGE', `--listen wants HOST:PORT (e.g. 127.0.0.1:8006 or [::1]:8006), not '${v}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export const serve: Command = {
  name: 'serve',
  summary: 'the REST API (Proxmox VE /api2/json compatible) over HTTPS',
  usage: 'serve [--listen HOST:PORT] [--tls-key FILE --tls-cert FILE] [--fail-delay MS]',
  help: `Serves Proxmox VE's /api2/json network API for this root, over HTTPS. A self-signed key
and certificate are made at first start under ROOT/etc/nodenet/ (nodenet-ssl.key, 0600, and
nodenet-ssl.pem) unless --tls-key/--tls-cert are given. Logs go to stderr as JSON lines; every
change is recorded in ROOT/var/lib/nodenet/audit.log. SIGTERM/SIGINT stop it gracefully
(running apply tasks are waited for up to 10 s).

Users and tokens: \`nodenet user add\`, \`nodenet token add\`.

Options:
  --listen HOST:PORT   address to listen on (default 127.0.0.1:8006)
  --tls-key FILE       TLS private key (PEM)
  --tls-cert FILE      TLS certificate (PEM)
  --fail-delay MS      delay before answering a failed login (default 3000, as Proxmox VE)

Backends (--backend): ifupdown2 (the default for --root /: the host's real network), netns
(a private network namespace with veth NICs and the real ifupdown2 inside: the demo; the
namespace is brought up with the live file at start), none (the default for other roots:
apply makes the staged file live without reloading anything).

Example:
  nodenet --root /tmp/lab serve --listen 127.0.0.1:8006`,
  async run(ctx, args) {
    onlyOptions(args, ['listen', 'tls-key', 'tls-cert', 'fail-delay'], 'serve');
    const { host, port } = parseListen(opt(args, 'listen') ?? '127.0.0.1:8006');
    const backend = ctx.backend ?? (ctx.root === '/' ? 'ifupdown2' : 'none');
    if (backend !== 'none' && backend !== 'netns' && backend !== 'ifupdown2') throw new NodenetError('USAGE', `--backend must be ifupdown2, netns or none, not '${backend}'`);
    const be = createBackend(backend, { root: ctx.root });
    if (backend === 'netns') {
      // The demo: bring the namespace up with the live file, as a node would be at boot.
      const live = (await ctx.core().store.read()).live;
      await be.prepare(nicsOf(modelOf(live)));
      const r = await be.reload({ all: true }, () => undefined);
      for (const e of r.errors) if (e.severity === 'error') process.stderr.write(`nodenet: netns: ${e.iface ? `${e.iface}: ` : ''}${e.message}\n`);
      // Start the warm ifupdown2 worker now, in the background, so the first apply from the UI
      // does not pay its start (about what one cold ifupdown2 run costs); it falls back to
      // cold commands by itself when it cannot start.
      void (be as NetnsBackend)
        .warm()
        .then((w) => w?.start())
        .catch(() => undefined);
    }
    // `nodenet apply` on this node goes through this server (and its warm worker): local-socket.ts
    const sock = backend === 'none' ? undefined : await serveApplySocket({ root: ctx.root, backend: be, log: (m) => process.stderr.write(`nodenet: ${m}\n`) });
    const keyPath = opt(args, 'tls-key');
    const certPath = opt(args, 'tls-cert');
    if ((keyPath === undefined) !== (certPath === undefined)) throw new NodenetError('USAGE', '--tls-key and --tls-cert go together');
    const delay = opt(args, 'fail-delay');
    if (delay !== undefined && !/^\d{1,6}$/.test(delay)) throw new NodenetError('USAGE', `--fail-delay wants milliseconds, not '${delay}'`);
    const log = jsonLogger();
    const tls = await ensureTls(ctx.root, { ...(keyPath ? { keyPath } : {}), ...(certPath ? { certPath } : {}), names: [ctx.node] });
    if (tls.created) log('info', 'created a self-signed certificate', { cert: tls.certPath });
    const links = backend === 'none' ? undefined : new BackendLinkInfo(be);
    const nics = hostNics(ctx.root);
    const core = new NetworkCore({ root: ctx.root, ...(nics ? { nics } : {}), ...(links ? { host: links } : {}) });
    const srv = createServer({
      root: ctx.root,
      node: ctx.node,
      core,
      ...(links ? { linkState: () => links.refresh() } : {}),
      apply: new PipelineApplyService(ctx.root, be),
      ...(backend !== 'none' ? { sysctl: (argv: string[]) => be.exec(argv) } : {}),
      tls: { key: tls.key, cert: tls.cert },
      logger: log,
      ...(delay !== undefined ? { failDelayMs: Number(delay) } : {}),
    });
    const addr = await srv.listen(port, host);
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    log('info', 'listening', { url: `https://${shown}:${addr.port}/api2/json`, node: ctx.node, root: ctx.root, backend });
    if ((await srv.auth.listUsers()).length === 0) log('warn', 'no users yet: add one with `nodenet user add USER@pve`', { root: ctx.root });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log('info', 'shutting down', { signal });
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        void srv.close(10_000).then(resolve, resolve);
      };
      const onTerm = () => stop('SIGTERM');
      const onInt = () => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    await sock?.close();
    log('info', 'stopped');
    return 0;
  },
};

/** Read a password: from stdin when piped (or --password-stdin), else prompted twice on the terminal without echo. */
async function readPassword(args: ParsedArgs, ctx: CliContext): Promise<string> {
  if (opt(args, 'password-stdin') !== undefined || !process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
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
  summary: 'manage local users: user add | list | delete',
  usage: 'user add USERID [--password-stdin] [--role admin|audit] | user list | user delete USERID',
  booleans: ['password-stdin'],
  help: `Manages the API's local users (ROOT/etc/nodenet/users.json, mode 0600; scrypt password
hashes). USERID is NAME@pve (NAME@pam is accepted too, for clients that hard-code root@pam;
nodenet does not consult PAM: it is a local user like any other).

Roles: admin (default) may read and change (Sys.Audit, Sys.Modify); audit may only read.

Options:
  --password-stdin     read the password from stdin (else prompted twice on the terminal)
  --role ROLE          admin or audit

Examples:
  nodenet user add admin@pve
  echo 'secret' | nodenet user add ci@pve --password-stdin --role audit`,
  async run(ctx, args) {
    onlyOptions(args, ['password-stdin', 'role'], 'user');
    const [sub, id, ...more] = args.positionals;
    const store = new AuthStore(ctx.root);
    if (sub === 'add' && id !== undefined && !more.length) {
      const role = opt(args, 'role') ?? 'admin';
      if (role !== 'admin' && role !== 'audit') throw new NodenetError('USAGE', `--role must be admin or audit, not '${role}'`);
      const password = await readPassword(args, ctx);
      await store.addUser(id, password, role as Role);
      if (ctx.format === 'json') ctx.out(`${JSON.stringify({ userid: id, role })}\n`);
      else ctx.out(`user ${id} added (role ${role})\n`);
      return 0;
    }
    if (sub === 'list' && id === undefined) {
      const list = await store.listUsers();
      if (ctx.format === 'json') ctx.out(`${JSON.stringify(list)}\n`);
      else ctx.out(list.map((u) => `${u.userid}  ${u.role}${u.enable ? '' : ' (disabled)'}${u.tokens.length ? `  tokens: ${u.tokens.join(', ')}` : ''}\n`).join('') || 'no users\n');
      return 0;
    }
    if (sub === 'delete' && id !== undefined && !more.length) {
      if (!(await store.removeUser(id))) throw new NodenetError('USAGE', `no such user '${id}'`);
      ctx.out(ctx.format === 'json' ? `${JSON.stringify({ deleted: id })}\n` : `user ${id} deleted (with its tokens)\n`);
      return 0;
    }
    throw new NodenetError('USAGE', 'usage: nodenet user add USERID [--password-stdin] [--role admin|audit] | user list | user delete USERID');
  },
};

export const token: Command = {
  name: 'token',
  summary: 'manage API tokens: token add | list | delete',
  usage: 'token add USERID TOKENID [--privsep] | token list | token delete USERID!TOKENID',
  booleans: ['privsep'],
  help: `Manages API tokens (header \`Authorization: PVEAPIToken=USERID!TOKENID=SECRET\`). The secret
(a UUID) is printed once and stored only as a hash.

Options:
  --privsep    privilege separation: the token may only read (Sys.Audit), whatever the user's role;
               without it the token has the user's privileges

Examples:
  nodenet token add root@pam ci
  nodenet --output-format json token add admin@pve monitor --privsep`,
  async run(ctx, args) {
    onlyOptions(args, ['privsep'], 'token');
    const [sub, a, b, ...more] = args.positionals;
    const store = new AuthStore(ctx.root);
    if (sub === 'add' && a !== undefined && b !== undefined && !more.length) {
      const r = await store.addToken(a, b, opt(args, 'privsep') !== undefined);
      if (ctx.format === 'json') ctx.out(`${JSON.stringify(r)}\n`);
      else ctx.out(`full-tokenid: ${r['full-tokenid']}\nvalue:        ${r.value}\n(the value is shown only now; header: Authorization: PVEAPIToken=${r['full-tokenid']}=${r.value})\n`);
      return 0;
    }
    if (sub === 'list' && a === undefined) {
      const list = (await store.listUsers()).flatMap((u) => u.tokens);
      ctx.out(ctx.format === 'json' ? `${JSON.stringify(list)}\n` : list.map((t) => `${t}\n`).join('') || 'no tokens\n');
      return 0;
    }
    if (sub === 'delete' && a !== undefined && b === undefined) {
      if (!(await store.removeToken(a))) throw new NodenetError('USAGE', `no such token '${a}'`);
      ctx.out(ctx.format === 'json' ? `${JSON.stringify({ deleted: a })}\n` : `token ${a} deleted\n`);
      return 0;
    }
    throw new NodenetError('USAGE', 'usage: nodenet token add USERID TOKENID [--privsep] | token list | token delete USERID!TOKENID');
  },
};

export const commands: Command[] = [serve, user, token];
