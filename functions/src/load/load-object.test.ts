import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BUCKET, eventLine, type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';
import type { Destination, LoadSession, StagedRow } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';

const FILE = 'raw/2026-01-01/00_00_00+00:00_00000000-0000-0000-0000-000000000001.ndjson';
const FILE2 = 'raw/2026-01-01/00_10_00+00:00_00000000-0000-0000-0000-000000000002.ndjson';

/** Wraps a destination so that appendRows throws after `k` rows were staged (a crash mid-load). */
function crashingAfter(inner: Destination, k: number): Destination {
  let staged = 0;
  return {
    ...inner,
    capabilities: inner.capabilities,
    open: () => inner.open(),
    close: () => inner.close(),
    findLoad: (key) => inner.findLoad(key),
    readSchema: () => inner.readSchema(),
    async beginLoad(meta): Promise<LoadSession> {
      const session = await inner.beginLoad(meta);
      return {
        ...session,
        async appendRows(table: string, rows: readonly StagedRow[]) {
          if (staged + rows.length > k) throw new Error('injected crash');
          staged += rows.length;
          await session.appendRows(table, rows);
        },
      };
    },
  };
}

function lines(n: number, prefix = 'e'): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += `${eventLine({ messageId: `${prefix}${i}`, properties: { i, items: [{ k: i }, { k: i + 1 }] } })}\n`;
  }
  return out;
}

describe('loadObject: delivery semantics', () => {
  let wh: TestWarehouse | undefined;
  afterEach(async () => {
    await wh?.cleanup();
    wh = undefined;
  });

  it('a redelivered CloudEvent (same bucket/name#generation) is a no-op', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, lines(5));
    const first = await wh.load(FILE);
    const second = await wh.load(FILE);
    expect(first.status).toBe('loaded');
    expect(second).toMatchObject({ status: 'already_loaded', record: { loadId: first.record.loadId } });
    expect(await wh.query('SELECT count(*) AS n FROM tracks')).toEqual([{ n: '5' }]);
    expect(await wh.query('SELECT count(*) AS n FROM _sluice_loads')).toEqual([{ n: '1' }]);
  });

  it('the same event in two files is one row (and its child rows once)', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, lines(3));
    await wh.put(FILE2, `${lines(1, 'e')}${lines(1, 'new')}`);
    await wh.load(FILE);
    const second = await wh.load(FILE2);
    expect(second.record).toMatchObject({ linesRead: 2, eventsLoaded: 1, duplicates: 1, failed: 0 });
    expect(await wh.query('SELECT count(*) AS n FROM order_completed')).toEqual([{ n: '4' }]);
    expect(await wh.query('SELECT count(*) AS n FROM order_completed__items')).toEqual([{ n: '8' }]);
  });

  it('flushes a batch when its lines reach batchBytes, before batchEvents', async () => {
    wh = await testWarehouse();
    const text = lines(20);
    await wh.put(FILE, text);
    const lineBytes = Math.max(...text.split('\n').map((l) => l.length));
    let flushes = 0;
    const inner = wh.destination();
    const counting: Destination = {
      ...inner,
      open: () => inner.open(),
      close: () => inner.close(),
      findLoad: (key) => inner.findLoad(key),
      readSchema: () => inner.readSchema(),
      async beginLoad(meta) {
        const session = await inner.beginLoad(meta);
        return {
          ...session,
          async appendRows(table, rows) {
            if (table === 'tracks') flushes++;
            await session.appendRows(table, rows);
          },
        };
      },
    };
    const outcome = await wh.load(FILE, {
      settings: { batchEvents: 1000, batchBytes: lineBytes * 5 },
      destination: counting,
    });
    expect(outcome.record).toMatchObject({ linesRead: 20, eventsLoaded: 20 });
    expect(flushes).toBeGreaterThanOrEqual(4);
    expect(flushes).toBeLessThanOrEqual(5);
  });

  it('a crash after k staged rows, then a retry, leaves exactly the rows of one complete load', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, lines(50));
    const settings = { batchEvents: 7 };
    for (const k of [0, 10, 60, 149]) {
      const crash = crashingAfter(wh.destination(), k);
      const error = await wh.load(FILE, { settings, destination: crash }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LoaderError);
      expect((error as LoaderError).retryable).toBe(true);
      const tables = await wh.query(
        "SELECT table_name FROM information_schema.tables WHERE table_name = 'tracks'",
      );
      if (tables.length > 0) expect(await wh.query('SELECT count(*) AS n FROM tracks')).toEqual([{ n: '0' }]);
      expect(await wh.query('SELECT count(*) AS n FROM _sluice_loads')).toEqual([{ n: '0' }]);
    }
    const retry = await wh.load(FILE, { settings });
    expect(retry.record).toMatchObject({ linesRead: 50, eventsLoaded: 50, duplicates: 0, failed: 0 });
    expect(await wh.query('SELECT count(*) AS n, count(DISTINCT id) AS d FROM tracks')).toEqual([
      { n: '50', d: '50' },
    ]);
    expect(await wh.query('SELECT count(*) AS n FROM order_completed__items')).toEqual([{ n: '100' }]);
    expect(await wh.query('SELECT count(*) AS n FROM _sluice_loads')).toEqual([{ n: '1' }]);
  });

  it('a process killed (SIGKILL) mid-load, then a retry, leaves exactly one complete load', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, lines(100));
    const helper = fileURLToPath(new URL('../../test/helpers/crash-load.ts', import.meta.url));
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', helper, wh.dbPath, wh.bucketsDir, BUCKET, FILE, '120'],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.signal).toBe('SIGKILL');
    expect(await wh.query('SELECT count(*) AS n FROM _sluice_loads')).toEqual([{ n: '0' }]);
    const retry = await wh.load(FILE);
    expect(retry.record).toMatchObject({ linesRead: 100, eventsLoaded: 100, duplicates: 0 });
    expect(await wh.query('SELECT count(*) AS n, count(DISTINCT id) AS d FROM order_completed')).toEqual([
      { n: '100', d: '100' },
    ]);
  });

  it('streams in batches: a file of many batches loads completely and in order', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, lines(1000));
    const outcome = await wh.load(FILE, { settings: { batchEvents: 64 } });
    expect(outcome.record).toMatchObject({ linesRead: 1000, eventsLoaded: 1000 });
    expect(await wh.query('SELECT min(i) AS lo, max(i) AS hi, count(*) AS n FROM order_completed')).toEqual([
      { lo: '0', hi: '999', n: '1000' },
    ]);
  });

  it('an empty file is a complete load of zero lines', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, '');
    const outcome = await wh.load(FILE);
    expect(outcome.record).toMatchObject({ linesRead: 0, eventsLoaded: 0, duplicates: 0, failed: 0 });
  });

  it('a missing object cannot be loaded by a retry: the file is quarantined with the reason, acknowledged', async () => {
    wh = await testWarehouse();
    const outcome = await wh.load('raw/nope.ndjson');
    expect(outcome.status).toBe('quarantined');
    expect(outcome.record.reason).toMatch(/^SLUICE_ERR_LOAD_OBJECT_NOT_FOUND: /);
    const rows = await wh.query(`SELECT status, reason FROM _sluice_loads`);
    expect(rows).toEqual([{ status: 'quarantined', reason: outcome.record.reason }]);
  });
});

