/**
 * One new bridge applied through the API of a real `nodenet serve` (netns backend, warm worker)
 * against a full re-apply of the same file, on the installer-shaped file: N bridges and
 * `source /etc/network/interfaces.d/*` at the end (root needed; run `npm run build` first).
 *
 *   node --import tsx bench/api-apply.ts [N=1000] [--steps 3] [--cli]
 *                                          (or: node scripts/bench.mjs api-apply)
 *
 * The server is `bin/nodenet --root R --backend netns serve` in a child process, as an admin
 * runs it. Each step: POST a new bridge, PUT /nodes/{node}/network (apply) and poll the task
 * until it stops — timed from the PUT to the task's end; the bridge must be up in the kernel;
 * then PUT again with nothing staged — a full re-apply (`ifreload -a`) of the same file, timed
 * the same way. The normalised kernel state after the one-bridge apply must equal the one after
 * the full re-apply of the same file (read from the server's namespace).
 * With `--cli`, each one-bridge apply is also made with `bin/nodenet apply` (stage with
 * `bin/nodenet create`, then apply), timed as a whole process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { createNetnsBackend } from '../src/apply/backend.ts';
import { sandboxNames } from '../src/apply/netns.ts';
import { diffStates } from '../src/apply/state.ts';
import { AuthStore } from '../src/api/auth.ts';

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? '1000');
const stepsArg = args.indexOf('--steps');
const steps = stepsArg >= 0 ? Number(args[stepsArg + 1]) : 3;
const withCli = args.includes('--cli');
const repo = fileURLToPath(new URL('..', import.meta.url));
const NODENET = [process.execPath, '--max-semi-space-size=64', join(repo, 'bin', 'nodenet')];

function bridge(i: number, ports = 'none', extra = ''): string {
  return `auto vmbr${i}\niface vmbr${i} inet static\n\taddress 10.${(i >> 8) & 255}.${i & 255}.1/24\n${extra}\tbridge-ports ${ports}\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
/** The installer's layout (lo, the NIC, vmbr0 with the gateway) with N-1 more bridges, then the source line. */
function installerFile(count: number): string {
  let s = 'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\n';
  s +=
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.168.100.2/24\n\tgateway 192.168.100.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\n';
  for (let i = 1; i < count; i++) s += bridge(i);
  return `${s}source /etc/network/interfaces.d/*\n`;
}

const secs = (t0: number): number => (performance.now() - t0) / 1000;
const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

const root = mkdtempSync(join(tmpdir(), 'nodenet-bench-api-'));
mkdirSync(join(root, 'etc/network/interfaces.d'), { recursive: true });
writeFileSync(join(root, 'etc/network/interfaces'), installerFile(n));
const auth = new AuthStore(root);
await auth.addUser('bench@pve', 'bench-password-1', 'admin');
const tok = await auth.addToken('bench@pve', 'apply', false);
const authz = `PVEAPIToken=${tok['full-tokenid']}=${tok.value}`;
const port = await freePort();
const ns = sandboxNames(root).ns;

