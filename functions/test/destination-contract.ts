import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOOKKEEPING_SCHEMAS } from '../src/destinations/bookkeeping-tables.ts';
import {
  cellsOf,
  type Destination,
  LOGICAL_TYPES,
  type LoadMeta,
  type LoadSummary,
  type SchemaChange,
  type StagedRow,
  TABLES,
  valuesOf,
} from '../src/destinations/destination.ts';

/**
 * The Destination contract (seam 6), as a reusable suite: every implementation must pass it.
 * `factory` returns a fresh, empty destination for each test plus a way to read rows back (SQL is not part of the
 * contract, so the reader is the implementation's own: `readTable(name)` -> rows as plain objects with the
 * columns as named, values as numbers/strings/booleans/null, timestamps as anything `new Date()` accepts).
 */
export interface ContractHarness {
  /** A destination over fresh, empty storage (the same storage for every call within one test). */
  destination: () => Destination;
  readTable: (table: string) => Promise<Record<string, unknown>[]>;
  cleanup: () => Promise<void>;
}

const HOUR = 3600 * 1000;

export function meta(loadKey: string, loadId: string, dedupWindowMs = 24 * HOUR): LoadMeta {
  return {
    loadId,
    loadKey,
    bucket: 'b',
    name: loadKey,
    generation: '1',
    startedAt: new Date('2026-01-01T00:10:00Z'),
    dedupWindowMs,
  };
}

export function summary(
  linesRead: number,
  eventsStaged: number,
  changes: SchemaChange[],
  failed = 0,
): LoadSummary {
  return {
    linesRead,
    bytesRead: 100,
    eventsStaged,
    failed,
    valuesDiscarded: 0,
    schemaChanges: changes,
    finishedAt: new Date('2026-01-01T00:10:01Z'),
  };
}

const CREATE_EVENTS: SchemaChange = {
  kind: 'create_table',
  table: 'clicks',
  columns: [
    { name: 'id', type: 'STRING' },
    { name: 'received_at', type: 'TIMESTAMP' },
    { name: 'n', type: 'INT64' },
  ],
};
const CREATE_CHILD: SchemaChange = {
  kind: 'create_table',
  table: 'clicks__items',
  columns: [
    { name: '_sluice_root_id', type: 'STRING' },
    { name: 'i', type: 'INT64' },
  ],
};

function row(
  id: string,
  line: number,
  n: number | bigint | null,
  receivedAt = '2026-01-01T00:00:00Z',
): StagedRow {
  return { eventId: id, line, receivedAt, ...cellsOf({ id, received_at: receivedAt, n }) };
}

function childRow(id: string, line: number, i: number): StagedRow {
  return { eventId: id, line, receivedAt: '2026-01-01T00:00:00Z', ...cellsOf({ _sluice_root_id: id, i }) };
}

const sortBy = (key: string) => (a: Record<string, unknown>, b: Record<string, unknown>) =>
  String(a[key]).localeCompare(String(b[key]));

