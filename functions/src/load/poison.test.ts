import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUCKET,
  DEFAULT_SETTINGS,
  eventLine,
  type TestWarehouse,
  testWarehouse,
} from '../../test/helpers/warehouse.ts';
import type { Destination, LoadSession } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { MAX_JSON_DEPTH } from '../normalize/parse-json.ts';
import { loadObject } from './load-object.ts';

/**
 * Issue 12, items 7-9 and the quarantine rule: no input can make a file's load fail forever. Every line is loaded
 * or recorded in failed events with a code, and per-file reconciliation holds.
 */

const FILE = 'raw/2026-01-01/00_00_00+00:00_00000000-0000-0000-0000-00000000000a.ndjson';

let wh: TestWarehouse | undefined;
afterEach(async () => {
  await wh?.cleanup();
  wh = undefined;
});

async function reconcile(w: TestWarehouse): Promise<{ lines: number }> {
  const [row] = await w.query(
    `SELECT CAST(lines_read AS INT) AS lines, CAST(events_loaded AS INT) AS loaded, CAST(duplicates AS INT) AS dups,
            CAST(failed AS INT) AS failed,
            (SELECT CAST(count(*) AS INT) FROM _sluice_failed_events) AS failed_rows,
            (SELECT CAST(count(*) AS INT) FROM _sluice_event_ids) AS ids
     FROM _sluice_loads WHERE status = 'loaded'`,
  );
  const r = row as {
    lines: number;
    loaded: number;
    dups: number;
    failed: number;
    failed_rows: number;
    ids: number;
  };
  expect(r.lines).toBe(r.loaded + r.dups + r.failed);
  expect(r.failed_rows).toBe(r.failed);
  expect(r.ids).toBe(r.loaded);
  return r;
}

