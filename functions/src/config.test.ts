import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { LoaderError } from './errors.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({ SLUICE_DATA_DIR: '/data' });
    expect(c).toMatchObject({
      destination: 'duckdb',
      duckdbPath: '/data/warehouse.duckdb',
      bucketsDir: '/data/buckets',
      rawBucket: 'sluice-raw',
      batchEvents: 500,
      batchBytes: 8 * 1024 * 1024,
      maxLineBytes: 1048576,
      maxNestingDepth: 5,
      maxColumns: 9000,
      dedupWindowMs: 72 * 3600 * 1000,
      lockTimeoutMs: 30000,
      maxLoadAttempts: 5,
      contracts: { default: 'evolve', tables: {} },
    });
  });

  it('batches 500 events for DuckDB and 5,000 for BigQuery (one staged upload per table and batch)', () => {
    expect(loadConfig({ SLUICE_DATA_DIR: '/data' }).batchEvents).toBe(500);
    const bigquery = { SLUICE_DESTINATION: 'bigquery', SLUICE_GCP_PROJECT: 'p', SLUICE_DATA_DIR: '/data' };
    expect(loadConfig(bigquery).batchEvents).toBe(5000);
    expect(loadConfig({ ...bigquery, SLUICE_BATCH_EVENTS: '250' }).batchEvents).toBe(250);
  });

  it('fails fast listing every problem', () => {
    const error = (() => {
      try {
        loadConfig({ SLUICE_DESTINATION: 'snowflake', SLUICE_BATCH_EVENTS: '0', SLUICE_MAX_COLUMNS: 'x' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(LoaderError);
    const message = (error as LoaderError).message;
    expect(message).toContain('SLUICE_DESTINATION');
    expect(message).toContain('SLUICE_BATCH_EVENTS');
    expect(message).toContain('SLUICE_MAX_COLUMNS');
  });

  it('reads a contracts file and rejects an invalid one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-contracts-'));
    const good = path.join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ default: 'evolve', tables: { order_completed: 'freeze' } }));
    expect(loadConfig({ SLUICE_SCHEMA_CONTRACTS: good }).contracts.tables).toEqual({
      order_completed: 'freeze',
    });
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ tables: { x: 'sometimes' }, extra: 1 }));
    expect(() => loadConfig({ SLUICE_SCHEMA_CONTRACTS: bad })).toThrow(/tables\.x.*extra: unknown key/);
  });
});
