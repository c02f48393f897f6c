/**
 * Validation at scale: a file with 4094 bridges and one with 4094 VLAN interfaces on one
 * VLAN-aware bridge. Times parse+model and validate separately (median of 25 runs after 5
 * warm-up runs) and prints a markdown table.
 * Run: node --import tsx bench/validate.ts
 */
import { fromDist } from './dist.ts';

const { parse } = await fromDist<typeof import('../src/interfaces/parser.ts')>('interfaces/parser.js');
const { buildModel } = await fromDist<typeof import('../src/model/build.ts')>('model/build.js');
const { validate } = await fromDist<typeof import('../src/validate/index.ts')>('validate/index.js');

const NICS: ReadonlySet<string> = new Set(['eno1', 'eno2']);
const HEAD = 'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\niface eno2 inet manual\n\n';

/** 4094 bridges, each on its own VLAN of eno2 with its own /24, plus the management bridge. */
function bridges(): string {
  let s =
    HEAD +
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\n';
  for (let n = 1; n <= 4094; n++) {
    s += `auto vmbr${n}\niface vmbr${n} inet static\n\taddress 10.${n >> 8}.${n & 255}.1/24\n\tbridge-ports eno2.${n}\n\tbridge-stp off\n\tbridge-fd 0\n\tmtu 1500\n\n`;
  }
  return s;
}

/** One VLAN-aware bridge carrying 2-4094 and a host VLAN interface for every id. */
function vlans(): string {
  let s =
    HEAD +
    'auto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\tbridge-vlan-aware yes\n\tbridge-vids 2-4094\n\n';
  for (let n = 1; n <= 4094; n++) {
    s += `auto vmbr0.${n}\niface vmbr0.${n} inet static\n\taddress 10.${n >> 8}.${n & 255}.2/24\n\n`;
  }
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const WARM = 5;
const RUNS = 25;
const rows: string[] = [];
for (const [name, text] of [
  ['4094 bridges', bridges()],
  ['4094 VLANs on a vlan-aware bridge', vlans()],
] as const) {
  const tParse: number[] = [];
  const tValidate: number[] = [];
  let count = 0;
  let errors = 0;
  for (let r = 0; r < WARM + RUNS; r++) {
    const t0 = performance.now();
    const doc = parse(text, 'interfaces');
    const model = buildModel(doc, { nics: NICS });
    const t1 = performance.now();
    const ds = validate({ doc, model, file: 'interfaces', nics: NICS });
    const t2 = performance.now();
    if (r >= WARM) {
      tParse.push(t1 - t0);
      tValidate.push(t2 - t1);
    }
    count = ds.length;
    errors = ds.filter((d) => d.severity === 'error').length;
  }
  rows.push(
    `| ${name} | ${(text.length / 1024).toFixed(0)} KiB | ${median(tParse).toFixed(1)} ms | ${median(tValidate).toFixed(1)} ms | ${count} (${errors} errors) |`,
  );
}
console.log(`Validation bench (node ${process.version}, median of ${RUNS} runs after ${WARM} warm-up)\n`);
console.log('| file | size | parse + model | validate | diagnostics |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