describe('poison input never blocks a file (issue 12, items 7-9)', () => {
  it('a lone surrogate in an event name, a value, a key or context is a coded failed event; the rest loads', async () => {
    wh = await testWarehouse();
    const poison = [
      eventLine({ messageId: 'p1', event: '\ud800' }),
      eventLine({ messageId: 'p2', properties: { name: 'x\udc00y' } }),
      eventLine({ messageId: 'p3', properties: { 'k\ud83d': 1 } }),
      eventLine({ messageId: 'p4', context: { page: { title: ['ok', '\udfff'] } } }),
    ];
    const good = [eventLine({ messageId: 'g1' }), eventLine({ messageId: 'g2', properties: { e: '😀' } })];
    await wh.put(FILE, `${[good[0], ...poison, good[1]].join('\n')}\n`);
    const outcome = await wh.load(FILE);
    expect(outcome.status).toBe('loaded');
    expect(outcome.record).toMatchObject({ linesRead: 6, eventsLoaded: 2, failed: 4 });
    const failed = await wh.query(
      'SELECT line, event_id, error_code, reason FROM _sluice_failed_events ORDER BY line',
    );
    expect(failed.map((f) => [f.line, f.event_id, f.error_code])).toEqual(
      [2, 3, 4, 5].map((line) => [String(line), `p${line - 1}`, 'SLUICE_ERR_LOAD_LONE_SURROGATE']),
    );
    expect(failed.map((f) => String(f.reason).split(':')[0])).toEqual([
      '/event',
      '/properties/name',
      '/properties/k\ufffd (the key)',
      '/context/page/title/1',
    ]);
    expect(await wh.query('SELECT id, e FROM order_completed ORDER BY id')).toEqual([
      { id: 'g1', e: null },
      { id: 'g2', e: '😀' },
    ]);
    await reconcile(wh);
  });

  it('a failure reason that cuts a surrogate pair (V8 quotes the line around the error) is stored well-formed', async () => {
    wh = await testWarehouse();
    // Malformed lines with emoji right after the error: V8's message quotes the first 10 code units, which ends
    // in half a pair for some of these offsets.
    const bad = Array.from({ length: 40 }, (_v, i) => `x${'y'.repeat(i % 12)}${'😀'.repeat(20)}`);
    await wh.put(FILE, `${eventLine({ messageId: 'g' })}\n${bad.join('\n')}\n`);
    const outcome = await wh.load(FILE);
    expect(outcome.record).toMatchObject({ linesRead: 41, eventsLoaded: 1, failed: 40 });
    const rows = await wh.query(`SELECT DISTINCT error_code FROM _sluice_failed_events`);
    expect(rows).toEqual([{ error_code: 'SLUICE_ERR_LOAD_MALFORMED_JSON' }]);
    await reconcile(wh);
  });

  it(`deep nesting: ${MAX_JSON_DEPTH} levels load (over-deep values as JSON); 5,000 and 200,000 are coded failed events`, async () => {
    wh = await testWarehouse();
    const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const arrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    // The event is level 1 and properties level 2: `deep(MAX - 2)` inside properties is exactly the limit.
    const line = (id: string, value: string) =>
      eventLine({ messageId: id, properties: { v: 0 } }).replace('{"v":0}', `{"v":${value}}`);
    const text = [
      line('ok', deep(MAX_JSON_DEPTH - 2)),
      line('d5k', deep(5000)),
      line('a200k', arrays(200_000)),
      line('after', '1'),
    ].join('\n');
    await wh.put(FILE, `${text}\n`);
    const outcome = await wh.load(FILE);
    expect(outcome.status).toBe('loaded');
    expect(outcome.record).toMatchObject({ linesRead: 4, eventsLoaded: 2, failed: 2 });
    expect(
      await wh.query('SELECT line, event_id, error_code FROM _sluice_failed_events ORDER BY line'),
    ).toEqual([
      { line: '2', event_id: 'd5k', error_code: 'SLUICE_ERR_LOAD_TOO_DEEP' },
      { line: '3', event_id: 'a200k', error_code: 'SLUICE_ERR_LOAD_TOO_DEEP' },
    ]);
    const ids = await wh.query('SELECT id FROM order_completed ORDER BY id');
    expect(ids).toEqual([{ id: 'after' }, { id: 'ok' }]);
    await reconcile(wh);
  });

  it('a file with 250 event names loads at the default 96MB memory limit', async () => {
    wh = await testWarehouse();
    const text = Array.from({ length: 250 }, (_v, i) =>
      eventLine({ messageId: `n${i}`, event: `Event Number ${i}`, properties: { a: i, b: `v${i}` } }),
    ).join('\n');
    await wh.put(FILE, `${text}\n`);
    const outcome = await wh.load(FILE);
    expect(outcome.record).toMatchObject({ status: 'loaded', linesRead: 250, eventsLoaded: 250, failed: 0 });
    const [tables] = await wh.query(
      `SELECT CAST(count(*) AS INT) AS n FROM information_schema.tables WHERE table_name LIKE 'event_number_%'`,
    );
    expect(tables).toEqual({ n: 250 });
    await reconcile(wh);
  }, 120_000); // 250 tables are created one DDL statement each: ~15 s alone, more on a busy machine

  it('fast-check: generated raw lines (lone surrogates, deep and huge values, wrong types) all load or fail coded', async () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'grapheme' }),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), tie('v'), { maxKeys: 3 }),
      ),
    })).v;
    const line = fc.oneof(
      fc
        .record({ props: fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), value, { maxKeys: 4 }) })
        .map(({ props }) => ({ properties: props })),
      fc.record({
        event: fc.oneof(fc.string({ unit: 'binary', minLength: 1 }), fc.integer(), fc.constant(null)),
      }),
      fc.record({
        context: fc.dictionary(fc.string({ unit: 'binary', maxLength: 5 }), value, { maxKeys: 3 }),
      }),
      fc.integer({ min: 1001, max: 3000 }).map((d) => ({ deep: d })),
      fc.integer({ min: 1, max: 40 }).map((k) => ({ huge: k })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 25 }), async (specs) => {
        const w = await testWarehouse();
        try {
          const text = specs
            .map((s, i) => {
              const id = `f${i}`;
              if ('deep' in s)
                return eventLine({ messageId: id }).replace(
                  '{"total":1}',
                  `${'['.repeat(s.deep)}${']'.repeat(s.deep)}`,
                );
              if ('huge' in s)
                return eventLine({ messageId: id, properties: { big: 'x'.repeat(s.huge * 1000) } });
              return eventLine({ messageId: id, ...s });
            })
            .join('\n');
          await w.put(FILE, `${text}\n`);
          const outcome = await w.load(FILE);
          expect(outcome.status).toBe('loaded');
          const r = await reconcile(w);
          expect(r.lines).toBe(specs.length);
        } finally {
          await w.cleanup();
        }
      }),
      { numRuns: 15 },
    );
  }, 240_000);
});

