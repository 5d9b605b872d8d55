import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionServer, startFunction } from './helpers/function-server.ts';
import { queryDuckdb } from './helpers/warehouse.ts';

/**
 * Suites over the built function served by functions-framework (run from function-http.test.ts, which builds the
 * bundle once): concurrent deliveries into one DuckDB file (issue 12, item 1) and quarantine over HTTP.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

const nameOf = (n: number): string =>
  `raw/2026-01-01/00_0${n}_00+00:00_11111111-2222-3333-4444-${String(n).padStart(12, '0')}.ndjson`;

/** A window file of `count` track events named `event`, ids `<prefix><i>` for i in [from, from + count). */
function trackFile(event: string, prefix: string, from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++) {
    text += `${JSON.stringify({
      type: 'track',
      event,
      messageId: `${prefix}${i}`,
      anonymousId: `a${i % 37}`,
      receivedAt: '2026-01-01T00:00:01.000Z',
      timestamp: '2026-01-01T00:00:00.000Z',
      properties: { i, plan: i % 2 === 0 ? 'pro' : 'free' },
    })}\n`;
  }
  return text;
}

interface Env {
  dir: string;
  fn: FunctionServer;
  put(name: string, text: string): Promise<void>;
  query(sql: string): Promise<Record<string, unknown>[]>;
}

function withFunction(env: Record<string, string>): () => Env {
  let state: Env | undefined;
  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-fn-iso-'));
    const fn = await startFunction({ SLUICE_DATA_DIR: dir, ...env });
    state = {
      dir,
      fn,
      async put(name, text) {
        const file = path.join(dir, 'buckets', 'sluice-raw', name);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, text);
      },
      query: (sql) => queryDuckdb(path.join(dir, 'warehouse.duckdb'), sql),
    };
  });
  afterAll(async () => {
    state?.fn.stop();
    if (state) await rm(state.dir, { recursive: true, force: true });
  });
  return () => {
    if (!state) throw new Error('function not started');
    return state;
  };
}

export function describeConcurrentDeliveries(): void {
  describe('concurrent deliveries into one DuckDB file, one loader process (issue 12, item 1)', () => {
    const env = withFunction({});

    it('three CloudEvents for three 2,000-line files at once: three loads rows, 6,000 rows', async () => {
      const { fn, put, query } = env();
      for (const n of [1, 2, 3]) await put(nameOf(n), trackFile('Three At Once', `t${n}-`, 0, 2000));
      const responses = await Promise.all(
        [1, 2, 3].map((n) => fn.post({ name: nameOf(n), generation: '1' })),
      );
      expect(responses.map((r) => r.status)).toEqual([204, 204, 204]);
      const loads = await query(
        `SELECT name, status, lines_read, events_loaded, duplicates, failed FROM _sluice_loads
         WHERE name IN ('${nameOf(1)}', '${nameOf(2)}', '${nameOf(3)}') ORDER BY name`,
      );
      expect(loads).toEqual(
        [1, 2, 3].map((n) => ({
          name: nameOf(n),
          status: 'loaded',
          lines_read: '2000',
          events_loaded: '2000',
          duplicates: '0',
          failed: '0',
        })),
      );
      expect(await query('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM three_at_once')).toEqual([
        { n: '6000', ids: '6000' },
      ]);
      const outcomes = fn
        .fileLoaded()
        .filter(
          (l) =>
            String(l.loadKey).includes('00_01_00') ||
            String(l.loadKey).includes('00_02_00') ||
            String(l.loadKey).includes('00_03_00'),
        );
      expect(outcomes.map((l) => l.outcome)).toEqual(['loaded', 'loaded', 'loaded']);
    });

    it('two concurrent deliveries of the same file: one loads row, each event once', async () => {
      const { fn, put, query } = env();
      await put(nameOf(4), trackFile('Same File Twice', 's-', 0, 2000));
      const responses = await Promise.all([1, 2].map(() => fn.post({ name: nameOf(4), generation: '7' })));
      expect(responses.map((r) => r.status)).toEqual([204, 204]);
      expect(
        await query(
          `SELECT status, lines_read, events_loaded FROM _sluice_loads WHERE name = '${nameOf(4)}'`,
        ),
      ).toEqual([{ status: 'loaded', lines_read: '2000', events_loaded: '2000' }]);
      expect(await query('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM same_file_twice')).toEqual([
        { n: '2000', ids: '2000' },
      ]);
      const outcomes = fn
        .fileLoaded()
        .filter((l) => String(l.loadKey).includes('00_04_00'))
        .map((l) => l.outcome)
        .sort();
      expect(outcomes).toEqual(['already_loaded', 'loaded']);
    });

    it('two files sharing 1,000 ids at once: every id once, and each loads row reconciles', async () => {
      const { fn, put, query } = env();
      await put(nameOf(5), trackFile('Shared Ids', 'x-', 0, 2000));
      await put(nameOf(6), trackFile('Shared Ids', 'x-', 1000, 2000));
      const responses = await Promise.all([5, 6].map((n) => fn.post({ name: nameOf(n), generation: '1' })));
      expect(responses.map((r) => r.status)).toEqual([204, 204]);
      const loads = await query(
        `SELECT CAST(lines_read AS INT) AS l, CAST(events_loaded AS INT) AS e, CAST(duplicates AS INT) AS d,
                CAST(failed AS INT) AS f FROM _sluice_loads WHERE name IN ('${nameOf(5)}', '${nameOf(6)}')`,
      );
      expect(loads).toHaveLength(2);
      for (const r of loads) expect(r.l).toBe(Number(r.e) + Number(r.d) + Number(r.f));
      expect(loads.reduce((s, r) => s + Number(r.e), 0)).toBe(3000);
      expect(loads.reduce((s, r) => s + Number(r.d), 0)).toBe(1000);
      expect(await query('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM shared_ids')).toEqual([
        { n: '3000', ids: '3000' },
      ]);
    });
  });
}

