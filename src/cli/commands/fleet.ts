/** agent: this node's member of a fleet on etcd (docs/fleet.md). */
import { NodenetError } from '../../errors.ts';
import { version as packageVersion } from '../../version.ts';
import { jsonLogger } from '../../api/logging.ts';
import { createServer, guardProcess } from '../../api/server.ts';
import { Agent } from '../../fleet/agent.ts';
import { NODE_NAME, connect, parseEndpoints } from '../../fleet/etcd.ts';
import { hostname } from 'node:os';
import { createRollout, getRollout, listRollouts, parseSpec, requestAction } from '../../fleet/rollout.ts';
import type { RolloutView } from '../../fleet/rollout.ts';
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

const ROLLOUT_OPTIONS = [
  'etcd',
  'nodes',
  'ops',
  'template',
  'setup',
  'setup-params',
  'values',
  'canary',
  'max-unavailable',
  'max-failures',
  'confirm-timeout',
  'on-failure',
  'probes',
  'start',
] as const;

/** rollout: the fleet's rollouts, straight from etcd (the API's /cluster/network/rollouts). */
export const rollout: Command = {
  name: 'rollout',
  async run(ctx, args) {
    onlyOptions(args, ROLLOUT_OPTIONS, 'rollout');
    const [action, id, ...rest] = args.positionals;
    const actions = ['list', 'show', 'create', 'start', 'halt', 'rollback'];
    if (!action || !actions.includes(action) || rest.length)
      throw new NodenetError('USAGE', `rollout wants one of ${actions.join(', ')} (see nodenet help rollout)`);
    const needsId = action !== 'list' && action !== 'create';
    if (needsId !== (id !== undefined))
      throw new NodenetError(
        'USAGE',
        needsId ? `rollout ${action} wants a rollout ID` : `rollout ${action} takes no ID`,
      );
    const etcdOpt = opt(args, 'etcd') ?? (process.env.NODENET_ETCD || undefined);
    if (etcdOpt === undefined) throw new NodenetError('USAGE', 'rollout needs --etcd URLS (or NODENET_ETCD)');
    const endpoints = parseEndpoints(etcdOpt);
    // Whoever can run this with access to etcd acts as root; the record says from where.
    const user = `root@pam (cli on ${hostname()})`;
    const client = await connect(endpoints);
    try {
      const show = (v: unknown, text: string) =>
        ctx.out(ctx.format === 'json' ? `${JSON.stringify(v)}\n` : text.endsWith('\n') ? text : `${text}\n`);
      if (action === 'list') {
        const l = await listRollouts(client);
        show(
          l,
          l.length
            ? l
                .map(
                  (r) =>
                    `${r.id}  ${r.state.padEnd(12)} ${r.user}  ${r.created}  ${Object.entries(r.counts)
                      .filter(([, n]) => n > 0)
                      .map(([k, n]) => `${k}=${n}`)
                      .join(' ')}`,
                )
                .join('\n')
            : 'no rollouts',
        );
        return 0;
      }
      if (action === 'create') {
        const params: Record<string, string> = {};
        for (const k of ROLLOUT_OPTIONS) {
          const v = opt(args, k);
          if (k !== 'etcd' && v !== undefined) params[k] = v;
        }
        const spec = parseSpec(params);
        const newId = await createRollout(client, spec, user);
        show({ id: newId }, newId);
        return 0;
      }
      const v =
        action === 'show'
          ? await getRollout(client, id!)
          : await requestAction(client, id!, action as 'start' | 'halt' | 'rollback', user);
      show(v, describe(v));
      return 0;
    } finally {
      client.close();
    }
  },
};

function describe(v: RolloutView): string {
  const lines = [`rollout ${v.id}: ${v.state}${v.reason ? ` (${v.reason})` : ''}`, `by ${v.user}, ${v.created}`];
  if (v.request) lines.push(`asked: ${v.request.action} by ${v.request.user}`);
  for (const n of v.nodes) lines.push(`  ${n.node.padEnd(16)} ${n.state}${n.error ? `: ${n.error}` : ''}`);
  lines.push('events:');
  for (const e of v.events) lines.push(`  ${e.ts}  ${e.user}${e.node ? ` [${e.node}]` : ''}  ${e.msg}`);
  return lines.join('\n');
}

export const commands: Command[] = [agent, rollout];
