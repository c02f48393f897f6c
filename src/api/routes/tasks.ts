/** Routes of the task list, a task's status and its log. */
import { paramError, type NodenetError } from '../../errors.ts';
import type { ParamSpec } from '../../model/params.ts';
import { parseUpid } from '../tasks.ts';
import type { Route } from './types.ts';

export const UPID_PARAM: ParamSpec = {
  name: 'upid',
  type: 'string',
  format: 'upid',
  maxLength: 256,
  description: "The task's unique ID.",
};

function noSuchTask(upid: string): NodenetError {
  return paramError({ upid: parseUpid(upid) ? 'no such task' : 'unable to parse worker upid' });
}

export const TASK_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/nodes/{node}/tasks',
    summary: 'Tasks started by this server process, newest first.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler(_ctx, deps) {
      return { data: deps.tasks.list() };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}',
    summary: 'Task index.',
    params: [],
    perm: 'Sys.Audit',
    returns: { type: 'array', items: { type: 'object' } },
    async handler() {
      return { data: [{ name: 'log' }, { name: 'status' }] };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/status',
    summary: 'Read task status.',
    params: [],
    perm: 'Sys.Audit',
    returns: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['running', 'stopped'] },
        exitstatus: { type: 'string' },
        upid: { type: 'string' },
      },
    },
    async handler(ctx, deps) {
      const s = await deps.tasks.status(ctx.path.upid!);
      if (!s) throw noSuchTask(ctx.path.upid!);
      return { data: s };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/tasks/{upid}/log',
    summary: 'Read task log.',
    params: [
      { name: 'start', type: 'integer', minimum: 0, optional: true, description: 'Start at this line (0-based).' },
      {
        name: 'limit',
        type: 'integer',
        minimum: 0,
        optional: true,
        description: 'At most this many lines (default 50).',
      },
      { name: 'download', type: 'boolean', optional: true, description: 'Ignored (PVE compatibility).' },
    ],
    perm: 'Sys.Audit',
    returns: {
      type: 'array',
      items: { type: 'object', properties: { n: { type: 'integer' }, t: { type: 'string' } } },
    },
    async handler(ctx, deps) {
      const start = ctx.params.start === undefined ? 0 : Number(ctx.params.start);
      const limit = ctx.params.limit === undefined ? 50 : Number(ctx.params.limit);
      const r = await deps.tasks.log(ctx.path.upid!, start, limit);
      if (!r) throw noSuchTask(ctx.path.upid!);
      return { data: r.lines, extra: { total: r.total } };
    },
  },
];
