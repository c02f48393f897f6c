/**
 * First render of the interface grid with 4094 interfaces in headless Chromium: time from
 * navigation (logged-in session) to the grid's rows visible. Median of RUNS. Prints a markdown table.
 *   node --import tsx bench/web-render.ts   (needs `npm run build` and /usr/bin/chromium)
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loginAs, newPage, startWeb, CHROMIUM } from '../test/web/harness.ts';

const RUNS = Number(process.env.RUNS ?? 5);
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing (apt-get install chromium)`);
  process.exit(2);
}

function file(n: number): string {
  let s =
    'auto lo\niface lo inet loopback\n\niface eno1 inet manual\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.0.2.50/24\n\tgateway 192.0.2.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n';
  for (let i = 1; i < n; i++)
    s += `\nauto vmbr${i}\niface vmbr${i} inet manual\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n#guest net ${i}\n`;
  return s;
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
};

const rows: string[] = [];
for (const n of [100, 4093]) {
  const h = await startWeb(file(n));
  const page = await newPage(h, []);
  await loginAs(page, h.url);
  const nav: number[] = [];
  const api: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await page.goto(h.url);
    await page.waitForSelector(`#grid-status:has-text("${n + 1} interfaces")`);
    await page.waitForSelector('.grid-row');
    nav.push(performance.now() - t0);
    const a0 = performance.now();
    await page.evaluate('fetch("/api2/json/nodes/pve/network").then(r => r.text())');
    api.push(performance.now() - a0);
  }
  const domRows = await page.locator('.grid-row').count();
  rows.push(
    `| ${n + 1} | ${median(nav).toFixed(0)} ms | ${Math.min(...nav).toFixed(0)}–${Math.max(...nav).toFixed(0)} ms | ${median(api).toFixed(0)} ms | ${domRows} |`,
  );
  await h.close();
}
console.log(
  `First render of the grid, headless Chromium, 1280×800, median of ${RUNS} runs (navigation → rows visible)\n`,
);
console.log('| interfaces | median | range | list API (in page) | rows in DOM |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
