import { LoaderError } from '../../errors.ts';
import type { LoadRecord } from '../destination.ts';
import type { BigQueryContext } from './bigquery-context.ts';
import { withRetry } from './retry.ts';

/** The identity every delivery of one load key shares: the first delivery's load id and start time. */
export interface Attempt {
  loadId: string;
  startedAt: Date;
  /** Another delivery created it (a retry after a crash, or a concurrent duplicate delivery). */
  adopted: boolean;
}

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
  const saved = await withRetry(ctx.policy(), `create ${file.name}`, () =>
    file.save(body, {
      resumable: false,
      contentType: 'application/json',
      preconditionOpts: { ifGenerationMatch: 0 },
    }),
  );
  if (saved.ok) return { loadId, startedAt, adopted: false };
  if (saved.kind === 'not-found') {
    throw new LoaderError(
      'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
      `staging bucket ${ctx.settings.stagingBucket} not found`,
    );
  }
  const got = await withRetry(ctx.policy(), `download ${file.name}`, () => file.download());
  if (!got.ok) throw new LoaderError('SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', `${file.name} vanished`);
  const [data] = got.value;
  const stored = JSON.parse(data.toString('utf8')) as { loadId: string; startedAt: string };
  return { loadId: stored.loadId, startedAt: new Date(stored.startedAt), adopted: stored.loadId !== loadId };
}

export async function dropAttempt(ctx: BigQueryContext, hash: string): Promise<void> {
  const file = ctx.storage.bucket(ctx.settings.stagingBucket).file(attemptName(ctx, hash));
  await withRetry(ctx.policy(), `delete ${file.name}`, () => file.delete({ ignoreNotFound: true }));
}

/**
 * The completion marker `<prefix>done/<hash>.json`: a copy of the loads row, written after the row. It lets a
 * second commit under a completed key return the first load without a query; the loads row stays the truth (the
 * marker expires with the staging bucket's lifecycle rule; `findLoad` reads the table).
 */
export async function readMarker(ctx: BigQueryContext, hash: string): Promise<LoadRecord | undefined> {
  const file = ctx.storage.bucket(ctx.settings.stagingBucket).file(markerName(ctx, hash));
  const got = await withRetry(ctx.policy(), `download ${file.name}`, () => file.download());
  if (!got.ok) return undefined;
  const stored = JSON.parse(got.value[0].toString('utf8')) as LoadRecord & {
    startedAt: string;
    finishedAt: string;
  };
  return { ...stored, startedAt: new Date(stored.startedAt), finishedAt: new Date(stored.finishedAt) };
}

export async function writeMarker(ctx: BigQueryContext, hash: string, record: LoadRecord): Promise<void> {
  const file = ctx.storage.bucket(ctx.settings.stagingBucket).file(markerName(ctx, hash));
  await withRetry(ctx.policy(), `upload ${file.name}`, () =>
    file.save(JSON.stringify(record), { resumable: false, contentType: 'application/json' }),
  );
}

const attemptName = (ctx: BigQueryContext, hash: string): string =>
  `${ctx.settings.stagingPrefix}${hash}/attempt.json`;
const markerName = (ctx: BigQueryContext, hash: string): string =>
  `${ctx.settings.stagingPrefix}done/${hash}.json`;
