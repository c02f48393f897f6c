/** Small helpers the route modules share: parameter values, common specs and return schemas. */
import { IFACE_PARAMS } from '../../model/params.ts';

export const DIGEST_PARAM = IFACE_PARAMS.find((p) => p.name === 'digest')!;

export const NULL = { type: 'null' };
export const UPID_RET = { type: 'string', description: 'The task UPID.' };
export const IFACE_OBJ = {
  type: 'object',
  additionalProperties: true,
  properties: { iface: { type: 'string' }, type: { type: 'string' }, method: { type: 'string' } },
};

/** A parameter as one string (repeated form keys joined with commas). */
export function str(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}

export function optStr(v: unknown): string | undefined {
  return v === undefined ? undefined : str(v);
}

/** A list parameter: repeated keys and comma-separated values, trimmed, empty items dropped. */
export function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v.map(String) : [str(v)])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);
}

/** The envelope extras of an edit: its digest, and warnings when there are any. */
export function editExtra(r: { digest: string; warnings: string[] }): Record<string, unknown> {
  return r.warnings.length ? { digest: r.digest, warnings: r.warnings } : { digest: r.digest };
}