export function describeQuarantineOverHttp(): void {
  describe('quarantine over HTTP, then a plain npm run replay (issue 12, quarantine)', () => {
    const env = withFunction({ SLUICE_MAX_LOAD_ATTEMPTS: '2' });

    it('a file failing every attempt is quarantined on attempt 2 (204, ERROR line); replay after the fix loads it once', async () => {
      const { dir, fn, put, query } = env();
      const name = nameOf(7);
      // A symlink to itself where the object should be: every read fails (ELOOP, a retryable read error), like a
      // fault that only a person can fix.
      const object = path.join(dir, 'buckets', 'sluice-raw', name);
      await mkdir(path.dirname(object), { recursive: true });
      await symlink(path.basename(object), object);
      const first = await fn.post({ name, generation: '1' });
      expect(first.status).toBeGreaterThanOrEqual(500);
      expect(await query(`SELECT count(*) AS n FROM _sluice_loads WHERE name = '${name}'`)).toEqual([
        { n: '0' },
      ]);
      expect(fn.logs()).toContain('load failed; will retry');
      const second = await fn.post({ name, generation: '1' });
      expect(second.status).toBe(204);
      const parked = await query(`SELECT status, reason FROM _sluice_loads WHERE name = '${name}'`);
      expect(parked).toHaveLength(1);
      expect(parked[0]?.status).toBe('quarantined');
      expect(String(parked[0]?.reason)).toMatch(/^SLUICE_ERR_LOAD_OBJECT_READ: .*failed 2 times/);
      const alert = fn.fileLoaded().find((l) => l.outcome === 'quarantined');
      expect(alert).toMatchObject({ severity: 'ERROR', code: 'SLUICE_ERR_LOAD_QUARANTINED', linesRead: 0 });
      // A further delivery of the quarantined file is a no-op: no retry storm, no second quarantine row.
      expect((await fn.post({ name, generation: '1' })).status).toBe(204);
      expect(await query(`SELECT count(*) AS n FROM _sluice_loads WHERE name = '${name}'`)).toEqual([
        { n: '1' },
      ]);

      // The cause is fixed: the object is a file again. A plain replay (no --force) loads it, exactly once.
      await rm(object);
      await put(name, trackFile('Parked Then Loaded', 'q-', 0, 300));
      const replay = () =>
        execFileSync('npm', ['run', '-s', 'replay', '--', '--from', '2026-01-01', '--to', '2026-01-02'], {
          cwd: root,
          env: { ...process.env, SLUICE_DATA_DIR: dir, SLUICE_LOG_LEVEL: 'silent' },
          encoding: 'utf8',
        });
      fn.stop();
      const out = replay();
      expect(out).toMatch(/LOADED +sluice-raw\/raw\/2026-01-01\/00_07_00/);
      expect(replay()).toMatch(/SKIPPED +sluice-raw\/raw\/2026-01-01\/00_07_00/);
      expect(
        await query(
          `SELECT status, CAST(events_loaded AS INT) AS e FROM _sluice_loads WHERE name = '${name}' ORDER BY status`,
        ),
      ).toEqual([
        { status: 'loaded', e: 300 },
        { status: 'quarantined', e: 0 },
      ]);
      expect(await query('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM parked_then_loaded')).toEqual([
        { n: '300', ids: '300' },
      ]);
    }, 180_000);
  });
}
