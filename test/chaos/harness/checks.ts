/**
 * The checks every scenario ends with, as plain functions of what was observed. Each returns problems (empty =
 * the promise held); `figures` summarises a run for docs/reliability.md.
 */
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Ledger } from './ledger.ts';
import type { WarehouseState } from './warehouse.ts';

export interface Figures {
  acknowledged: number;
  /** Acknowledged ids found in the warehouse (each counted once). */
  loaded: number;
  /** Sum of `duplicates` over the loads rows (redeliveries the loader removed). */
  duplicatesRemoved: number;
  /** Acknowledged ids not loaded but recorded in failed events with a reason. */
  failed: number;
  quarantined: number;
  /** Acknowledged ids neither loaded nor recorded. */
  lost: number;
  /** Acknowledged ids loaded more than once. */
  doubled: number;
}

export interface Observation {
  ledger: Ledger;
  warehouse: WarehouseState;
  /** Object names of the finalized files in the raw bucket. */
  rawFiles: string[];
  /** Processes still alive that belong to the stack. */
  leftoverProcesses: { pid: number; argv: string }[];
  /** Temp files left under the data dir. */
  leftoverTempFiles: string[];
}

const sample = (items: readonly string[], n = 5): string =>
  `${items.slice(0, n).join(', ')}${items.length > n ? `, ... (${items.length})` : ''}`;

export function figures(o: Observation): Figures {
  const failedIds = new Set(o.warehouse.failed.flatMap((f) => (f.eventId && f.reason ? [f.eventId] : [])));
  let loaded = 0;
  let failed = 0;
  let doubled = 0;
  for (const id of o.ledger.acknowledged()) {
    const n = o.warehouse.idCounts.get(id) ?? 0;
    if (n > 0) loaded += 1;
    else if (failedIds.has(id)) failed += 1;
    if (n > 1) doubled += 1;
  }
  const acknowledged = o.ledger.acknowledged().length;
  return {
    acknowledged,
    loaded,
    duplicatesRemoved: o.warehouse.loads.reduce((s, l) => s + l.duplicates, 0),
    failed,
    quarantined: o.warehouse.loads.filter((l) => l.status === 'quarantined').length,
    lost: acknowledged - loaded - failed,
    doubled,
  };
}

/** Every acknowledged id exactly once in the warehouse, or (when `mayFail`) recorded in failed events. */
export function checkLedger(o: Observation, mayFail: (id: string) => boolean = () => false): string[] {
  const problems: string[] = [];
  const failedIds = new Set(o.warehouse.failed.flatMap((f) => (f.eventId ? [f.eventId] : [])));
  const lost: string[] = [];
  const doubled: string[] = [];
  const failedNormal: string[] = [];
  for (const id of o.ledger.acknowledged()) {
    const n = o.warehouse.idCounts.get(id) ?? 0;
    if (n > 1) doubled.push(id);
    if (n > 0) continue;
    if (!failedIds.has(id)) lost.push(id);
    else if (!mayFail(id)) failedNormal.push(id);
  }
  if (lost.length > 0)
    problems.push(`${lost.length} acknowledged ids missing from the warehouse: ${sample(lost)}`);
  if (doubled.length > 0)
    problems.push(`${doubled.length} acknowledged ids loaded more than once: ${sample(doubled)}`);
  if (failedNormal.length > 0) {
    problems.push(
      `${failedNormal.length} valid acknowledged ids went to failed events: ${sample(failedNormal)}`,
    );
  }
  const refusedButLoaded = o.ledger.rejected().filter((r) => (o.warehouse.idCounts.get(r.id) ?? 0) > 0);
  if (refusedButLoaded.length > 0) {
    problems.push(
      `${refusedButLoaded.length} ids the collector refused are in the warehouse: ${sample(refusedButLoaded.map((r) => r.id))}`,
    );
  }
  return problems;
}

/** Every failed event carries a code and a reason. */
export function checkFailedEvents(o: Observation): string[] {
  const bare = o.warehouse.failed.filter((f) => !f.code || !f.reason);
  return bare.length > 0 ? [`${bare.length} failed events without a code or reason`] : [];
}

/** Per loads row: lines read = rows loaded + duplicates + failed. Quarantined rows must give a reason. */
export function checkReconciliation(o: Observation): string[] {
  const problems: string[] = [];
  for (const l of o.warehouse.loads) {
    if (l.status === 'quarantined') {
      if (!l.reason) problems.push(`${l.name}: quarantined without a reason`);
      continue;
    }
    if (l.linesRead !== l.eventsLoaded + l.duplicates + l.failed) {
      problems.push(
        `${l.name}: lines_read ${l.linesRead} != events_loaded ${l.eventsLoaded} + duplicates ${l.duplicates} + failed ${l.failed}`,
      );
    }
  }
  return problems;
}

/** Every finalized raw file has a loads row. */
export function checkNoFileStuck(o: Observation): string[] {
  const loaded = new Set(o.warehouse.loads.map((l) => l.name));
  const stuck = o.rawFiles.filter((f) => !loaded.has(f));
  return stuck.length > 0 ? [`${stuck.length} raw files without a loads row: ${sample(stuck, 3)}`] : [];
}

export function checkNothingLeft(o: Observation): string[] {
  const problems: string[] = [];
  if (o.leftoverProcesses.length > 0) {
    problems.push(
      `processes left running: ${o.leftoverProcesses.map((p) => `${p.pid} ${p.argv.slice(0, 80)}`).join('; ')}`,
    );
  }
  if (o.leftoverTempFiles.length > 0) problems.push(`temp files left: ${sample(o.leftoverTempFiles, 3)}`);
  return problems;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(path, ...(await walk(path)));
    else out.push(path);
  }
  return out;
}

/** Finalized objects of a local bucket directory (names as the loader sees them; `.`-names are temp files). */
export async function listRawFiles(bucketDir: string): Promise<string[]> {
  return (await walk(bucketDir))
    .map((p) => relative(bucketDir, p))
    .filter((name) => name.endsWith('.ndjson') && !name.split('/').some((part) => part.startsWith('.')));
}

/** Every directory under `root`, `root` included. */
export async function listDirectories(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const out = [root];
  for (const e of entries) if (e.isDirectory()) out.push(...(await listDirectories(join(root, e.name))));
  return out;
}

/** Temp files a crash or a failed write may leave: window `.part`/`.tmp` files, DuckDB stage and tmp dirs. */
export async function listTempFiles(dataDir: string): Promise<string[]> {
  const all = await walk(dataDir);
  return all
    .map((p) => relative(dataDir, p))
    .filter((p) => /\.(part|tmp)$/.test(p) || /\.duckdb\.(stage|tmp)\/./.test(p));
}