const t0 = performance.now();
const server = spawn(
  NODENET[0] ?? 'node',
  [...NODENET.slice(1), '--root', root, '--backend', 'netns', 'serve', '--listen', `127.0.0.1:${port}`],
  {
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
let serverErr = '';
server.stderr.on('data', (d: Buffer) => (serverErr += d.toString()));
const base = `https://127.0.0.1:${port}/api2/json`;

async function api(method: 'GET' | 'POST' | 'PUT', path: string, body?: Record<string, string>): Promise<unknown> {
  const r = await request(`${base}${path}`, {
    method,
    dispatcher,
    // one connection per request: `--cli` blocks this process in spawnSync for seconds, so a
    // pooled socket the server closed meanwhile (keep-alive timeout, 5 s) would be reused
    // before undici's idle timer could drop it (seen: "other side closed" after the CLI step)
    reset: true,
    headers: { authorization: authz, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(body ? { body: new URLSearchParams(body).toString() } : {}),
  });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
  return (JSON.parse(text) as { data: unknown }).data;
}

async function waitTask(node: string, upid: string): Promise<string> {
  for (;;) {
    const s = (await api('GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`)) as {
      status: string;
      exitstatus?: string;
    };
    if (s.status === 'stopped') return s.exitstatus ?? '?';
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function taskLog(node: string, upid: string): Promise<string[]> {
  const lines = (await api('GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log?limit=500`)) as { t: string }[];
  return lines.map((l) => l.t);
}

/** PUT apply, timed to the task's end. */
async function apply(node: string): Promise<{ s: number; status: string; log: string[] }> {
  const t = performance.now();
  const upid = (await api('PUT', `/nodes/${node}/network`)) as string;
  const status = await waitTask(node, upid);
  const s = secs(t);
  return { s, status, log: await taskLog(node, upid) };
}

function linkUp(name: string): boolean {
  const r = spawnSync('ip', ['-n', ns, '-j', 'link', 'show', 'dev', name], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  const l = (JSON.parse(r.stdout) as { flags?: string[] }[])[0];
  return l?.flags?.includes('UP') === true;
}

const reader = createNetnsBackend({ root, warm: false });
const rows: {
  step: string;
  targeted: number;
  full: number;
  ratio: number;
  up: boolean;
  equal: boolean;
  cli?: number;
}[] = [];
try {
  let node = '';
  for (;;) {
    if (server.exitCode !== null) throw new Error(`server exited ${server.exitCode}: ${serverErr}`);
    try {
      node = ((await api('GET', '/nodes')) as { node: string }[])[0]?.node ?? '';
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  console.log(
    `server up (sandbox brought up with a cold ifreload -a of ${n} bridges): ${secs(t0).toFixed(1)} s; node ${node}`,
  );
  // the first apply: a full re-apply (nothing staged), which also records the sourced files
  const first = await apply(node);
  console.log(`first apply (full re-apply, nothing staged): ${first.s.toFixed(2)} s (${first.status})`);
  for (let k = 0; k < steps; k++) {
    const i = n + k;
    await api('POST', `/nodes/${node}/network`, {
      iface: `vmbr${i}`,
      type: 'bridge',
      cidr: `10.250.${k}.1/24`,
      autostart: '1',
      bridge_ports: '',
    });
    const one = await apply(node);
    const reloadLine = one.log.find((l) => l.startsWith('reload:')) ?? '?';
    const up = linkUp(`vmbr${i}`);
    const after = await reader.readState();
    let cli: number | undefined;
    const full = await apply(node);
    const again = await reader.readState();
    const diffs = diffStates(again, after, ['full re-apply', 'one-bridge apply']);
    if (withCli) {
      const j = n + steps + k;
      const st = spawnSync(
        NODENET[0] ?? 'node',
        [
          ...NODENET.slice(1),
          '--root',
          root,
          'create',
          `vmbr${j}`,
          '--type',
          'bridge',
          '--cidr',
          `10.251.${k}.1/24`,
          '--autostart',
          '1',
        ],
        { encoding: 'utf8' },
      );
      if (st.status !== 0) throw new Error(`nodenet create: ${st.stderr}`);
      const t = performance.now();
      const r = spawnSync(NODENET[0] ?? 'node', [...NODENET.slice(1), '--root', root, '--backend', 'netns', 'apply'], {
        encoding: 'utf8',
      });
      cli = secs(t);
      if (r.status !== 0) throw new Error(`nodenet apply: ${r.stderr}${r.stdout}`);
      const how = /reload: [^\n]*/.exec(r.stdout + r.stderr)?.[0] ?? '?';
      const via = /applying through nodenet serve/.test(r.stderr)
        ? 'through the server'
        : `NOT through the server: ${/nodenet: [^\n]*applying in this process/.exec(r.stderr)?.[0] ?? '?'}`;
      console.log(`  CLI apply of vmbr${j}: ${cli.toFixed(2)} s (${via}; ${how}); up ${linkUp(`vmbr${j}`)}`);
    }
    rows.push({
      step: `add vmbr${i}`,
      targeted: +one.s.toFixed(3),
      full: +full.s.toFixed(2),
      ratio: +(full.s / one.s).toFixed(1),
      up,
      equal: diffs.length === 0,
      ...(cli === undefined ? {} : { cli: +cli.toFixed(2) }),
    });
    console.log(
      `add vmbr${i}: one-bridge apply ${one.s.toFixed(3)} s [${reloadLine}] (${one.status}), up ${up}; full re-apply ${full.s.toFixed(2)} s (${full.status}); ` +
        `${(full.s / one.s).toFixed(1)}x; states ${diffs.length === 0 ? 'equal' : `differ: ${diffs.map((d) => d.message).join('; ')}`}`,
    );
    if (k === 0) for (const l of one.log) console.log(`    | ${l}`);
  }
  console.log(JSON.stringify({ bridges: n, steps: rows }));
  if (rows.some((r) => !r.up || !r.equal || r.ratio < 10)) process.exitCode = 1;
} catch (e) {
  console.error(
    `server ${server.exitCode === null ? 'running' : `exited ${server.exitCode}`}; its stderr:\n${serverErr}`,
  );
  throw e;
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await reader.destroy().catch((e: unknown) => console.error(e));
  rmSync(root, { recursive: true, force: true });
  await dispatcher.close();
}
