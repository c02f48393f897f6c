#!/usr/bin/env node
// `npm start`: the demo. Copies demo/ to a demo root (.cache/demo-root, kept between starts:
// `--fresh` starts over), makes sure a demo login exists, prints it, and runs `nodenet serve`.
// Options: --fresh, --listen HOST:PORT (default 127.0.0.1:8006), --root DIR (default .cache/demo-root).
//
// With the netns backend it first probes, in a throw-away network namespace, what this kernel can
// make (bonds, 802.1q VLANs, VLAN filtering on bridges) and starts a fresh demo root from a
// configuration that comes up here: it says what it left out and why (and writes it into the file).
// Ctrl-C / SIGTERM stop the server and remove the demo's network namespaces.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const fresh = args.includes('--fresh');
const li = args.indexOf('--listen');
const listen = li >= 0 && args[li + 1] ? args[li + 1] : '127.0.0.1:8006';
const ri = args.indexOf('--root');
const root = ri >= 0 && args[ri + 1] ? resolve(args[ri + 1]) : join(repo, '.cache', 'demo-root');
const dist = join(repo, 'dist', 'api', 'auth.js');

if (!existsSync(dist)) {
  console.error('nodenet demo: not built yet: run `npm ci && npm run build` first');
  process.exit(2);
}
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

// What this kernel can make, probed in a private namespace that vanishes with the probe.
function probe(script) {
  const r = spawnSync('unshare', ['--net', 'sh', '-ec', script], { encoding: 'utf8' });
  return r.status === 0;
}
const abilities =
  backend === 'netns'
    ? {
        bonding: probe('ip link add nnprobe0 type bond'),
        vlan: probe(
          'ip link add nnprobe0 type veth peer name nnprobe1; ip link add link nnprobe0 name nnprobe0.5 type vlan id 5',
        ),
        vlanFiltering: probe(
          'ip link add nnprobe0 type bridge vlan_filtering 1; ip -d link show nnprobe0 | grep -q "vlan_filtering 1"',
        ),
      }
    : { bonding: true, vlan: true, vlanFiltering: true };

/** Drops the blank-line-separated block that holds `iface NAME`. */
function dropStanza(text, name) {
  const blocks = text.split(/\n\n/);
  return blocks.filter((b) => !new RegExp(`^iface ${name.replace('.', '\\.')} `, 'm').test(b)).join('\n\n');
}

/** The demo file adapted to this kernel, and what was left out. */
function adapt(text) {
  const left = [];
  if (!abilities.bonding) {
    text = dropStanza(text, 'bond0');
    text = text.replace(/^(\tbridge-ports) bond0$/m, '$1 eno2');
    text = text.replace(/^(auto|iface) bond0\.50\b/gm, '$1 eno2.50');
    left.push('bond0 (this kernel has no bonding driver): vmbr1 uses eno2 directly');
  }
  if (!abilities.vlan) {
    text = dropStanza(text, abilities.bonding ? 'bond0.50' : 'eno2.50');
    left.push(`${abilities.bonding ? 'bond0.50' : 'the storage VLAN 50'} (this kernel has no 802.1q VLAN driver)`);
  } else if (!abilities.bonding) left.push('the storage VLAN 50 is eno2.50 instead of bond0.50');
  if (!abilities.vlanFiltering) {
    text = text.replace(/^\tbridge-vlan-aware yes\n/m, '').replace(/^\tbridge-vids .*\n/m, '');
    left.push("VLAN awareness of vmbr1 (this kernel's bridges cannot filter VLANs)");
  }
  if (left.length)
    text = text.replace(
      /\n\nauto lo\n/,
      `\n#\n# nodenet demo: adapted to the kernel it first ran on; left out:\n${left.map((l) => `#   - ${l}\n`).join('')}\nauto lo\n`,
    );
  return { text, left };
}

if (fresh) await fs.rm(root, { recursive: true, force: true });
if (!existsSync(join(root, 'etc', 'network', 'interfaces'))) {
  await fs.mkdir(root, { recursive: true });
  await fs.cp(join(repo, 'demo'), root, { recursive: true });
  const file = join(root, 'etc', 'network', 'interfaces');
  const { text, left } = adapt(await fs.readFile(file, 'utf8'));
  await fs.writeFile(file, text);
  console.log(`demo root created: ${root} (a copy of demo/${left.length ? ', adapted to this kernel' : ''})`);
  for (const l of left) console.log(`  left out: ${l}`);
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

if (backend === 'netns') {
  const live = await fs.readFile(join(root, 'etc', 'network', 'interfaces'), 'utf8');
  const cannot = [];
  if (!abilities.bonding && /^\s*bond-(slaves|mode)\b/m.test(live)) cannot.push('bonds (no bonding driver)');
  if (!abilities.vlan && /^iface \S+\.\d+ /m.test(live)) cannot.push('802.1q VLANs (no 8021q driver)');
  if (!abilities.vlanFiltering && /^\s*bridge-vlan-aware\s+yes/m.test(live))
    cannot.push('VLAN-aware bridges (no VLAN filtering)');
  if (cannot.length)
    console.log(
      `  note: the kept demo root has ${cannot.join(', ')}, which this kernel cannot make; verify reports them as drift\n  (an apply is not rolled back for it). \`npm start -- --fresh\` starts from a config that comes up here.\n`,
    );
}

// The V8 flags of bin/nodenet's first line (spawning node directly skips the shebang).
const child = spawn(
  process.execPath,
  [
    '--max-semi-space-size=64',
    join(repo, 'bin', 'nodenet'),
    '--root',
    root,
    '--backend',
    backend,
    'serve',
    '--listen',
    listen,
  ],
  { stdio: 'inherit' },
);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  // The demo leaves nothing behind: its namespace goes with it.
  if (backend === 'netns') {
    spawn(process.execPath, [join(repo, 'bin', 'nodenet'), '--root', root, 'netns', 'destroy'], {
      stdio: 'inherit',
    }).on('exit', () => process.exit(code ?? (signal ? 0 : 1)));
  } else process.exit(code ?? (signal ? 0 : 1));
});
