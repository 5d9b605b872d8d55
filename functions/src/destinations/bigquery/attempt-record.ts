import type { LoadRecord } from '../destination.ts';
import type { BigQueryContext } from './bigquery-context.ts';

/** The identity every delivery of one load key shares: the first delivery's load id and start time. */
export interface Attempt {
  loadId: string;
  startedAt: Date;
  /** Another delivery created it (a retry after a crash, or a concurrent duplicate delivery). */
  adopted: boolean;
}

const isStatus = (error: unknown, code: number): boolean => (error as { code?: unknown }).code === code;

/**
 * Claims (create-if-absent, `ifGenerationMatch=0`: atomic in Cloud Storage) or adopts the load key's attempt
 * record `<prefix><hash>/attempt.json`. A retry after a crash adopts the first delivery's load id and start time,
 * so its claims in the event-id index are recognised as its own, its rows are byte-identical and its job ids are
 * the same (409 -> the job that already ran). Removed when the load completes (or aborts before claiming).
 */
export async function claimAttempt(
  ctx: BigQueryContext,
  hash: string,
  loadId: string,
  startedAt: Date,
): Promise<Attempt> {
  const file = ctx.storage.bucket(ctx.settings.stagingBucket).file(attemptName(ctx, hash));
  const body = JSON.stringify({ loadId, startedAt: startedAt.toISOString() });
  try {
    await file.save(body, {
      resumable: false,
      contentType: 'application/json',
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    return { loadId, startedAt, adopted: false };
  } catch (error) {
    if (!isStatus(error, 412)) throw error;
  }
  const [data] = await file.download();
  const stored = JSON.parse(data.toString('utf8')) as { loadId: string; startedAt: string };
  return { loadId: stored.loadId, startedAt: new Date(stored.startedAt), adopted: stored.loadId !== loadId };
}

export async function dropAttempt(ctx: BigQueryContext, hash: string): Promise<void> {
  await ctx.storage
    .bucket(ctx.settings.stagingBucket)
    .file(attemptName(ctx, hash))
    .delete({ ignoreNotFound: true });
}

/**
 * The completion marker `<prefix>done/<hash>.json`: a copy of the loads row, written after the row. It lets a
 * second commit under a completed key return the first load without a query; the loads row stays the truth (the
 * marker expires with the staging bucket's lifecycle rule; `findLoad` reads the table).
 */
export async function readMarker(ctx: BigQueryContext, hash: string): Promise<LoadRecord | undefined> {
  const file = ctx.storage.bucket(ctx.settings.stagingBucket).file(markerName(ctx, hash));
  try {
    const [data] = await file.download();
    const stored = JSON.parse(data.toString('utf8')) as LoadRecord & {
      startedAt: string;
      finishedAt: string;
    };
    return { ...stored, startedAt: new Date(stored.startedAt), finishedAt: new Date(stored.finishedAt) };
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

export async function writeMarker(ctx: BigQueryContext, hash: string, record: LoadRecord): Promise<void> {
  await ctx.storage
    .bucket(ctx.settings.stagingBucket)
    .file(markerName(ctx, hash))
    .save(JSON.stringify(record), { resumable: false, contentType: 'application/json' });
}

const attemptName = (ctx: BigQueryContext, hash: string): string =>
  `${ctx.settings.stagingPrefix}${hash}/attempt.json`;
const markerName = (ctx: BigQueryContext, hash: string): string =>
  `${ctx.settings.stagingPrefix}done/${hash}.json`;
