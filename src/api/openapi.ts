/**
 * The OpenAPI 3.1 document, generated from the route table and the same parameter specs that
 * validate requests (src/model/params.ts), so the two cannot drift apart.
 */
import type { ParamSpec } from '../model/params.ts';
import { PATH_PARAMS, ROUTES } from './routes.ts';

const FORMAT_PATTERNS: Record<string, string> = {
  'pve-iface': '^[a-zA-Z][a-zA-Z0-9_-]*(?:(?:\\.\\d+)+|:\\d+)?$',
  'pve-node': '^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$',
  digest: '^[a-fA-F0-9]{40,64}$',
};

/** JSON schema of one parameter. Booleans travel as the integers 1/0, as in Proxmox VE. */
export function paramSchema(p: ParamSpec): Record<string, unknown> {
  const s: Record<string, unknown> = { description: p.description };
  if (p.type === 'boolean') {
    s.type = 'integer';
    s.enum = [0, 1];
    s['x-pve-type'] = 'boolean';
  } else s.type = p.type;
  if (p.format) {
    s.format = p.format;
    const pat = FORMAT_PATTERNS[p.format];
    if (pat) s.pattern = pat;
  }
  if (p.enum) s.enum = [...p.enum];
  if (p.minimum !== undefined) s.minimum = p.minimum;
  if (p.maximum !== undefined) s.maximum = p.maximum;
  if (p.minLength !== undefined) s.minLength = p.minLength;
  if (p.maxLength !== undefined) s.maxLength = p.maxLength;
  if (p.requires) s['x-requires'] = p.requires;
  if (p.multiline) s['x-multiline'] = true;
  return s;
}

/** Build the document. */
export function openapi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const parameters: unknown[] = pathParams.map((name) => ({
      name,
      in: 'path',
      required: true,
      schema: PATH_PARAMS[name] ? paramSchema(PATH_PARAMS[name]) : { type: 'string' },
    }));
    const bodyParams = r.params.filter((p) => !pathParams.includes(p.name));
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${r.path
        .replace(/[{}]/g, '')
        .replace(/\/(\w)/g, (_m, c: string) => c.toUpperCase())
        .replace(/[^A-Za-z0-9]/g, '')}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      ...(r.extension ? { 'x-nodenet-extension': true } : {}),
      'x-permission': r.perm ?? 'none',
      ...(r.perm === null ? { security: [] } : {}),
      responses: {
        '200': {
          description: 'Success: `{"data": ...}`',
          content: {
            'application/json;charset=UTF-8': { schema: { type: 'object', properties: { data: r.returns } } },
          },
        },
        default: {
          description:
            'Error: reason phrase = first line of the message; body `{"data":null,"errors":{...},"message":"...\\n"}`',
        },
      },
    };
    if (r.method === 'GET' || r.method === 'DELETE') {
      for (const p of bodyParams)
        parameters.push({ name: p.name, in: 'query', required: !p.optional, schema: paramSchema(p) });
    } else if (bodyParams.length) {
      const schema = {
        type: 'object',
        additionalProperties: false,
        required: bodyParams.filter((p) => !p.optional).map((p) => p.name),
        properties: Object.fromEntries(bodyParams.map((p) => [p.name, paramSchema(p)])),
      };
      op.requestBody = { content: { 'application/x-www-form-urlencoded': { schema }, 'application/json': { schema } } };
    }
    if (parameters.length) op.parameters = parameters;
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'nodenet API (Proxmox VE /api2/json compatible)', version },
    servers: [{ url: '/api2/json' }],
    components: {
      securitySchemes: {
        apiToken: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'PVEAPIToken=USER@REALM!TOKENID=UUID',
        },
        ticket: {
          type: 'apiKey',
          in: 'cookie',
          name: 'PVEAuthCookie',
          description: 'From POST /access/ticket; writes also need the CSRFPreventionToken header.',
        },
      },
    },
    security: [{ apiToken: [] }, { ticket: [] }],
    paths,
  };
}