describe('loadObject: invariants over generated files (fast-check)', () => {
  const arbLine = fc.oneof(
    fc
      .record({
        id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
        n: fc.oneof(
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.string(),
          fc.boolean(),
        ),
      })
      .map(({ id, n }) => eventLine({ messageId: id, properties: { n } })),
    fc.constantFrom('not json', '', '{"type":"nope","messageId":"x","userId":"u"}', '{"type":"track"', '[]'),
    fc.string({ maxLength: 20 }).map((s) => s.replace(/\n/g, ' ')),
  );

  it('reconciliation holds for any mix of valid and bad lines, and re-loading the same file is a no-op', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbLine, { maxLength: 25 }), fc.boolean(), async (ls, trailingNewline) => {
        const wh = await testWarehouse();
        try {
          await wh.put(FILE, ls.join('\n') + (trailingNewline && ls.length > 0 ? '\n' : ''));
          const { record } = await wh.load(FILE, { settings: { batchEvents: 4 } });
          expect(record.linesRead).toBe(record.eventsLoaded + record.duplicates + record.failed);
          const distinct = await wh.query(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'tracks'",
          );
          const rows =
            distinct[0]?.n === '1' ? Number((await wh.query('SELECT count(*) AS n FROM tracks'))[0]?.n) : 0;
          expect(rows).toBe(record.eventsLoaded);
          const failedRows = Number(
            (await wh.query('SELECT count(*) AS n FROM _sluice_failed_events'))[0]?.n,
          );
          expect(failedRows).toBe(record.failed);
          const again = await wh.load(FILE);
          expect(again.status).toBe('already_loaded');
          expect(Number((await wh.query('SELECT count(*) AS n FROM _sluice_loads'))[0]?.n)).toBe(1);
        } finally {
          await wh.cleanup();
        }
      }),
      { numRuns: 15 },
    );
  });
});
