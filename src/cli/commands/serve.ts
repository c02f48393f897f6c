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
import { createServer, guardProcess } from '../../api/server.ts';
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
    // A daemon: whatever escapes a handler is logged, never the end of the process.
    guardProcess(log);
    const tls = await ensureTls(ctx.root, { ...(keyPath ? { keyPath } : {}), ...(certPath ? { certPath } : {}), names: [ctx.node] });
    if (tls.created) log('info', 'created a self-signed certificate', { cert: tls.certPath });
    const links = backend === 'none' ? undefined : new BackendLinkInfo(be);
    // Validation knows the NICs of the node it applies to: the sandbox's under netns.
    const sandboxNics = backend === 'netns' ? await be.nics?.() : undefined;
    const nics = sandboxNics ? new Set(sandboxNics) : hostNics(ctx.root);
    const core = new NetworkCore({ root: ctx.root, ...(nics ? { nics } : {}), ...(links ? { host: links } : {}) });
    const srv = createServer({
      root: ctx.root,
      node: ctx.node,
      core,
      ...(links ? { linkState: () => links.refresh() } : {}),
      apply: new PipelineApplyService(ctx.root, be, () => links?.invalidate()),
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
