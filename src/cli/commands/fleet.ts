/** agent: this node's member of a fleet on etcd (docs/fleet.md). */
import { NodenetError } from '../../errors.ts';
import { version as packageVersion } from '../../version.ts';
import { jsonLogger } from '../../api/logging.ts';
import { createServer, guardProcess } from '../../api/server.ts';
import { Agent } from '../../fleet/agent.ts';
import { NODE_NAME, connect, parseEndpoints } from '../../fleet/etcd.ts';
import { onlyOptions, opt } from '../args.ts';
import type { Command } from '../context.ts';
import { openNode, rollbackExpired, sdNotify } from './serve.ts';

export const agent: Command = {
  name: 'agent',
  async run(ctx, args) {
    onlyOptions(args, ['etcd', 'ttl'], 'agent');
    const env = process.env;
    const etcdOpt = opt(args, 'etcd') ?? (env.NODENET_ETCD || undefined);
    if (etcdOpt === undefined) throw new NodenetError('USAGE', 'agent needs --etcd URLS (or NODENET_ETCD)');
    const endpoints = parseEndpoints(etcdOpt);
    if (!NODE_NAME.test(ctx.node))
      throw new NodenetError('USAGE', `--node wants a node name (letters, digits, '-'), not '${ctx.node}'`);
    const ttlOpt = opt(args, 'ttl') ?? '10';
    if (!/^\d{1,4}$/.test(ttlOpt) || Number(ttlOpt) < 2 || Number(ttlOpt) > 3600)
      throw new NodenetError('USAGE', `--ttl wants seconds from 2 to 3600, not '${ttlOpt}'`);
    const node = await openNode(ctx);
    const { backend, be, links, core, apply } = node;
    const log = jsonLogger(undefined, 'info', { syslogPrefix: Boolean(env.JOURNAL_STREAM) });
    guardProcess(log);
    await rollbackExpired(apply, log);
    // `nodenet apply` on this node goes through the agent's warm path, as through serve's.
    const sock = await node.socket();
    // The node's routes, as `serve` runs them, without listening: requests come through etcd.
    const srv = createServer({
      root: ctx.root,
      node: ctx.node,
      core,
      apply,
      ...(links ? { linkState: () => links.refresh() } : {}),
      ...(backend !== 'none' ? { sysctl: (argv: string[]) => be.exec(argv) } : {}),
      tls: false,
      ui: false,
      logger: log,
    });
    const client = await connect(endpoints);
    const version = packageVersion('0.0.0');
    const a = new Agent({
      client,
      deps: srv.deps,
      node: ctx.node,
      version,
      backend,
      root: ctx.root,
      ttlSeconds: Number(ttlOpt),
      log,
    });
    await a.start();
    log('info', 'agent running', { node: ctx.node, etcd: endpoints.join(','), root: ctx.root, backend });
    sdNotify('READY=1');
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log('info', 'shutting down', { signal });
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        sdNotify('STOPPING=1');
        resolve();
      };
      const onTerm = () => stop('SIGTERM');
      const onInt = () => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
    await a.stop();
    await srv.close(10_000);
    await sock?.close();
    await be.close?.();
    client.close();
    log('info', 'stopped');
    return 0;
  },
};

export const commands: Command[] = [agent];
