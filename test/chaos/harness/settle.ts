/**
 * After the traffic stops: wait for the pipeline to drain (every finalized file acknowledged by the loader), then
 * for the warehouse to hold every acknowledged id. The drain is bounded by what is queued, not by a fixed time:
 * the loader takes one file at a time, and a scenario that wrote a file a second for a minute has a backlog that
 * takes minutes on a loaded 2-core machine. The check stays "every acknowledged id exactly once": only how long
 * the harness waits for it scales, and a drain that makes no progress for STALL_MS is reported as stuck.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type LocalStack, pollUntil } from '@sluice/infra/local';
import { readWarehouseIsolated } from './isolated-warehouse.ts';
import type { Ledger } from './ledger.ts';
import type { WarehouseState } from './warehouse.ts';

/** Bound of the final warehouse poll, once drained. */
const SETTLE_MS = 25_000;
/** No file acknowledged for this long: the drain is stuck (a writer redelivers its outbox every 30 s). */
const STALL_MS = 45_000;
/** Drain bound: this much, plus PER_FILE_MS for every file pending when the traffic stopped... */
const DRAIN_BASE_MS = 30_000;
/** ...twice the slowest per-file load measured on a loaded 2-core machine (~3 s; docs/reliability.md). */
const PER_FILE_MS = 6000;
/** ...and never more than this (the scenario's own test timeout is above it). */
const DRAIN_CAP_MS = 300_000;

export interface DrainReport {
  /** Files queued (outbox markers, open or torn window temp files) when the traffic stopped. */
  pendingAtStart: number;
  /** Still queued when the wait ended (0 = drained). */
  pendingAtEnd: number;
  seconds: number;
  boundSeconds: number;
}

/** Finalized files the loader has not acknowledged yet, plus open or torn window temp files, of one bucket. */
export async function pendingFiles(bucketDir: string): Promise<number> {
  const bucket = basename(bucketDir);
  const root = dirname(bucketDir);
  const list = async (dir: string): Promise<string[]> =>
    readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const outbox = await list(join(root, `.${bucket}.outbox`));
  const temps = [
    ...(await list(join(root, `.${bucket}.spool`))),
    ...(await list(join(root, `.${bucket}.staging`))),
  ].filter((p) => /\.(part|tmp)$/.test(p));
  return outbox.length + temps.length;
}

/** Waits until nothing is pending, the drain stalls, or its bound (computed from the backlog) passes. */
export async function drain(bucketDir: string): Promise<DrainReport> {
  const started = Date.now();
  const pendingAtStart = await pendingFiles(bucketDir);
  const bound = Math.min(DRAIN_CAP_MS, DRAIN_BASE_MS + pendingAtStart * PER_FILE_MS);
  let lowest = pendingAtStart;
  let lastProgress = started;
  const pendingAtEnd = await pollUntil(
    () => pendingFiles(bucketDir),
    (n) => {
      const now = Date.now();
      if (n < lowest) {
        lowest = n;
        lastProgress = now;
      }
      return n === 0 || now - lastProgress > STALL_MS || now - started > bound;
    },
    { initial: pendingAtStart, timeoutMs: DRAIN_CAP_MS + STALL_MS, intervalMs: 500 },
  );
  return {
    pendingAtStart,
    pendingAtEnd,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    boundSeconds: bound / 1000,
  };
}

/** Polls the warehouse until every acknowledged id is loaded (or, if allowed, failed); bounded. */
export async function settle(
  stack: LocalStack,
  ledger: Ledger,
  mayFail?: (id: string) => boolean,
): Promise<WarehouseState> {
  const empty: WarehouseState = { idCounts: new Map(), failed: [], loads: [] };
  return pollUntil(
    () => readWarehouseIsolated(stack.duckdbPath),
    (w) => {
      const failed = new Set(w.failed.flatMap((f) => (f.eventId ? [f.eventId] : [])));
      return ledger
        .acknowledged()
        .every((id) => (w.idCounts.get(id) ?? 0) > 0 || (mayFail?.(id) === true && failed.has(id)));
    },
    { initial: empty, timeoutMs: SETTLE_MS, intervalMs: 2000 },
  );
}

export interface LoaderThroughput {
  /** `file loaded` lines in the loader's log. */
  files: number;
  /** Median seconds between two consecutive `file loaded` lines while the loader had a backlog. */
  secondsPerFile: number | undefined;
  /** Median `durationMs` of a load (queueing behind other loads included). */
  medianLoadSeconds: number | undefined;
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Reads the loader's logs (the `file loaded` contract line): how fast it worked through the files. */
export async function loaderThroughput(logFiles: readonly string[]): Promise<LoaderThroughput> {
  const texts = await Promise.all(logFiles.map((f) => readFile(f, 'utf8').catch(() => '')));
  const text = texts.join('\n');
  const loads: { time: number; durationMs: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"file loaded"')) continue;
    try {
      const entry = JSON.parse(line) as { time?: number; durationMs?: number };
      if (typeof entry.time === 'number') loads.push({ time: entry.time, durationMs: entry.durationMs ?? 0 });
    } catch {
      // not a log line
    }
  }
  loads.sort((a, b) => a.time - b.time);
  // A gap counts while the loader was busy: the next load had waited in the queue (its duration exceeds the gap).
  const gaps: number[] = [];
  for (let i = 1; i < loads.length; i++) {
    const gap = (loads[i]?.time ?? 0) - (loads[i - 1]?.time ?? 0);
    if ((loads[i]?.durationMs ?? 0) >= gap) gaps.push(gap);
  }
  const perFile = median(gaps);
  const duration = median(loads.map((l) => l.durationMs));
  return {
    files: loads.length,
    secondsPerFile: perFile === undefined ? undefined : Math.round(perFile / 100) / 10,
    medianLoadSeconds: duration === undefined ? undefined : Math.round(duration / 100) / 10,
  };
}
