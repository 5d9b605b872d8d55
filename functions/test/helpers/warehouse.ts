import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Destination } from '../../src/destinations/destination.ts';
import { duckdbDestination } from '../../src/destinations/duckdb/duckdb-destination.ts';
import { type LoadOutcome, type LoadSettings, loadObject } from '../../src/load/load-object.ts';
import { createLogger } from '../../src/logger.ts';
import { DEFAULT_CONTRACTS } from '../../src/schema/contracts.ts';
import { localDirectoryStore } from '../../src/storage/local-directory.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';

export const BUCKET = 'sluice-raw';

export const DEFAULT_SETTINGS: LoadSettings = {
  batchEvents: 5000,
  maxLineBytes: 1024 * 1024,
  maxNestingDepth: 5,
  maxColumns: 9000,
  dedupWindowMs: 72 * 3600 * 1000,
  contracts: DEFAULT_CONTRACTS,
};

/** Rows of `sql` as JSON values, from its own instance of the DuckDB file at `dbPath` (opened and closed here). */
export async function queryDuckdb(dbPath: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(dbPath);
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A throwaway warehouse + bucket directory for one test. */
export interface TestWarehouse {
  dir: string;
  dbPath: string;
  bucketsDir: string;
  store: ObjectStore;
  destination(): Destination;
  put(name: string, content: string | Buffer): Promise<void>;
  load(
    name: string,
    options?: { settings?: Partial<LoadSettings>; generation?: string; destination?: Destination },
  ): Promise<LoadOutcome>;
  query(sql: string): Promise<Record<string, unknown>[]>;
  cleanup(): Promise<void>;
}

export async function testWarehouse(): Promise<TestWarehouse> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-loader-'));
  const dbPath = path.join(dir, 'warehouse.duckdb');
  const bucketsDir = path.join(dir, 'buckets');
  const store = localDirectoryStore(bucketsDir);
  const destination = (): Destination => duckdbDestination({ path: dbPath, lockTimeoutMs: 5000 });
  const logger = createLogger('silent');
  return {
    dir,
    dbPath,
    bucketsDir,
    store,
    destination,
    async put(name, content) {
      const file = path.join(bucketsDir, BUCKET, name);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
    },
    load(name, options = {}) {
      return loadObject(
        {
          store,
          destination: options.destination ?? destination(),
          settings: { ...DEFAULT_SETTINGS, ...options.settings },
          logger,
        },
        { bucket: BUCKET, name, generation: options.generation ?? '1' },
      );
    },
    query: (sql) => queryDuckdb(dbPath, sql),
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A valid enriched event line (what the collector publishes), with overrides. */
export function eventLine(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'track',
    event: 'Order Completed',
    messageId: 'm-1',
    userId: 'u-1',
    receivedAt: '2026-01-01T00:00:01.000Z',
    timestamp: '2026-01-01T00:00:00.000Z',
    sourceId: 'local',
    context: {},
    properties: { total: 1 },
    ...overrides,
  });
}
