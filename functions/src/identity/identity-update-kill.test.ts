import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withStore } from '../../test/helpers/identity.ts';
import { type TestWarehouse, testWarehouse } from '../../test/helpers/warehouse.ts';
import type { Destination } from '../destinations/destination.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { rebuildIdentity } from './rebuild.ts';
import { updateIdentity } from './update.ts';

const MAP =
  'SELECT id_type, id_value, person_id, component_id, first_seen, last_seen FROM identity_map ORDER BY ALL';
const MERGES = 'SELECT * FROM identity_merges ORDER BY ALL';
const at = (m: number) => `2026-01-01T00:0${m}:00.000Z`;
const ev = (o: Record<string, unknown>) =>
  JSON.stringify({ type: 'identify', context: {}, receivedAt: at(0), traits: {}, ...o });

/** The warehouse's destination with the map left to the scheduled update (as on BigQuery). */
const scheduled = (w: TestWarehouse): Destination => {
  const inner = w.destination();
  const hook = inner.identity as NonNullable<Destination['identity']>;
  return { ...inner, identity: { schedule: 'scheduled', store: () => hook.store() } };
};

async function killUpdateAt(w: TestWarehouse, point: string): Promise<void> {
  const helper = fileURLToPath(new URL('../../test/helpers/identity-crash-update.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', helper, w.dbPath, point]);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_c, sig) => resolve(sig)),
  );
  expect(stderr, point).toBe('');
  expect(signal, point).toBe('SIGKILL');
}

describe('the scheduled identity update survives a SIGKILL (DuckDB, a real process killed)', () => {
  it('killed after the compaction (edges merged, map not yet recomputed, lease held) and after the recompute (watermark not advanced): the next run after the lease leaves map = rebuild', async () => {
    const points = ['compacted', 'recomputed'];
    const warehouses = await Promise.all(points.map(() => testWarehouse()));
    try {
      await Promise.all(
        points.map(async (point, i) => {
          const w = warehouses[i] as TestWarehouse;
          await w.put(
            'a.ndjson',
            `${ev({ messageId: 'i1', anonymousId: 'a1', userId: 'u1', timestamp: at(1) })}\n`,
          );
          await w.put(
            'b.ndjson',
            `${[
              ev({ messageId: 'i2', anonymousId: 'a2', userId: 'u1', timestamp: at(2) }),
              ev({ messageId: 'i3', anonymousId: 'a1', userId: 'u2', timestamp: at(3) }),
            ].join('\n')}\n`,
          );
          await w.load('a.ndjson', { destination: scheduled(w) });
          await withStore(w.destination(), (s) =>
            updateIdentity(s, DEFAULT_IDENTITY_RULES, {
              holder: 'p',
              now: Date.now,
              leaseMs: 60_000,
              overlapMs: 3_600_000,
            }),
          );
          const before = await w.query(MAP);
          await w.load('b.ndjson', { destination: scheduled(w) });
          await killUpdateAt(w, point);
          if (point === 'compacted') {
            // The kill left the new links compacted and the map as it was.
            expect(await w.query('SELECT count(*) AS n FROM identity_edges')).toEqual([{ n: '3' }]);
            expect(await w.query(MAP)).toEqual(before);
          }
          const run = (now: number) =>
            withStore(w.destination(), (s) =>
              updateIdentity(s, DEFAULT_IDENTITY_RULES, {
                holder: 'q',
                now: () => now,
                leaseMs: 60_000,
                overlapMs: 3_600_000,
              }),
            );
          expect(await run(Date.now())).toMatchObject({ outcome: 'busy', holder: 'child' });
          expect(await run(Date.now() + 60_001)).toMatchObject({ outcome: 'updated' });
          const map = await w.query(MAP);
          const merges = await w.query(MERGES);
          expect(map).toHaveLength(4);
          await withStore(w.destination(), (s) => rebuildIdentity(s, DEFAULT_IDENTITY_RULES));
          expect(await w.query(MAP)).toEqual(map);
          expect(await w.query(MERGES)).toEqual(merges);
        }),
      );
    } finally {
      for (const w of warehouses) await w.cleanup();
    }
  }, 90_000);
});
