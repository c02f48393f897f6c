/**
 * The rollout API (nodenet extension, fleet servers only: `serve --etcd`): list, create, read a
 * rollout, and ask for start, halt or rollback (docs/api.md, docs/fleet.md "Rollouts"). Any API
 * server answers; only the elected coordinator (coordinator.ts) acts on them.
 */
import type { Etcd3 } from 'etcd3';
import { etcdDown, keys } from './etcd.ts';
import { paramError } from '../errors.ts';
import type { Route } from '../api/routes.ts';
import { createRollout, getRollout, listRollouts, parseSpec, requestAction } from './rollout.ts';
import type { RolloutRequest } from './rollout.ts';

const ID_PARAMS = [] as const;

export function rolloutRoutes(client: Etcd3): Route[] {
  const action = (name: RolloutRequest['action'], summary: string): Route => ({
    method: 'POST',
    path: `/cluster/network/rollouts/{id}/${name}`,
    summary,
    params: ID_PARAMS,
    perm: 'Sys.Modify',
    extension: true,
    returns: { type: 'object' },
    async handler(ctx) {
      return { data: await requestAction(client, String(ctx.path.id), name, ctx.principal!.id) };
    },
  });
  return [
    {
      method: 'GET',
      path: '/cluster/network/rollouts',
      summary: 'Rollouts, newest first, with the number of nodes in each state.',
      params: [],
      perm: 'Sys.Audit',
      extension: true,
      returns: { type: 'array', items: { type: 'object' } },
      async handler() {
        return { data: await listRollouts(client) };
      },
    },
    {
      method: 'POST',
      path: '/cluster/network/rollouts',
      summary: 'Start a rollout of one change (ops, template or setup) to several nodes.',
      description:
        'Stages the change on every node (refusing a node with staged changes or a running apply), then applies it to the canary nodes and then in waves of at most max-unavailable, checking (verify, probes) and confirming each node; halts at max-failures and, with on-failure=rollback, rolls back the nodes already confirmed.',
      params: [
        { name: 'nodes', type: 'string', description: 'Comma-separated node names.' },
        { name: 'ops', type: 'string', optional: true, description: 'JSON array of {method, iface, params}.' },
        { name: 'template', type: 'string', optional: true, multiline: true, description: 'A whole interfaces file.' },
        {
          name: 'setup',
          type: 'string',
          optional: true,
          enum: ['bridged', 'routed', 'nat'],
          description: 'Setup mode.',
        },
        { name: 'setup-params', type: 'string', optional: true, description: 'JSON object: the setup parameters.' },
        { name: 'values', type: 'string', optional: true, description: 'JSON {"node":{"VAR":"value"}} for {{VAR}}.' },
        { name: 'canary', type: 'integer', optional: true, minimum: 0, description: 'Canary nodes (default 1).' },
        { name: 'max-unavailable', type: 'integer', optional: true, minimum: 1, description: 'Wave size (default 1).' },
        {
          name: 'max-failures',
          type: 'integer',
          optional: true,
          minimum: 1,
          description: 'Halt at this many (default 1).',
        },
        {
          name: 'confirm-timeout',
          type: 'integer',
          optional: true,
          minimum: 5,
          maximum: 3600,
          description: 'Confirm window per node, seconds (default 60).',
        },
        {
          name: 'on-failure',
          type: 'string',
          optional: true,
          enum: ['halt', 'rollback'],
          description: 'Default rollback.',
        },
        {
          name: 'probes',
          type: 'string',
          optional: true,
          description: 'Comma-separated ADDRESS:PORT each node must reach.',
        },
        { name: 'start', type: 'boolean', optional: true, description: '0: stage only, wait for /start (default 1).' },
      ],
      perm: 'Sys.Modify',
      validate: false,
      extension: true,
      returns: { type: 'object', properties: { id: { type: 'string' } } },
      async handler(ctx) {
        const spec = parseSpec(ctx.params);
        // The nodes must be registered in the fleet.
        const missing: string[] = [];
        try {
          await Promise.all(
            spec.nodes.map(async (n) => {
              if ((await client.get(keys.info(n)).string()) === null) missing.push(n);
            }),
          );
        } catch (e) {
          throw etcdDown(e);
        }
        if (missing.length) throw paramError({ nodes: `no such node in the fleet: ${missing.sort().join(', ')}` });
        return { data: { id: await createRollout(client, spec, ctx.principal!.id) } };
      },
    },
    {
      method: 'GET',
      path: '/cluster/network/rollouts/{id}',
      summary: 'One rollout: spec, state, every node (state, staged diff, task, error) and its events.',
      params: [],
      perm: 'Sys.Audit',
      extension: true,
      returns: { type: 'object' },
      async handler(ctx) {
        return { data: await getRollout(client, String(ctx.path.id)) };
      },
    },
    action('start', 'Start a rollout created with start=0 (staged).'),
    action('halt', 'Halt a rollout: nodes not applied yet are aborted (their staged change dropped).'),
    action('rollback', 'Roll back the nodes a rollout confirmed, last first.'),
  ];
}
