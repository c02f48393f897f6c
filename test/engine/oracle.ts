/**
 * The differential oracle: ifupdown2's own interfaces-file parser (Debian's package, unpacked
 * as the netns backend does, run by /usr/bin/python3 with python3-mako, template rendering on
 * as Debian's ifupdown2.conf sets it), driven by libexec/ifupdown2-parse.py over JSON lines,
 * and nodenet's parse of the same text projected onto what that parser returns.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defaultIfupdown2CacheDir, prepareUnpackedIfupdown2, SYSTEM_PYTHON } from '../../src/apply/ifupdown2.ts';
import { parse } from '../../src/interfaces/parser.ts';
import type { Document } from '../../src/interfaces/syntax.ts';

const DRIVER = fileURLToPath(new URL('../../libexec/ifupdown2-parse.py', import.meta.url));

export interface OracleIface {
  name: string;
  type?: string;
  family: string[];
  method: string | null;
  config: Record<string, string[]>;
}

export interface OracleResult {
  ifaces: OracleIface[];
  auto: string[];
  auto_all: boolean;
  allow: Record<string, string[]>;
  sources: string[];
  rendered: boolean;
  exception: string | null;
}

/** What is missing to run the oracle; empty when everything is there. */
export function oracleMissing(): string[] {
  const missing: string[] = [];
  if (!existsSync(SYSTEM_PYTHON)) return [SYSTEM_PYTHON];
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import mako'], { stdio: 'ignore' });
  if (r.status !== 0) missing.push('python3-mako (apt-get install python3-mako)');
  const onPath = (cmd: string) =>
    spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
  const cache = defaultIfupdown2CacheDir();
  const cached = existsSync(join(cache, 'unpacked', 'VERSION'));
  const deb = existsSync(cache) && readdirSync(cache).some((f) => /^ifupdown2_.*\.deb$/.test(f));
  if (!cached && !(onPath('dpkg-deb') && (deb || onPath('apt-get'))))
    missing.push('ifupdown2 (apt-get download + dpkg-deb, or a cached copy in .cache/ifupdown2)');
  return missing;
}

/** The `skip` option of a describe(): in CI (`CI=true`) a missing prerequisite fails. */
export function skipUnlessOracle(): false | string {
  const missing = oracleMissing();
  if (missing.length === 0) return false;
  const msg = `the ifupdown2 differential test needs: ${missing.join(', ')}`;
  if (process.env['CI'] === 'true') throw new Error(`${msg} (CI=true: missing prerequisites fail)`);
  return msg;
}

