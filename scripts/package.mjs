#!/usr/bin/env node
// npm run package: builds build/nodenet_<version>_all.deb with dpkg-deb and prints its path as
// the last line. The program is bundled by esbuild into two files (dist/cli/main.js, and
// dist/apply/guard.js: the rollback guard runs as its own process), the web app into one; the
// man page and bash completion are generated from the CLI's command definitions
// (src/cli/manpage.ts), like --help. No network is used.
//   node scripts/package.mjs [--out DIR]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const version = pkg.version;
const outIdx = process.argv.indexOf('--out');
const out = outIdx > 0 ? process.argv[outIdx + 1] : join(repo, 'build');
const stage = join(out, `nodenet_${version}_all`);
const lib = join(stage, 'usr/lib/nodenet');
// Reproducible: file times and the changelog date are the last commit's.
const epoch = Number(
  process.env.SOURCE_DATE_EPOCH ??
    (spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: repo, encoding: 'utf8' }).stdout.trim() ||
      Math.floor(Date.now() / 1000)),
);
const date = new Date(epoch * 1000);

const step = (s) => process.stderr.write(`== ${s}\n`);
const put = (rel, text, mode = 0o644) => {
  const p = join(stage, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
};
const copy = (from, rel, mode = 0o644) => put(rel, readFileSync(join(repo, from)), mode);

rmSync(stage, { recursive: true, force: true });
mkdirSync(lib, { recursive: true });

step('bundling the program (esbuild)');
// main.ts and guard.ts pick `.ts` or `.js` for their lazy imports at run time; in the bundle
// every module is inside, so those imports name the sources for esbuild to include.
const staticExt = {
  name: 'static-ext',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/](cli[\\/]main|apply[\\/]guard)\.ts$/ }, (a) => {
      const text = readFileSync(a.path, 'utf8')
        .replaceAll("${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}", 'ts')
        .replaceAll('.${ext}`', '.ts`');
      return { contents: text, loader: 'ts' };
    });
  },
};
// The fleet's etcd client (npm etcd3, over @grpc/grpc-js) is CommonJS: in an ES module bundle its
// require() of Node's modules needs a real `require` (the banner's), and it loads its gRPC
// definitions at run time from `${__dirname}/../proto/rpc.proto`, a path that does not exist in
// the bundle: it is pointed at the .proto files shipped in dist/proto/etcd3/ (copied below).
const etcdProtoDir = join(repo, 'node_modules/etcd3/proto');
const etcdProto = {
  name: 'etcd3-proto',
  setup(b) {
    b.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (a) => {
      const text = readFileSync(a.path, 'utf8');
      const from = '`${__dirname}/../proto/rpc.proto`';
      if (!text.includes(from)) throw new Error(`etcd3 changed: ${a.path} no longer loads ${from}`);
      return { contents: text.replace(from, '__nodenetEtcdProto'), loader: 'js' };
    });
  },
};
await build({
  entryPoints: { 'cli/main': join(repo, 'src/cli/main.ts'), 'apply/guard': join(repo, 'src/apply/guard.ts') },
  outdir: join(lib, 'dist'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [staticExt, etcdProto],
  banner: {
    js: [
      "import { createRequire as __nodenetCreateRequire } from 'node:module';",
      "import { fileURLToPath as __nodenetFileURLToPath } from 'node:url';",
      'const require = __nodenetCreateRequire(import.meta.url);',
      "const __nodenetEtcdProto = __nodenetFileURLToPath(new URL('../proto/etcd3/rpc.proto', import.meta.url));",
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
});
await build({
  entryPoints: { 'web/app/main': join(repo, 'web/src/main.ts') },
  outdir: join(lib, 'dist'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
});

step('program files');
for (const f of readdirSync(etcdProtoDir).filter((n) => n.endsWith('.proto')))
  put(join('usr/lib/nodenet/dist/proto/etcd3', f), readFileSync(join(etcdProtoDir, f)));
put(
  'usr/lib/nodenet/package.json',
  `${JSON.stringify({ name: 'nodenet', version, type: 'module', private: true, license: pkg.license }, null, 2)}\n`,
);
// The launcher: bin/nodenet with Debian's node path (lintian wants no /usr/bin/env) and without
// --max-semi-space-size, which costs more start-up than it saves on big files (bench/README.md).
put(
  'usr/lib/nodenet/bin/nodenet',
  readFileSync(join(repo, 'bin/nodenet'), 'utf8').replace(/^#!.*\n/, '#!/usr/bin/node\n'),
  0o755,
);
for (const f of readdirSync(join(repo, 'web/static')))
  copy(join('web/static', f), join('usr/lib/nodenet/web/static', f));
for (const f of readdirSync(join(repo, 'libexec'))) copy(join('libexec', f), join('usr/lib/nodenet/libexec', f), 0o755);
mkdirSync(join(stage, 'usr/bin'), { recursive: true });
symlinkSync('../lib/nodenet/bin/nodenet', join(stage, 'usr/bin/nodenet'));
copy('systemd/nodenet.service', 'lib/systemd/system/nodenet.service');
copy('systemd/nodenet-rollback.service', 'lib/systemd/system/nodenet-rollback.service');
copy('systemd/nodenet-agent.service', 'lib/systemd/system/nodenet-agent.service');
copy('packaging/default', 'etc/default/nodenet');
copy('packaging/pam', 'etc/pam.d/nodenet');
copy('packaging/logrotate', 'etc/logrotate.d/nodenet');

step('man page and bash completion (from the command definitions)');
const gen = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '-e',
    `const m = await import(${JSON.stringify(join(repo, 'src/cli/manpage.ts'))});
     const d = await m.commandDefinitions();
     process.stdout.write(JSON.stringify({ man: m.manPage(d, ${JSON.stringify(date.toISOString().slice(0, 10))}), bash: m.bashCompletion(d) }));`,
  ],
  { cwd: repo, encoding: 'utf8', maxBuffer: 16 << 20 },
);
if (gen.status !== 0) throw new Error(`man page generation failed: ${gen.stderr}`);
const { man, bash } = JSON.parse(gen.stdout);
put('usr/share/man/man8/nodenet.8.gz', gzipSync(Buffer.from(man), { level: 9 }).fill(0, 4, 8));
put('usr/share/bash-completion/completions/nodenet', bash);

step('documentation');
const doc = 'usr/share/doc/nodenet';
copy('packaging/copyright', `${doc}/copyright`);
for (const f of ['README.md']) copy(f, `${doc}/${f}`);
for (const f of ['api.md', 'apply.md']) copy(join('docs', f), `${doc}/${f}`);
// DEBFULLNAME / DEBEMAIL as Debian's tools, for who builds the package.
const maintainer = `${process.env.DEBFULLNAME ?? 'nodenet developers'} <${process.env.DEBEMAIL ?? 'nodenet@users.noreply.github.com'}>`;
const rfc2822 = date.toUTCString().replace(/GMT$/, '+0000');
const changelog = `nodenet (${version}) unstable; urgency=medium

  * Debian package built by \`npm run package\`: bundled program, systemd units
    (API server, boot-time rollback, fleet agent), PAM logins, nodenet(8), bash
    completion.

 -- ${maintainer}  ${rfc2822}
`;
// gzip -n: no name and no time stamp (bytes 4-7 zeroed), as lintian expects.
put(`${doc}/changelog.gz`, gzipSync(Buffer.from(changelog), { level: 9 }).fill(0, 4, 8));

step('control files');
const files = [];
const walk = (d) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else files.push(p);
  }
};
walk(stage);
let size = 0;
for (const f of files) size += lstatSync(f).size;
const conffiles = ['/etc/default/nodenet', '/etc/pam.d/nodenet', '/etc/logrotate.d/nodenet'];
const md5 = files
  .map((f) => relative(stage, f))
  .filter((r) => !conffiles.includes(`/${r}`) && !lstatSync(join(stage, r)).isSymbolicLink())
  .sort()
  .map(
    (r) =>
      `${createHash('md5')
        .update(readFileSync(join(stage, r)))
        .digest('hex')}  ${r}\n`,
  )
  .join('');
put(
  'DEBIAN/control',
  `Package: nodenet
Version: ${version}
Architecture: all
Maintainer: ${maintainer}
Installed-Size: ${Math.ceil(size / 1024)}
Depends: nodejs (>= 20.19), ifupdown2, iproute2, openssl, pamtester, python3, init-system-helpers (>= 1.54~)
Section: net
Priority: optional
Description: safe, lossless network manager for Proxmox VE style nodes
 nodenet edits /etc/network/interfaces without losing comments or unknown
 options, serves a Proxmox VE compatible REST API (/api2/json) and a web UI
 over HTTPS, and applies changes with ifupdown2 inside a confirm window that
 rolls back by itself when nobody confirms, also across a reboot.
 .
 NAME@pam users log in with their system password through PAM.
`,
);
put('DEBIAN/conffiles', `${conffiles.join('\n')}\n`);
put('DEBIAN/md5sums', md5);
for (const s of ['postinst', 'prerm', 'postrm']) copy(join('packaging', s), `DEBIAN/${s}`, 0o755);

step('dpkg-deb');
// Directories 0755 and every file's time the commit's, whatever the umask and checkout.
const fix = (d) => {
  chmodSync(d, 0o755);
  for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) fix(join(d, e.name));
};
fix(stage);
spawnSync('find', [stage, '-exec', 'touch', '-h', '-d', `@${epoch}`, '{}', '+']);
const deb = join(out, `nodenet_${version}_all.deb`);
const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, deb], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
});
if (r.status !== 0) process.exit(r.status ?? 1);
process.stdout.write(`${deb}\n`);