export function describeDestinationContract(name: string, factory: () => Promise<ContractHarness>): void {
  describe(`Destination contract: ${name}`, () => {
    let h: ContractHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    async function load(
      d: Destination,
      key: string,
      loadId: string,
      batches: { table: string; rows: StagedRow[] }[],
      changes: SchemaChange[],
      options: { window?: number; lines?: number } = {},
    ) {
      await d.open();
      try {
        const session = await d.beginLoad(meta(key, loadId, options.window));
        await session.applySchemaChanges(changes);
        for (const b of batches) await session.appendRows(b.table, b.rows);
        const events = new Set(batches.flatMap((b) => b.rows.map((r) => `${r.eventId}#${r.line}`)));
        return await session.commit(summary(options.lines ?? events.size, events.size, changes));
      } finally {
        await d.close();
      }
    }

    it('declares capabilities as data for every logical type', () => {
      const caps = h.destination().capabilities;
      for (const t of LOGICAL_TYPES) expect(typeof caps.typeMap[t]).toBe('string');
      expect(caps.maxColumnNameLength).toBeGreaterThan(0);
      expect(caps.maxColumns).toBeGreaterThan(0);
    });

    it('creates the bookkeeping tables on open and reads back the schema it created', async () => {
      const d = h.destination();
      await load(d, 'k1', 'L1', [{ table: 'clicks', rows: [row('a', 1, 1)] }], [CREATE_EVENTS]);
      await d.open();
      const schema = await d.readSchema();
      await d.close();
      for (const table of Object.keys(BOOKKEEPING_SCHEMAS)) expect(schema.has(table)).toBe(true);
      expect(Object.fromEntries(schema.get('clicks') ?? [])).toEqual({
        id: 'STRING',
        received_at: 'TIMESTAMP',
        n: 'INT64',
      });
    });

    it('commits rows, and findLoad returns the complete load by key', async () => {
      const d = h.destination();
      const record = await load(
        d,
        'k1',
        'L1',
        [{ table: 'clicks', rows: [row('a', 1, 1), row('b', 2, 2)] }],
        [CREATE_EVENTS],
      );
      expect(record).toMatchObject({ loadId: 'L1', eventsLoaded: 2, duplicates: 0, status: 'loaded' });
      expect((await h.readTable('clicks')).sort(sortBy('id')).map((r) => [r.id, Number(r.n)])).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      await d.open();
      expect(await d.findLoad('k1')).toMatchObject({ loadId: 'L1', eventsLoaded: 2, linesRead: 2 });
      expect(await d.findLoad('other')).toBeUndefined();
      await d.close();
    });

    it('counts failed attempts per key, forgets them on reset, and parks a quarantined key apart from findLoad', async () => {
      const d = h.destination();
      await d.open();
      const failure = { code: 'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE', reason: 'x \ud83d' };
      expect(await d.recordFailedAttempt('k1', failure)).toBe(1);
      expect(await d.recordFailedAttempt('k1', failure)).toBe(2);
      expect(await d.recordFailedAttempt('k2', failure)).toBe(1);
      await d.resetAttempts('k1');
      expect(await d.recordFailedAttempt('k1', failure)).toBe(1);
      expect(await d.findQuarantine('k1')).toBeUndefined();
      const parked = await d.quarantine(meta('k1', 'Q1'), 'SLUICE_ERR_X: half a pair \ud83d', new Date());
      expect(parked).toMatchObject({ status: 'quarantined', loadId: 'Q1', eventsLoaded: 0, linesRead: 0 });
      expect(await d.findQuarantine('k1')).toMatchObject({
        status: 'quarantined',
        loadId: 'Q1',
        reason: 'SLUICE_ERR_X: half a pair \ufffd',
      });
      expect(await d.findLoad('k1')).toBeUndefined();
      expect(await d.findQuarantine('k2')).toBeUndefined();
      await d.close();
      // The file loads later (a replay after the fix): findLoad finds it; the quarantine row stays as history.
      await load(d, 'k1', 'L1', [{ table: 'clicks', rows: [row('a', 1, 1)] }], [CREATE_EVENTS]);
      await d.open();
      expect(await d.findLoad('k1')).toMatchObject({ status: 'loaded', loadId: 'L1' });
      const loads = (await h.readTable(TABLES.loads)).map((r) => [r.load_id, r.status]);
      await d.close();
      expect(loads.sort()).toEqual([
        ['L1', 'loaded'],
        ['Q1', 'quarantined'],
      ]);
    });

    it('makes nothing visible when a load is aborted, and a retry leaves exactly one complete load', async () => {
      const d = h.destination();
      await d.open();
      const session = await d.beginLoad(meta('k1', 'L-crashed'));
      await session.applySchemaChanges([CREATE_EVENTS]);
      await session.appendRows('clicks', [row('a', 1, 1)]);
      await session.abort();
      expect(await d.findLoad('k1')).toBeUndefined();
      await d.close();
      const rows = await h.readTable('clicks').catch(() => []);
      expect(rows).toEqual([]);
      await load(d, 'k1', 'L-retry', [{ table: 'clicks', rows: [row('a', 1, 1)] }], [CREATE_EVENTS]);
      expect((await h.readTable('clicks')).map((r) => r.id)).toEqual(['a']);
      expect((await h.readTable(TABLES.loads)).map((r) => r.load_id)).toEqual(['L-retry']);
    });

    it('a second commit under the same key writes nothing and returns the first load', async () => {
      const d = h.destination();
      await load(d, 'k1', 'L1', [{ table: 'clicks', rows: [row('a', 1, 1)] }], [CREATE_EVENTS]);
      const again = await load(d, 'k1', 'L2', [{ table: 'clicks', rows: [row('z', 1, 9)] }], [CREATE_EVENTS]);
      expect(again.loadId).toBe('L1');
      expect((await h.readTable('clicks')).map((r) => r.id)).toEqual(['a']);
      expect(await h.readTable(TABLES.loads)).toHaveLength(1);
    });

    it('de-duplicates on event id within the load (lowest line wins, child rows follow) and across loads', async () => {
      const d = h.destination();
      const first = await load(
        d,
        'k1',
        'L1',
        [
          { table: 'clicks', rows: [row('a', 1, 1), row('a', 2, 2), row('b', 3, 3)] },
          {
            table: 'clicks__items',
            rows: [childRow('a', 1, 10), childRow('a', 2, 20), childRow('b', 3, 30)],
          },
        ],
        [CREATE_EVENTS, CREATE_CHILD],
      );
      expect(first).toMatchObject({ eventsLoaded: 2, duplicates: 1 });
      const second = await load(
        d,
        'k2',
        'L2',
        [{ table: 'clicks', rows: [row('b', 1, 4), row('c', 2, 5)] }],
        [],
      );
      expect(second).toMatchObject({ eventsLoaded: 1, duplicates: 1 });
      expect((await h.readTable('clicks')).sort(sortBy('id')).map((r) => [r.id, Number(r.n)])).toEqual([
        ['a', 1],
        ['b', 3],
        ['c', 5],
      ]);
      expect((await h.readTable('clicks__items')).map((r) => Number(r.i)).sort()).toEqual([10, 30]);
    });

    it('does not treat an id outside the look-back window as a duplicate', async () => {
      const d = h.destination();
      await load(
        d,
        'k1',
        'L1',
        [{ table: 'clicks', rows: [row('a', 1, 1, '2026-01-01T00:00:00Z')] }],
        [CREATE_EVENTS],
      );
      const late = await load(
        d,
        'k2',
        'L2',
        [{ table: 'clicks', rows: [row('a', 1, 2, '2026-01-03T00:00:00Z')] }],
        [],
        {
          window: HOUR,
        },
      );
      expect(late).toMatchObject({ eventsLoaded: 1, duplicates: 0 });
      expect(await h.readTable('clicks')).toHaveLength(2);
    });

    it('adds columns and widens INT64 to FLOAT64 in place, keeping earlier rows', async () => {
      const d = h.destination();
      await load(d, 'k1', 'L1', [{ table: 'clicks', rows: [row('a', 1, 1)] }], [CREATE_EVENTS]);
      const changes: SchemaChange[] = [
        { kind: 'widen_column', table: 'clicks', column: 'n', from: 'INT64', to: 'FLOAT64' },
        { kind: 'add_column', table: 'clicks', column: 'tag', type: 'STRING' },
      ];
      await load(
        d,
        'k2',
        'L2',
        [
          {
            table: 'clicks',
            rows: [{ ...row('b', 1, 2.5), ...cellsOf({ ...valuesOf(row('b', 1, 2.5)), tag: 't' }) }],
          },
        ],
        changes,
      );
      await d.open();
      expect((await d.readSchema()).get('clicks')?.get('n')).toBe('FLOAT64');
      await d.close();
      const rows = (await h.readTable('clicks')).sort(sortBy('id'));
      expect(rows.map((r) => [r.id, Number(r.n), r.tag ?? null])).toEqual([
        ['a', 1, null],
        ['b', 2.5, 't'],
      ]);
      const recorded = await h.readTable(TABLES.schemaChanges);
      expect(
        recorded
          .filter((r) => r.load_id === 'L2')
          .map((r) => r.change)
          .sort(),
      ).toEqual(['add_column', 'widen_column']);
    });

    it('stores every logical type, with int64 beyond 2^53 exact', async () => {
      const d = h.destination();
      const create: SchemaChange = {
        kind: 'create_table',
        table: 'typed',
        columns: [
          { name: 'id', type: 'STRING' },
          { name: 'b', type: 'BOOL' },
          { name: 'i', type: 'INT64' },
          { name: 'f', type: 'FLOAT64' },
          { name: 't', type: 'TIMESTAMP' },
          { name: 'j', type: 'JSON' },
        ],
      };
      const values = {
        id: 'x',
        b: true,
        i: 9223372036854775807n,
        f: 0.5,
        t: '2026-01-02T03:04:05.123456Z',
        j: '{"k":[1,2]}',
      };
      await load(
        d,
        'k1',
        'L1',
        [
          {
            table: 'typed',
            rows: [{ eventId: 'x', line: 1, receivedAt: '2026-01-01T00:00:00Z', ...cellsOf(values) }],
          },
        ],
        [create],
      );
      const [r] = await h.readTable('typed');
      expect(r?.b).toBe(true);
      expect(String(r?.i)).toBe('9223372036854775807');
      expect(Number(r?.f)).toBe(0.5);
      expect(new Date(String(r?.t)).toISOString()).toBe('2026-01-02T03:04:05.123Z');
      expect(JSON.parse(String(r?.j))).toEqual({ k: [1, 2] });
    });

    it('upserts users: latest non-null value per column, by received_at', async () => {
      const d = h.destination();
      const create: SchemaChange = {
        kind: 'create_table',
        table: TABLES.users,
        columns: [
          { name: 'id', type: 'STRING' },
          { name: 'received_at', type: 'TIMESTAMP' },
          { name: 'email', type: 'STRING' },
          { name: 'plan', type: 'STRING' },
        ],
      };
      const u = (
        eventId: string,
        line: number,
        at: string,
        email: string | null,
        plan: string | null,
        id = 'u1',
      ): StagedRow => ({
        eventId,
        line,
        receivedAt: at,
        ...cellsOf({ id, received_at: at, email, plan }),
      });
      await load(
        d,
        'k1',
        'L1',
        [
          {
            table: TABLES.users,
            rows: [
              u('e1', 1, '2026-01-01T00:00:00Z', 'old@x', 'free'),
              u('e2', 2, '2026-01-01T00:01:00Z', 'new@x', null),
              // Ids with one row and ids with several, interleaved.
              u('e4', 3, '2026-01-01T00:02:00Z', 'two@x', 'pro', 'u2'),
              u('e5', 4, '2026-01-01T00:03:00Z', null, 'team', 'u3'),
              u('e6', 5, '2026-01-01T00:04:00Z', 'three@x', null, 'u3'),
              u('e7', 6, '2026-01-01T00:05:00Z', null, null, 'u3'),
              u('e8', 7, '2026-01-01T00:06:00Z', 'four@x', null, 'u4'),
              u('e9', 8, '2026-01-01T00:07:00Z', 'five@x', 'free', 'u5'),
              u('e10', 9, '2026-01-01T00:08:00Z', null, 'pro', 'u5'),
            ],
          },
        ],
        [create],
      );
      await load(
        d,
        'k2',
        'L2',
        [
          {
            table: TABLES.users,
            rows: [
              u('e3', 1, '2025-12-31T00:00:00Z', 'stale@x', 'pro'),
              u('e11', 2, '2026-01-02T00:00:00Z', null, 'free', 'u2'),
              u('e12', 3, '2026-01-02T00:01:00Z', 'new4@x', null, 'u4'),
              u('e13', 4, '2026-01-02T00:02:00Z', null, 'pro', 'u4'),
            ],
          },
        ],
        [],
      );
      const rows = await h.readTable(TABLES.users);
      expect(rows.map((r) => [r.id, r.email, r.plan]).sort()).toEqual([
        ['u1', 'new@x', 'free'],
        ['u2', 'two@x', 'free'],
        ['u3', 'three@x', 'team'],
        ['u4', 'new4@x', 'pro'],
        ['u5', 'five@x', 'pro'],
      ]);
    });

    it('upserts accounts like users: latest non-null trait per group by received_at, an older call never wins', async () => {
      const d = h.destination();
      const columns = (extra: string) => [
        { name: 'id', type: 'STRING' as const },
        { name: 'received_at', type: 'TIMESTAMP' as const },
        { name: 'name', type: 'STRING' as const },
        { name: extra, type: 'STRING' as const },
      ];
      const creates: SchemaChange[] = [
        { kind: 'create_table', table: TABLES.accounts, columns: columns('plan') },
        { kind: 'create_table', table: TABLES.users, columns: columns('email') },
      ];
      const g = (
        eventId: string,
        line: number,
        at: string,
        id: string,
        name: string | null,
        plan: string | null,
      ): StagedRow => ({ eventId, line, receivedAt: at, ...cellsOf({ id, received_at: at, name, plan }) });
      await load(
        d,
        'k1',
        'L1',
        [
          {
            table: TABLES.accounts,
            rows: [
              g('e1', 1, '2026-01-01T00:00:00Z', 'g1', 'Acme', 'free'),
              g('e2', 2, '2026-01-01T00:01:00Z', 'g1', 'Acme Inc', null),
              g('e3', 3, '2026-01-01T00:02:00Z', 'g2', 'Beta', 'pro'),
              // Repeated within the file: per column the latest non-null value.
              g('e4', 5, '2026-01-01T00:03:00Z', 'g3', null, 'team'),
              g('e5', 6, '2026-01-01T00:04:00Z', 'g3', 'Gamma', null),
            ],
          },
          {
            // The same id in users is another row of another table: upsert tables do not mix.
            table: TABLES.users,
            rows: [
              {
                eventId: 'e6',
                line: 4,
                receivedAt: '2026-01-01T00:02:30Z',
                ...cellsOf({ id: 'g1', received_at: '2026-01-01T00:02:30Z', name: 'a user', email: 'u@x' }),
              },
            ],
          },
        ],
        creates,
      );
      await load(
        d,
        'k2',
        'L2',
        [
          {
            table: TABLES.accounts,
            rows: [
              // An older group call (a late delivery) does not overwrite the newer state, not even in a file that
              // has a newer call for the same group (whose null `plan` must not let the stale one through).
              g('e7', 1, '2025-12-31T00:00:00Z', 'g1', 'Stale', 'enterprise'),
              g('e10', 4, '2026-01-03T00:00:00Z', 'g1', null, null),
              // A newer one replaces its non-null traits only.
              g('e8', 2, '2026-01-02T00:00:00Z', 'g2', null, 'enterprise'),
              g('e9', 3, '2026-01-02T00:00:00Z', 'g4', 'Delta', null),
              // Within a file too, the latest by received_at wins, whatever the lines' order.
              g('e11', 5, '2026-01-02T00:10:00Z', 'g5', 'Epsilon', 'new'),
              g('e12', 6, '2026-01-02T00:05:00Z', 'g5', 'Epsilon (old)', 'old'),
            ],
          },
        ],
        [],
      );
      const rows = await h.readTable(TABLES.accounts);
      expect(rows.map((r) => [r.id, r.name, r.plan]).sort()).toEqual([
        ['g1', 'Acme Inc', 'free'],
        ['g2', 'Beta', 'enterprise'],
        ['g3', 'Gamma', 'team'],
        ['g4', 'Delta', null],
        ['g5', 'Epsilon', 'new'],
      ]);
      const g1 = rows.find((r) => r.id === 'g1');
      expect(new Date(String(g1?.received_at)).toISOString()).toBe('2026-01-03T00:00:00.000Z');
      const users = await h.readTable(TABLES.users);
      expect(users.map((r) => [r.id, r.name, r.email])).toEqual([['g1', 'a user', 'u@x']]);
    });

    it('writes failed events and the loads row in the same commit', async () => {
      const d = h.destination();
      await d.open();
      const session = await d.beginLoad(meta('k1', 'L1'));
      await session.applySchemaChanges([CREATE_EVENTS]);
      await session.appendRows('clicks', [row('a', 1, 1)]);
      await session.appendFailed([
        {
          line: 2,
          raw: 'nope',
          rawTruncated: false,
          code: 'SLUICE_ERR_LOAD_MALFORMED_JSON',
          reason: 'x',
          eventId: null,
        },
      ]);
      const record = await session.commit(summary(2, 1, [CREATE_EVENTS], 1));
      await d.close();
      expect(record).toMatchObject({ linesRead: 2, eventsLoaded: 1, duplicates: 0, failed: 1 });
      const failed = await h.readTable(TABLES.failedEvents);
      expect(failed.map((f) => [Number(f.line), f.error_code, f.raw_line, f.load_id])).toEqual([
        [2, 'SLUICE_ERR_LOAD_MALFORMED_JSON', 'nope', 'L1'],
      ]);
    });
  });
}