/** Parses texts with ifupdown2's parser, all in one python process. */
export async function oracleParse(texts: readonly string[], opts: { cwd?: string } = {}): Promise<OracleResult[]> {
  const install = await prepareUnpackedIfupdown2();
  const child = spawn(SYSTEM_PYTHON, [DRIVER, install.shareDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const rl = createInterface({ input: child.stdout });
  const replies: OracleResult[] = [];
  let ready = false;
  const done = new Promise<void>((resolve, reject) => {
    rl.on('line', (line) => {
      const m = JSON.parse(line) as OracleResult & { ready?: boolean; id?: number };
      if (m.ready) {
        ready = true;
        return;
      }
      replies[m.id!] = m;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!ready) reject(new Error(`the ifupdown2 parse driver did not start (exit ${code})`));
      else if (replies.filter(Boolean).length !== texts.length)
        reject(new Error(`the driver answered ${replies.length} of ${texts.length} (exit ${code})`));
      else resolve();
    });
  });
  // Written in chunks as the pipe drains: a batch can be several megabytes.
  for (let i = 0; i < texts.length; i++) {
    if (!child.stdin.write(`${JSON.stringify({ id: i, text: texts[i] })}\n`))
      await new Promise((r) => child.stdin.once('drain', r));
  }
  child.stdin.end();
  await done;
  return replies;
}

/** ifupdown2 keeps these aligned with the `address` values (and drops them before any address). */
const ADDRESS_RELATED = new Set(['scope', 'netmask', 'broadcast', 'preferred-lifetime']);

/**
 * nodenet's parse, projected onto ifupdown2's parser output. The projection only applies the
 * bookkeeping ifupdown2 does after reading a line (never a reading decision): `_` → `-` in
 * option names, `$IFACE` substitution, address-related options aligned with addresses, the
 * family/method defaults of `_validate_addr_family`, alias names cut at `:`, `auto all`.
 */
export function nodenetView(doc: Document): OracleResult {
  const ifaces: OracleIface[] = [];
  const auto: string[] = [];
  let autoAll = false;
  const allow = Object.create(null) as Record<string, string[]>;
  const sources: string[] = [];
  for (const n of doc.nodes) {
    if (n.kind === 'iface') {
      const rawName = n.name?.text ?? '';
      const config = Object.create(null) as Record<string, string[]>;
      for (const b of n.body) {
        if (b.kind !== 'option') continue;
        // ifupdown2 skips a line without a separator after the name ("invalid syntax").
        if (b.line.text.length === b.name.length) continue;
        const key = b.name.replace(/_/g, '-');
        const value = b.value.split('$IFACE').join(rawName);
        const list = config[key] ?? [];
        if (ADDRESS_RELATED.has(key)) {
          const addrs = config['address'];
          if (!addrs || addrs.length === 0) continue;
          const pad = addrs.length - list.length - 1;
          for (let i = 0; i < pad; i++) list.push('');
          list.push(value);
          config[key] = list;
        } else {
          list.push(value);
          config[key] = list;
        }
      }
      const fam = n.family?.text ?? '';
      let family: string[] = fam ? [fam] : [];
      let method: string | null = n.method?.text ?? null;
      if (fam) {
        if (fam !== 'inet' && fam !== 'inet6') {
          family = [];
          method = null;
        } else if (!method) method = 'static';
      }
      ifaces.push({ name: rawName.split(':')[0]!, family, method, config });
    } else if (n.kind === 'auto') {
      const kw = n.keyword.text;
      if (kw === 'auto') {
        for (const w of n.names) {
          if (w.text === 'all') {
            autoAll = true;
            break;
          }
          auto.push(w.text);
        }
      } else {
        const cls = kw.split('-')[1] ?? '';
        (allow[cls] ??= []).push(...n.names.map((w) => w.text));
      }
    } else if (n.kind === 'source') {
      sources.push(n.path);
    }
  }
  return { ifaces, auto, auto_all: autoAll, allow, sources, rendered: false, exception: null };
}

/** Diagnostics codes after which ifupdown2's parser stops with an exception. */
const FATAL = new Set(['IFACE_WITHOUT_NAME', 'SOURCE_WITHOUT_PATH', 'UNKNOWN_KEYWORD']);

/**
 * Compares nodenet's reading of `text` with ifupdown2's. Returns null when they agree, or
 * 'template' when the file is a mako template with code in it (nodenet says TEMPLATE_SYNTAX and
 * never edits it: what ifupdown2 reads depends on running it), else a description of the
 * first difference.
 */
export function compareWithOracle(text: string, o: OracleResult): null | 'template' | string {
  const doc = parse(text);
  if (doc.diagnostics.some((d) => d.code === 'TEMPLATE_SYNTAX')) return 'template';
  // Without template code, mako may only have removed `\`+newline pairs.
  if (o.rendered && !/\\\r?\n/.test(text)) return 'mako changed the text, but nodenet reports no TEMPLATE_SYNTAX';
  const fatal = doc.diagnostics.some((d) => d.severity === 'error' && FATAL.has(d.code));
  if (o.exception !== null) {
    return fatal ? null : `ifupdown2 stops with ${o.exception}, nodenet reports no error that says so`;
  }
  if (doc.diagnostics.some((d) => d.code === 'IFACE_WITHOUT_NAME' || d.code === 'SOURCE_WITHOUT_PATH'))
    return 'nodenet reports a stanza or source without a name, ifupdown2 reads the file';
  const mine = nodenetView(doc);
  const theirs = { ...o, ifaces: o.ifaces.filter((i) => i.type !== 'bridge-vlan') };
  for (const k of ['auto', 'auto_all', 'allow', 'sources'] as const) {
    const a = JSON.stringify(k === 'allow' ? sortKeys(mine[k]) : mine[k]);
    const b = JSON.stringify(k === 'allow' ? sortKeys(theirs[k]) : theirs[k]);
    if (a !== b) return `${k}: nodenet ${a}, ifupdown2 ${b}`;
  }
  if (mine.ifaces.length !== theirs.ifaces.length)
    return `interfaces: nodenet ${JSON.stringify(mine.ifaces.map((i) => i.name))}, ifupdown2 ${JSON.stringify(theirs.ifaces.map((i) => i.name))}`;
  for (let i = 0; i < mine.ifaces.length; i++) {
    const a = mine.ifaces[i]!;
    const b = theirs.ifaces[i]!;
    const sa = JSON.stringify({ name: a.name, family: a.family, method: a.method, config: sortKeys(a.config) });
    const sb = JSON.stringify({ name: b.name, family: b.family, method: b.method, config: sortKeys(b.config) });
    if (sa !== sb) return `interface #${i + 1}: nodenet ${sa}, ifupdown2 ${sb}`;
  }
  return null;
}

function sortKeys(o: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
