/**
 * Unified diff of two texts by lines (Myers' O((N+M)D) algorithm after trimming the common
 * prefix and suffix, so a one-stanza change in a 4094-stanza file costs almost nothing), with
 * the search bounded by {@link MAX_EDIT_DISTANCE} so a whole-file rewrite stays cheap.
 */

function splitKeepingEol(s: string): string[] {
  if (s === '') return [];
  const out: string[] = [];
  let pos = 0;
  while (pos < s.length) {
    const nl = s.indexOf('\n', pos);
    if (nl === -1) {
      out.push(s.slice(pos));
      break;
    }
    out.push(s.slice(pos, nl + 1));
    pos = nl + 1;
  }
  return out;
}

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

/**
 * The largest edit distance (lines added + removed, after the common prefix and suffix) the
 * line-by-line search runs to. Myers keeps one row of the search per step d, of 2d+3 cells,
 * so the memory is about 4·D² bytes: 16 MB at this bound, where an unbounded search of a
 * 4000-line rewrite took 574 MB. Past it, the changed middle is shown as one hunk (all old
 * lines removed, then all new lines added): still a correct diff, only not the shortest.
 */
export const MAX_EDIT_DISTANCE = 2000;

/**
 * The shortest edit script from `a` to `b` (Myers), or null when it is longer than `maxD`.
 * `trace[d]` holds the furthest x of each diagonal k in -d-1..d+1 before step d.
 */
function myers(a: string[], b: string[], maxD: number): Op[] | null {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const limit = Math.min(max, maxD);
  const v = new Int32Array(2 * limit + 4);
  const off = limit + 1;
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= limit && !found; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[k - 1 + off]! < v[k + 1 + off]!)) x = v[k + 1 + off]!;
      else x = v[k - 1 + off]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[k + off] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  if (!found) return null;
  // Backtrack.
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const row = trace[d]!;
    const at = (k: number): number => row[k + d + 1]!;
    const k = x - y;
    let prevK: number;
    if (k === -d || (k !== d && at(k - 1) < at(k + 1))) prevK = k + 1;
    else prevK = k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ kind: ' ', line: a[x - 1]!, a: x - 1, b: y - 1 });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) ops.push({ kind: '+', line: b[y - 1]!, a: x, b: y - 1 });
      else ops.push({ kind: '-', line: a[x - 1]!, a: x - 1, b: y });
    }
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}

/** The whole of `a` removed, then the whole of `b` added: the fallback past {@link MAX_EDIT_DISTANCE}. */
function replaceAll(a: string[], b: string[]): Op[] {
  return [
    ...a.map((line, i): Op => ({ kind: '-', line, a: i, b: 0 })),
    ...b.map((line, j): Op => ({ kind: '+', line, a: a.length, b: j })),
  ];
}

/**
 * A unified diff (`diff -u` format) from `oldText` to `newText`, or '' when equal.
 * Lines without a final newline get the `\ No newline at end of file` marker.
 */
export function unifiedDiff(
  oldText: string,
  newText: string,
  oldName = 'interfaces',
  newName = 'interfaces.new',
  context = 3,
  maxEditDistance = MAX_EDIT_DISTANCE,
): string {
  if (oldText === newText) return '';
  const a = splitKeepingEol(oldText);
  const b = splitKeepingEol(newText);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const ma = a.slice(pre, a.length - suf);
  const mb = b.slice(pre, b.length - suf);
  const mid = myers(ma, mb, maxEditDistance) ?? replaceAll(ma, mb);
  const ops: Op[] = [];
  for (let i = 0; i < pre; i++) ops.push({ kind: ' ', line: a[i]!, a: i, b: i });
  for (const o of mid) ops.push({ ...o, a: o.a + pre, b: o.b + pre });
  for (let i = suf; i > 0; i--) ops.push({ kind: ' ', line: a[a.length - i]!, a: a.length - i, b: b.length - i });
  // Group into hunks.
  let out = `--- ${oldName}\n+++ ${newName}\n`;
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i]!.kind === ' ') i++;
    if (i >= ops.length) break;
    let start = Math.max(0, i - context);
    let end = i;
    // Extend while changes are within 2*context of each other.
    for (;;) {
      while (end < ops.length && ops[end]!.kind !== ' ') end++;
      let j = end;
      while (j < ops.length && ops[j]!.kind === ' ' && j - end < 2 * context) j++;
      if (j < ops.length && ops[j]!.kind !== ' ' && j - end <= 2 * context) {
        end = j;
        continue;
      }
      break;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, stop);
    const aStart = hunk.find((o) => o.kind !== '+')?.a ?? hunk[0]!.a;
    const bStart = hunk.find((o) => o.kind !== '-')?.b ?? hunk[0]!.b;
    const aLen = hunk.filter((o) => o.kind !== '+').length;
    const bLen = hunk.filter((o) => o.kind !== '-').length;
    const range = (st: number, len: number) => (len === 1 ? `${st + 1}` : `${len ? st + 1 : st},${len}`);
    out += `@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@\n`;
    for (const o of hunk) {
      const text = o.line.endsWith('\n') ? o.line : `${o.line}\n\\ No newline at end of file\n`;
      out += o.kind + text;
    }
    i = stop;
    start = stop;
  }
  return out;
}
