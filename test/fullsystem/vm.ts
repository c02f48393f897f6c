/**
 * The full-system tier's guest: this machine's own root booted under QEMU (TCG) with systemd
 * as PID 1, a persistent ext4 overlay on a virtio disk (state survives a reboot or a hard
 * reset), two virtio NICs (eth0 on QEMU's user network with forwarded ports for HTTPS and SSH,
 * eth1 spare), and an agent that runs shell commands from the shared work dir. See README.md.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = import.meta.dirname;
export const REPO_ROOT = resolve(HERE, '../..');
export const CACHE_DIR = process.env['FS_CACHE'] ?? join(REPO_ROOT, '.cache/fullsystem');
/** Limit for one boot until the agent answers (TCG on a loaded 2-core machine). */
export const BOOT_TIMEOUT_MS = Number(process.env['FS_BOOT_TIMEOUT'] ?? 420) * 1000;

export interface Prepared {
  kernel: string;
  initrd: string;
  debs: string;
}

/** What is missing on this host to run the tier ([] = nothing). */
export function missingPrerequisites(): string[] {
  const miss: string[] = [];
  for (const [bin, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['busybox', 'busybox-static'],
    ['mkfs.ext4', 'e2fsprogs'],
    ['ssh', 'openssh-client'],
    ['ssh-keygen', 'openssh-client'],
    ['dpkg-deb', 'dpkg'],
    ['apt-get', 'apt'],
    ['node', 'nodejs'],
    ['pamtester', 'pamtester'],
  ]) {
    if (!['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, bin!))))
      miss.push(`${bin} (${pkg})`);
  }
  if (process.getuid?.() !== 0) miss.push('root');
  return miss;
}

export async function prepare(): Promise<Prepared> {
  const { stdout } = await run('bash', [join(HERE, 'prepare.sh'), CACHE_DIR], {
    maxBuffer: 1 << 20,
    timeout: 15 * 60_000,
  });
  const kv = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  if (!kv['KERNEL'] || !kv['INITRD'] || !kv['DEBS']) throw new Error(`prepare.sh gave no paths:\n${stdout}`);
  return { kernel: kv['KERNEL'], initrd: kv['INITRD'], debs: kv['DEBS'] };
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ExecResult {
  rc: number;
  out: string;
}

export class Guest {
  readonly work: string;
  readonly disk: string;
  /** Host ports forwarded to the guest's 10.0.2.15:8006 and :22. */
  httpsPort = 0;
  sshPort = 0;
  readonly rootPassword = 'Root-pw-fullsystem-1';
  readonly key: string;
  private qemu: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private seq = 0;
  boots = 0;

  constructor(
    readonly prep: Prepared,
    readonly dir: string,
    private readonly log: (s: string) => void,
  ) {
    this.work = join(dir, 'work');
    this.disk = join(dir, 'disk.img');
    this.key = join(dir, 'id');
  }

  /** Lays out the work dir and the empty disk (first boot only). */
  async init(): Promise<void> {
    mkdirSync(join(this.work, 'cmd'), { recursive: true });
    mkdirSync(join(this.work, 'out'), { recursive: true });
    for (const f of ['firstboot.sh', 'agent.sh', 'kt-agent.service']) copyFileSync(join(HERE, f), join(this.work, f));
    mkdirSync(join(this.work, 'debs'));
    for (const f of readdirSync(this.prep.debs))
      if (f.endsWith('.deb')) copyFileSync(join(this.prep.debs, f), join(this.work, 'debs', f));
    writeFileSync(join(this.work, 'rootpw'), this.rootPassword);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.key]);
    copyFileSync(`${this.key}.pub`, join(this.work, 'id.pub'));
    mkdirSync(join(this.work, 'hostkeys'));
    for (const t of ['rsa', 'ecdsa', 'ed25519'])
      await run('ssh-keygen', ['-q', '-t', t, '-N', '', '-f', join(this.work, 'hostkeys', `ssh_host_${t}_key`)]);
    await run('truncate', ['-s', '2G', this.disk]);
    await run('mkfs.ext4', ['-q', '-F', this.disk]);
    this.httpsPort = await freePort();
    this.sshPort = await freePort();
  }

  /** Boots (or reboots after {@link hardReset}) and waits for the agent of this boot. */
  async boot(): Promise<number> {
    rmSync(join(this.work, 'out', 'agent.up'), { force: true });
    this.boots++;
    const t0 = Date.now();
    const console = join(this.dir, `console-${this.boots}.log`);
    const fwd = `hostfwd=tcp:127.0.0.1:${this.httpsPort}-10.0.2.15:8006,hostfwd=tcp:127.0.0.1:${this.sshPort}-10.0.2.15:22`;
    this.qemu = spawn(
      'qemu-system-x86_64',
      [
        '-accel',
        'tcg',
        '-m',
        '1536',
        '-smp',
        '1',
        '-nodefaults',
        '-no-user-config',
        '-display',
        'none',
        '-monitor',
        'none',
        '-no-reboot',
        '-serial',
        `file:${console}`,
        '-kernel',
        this.prep.kernel,
        '-initrd',
        this.prep.initrd,
        '-append',
        'console=ttyS0 panic=-1 quiet mitigations=off cryptomgr.notests tsc=reliable no_timer_check systemd.show_status=0 net.ifnames=0',
        '-drive',
        `file=${this.disk},if=virtio,format=raw`,
        '-netdev',
        `user,id=n0,net=10.0.2.0/24,${fwd}`,
        '-device',
        'virtio-net-pci,netdev=n0',
        '-netdev',
        'user,id=n1,restrict=on',
        '-device',
        'virtio-net-pci,netdev=n1',
        '-virtfs',
        'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
        '-virtfs',
        `local,path=${this.work},mount_tag=work,security_model=none`,
      ],
      { stdio: 'ignore' },
    );
    const q = this.qemu;
    this.exited = new Promise((r) => q.on('exit', () => r()));
    const up = join(this.work, 'out', 'agent.up');
    while (!existsSync(up)) {
      if (q.exitCode !== null || q.signalCode !== null)
        throw new Error(`the guest stopped during boot ${this.boots}; console:\n${this.consoleTail()}`);
      if (Date.now() - t0 > BOOT_TIMEOUT_MS)
        throw new Error(
          `boot ${this.boots}: no agent after ${BOOT_TIMEOUT_MS / 1000} s; console:\n${this.consoleTail()}`,
        );
      await sleep(250);
    }
    const s = (Date.now() - t0) / 1000;
    this.log(`boot ${this.boots}: agent up after ${s.toFixed(1)} s`);
    return s;
  }

  consoleTail(lines = 40): string {
    try {
      return readFileSync(join(this.dir, `console-${this.boots}.log`), 'utf8')
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '(no console log)';
    }
  }

  /** Runs `script` (sh) in the guest as root through the agent. */
  async exec(script: string, timeoutMs = 180_000): Promise<ExecResult> {
    const n = String(++this.seq).padStart(4, '0');
    const tmp = join(this.work, 'cmd', `.${n}.tmp`);
    writeFileSync(tmp, `${script}\n`);
    renameSync(tmp, join(this.work, 'cmd', `${n}.sh`));
    const rc = join(this.work, 'out', `${n}.rc`);
    const t0 = Date.now();
    while (!existsSync(rc)) {
      if (this.qemu?.exitCode !== null || this.qemu?.signalCode !== null)
        throw new Error(`the guest stopped while running: ${script}\n${this.consoleTail()}`);
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`guest command timed out after ${timeoutMs / 1000} s: ${script}`);
      await sleep(150);
    }
    return {
      rc: Number(readFileSync(rc, 'utf8').trim()),
      out: readFileSync(join(this.work, 'out', `${n}.out`), 'utf8'),
    };
  }

  /** Like {@link exec}, failing unless the exit status is 0. */
  async sh(script: string, timeoutMs?: number): Promise<string> {
    const r = await this.exec(script, timeoutMs);
    if (r.rc !== 0) throw new Error(`guest command failed (rc ${r.rc}): ${script}\n${r.out}`);
    return r.out;
  }

  /** Pulls the plug: QEMU is killed, nothing in the guest gets to flush or shut down. */
  async hardReset(): Promise<void> {
    this.qemu?.kill('SIGKILL');
    await this.exited;
    // Commands queued for the dead boot are dropped.
    for (const f of ['cmd', 'out']) {
      rmSync(join(this.work, f), { recursive: true, force: true });
      mkdirSync(join(this.work, f));
    }
  }

  /** Powers off (best effort) and waits for QEMU to end. */
  async stop(): Promise<void> {
    if (!this.qemu || this.qemu.exitCode !== null || this.qemu.signalCode !== null) return;
    const q = this.qemu;
    const timer = setTimeout(() => q.kill('SIGKILL'), 30_000);
    await this.exec('systemctl poweroff --no-block', 10_000).catch(() => q.kill('SIGKILL'));
    await this.exited;
    clearTimeout(timer);
  }
}
