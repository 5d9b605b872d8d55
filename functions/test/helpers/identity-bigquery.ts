import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type UpdateOptions, updateIdentity } from '../../src/identity/update.ts';
import { type LoadSettings, loadObject } from '../../src/load/load-object.ts';
import { createLogger } from '../../src/logger.ts';
import type { IdentityRules } from '../../src/schema/identity-rules.ts';
import { localDirectoryStore } from '../../src/storage/local-directory.ts';
import { fakeBigQueryDestination } from '../fakes/fake-bigquery-destination.ts';
import { type FakeGcp, startFakeGcp } from '../fakes/fake-gcp-server.ts';
import { withStore } from './identity.ts';
import { DEFAULT_SETTINGS } from './warehouse.ts';

const MB = 1024 * 1024;

/** The identity graph on the strict BigQuery fake: load files, run the scheduled update, read tables, bill. */
export interface IdentityBigQuery {
  fake: FakeGcp;
  load(datasetId: string, lines: string[], settings?: Partial<LoadSettings>): ReturnType<typeof loadObject>;
  update(
    datasetId: string,
    rules: IdentityRules,
    options?: Partial<UpdateOptions>,
  ): ReturnType<typeof updateIdentity>;
  /** Rows of a query, as arrays of REST strings. */
  rows(sql: string): Promise<(string | null)[][]>;
  /** Bytes billed by identity jobs since `mark` (a count of jobs, from `jobMark()`). */
  billedSince(mark: number): number;
  jobMark(): number;
  close(): Promise<void>;
}

export const ident = (o: Record<string, unknown>): string =>
  JSON.stringify({ type: 'identify', context: {}, receivedAt: '2026-01-01T00:00:00Z', traits: {}, ...o });

export async function identityBigQuery(): Promise<IdentityBigQuery> {
  const fake = await startFakeGcp();
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-identity-bq-'));
  let files = 0;
  let holder = 0;
  return {
    fake,
    async load(datasetId, lines, settings = {}) {
      const name = `f${++files}.ndjson`;
      await mkdir(path.join(dir, 'raw'), { recursive: true });
      await writeFile(path.join(dir, 'raw', name), `${lines.join('\n')}\n`);
      return loadObject(
        {
          store: localDirectoryStore(dir),
          destination: fakeBigQueryDestination(fake, { datasetId }),
          settings: { ...DEFAULT_SETTINGS, ...settings },
          logger: createLogger('silent'),
        },
        { bucket: 'raw', name, generation: '1' },
      );
    },
    update(datasetId, rules, options = {}) {
      return withStore(fakeBigQueryDestination(fake, { datasetId }), (s) =>
        updateIdentity(s, rules, {
          holder: `run${++holder}`,
          now: Date.now,
          leaseMs: 60_000,
          overlapMs: 3_600_000,
          ...options,
        }),
      );
    },
    async rows(sql) {
      return (await fake.bigquery.engine.query(sql, {})).rows.map((r) => r.f.map((c) => c.v));
    },
    jobMark: () => fake.bigquery.jobs.size,
    billedSince(mark) {
      return [...fake.bigquery.jobs.entries()]
        .slice(mark)
        .filter(([id]) => id.startsWith('sluice_identity_'))
        .reduce((sum, [, j]) => sum + (j.result?.bytesBilled ?? 0), 0);
    },
    async close() {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { MB };
