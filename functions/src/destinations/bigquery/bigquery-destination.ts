import { LoaderError } from '../../errors.ts';
import { bigQueryIdentityStore } from '../../identity/bigquery-store.ts';
import { BOOKKEEPING_SCHEMAS } from '../bookkeeping-tables.ts';
import type { Destination, LoadMeta, LoadRecord, LoadSession, WarehouseSchema } from '../destination.ts';
import { TABLES } from '../destination.ts';
import { claimAttempt } from './attempt-record.ts';
import { bigQueryLoadAttempts } from './attempts.ts';
import {
  type BigQueryContext,
  type BigQueryContextDeps,
  type BigQueryDestinationSettings,
  bigQueryContext,
} from './bigquery-context.ts';
import { BIGQUERY_CAPABILITIES } from './capabilities.ts';
import { ensureClaimLock } from './claim.ts';
import { findLoad } from './find-load.ts';
import type { JobResult } from './job-runner.ts';
import { BigQueryLoadSession, loadsColumns } from './load-session.ts';
import { withRetry } from './retry.ts';
import { ensureTable, listTables, readWarehouseSchema } from './schema-ops.ts';
import { loadHash } from './staging.ts';
import { layoutFor, toFields } from './table-layout.ts';

export type BigQueryDestinationDeps = BigQueryContextDeps;

/**
 * The production Destination: BigQuery through load jobs (never streaming inserts), one claim statement per file
 * and the loads row as the completion mark. See load-session.ts for the protocol and docs/bigquery.md for costs,
 * quotas and what the tests prove.
 */
export function bigQueryDestination(
  settings: BigQueryDestinationSettings,
  deps: BigQueryDestinationDeps,
): Destination {
  const now = deps.now ?? Date.now;
  // The delivery's budget runs from open(): every retry and poll of this load stops before it.
  let deadline = now() + settings.timeBudgetMs;
  const ctx: BigQueryContext = bigQueryContext(settings, deps, () => deadline);
  const policy = ctx.policy;
  let ready = false;
  let lastSchema: WarehouseSchema = new Map();
  /** findLoad's query job per load key, until the load that follows counts its bytes billed. */
  const lookups = new Map<string, JobResult>();

  const ensureDataset = async (): Promise<void> => {
    const dataset = deps.bigquery.dataset(settings.datasetId, { location: settings.location });
    const got = await withRetry(policy(), `datasets.get ${settings.datasetId}`, () => dataset.getMetadata());
    if (got.ok) return;
    const created = await withRetry(policy(), `datasets.insert ${settings.datasetId}`, () =>
      deps.bigquery.createDataset(settings.datasetId, { location: settings.location }),
    );
    if (!created.ok && created.kind !== 'duplicate') {
      throw new LoaderError(
        'SLUICE_ERR_LOAD_DESTINATION_REJECTED',
        `cannot create dataset ${settings.datasetId}`,
        {
          cause: created.error,
        },
      );
    }
  };

  return {
    capabilities: BIGQUERY_CAPABILITIES,
    ...bigQueryLoadAttempts(ctx),
    identity: { schedule: 'scheduled', store: () => bigQueryIdentityStore(ctx) },

    async open() {
      deadline = now() + settings.timeBudgetMs;
      if (ready) return;
      await ensureDataset();
      // One tables.list per cold instance; bookkeeping tables are created only when missing.
      const existing = new Set(await listTables(ctx));
      for (const [table, columns] of Object.entries(BOOKKEEPING_SCHEMAS)) {
        if (existing.has(table)) continue;
        const all = table === TABLES.loads ? loadsColumns() : columns;
        await ensureTable(ctx, table, toFields(all), layoutFor(table, all));
        if (table === TABLES.eventIds) await ensureClaimLock(ctx);
      }
      ready = true;
    },

    async close() {
      // Clients hold no exclusive resources (sockets are pooled and released by the process).
    },

    async findLoad(loadKey: string): Promise<LoadRecord | undefined> {
      const found = await findLoad(ctx, loadKey);
      lookups.set(loadKey, found.job);
      return found.record;
    },

    async readSchema() {
      lastSchema = await readWarehouseSchema(ctx);
      return cloneSchema(lastSchema);
    },

    async beginLoad(meta: LoadMeta): Promise<LoadSession> {
      const attempt = await claimAttempt(ctx, loadHash(meta.loadKey), meta.loadId, meta.startedAt);
      const lookup = lookups.get(meta.loadKey);
      lookups.delete(meta.loadKey);
      return new BigQueryLoadSession(ctx, meta, cloneSchema(lastSchema), attempt, lookup ? [lookup] : []);
    },
  };
}

function cloneSchema(schema: WarehouseSchema): WarehouseSchema {
  return new Map([...schema].map(([t, cols]) => [t, new Map(cols)]));
}
