/**
 * Apply history: var/lib/nodenet/history/NNNN/{interfaces,applied,meta.json,state.json}.
 * `interfaces` is the live file *before* the apply (what a rollback restores), `applied` the file
 * the apply made live, `state.json` the kernel state before it. The last {@link HISTORY_KEEP}
 * entries are kept.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, readOptional, type FileMode } from '../store/atomic.ts';
import type { KernelState } from './state.ts';

export const HISTORY_KEEP = 50;

export type Outcome =
  | 'in-progress' // the apply is running (or its process died: see the journal / rollback)
  | 'pending-confirm' // applied, waiting for `nodenet confirm`
  | 'committed'
  | 'rolled-back' // unconfirmed or failed verification inside a confirm window: previous file restored
  | 'failed'; // reload or verification failed without a confirm window (the new file stays live)

export interface HistoryMeta {
  id: number;
  action: 'apply' | 'rollback';
  /** For a rollback: the entry whose previous file was restored. */
  rollbackOf?: number;
  user: string;
  /** ISO time the apply started. */
  when: string;
  digestBefore: string;
  digestAfter: string;
  changed: string[];
  /** sha256 of each file the applied configuration sources (interfaces.d/...), by name. */
  sources?: Record<string, string>;
  outcome: Outcome;
  /** Why the outcome (verification differences, "not confirmed within 30 s", ...). */
  detail?: string;
  /** ISO time of the last outcome change. */
  updated?: string;
}

export function historyDir(varLib: string): string {
  return join(varLib, 'history');
}

function entryDir(varLib: string, id: number): string {
  return join(historyDir(varLib), String(id).padStart(4, '0'));
}

/** Entry ids, ascending. */
export async function listIds(varLib: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(historyDir(varLib));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => /^\d{4,}$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

export interface NewEntry {
  action: HistoryMeta['action'];
  rollbackOf?: number;
  user: string;
  previous: string;
  applied: string;
  digestBefore: string;
  digestAfter: string;
  changed: string[];
  sources?: Record<string, string>;
  stateBefore: KernelState;
  /** Mode and owner of the copies of the file (the live file's: a 0600 file's copies are 0600). */
  mode?: FileMode;
}

/** Writes a new entry (outcome `in-progress`) and prunes old ones. Call under the apply lock. */
export async function createEntry(varLib: string, e: NewEntry, now = new Date()): Promise<HistoryMeta> {
  const ids = await listIds(varLib);
  const id = (ids[ids.length - 1] ?? 0) + 1;
  const dir = entryDir(varLib, id);
  await fs.mkdir(dir, { recursive: true });
  const perm = e.mode ?? 0o644;
  await atomicWrite(join(dir, 'interfaces'), e.previous, perm);
  await atomicWrite(join(dir, 'applied'), e.applied, perm);
  await atomicWrite(join(dir, 'state.json'), `${JSON.stringify(e.stateBefore, null, 1)}\n`, perm);
  const meta: HistoryMeta = {
    id,
    action: e.action,
    ...(e.rollbackOf === undefined ? {} : { rollbackOf: e.rollbackOf }),
    user: e.user,
    when: now.toISOString(),
    digestBefore: e.digestBefore,
    digestAfter: e.digestAfter,
    changed: e.changed,
    ...(e.sources === undefined ? {} : { sources: e.sources }),
    outcome: 'in-progress',
  };
  await writeMeta(varLib, meta);
  const all = [...ids, id];
  for (const old of all.slice(0, Math.max(0, all.length - HISTORY_KEEP))) {
    await fs.rm(entryDir(varLib, old), { recursive: true, force: true });
  }
  return meta;
}

async function writeMeta(varLib: string, meta: HistoryMeta): Promise<void> {
  await atomicWrite(join(entryDir(varLib, meta.id), 'meta.json'), `${JSON.stringify(meta, null, 1)}\n`);
}

export async function readMeta(varLib: string, id: number): Promise<HistoryMeta | null> {
  const t = await readOptional(join(entryDir(varLib, id), 'meta.json'));
  if (t === null) return null;
  try {
    return JSON.parse(t) as HistoryMeta;
  } catch {
    return null;
  }
}

/** Sets an entry's outcome (and detail). */
export async function setOutcome(
  varLib: string,
  id: number,
  outcome: Outcome,
  detail?: string,
  now = new Date(),
): Promise<void> {
  const meta = await readMeta(varLib, id);
  if (meta === null) return;
  const next: HistoryMeta = { ...meta, outcome, updated: now.toISOString() };
  if (detail === undefined) delete next.detail;
  else next.detail = detail;
  await writeMeta(varLib, next);
}

/** The live file before entry `id` was applied (what rolling it back restores). */
export async function readPrevious(varLib: string, id: number): Promise<string | null> {
  return readOptional(join(entryDir(varLib, id), 'interfaces'));
}

/** The file entry `id` made live. */
export async function readApplied(varLib: string, id: number): Promise<string | null> {
  return readOptional(join(entryDir(varLib, id), 'applied'));
}

export async function readStateBefore(varLib: string, id: number): Promise<KernelState | null> {
  const t = await readOptional(join(entryDir(varLib, id), 'state.json'));
  return t === null ? null : (JSON.parse(t) as KernelState);
}

/** All entries' meta, oldest first. */
export async function listHistory(varLib: string): Promise<HistoryMeta[]> {
  const out: HistoryMeta[] = [];
  for (const id of await listIds(varLib)) {
    const m = await readMeta(varLib, id);
    if (m !== null) out.push(m);
  }
  return out;
}
