#!/usr/bin/env node
// `npm start`: the demo. Copies demo/ to a demo root (.cache/demo-root, kept between starts:
// `--fresh` starts over), makes sure a demo login exists, prints it, and runs `nodenet serve`.
// Options: --fresh, --listen HOST:PORT (default 127.0.0.1:8006).
import { spawn } from 'node:child_process';
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

// Backend: netns when root with ifupdown2 to be had (the real ifupdown2, unpacked from Debian's
// .deb into .cache/ifupdown2, runs in a private namespace with veth NICs: nothing of the host
// changes); else none (apply makes the file live and reloads nothing).
const isRoot = process.getuid?.() === 0;
let backend = 'none';
let why = '';
if (!isRoot) why = 'netns needs root; apply only makes the file live (nothing reloads)';
else {
  try {
    const { prepareUnpackedIfupdown2 } = await import(join(repo, 'dist', 'apply', 'ifupdown2.js'));
    const install = await prepareUnpackedIfupdown2();
    backend = 'netns';
    why = `a private network namespace with veth NICs and the real ifupdown2 ${install.version} inside; \`nodenet --root ${root} netns destroy\` removes it`;
  } catch (e) {
    why = `netns needs ifupdown2, which could not be prepared (${String(e.message ?? e).split('\n')[0]}); apply only makes the file live`;
  }
}

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

if (backend === 'netns' && !(existsSync('/sys/class/net/bonding_masters') && existsSync('/proc/net/vlan'))) {
  console.log('  note: this kernel has no bonding and/or 802.1q, so bond0, bond0.50 and the VLAN-aware vmbr1 of the\n  demo config cannot come up in the namespace (ifreload reports it below); verify shows them as drift.\n');
}

// The V8 flags of bin/nodenet's first line (spawning node directly skips the shebang).
const child = spawn(process.execPath, ['--max-semi-space-size=64', join(repo, 'bin', 'nodenet'), '--root', root, '--backend', backend, 'serve', '--listen', listen], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  // The demo leaves nothing behind: its namespace goes with it.
  if (backend === 'netns') {
    spawn(process.execPath, [join(repo, 'bin', 'nodenet'), '--root', root, 'netns', 'destroy'], { stdio: 'inherit' }).on('exit', () => process.exit(code ?? (signal ? 0 : 1)));
  } else process.exit(code ?? (signal ? 0 : 1));
});
