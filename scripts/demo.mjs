#!/usr/bin/env node
// `npm start`: the demo. Copies demo/ to a demo root (.cache/demo-root, kept between starts:
// `--fresh` starts over), makes sure a demo login exists, prints it, and runs `nodenet serve`.
// Options: --fresh, --listen HOST:PORT (default 127.0.0.1:8006).
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const fresh = args.includes('--fresh');
const li = args.indexOf('--listen');
const listen = li >= 0 && args[li + 1] ? args[li + 1] : '127.0.0.1:8006';
const root = join(repo, '.cache', 'demo-root');
const dist = join(repo, 'dist', 'api', 'auth.js');

if (!existsSync(dist)) {
  console.error('nodenet demo: not built yet: run `npm ci && npm run build` first');
  process.exit(2);
}
if (fresh) await fs.rm(root, { recursive: true, force: true });
if (!existsSync(join(root, 'etc', 'network', 'interfaces'))) {
  await fs.mkdir(root, { recursive: true });
  await fs.cp(join(repo, 'demo'), root, { recursive: true });
  console.log(`demo root created: ${root} (a copy of demo/)`);
} else console.log(`demo root: ${root} (kept from an earlier start; \`npm start -- --fresh\` starts over)`);

// The demo login: demo@pve with a random password made once and kept (0600) in the demo root.
const { AuthStore } = await import(dist);
const auth = new AuthStore(root);
const loginFile = join(root, 'etc', 'nodenet', 'demo-login.json');
let login;
try {
  login = JSON.parse(await fs.readFile(loginFile, 'utf8'));
} catch {
  login = { user: 'demo@pve', password: randomBytes(9).toString('base64url') };
}
await auth.addUser(login.user, login.password, 'admin');
await fs.writeFile(loginFile, JSON.stringify(login), { mode: 0o600 });

// Backend: netns when root with ifupdown2 available — but the netns backend is not wired into
// the API server yet, so the demo runs with `none` (apply makes the file live, reloads nothing).
let ifupdown2 = false;
try {
  execFileSync('sh', ['-c', 'command -v ifreload'], { stdio: 'ignore' });
  ifupdown2 = true;
} catch {
  ifupdown2 = false;
}
const isRoot = process.getuid?.() === 0;
const backend = 'none';
const why = isRoot && ifupdown2
  ? 'the netns backend would fit here (root + ifupdown2), but it is not wired into the API yet'
  : `netns needs root and ifupdown2 (root: ${isRoot ? 'yes' : 'no'}, ifupdown2: ${ifupdown2 ? 'yes' : 'no'})`;

const port = listen.split(':').pop();
const host = listen.slice(0, listen.length - port.length - 1).replace(/^\[|\]$/g, '') || '127.0.0.1';
console.log(`
  nodenet demo
  URL:       https://${host.includes(':') ? `[${host}]` : host}:${port}   (API: /api2/json; self-signed certificate)
  user:      ${login.user}
  password:  ${login.password}
  node:      ${hostname().split('.')[0]} (or localhost)
  backend:   ${backend} — ${why}

  try: curl -sk -d 'username=${login.user}&password=${login.password}' https://${host}:${port}/api2/json/access/ticket
`);

const child = spawn(process.execPath, [join(repo, 'bin', 'nodenet'), '--root', root, '--backend', backend, 'serve', '--listen', listen], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
