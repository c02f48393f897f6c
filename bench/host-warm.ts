/**
 * The host `ifupdown2` backend, warm (under `nodenet serve`) against cold (the CLI alone), on a
 * real kernel: the QEMU kernel tier (test/kernel/harness.ts; root, qemu-system-x86,
 * busybox-static; run `npm run build` first). In the guest, `/` is a throw-away overlay, so
 * `--root / --backend ifupdown2` reloads the guest's network, as on a node.
 *
 *   node --import tsx bench/host-warm.ts [N] [--steps S]      (default 300 bridges, 3 steps)
 *
 * The file is installer-shaped: lo, eno1, vmbr0 on eno1 with the gateway, N-1 more bridges, then
 * `source /etc/network/interfaces.d/*` (an empty directory). Both runs start from the same file
 * brought up by a cold `ifreload -a`, then add S bridges one by one, each with `nodenet create` +
 * `nodenet apply`, the apply timed as a whole process (node start-up included):
 * - warm: `nodenet serve` runs; `nodenet apply` goes through its socket and its host backend's
 *   warm ifupdown2 worker (started by serve in the background);
 * - cold: no server; `nodenet apply` applies in its own process (one ifupdown2 process per
 *   command);
 * then `ifreload -a` of the final file, timed: a full re-apply. The normalised kernel states
 * after the warm and the cold run must be equal (exit 1 otherwise), and the warm applies must
 * not have fallen back to cold commands.
 *
 * The guest has ONE vCPU (KT_SMP, default 1) under TCG (no KVM): absolute times are several
 * times a real node's; compare within a run.
 */
import { diffStates, type KernelState } from '../src/apply/state.ts';
import { BOOT_TIMEOUT_MS, kernelTierSkip, runInGuest } from '../test/kernel/harness.ts';
import { LOOK_INSTALLED } from '../test/kernel/files.ts';

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? '300');
const stepsArg = args.indexOf('--steps');
const steps = stepsArg >= 0 ? Number(args[stepsArg + 1]) : 3;

function bridge(i: number): string {
  return `auto vmbr${i}\niface vmbr${i} inet static\n\taddress 10.${(i >> 8) & 255}.${i & 255}.1/24\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\n`;
}
function installerFile(count: number): string {
  let s = 'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\n';
  s +=
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.168.100.2/24\n\tgateway 192.168.100.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\n';
  for (let i = 1; i < count; i++) s += bridge(i);
  return `${s}source /etc/network/interfaces.d/*\n`;
}

const SOCK = '/var/lib/nodenet/serve/apply.sock';
const PRELUDE = `set -e
${LOOK_INSTALLED}N() { /usr/bin/node --max-semi-space-size=64 "$KT_REPO/bin/nodenet" --root / --backend ifupdown2 "$@"; }
state() { /usr/bin/node --input-type=module -e "
  const s = await import('$KT_REPO/dist/apply/state.js');
  const r = await import('$KT_REPO/dist/apply/runner.js');
  console.log(JSON.stringify((await s.readKernelState(s.hostExec(r.createRunner()))).state));"; }
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
adds() {
  for i in $(seq 1 ${steps}); do
    b=vmbr$((${n} + i - 1))
    N create "$b" --type bridge --autostart 1 --cidr "10.250.$i.1/24" >/dev/null
    t=$(now)
    # each output line with the guest's uptime before it (the log streams as the apply runs)
    { N apply 2>&1 || echo "rc=$?"; } | while IFS= read -r l; do echo "$(now) $l"; done >"$KT_OUT/$1-$i.txt"
    echo "$b $(since "$t")" >>"$KT_OUT/$1-times.txt"
  done
}
`;

const WARM = `${PRELUDE}
t=$(now)
# node itself in the background (not the N function: $! would be a subshell)
/usr/bin/node --max-semi-space-size=64 "$KT_REPO/bin/nodenet" --root / --backend ifupdown2 serve --listen 127.0.0.1:18006 >"$KT_OUT/serve.log" 2>&1 &
SERVE=$!
for i in $(seq 1 1200); do [ -S ${SOCK} ] && break; sleep 0.5; done
[ -S ${SOCK} ] || { echo "serve did not listen" >&2; cat "$KT_OUT/serve.log" >&2; exit 1; }
echo "$(since "$t")" >"$KT_OUT/serve-up.txt"
adds warm
state >"$KT_OUT/state.json"
kill -TERM "$SERVE"; wait "$SERVE" || true`;

