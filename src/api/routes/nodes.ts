/** Routes of the node index: version, the OpenAPI document, /nodes and /nodes/{node}. */
import type { Route } from './types.ts';

export const NODE_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/version',
    summary: 'API version details.',
    params: [],
    perm: 'Sys.Audit',
    returns: {
      type: 'object',
      properties: { version: { type: 'string' }, release: { type: 'string' }, repoid: { type: 'string' } },
    },
    async handler(_ctx, deps) {
      const release = deps.version.split('.').slice(0, 2).join('.');
      return { data: { version: deps.version, release, repoid: 'nodenet', product: 'nodenet' } };
    },
  },
  {
    method: 'GET',
    path: '/openapi',
    summary: 'This API as an OpenAPI 3.1 document (nodenet extension, no authentication).',
    params: [],
    perm: null,
    extension: true,
    returns: { type: 'object' },
    async handler(_ctx, deps) {
      return { data: deps.openapi() };
    },
  },
  {
    method: 'GET',
    path: '/nodes',
    summary: 'Cluster node index (this node only).',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler(_ctx, deps) {
      return { data: [{ node: deps.node, status: 'online', type: 'node', id: `node/${deps.node}`, level: '' }] };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}',
    summary: 'Node index.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler() {
      return { data: [{ name: 'network' }, { name: 'tasks' }, { name: 'version' }] };
    },
  },
];