/** A destination whose commit fails with `error` on each of its first `times` commits. */
function failingCommits(inner: Destination, error: () => Error, times: number): Destination {
  let failures = 0;
  return {
    ...inner,
    open: () => inner.open(),
    close: () => inner.close(),
    findLoad: (k) => inner.findLoad(k),
    readSchema: () => inner.readSchema(),
    async beginLoad(meta): Promise<LoadSession> {
      const session = await inner.beginLoad(meta);
      return {
        ...session,
        async commit(summary) {
          if (failures < times) {
            failures++;
            throw error();
          }
          return session.commit(summary);
        },
      };
    },
  };
}

describe('quarantine (issue 12): attempts counted per load key in the warehouse', () => {
  it('a retryable failure is thrown until attempt N, then the file is quarantined; replay loads it once', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, `${eventLine({ messageId: 'q1' })}\n${eventLine({ messageId: 'q2' })}\n`);
    const broken = failingCommits(
      wh.destination(),
      () => new LoaderError('SLUICE_ERR_LOAD_DESTINATION_OUT_OF_MEMORY', 'injected'),
      100,
    );
    const settings = { maxLoadAttempts: 3 };
    for (const attempt of [1, 2]) {
      const error = await wh.load(FILE, { destination: broken, settings }).catch((e: unknown) => e);
      expect(error, `attempt ${attempt}`).toMatchObject({
        code: 'SLUICE_ERR_LOAD_DESTINATION_OUT_OF_MEMORY',
      });
      expect(await wh.query('SELECT CAST(attempts AS INT) AS n FROM _sluice_load_attempts')).toEqual([
        { n: attempt },
      ]);
      expect(await wh.query('SELECT count(*) AS n FROM _sluice_loads')).toEqual([{ n: '0' }]);
    }
    const third = await wh.load(FILE, { destination: broken, settings });
    expect(third.status).toBe('quarantined');
    expect(third.record.reason).toMatch(/^SLUICE_ERR_LOAD_DESTINATION_OUT_OF_MEMORY: .*failed 3 times/);
    // Later deliveries are no-ops, even with a working destination: the file waits for a person.
    const again = await wh.load(FILE, { settings });
    expect(again.status).toBe('quarantined');
    expect(await wh.query('SELECT count(*) AS n FROM order_completed').catch(() => [{ n: '0' }])).toEqual([
      { n: '0' },
    ]);
    // The cause is fixed; a replay (what the CLI does) loads it once, and a second replay skips it.
    const w = wh;
    const replay = () =>
      loadObject(
        {
          store: w.store,
          destination: w.destination(),
          settings: { ...DEFAULT_SETTINGS, ...settings },
          logger: createLogger('silent'),
          retryQuarantined: true,
        },
        { bucket: BUCKET, name: FILE, generation: '1' },
      );
    expect((await replay()).status).toBe('loaded');
    expect((await replay()).status).toBe('already_loaded');
    expect(await wh.query('SELECT id FROM order_completed ORDER BY id')).toEqual([
      { id: 'q1' },
      { id: 'q2' },
    ]);
    expect(await wh.query('SELECT status FROM _sluice_loads ORDER BY status')).toEqual([
      { status: 'loaded' },
      { status: 'quarantined' },
    ]);
  });

  it('an error no retry can fix quarantines at once (no retry storm)', async () => {
    wh = await testWarehouse();
    await wh.put(FILE, `${eventLine({ messageId: 'r1' })}\n`);
    const broken = failingCommits(
      wh.destination(),
      () => new LoaderError('SLUICE_ERR_LOAD_DESTINATION_REJECTED', 'injected'),
      1,
    );
    const outcome = await wh.load(FILE, { destination: broken });
    expect(outcome.status).toBe('quarantined');
    expect(outcome.record.reason).toMatch(/^SLUICE_ERR_LOAD_DESTINATION_REJECTED: .*no retry can fix/);
  });
});