const COLD = `${PRELUDE}
adds cold
state >"$KT_OUT/state.json"
t=$(now)
ifreload -a >"$KT_OUT/full.txt" 2>&1 || echo "rc=$?" >>"$KT_OUT/full.txt"
echo "$(since "$t")" >"$KT_OUT/full-time.txt"`;

const skip = kernelTierSkip();
if (skip !== false) {
  console.error(`host-warm: ${skip}`);
  process.exit(1);
}
const file = installerFile(n);
const t0 = performance.now();
const run = await runInGuest({
  timeoutMs: BOOT_TIMEOUT_MS + 3_600_000,
  steps: [
    { name: 'warm', files: { interfaces: file }, script: WARM, check: false },
    { name: 'cold', files: { interfaces: file }, script: COLD, check: false },
  ],
});
const [warm, cold] = run.steps;
if (warm === undefined || cold === undefined) throw new Error('the guest did not run both steps');
for (const s of [warm, cold]) {
  if (s.script?.rc !== 0) {
    console.error(
      `${s.name}: script rc ${s.script?.rc}\n${s.script?.stderr}\n${JSON.stringify(s.extra, null, 1).slice(0, 4000)}`,
    );
    process.exit(1);
  }
}
const times = (t: string | undefined): number[] =>
  (t ?? '')
    .trim()
    .split('\n')
    .map((l) => Number(l.split(' ')[1]));
const w = times(warm.extra['warm-times.txt']);
const c = times(cold.extra['cold-times.txt']);
const full = Number(cold.extra['full-time.txt'] ?? NaN);
/** Seconds from the log's `reload:` plan line to its `reload: exit` line: the ifupdown2 commands. */
const reloadTime = (log: string): number => {
  const at = (re: RegExp): number => Number(/^(\S+) /.exec(log.split('\n').find((l) => re.test(l)) ?? '')?.[1] ?? NaN);
  return at(/^\S+ reload: exit/) - at(/^\S+ reload: (targeted|all)/);
};
let failed = false;
for (let i = 1; i <= steps; i++) {
  const log = warm.extra[`warm-${i}.txt`] ?? '';
  if (/applying in this process|warm ifupdown2 worker|rc=|\$ ifreload -a/.test(log) || !/\$ ifup -w /.test(log)) {
    console.error(`warm apply ${i} was not a targeted warm apply through serve:\n${log}`);
    failed = true;
  }
}
const diff = diffStates(
  JSON.parse(warm.extra['state.json'] ?? 'null') as KernelState,
  JSON.parse(cold.extra['state.json'] ?? 'null') as KernelState,
  ['warm', 'cold'],
);
const equal = diff.length === 0;
if (!equal) {
  console.error(`kernel states differ:\n${diff.map((d) => d.message).join('\n')}`);
  failed = true;
}
const ifreloadBase = [warm, cold].map((s) => s.ifreload?.rc);
console.log(
  `guest: ${n} bridges + source line, ifreload -a at each step's start rc ${ifreloadBase.join('/')}; ` +
    `serve up in ${warm.extra['serve-up.txt']?.trim()} s; guest run ${((performance.now() - t0) / 1000).toFixed(0)} s in all`,
);
console.log(
  `\n| step (${n} bridges + source, QEMU guest, 1 vCPU) | CLI apply, warm (through serve) | CLI apply, cold (alone) | ` +
    `its reload: warm | its reload: cold | \`ifreload -a\` | warm apply vs ifreload | states equal |`,
);
console.log('|---|---|---|---|---|---|---|---|');
for (let i = 0; i < steps; i++) {
  const wi = w[i] ?? NaN;
  const rw = reloadTime(warm.extra[`warm-${i + 1}.txt`] ?? '');
  const rc = reloadTime(cold.extra[`cold-${i + 1}.txt`] ?? '');
  console.log(
    `| add vmbr${n + i} | ${wi.toFixed(2)} s | ${(c[i] ?? NaN).toFixed(2)} s | ${rw.toFixed(2)} s | ${rc.toFixed(2)} s | ` +
      `${full.toFixed(2)} s | ${(full / wi).toFixed(1)}× | ${equal ? 'yes' : 'NO'} |`,
  );
}
const last = warm.extra[`warm-${steps}.txt`] ?? '';
console.log(`\nlast warm apply's backend line: ${/backend: .*$/m.exec(last)?.[0] ?? '(none)'}`);
process.exit(failed ? 1 : 0);
