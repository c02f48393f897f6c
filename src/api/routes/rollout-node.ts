/**
 * Node-side extensions a fleet rollout uses (docs/fleet.md "Rollouts"): stage a whole file (a
 * rollout's `template`), and probe addresses from the node after an apply (TCP connects made
 * where the backend's kernel is: the netns namespace, else this host).
 */
import { connect } from 'node:net';
import { isIP } from 'node:net';
import { paramError } from '../../errors.ts';
import { DIGEST_PARAM, editExtra, str } from './common.ts';
import type { Deps, Route } from './types.ts';

/** A whole interfaces file: tabs and newlines, no other control character (nothing can hide a line). */
const FILE_TEXT = /^[^\x00-\x08\x0b-\x1f\x7f]*$/;
const MAX_FILE = 1024 * 1024;

interface ProbeResult {
  target: string;
  ok: number;
  detail: string;
}

function parseTarget(t: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(t);
  if (!m) return null;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (!isIP(host) || port < 1 || port > 65535) return null;
  return { host, port };
}

function tcpHere(host: string, port: number, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(`no answer within ${ms / 1000} s`);
    }, ms);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(null);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(e.code ?? e.message);
    });
  });
}

async function probe(deps: Deps, host: string, port: number): Promise<string | null> {
  if (!deps.sysctl) return tcpHere(host, port, 3000);
  // In the backend's kernel (its namespace): bash's /dev/tcp, bounded by timeout(1).
  const r = await deps.sysctl(['timeout', '3', 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', 'probe', host, String(port)]);
  return r.code === 0 ? null : (r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`) || `exit ${r.code}`;
}

export const ROLLOUT_NODE_ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/nodes/{node}/network/stage',
    summary: 'Stage a whole interfaces file (replaces interfaces.new; validated like every edit).',
    params: [
      { name: 'content', type: 'string', multiline: true, description: 'The whole file.' },
      { ...DIGEST_PARAM, description: 'Stage only if the pending configuration still has this digest.' },
    ],
    perm: 'Sys.Modify',
    validate: false,
    extension: true,
    returns: { type: 'null' },
    async handler(ctx, deps) {
      const content = ctx.params.content;
      if (typeof content !== 'string') throw paramError({ content: 'property is missing and it is not optional' });
      if (content.length > MAX_FILE) throw paramError({ content: 'larger than 1 MiB' });
      if (!FILE_TEXT.test(content))
        throw paramError({ content: 'holds a control character other than tab and newline' });
      const digest = ctx.params.digest === undefined ? undefined : str(ctx.params.digest);
      if (digest !== undefined && !/^[0-9a-f]{1,64}$/.test(digest)) throw paramError({ digest: 'not a digest' });
      const text = content === '' || content.endsWith('\n') ? content : `${content}\n`;
      const { previous: _p, ...r } = await deps.serial(() => deps.core.editText(digest, () => text));
      return { data: null, extra: editExtra(r) };
    },
  },
  {
    method: 'GET',
    path: '/nodes/{node}/network/probe',
    summary: 'TCP-connect to each ADDRESS:PORT from the node (where its backend runs the network).',
    params: [{ name: 'targets', type: 'string', description: 'Comma-separated ADDRESS:PORT ([v6]:PORT).' }],
    perm: 'Sys.Audit',
    validate: false,
    extension: true,
    returns: { type: 'object', properties: { ok: { type: 'integer' }, results: { type: 'array' } } },
    async handler(ctx, deps) {
      const raw = ctx.params.targets === undefined ? '' : str(ctx.params.targets);
      const targets = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (!targets.length || targets.length > 32) throw paramError({ targets: 'wants 1 to 32 ADDRESS:PORT' });
      const parsed = targets.map((t) => ({ t, p: parseTarget(t) }));
      const bad = parsed.find((x) => !x.p);
      if (bad) throw paramError({ targets: `'${bad.t.slice(0, 64)}' is not ADDRESS:PORT` });
      const results: ProbeResult[] = await Promise.all(
        parsed.map(async ({ t, p }) => {
          const err = await probe(deps, p!.host, p!.port);
          return { target: t, ok: err === null ? 1 : 0, detail: err ?? 'connected' };
        }),
      );
      return { data: { ok: results.every((r) => r.ok === 1) ? 1 : 0, results } };
    },
  },
];
