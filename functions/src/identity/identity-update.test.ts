import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeBigQueryDestination } from '../../test/fakes/fake-bigquery-destination.ts';
import { withStore } from '../../test/helpers/identity.ts';
import { type IdentityBigQuery, ident, identityBigQuery } from '../../test/helpers/identity-bigquery.ts';
import { LoaderError } from '../errors.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { rebuildIdentity } from './rebuild.ts';
import type { UpdateStep } from './update.ts';

/**
 * The scheduled update's exactly-once and mutual exclusion on the strict BigQuery fake (state object on the fake
 * GCS, which enforces `ifGenerationMatch` as documented: https://cloud.google.com/storage/docs/request-preconditions).
 */
const RULES = DEFAULT_IDENTITY_RULES;
const at = (s: number) => `2026-01-01T00:00:0${s}Z`;
const MAP = (ds: string) =>
  `SELECT id_type, id_value, person_id, user_id, component_id, CAST(first_seen AS VARCHAR), CAST(last_seen AS VARCHAR)
   FROM \`fake-project.${ds}.identity_map\` ORDER BY id_type, id_value`;
const MERGES = (ds: string) => `SELECT * FROM \`fake-project.${ds}.identity_merges\` ORDER BY ALL`;
const LEASE = 60_000;

/** A step hook that stops at `name` until `open()` is called. */
function gate(name: UpdateStep): {
  step: (s: UpdateStep) => Promise<void>;
  reached: Promise<void>;
  open: () => void;
} {
  let open = (): void => undefined;
  let reach = (): void => undefined;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  const reached = new Promise<void>((r) => {
    reach = r;
  });
  return {
    step: async (s) => {
      if (s !== name) return;
      reach();
      await opened;
    },
    reached,
    open: () => open(),
  };
}

describe('the scheduled identity update: a lease, and exactly-once across crashes', () => {
  let bq: IdentityBigQuery;
  beforeAll(async () => {
    bq = await identityBigQuery();
  });
  afterAll(async () => {
    await bq.close();
  });

  /** Two files: a person (a1, u1), then a second device and a shared device (u2 is not merged). */
  async function twoFiles(ds: string): Promise<void> {
    await bq.load(ds, [ident({ messageId: 'i1', anonymousId: 'a1', userId: 'u1', timestamp: at(1) })]);
    await bq.load(ds, [
      ident({ messageId: 'i2', anonymousId: 'a2', userId: 'u1', timestamp: at(2) }),
      ident({ messageId: 'i3', anonymousId: 'a1', userId: 'u2', timestamp: at(3) }),
      ident({ messageId: 'i4', anonymousId: 'a3', userId: 'u2', timestamp: at(4) }),
    ]);
  }

  /** The map and merges, then a rebuild's: they must be equal. */
  async function expectEqualsRebuild(ds: string): Promise<void> {
    const map = await bq.rows(MAP(ds));
    const merges = await bq.rows(MERGES(ds));
    expect(map.length).toBeGreaterThan(0);
    await withStore(fakeBigQueryDestination(bq.fake, { datasetId: ds }), (s) => rebuildIdentity(s, RULES));
    expect(await bq.rows(MAP(ds))).toEqual(map);
    expect(await bq.rows(MERGES(ds))).toEqual(merges);
  }

  it('two runs at once, step by step: the second finds the lease held and writes nothing; after the first, the next run holds it', async () => {
    const ds = 'lease';
    await twoFiles(ds);
    const a = gate('acquired');
    const first = bq.update(ds, RULES, { holder: 'A', step: a.step });
    await a.reached;
    const mark = bq.jobMark();
    const second = await bq.update(ds, RULES, { holder: 'B' });
    expect(second).toMatchObject({ outcome: 'busy', holder: 'A' });
    expect(bq.billedSince(mark)).toBe(0);
    a.open();
    expect(await first).toMatchObject({ outcome: 'updated', ids: 5 });
    expect(await bq.update(ds, RULES, { holder: 'C' })).toMatchObject({ outcome: 'updated' });
    await expectEqualsRebuild(ds);
  }, 60_000);

  it('the lease is a compare-and-set: of two writes on one version exactly one succeeds (GCS ifGenerationMatch)', async () => {
    const ds = 'cas';
    await twoFiles(ds);
    await withStore(fakeBigQueryDestination(bq.fake, { datasetId: ds }), async (s) => {
      const cell = s.updateState();
      expect(await cell.read()).toBeUndefined();
      const created = await Promise.all([
        cell.write('{"holder":"A"}', '0'),
        cell.write('{"holder":"B"}', '0'),
      ]);
      expect(created.filter((v) => v !== undefined)).toHaveLength(1);
      const now = await cell.read();
      const both = await Promise.all([
        cell.write('{"n":1}', now!.version),
        cell.write('{"n":2}', now!.version),
      ]);
      expect(both.filter((v) => v !== undefined)).toHaveLength(1);
    });
  });

  it('a run that outlives its lease is taken over; its release fails (SLUICE_ERR_IDENTITY_LEASE_LOST) and the map still equals a rebuild', async () => {
    const ds = 'takeover';
    await twoFiles(ds);
    const a = gate('recomputed');
    const first = bq.update(ds, RULES, { holder: 'A', step: a.step }).catch((e: unknown) => e);
    await a.reached;
    const later = Date.now() + LEASE + 1;
    expect(await bq.update(ds, RULES, { holder: 'B', now: () => later })).toMatchObject({
      outcome: 'updated',
    });
    a.open();
    const error = await first;
    expect(error).toBeInstanceOf(LoaderError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_IDENTITY_LEASE_LOST', retryable: true });
    await expectEqualsRebuild(ds);
  }, 60_000);

  it('a run that dies after any step (lease held, watermark not advanced): refused while the lease lasts, then the next run leaves map = rebuild (each step in its own dataset, at once)', async () => {
    const crashAt = async (point: UpdateStep): Promise<void> => {
      const ds = `crash_${point}`;
      await twoFiles(ds);
      await bq.update(ds, RULES);
      await bq.load(ds, [ident({ messageId: 'i5', anonymousId: 'a4', userId: 'u1', timestamp: at(5) })]);
      const dying = await bq
        .update(ds, RULES, {
          holder: 'dying',
          step: async (s) => {
            if (s === point) throw new Error(`killed after ${s}`);
          },
        })
        .catch((e: unknown) => e);
      expect(String(dying)).toContain(`killed after ${point}`);
      // The lease is still held by the dead run: a run now is refused ...
      expect(await bq.update(ds, RULES)).toMatchObject({ outcome: 'busy', holder: 'dying' });
      // ... and after it expires the next run takes over and repairs whatever was half done.
      const later = Date.now() + LEASE + 1;
      expect(await bq.update(ds, RULES, { now: () => later })).toMatchObject({ outcome: 'updated' });
      const persons = await bq.rows(
        `SELECT count(DISTINCT person_id) FROM \`fake-project.${ds}.identity_map\` WHERE id_value IN ('a4', 'u1')`,
      );
      expect(persons, point).toEqual([['1']]);
      await expectEqualsRebuild(ds);
    };
    await Promise.all((['acquired', 'read', 'compacted', 'recomputed'] as const).map(crashAt));
  }, 90_000);

  it('the fixpoint: ids reached only through edges (a map missing rows) are recomputed too, transitively', async () => {
    const ds = 'fixpoint';
    await bq.load(ds, [
      ident({ messageId: 'f1', anonymousId: 'x', userId: 'y', timestamp: at(1) }),
      JSON.stringify({
        type: 'alias',
        messageId: 'f2',
        previousId: 'y',
        userId: 'z',
        timestamp: at(2),
        receivedAt: at(2),
        context: {},
      }),
    ]);
    // A later file of someone else, so that the next run's slice (no overlap) starts after the first file.
    await bq.load(ds, [ident({ messageId: 'f9', anonymousId: 'o1', userId: 'o2', timestamp: at(9) })]);
    await bq.update(ds, RULES);
    // The map loses y and z (an operator's DELETE, or a map from before a bug fix): only edges reach them now.
    await bq.fake.bigquery.engine.query(
      `DELETE FROM \`fake-project.${ds}.identity_map\` WHERE id_value IN ('y', 'z')`,
      {},
    );
    // A new link (m, user y): y -> (x, y), (user y, z) -> x, z -> (anonymous y, z) -> anonymous y.
    await bq.load(ds, [ident({ messageId: 'f3', anonymousId: 'm', userId: 'y', timestamp: at(3) })]);
    const report = await bq.update(ds, RULES, { overlapMs: 0 });
    expect(report).toMatchObject({ outcome: 'updated' });
    expect((await bq.rows(MAP(ds))).map((r) => `${r[0]}:${r[1]}`)).toEqual([
      'anonymous_id:m',
      'anonymous_id:o1',
      'anonymous_id:x',
      'anonymous_id:y',
      'user_id:o2',
      'user_id:y',
      'user_id:z',
    ]);
    await expectEqualsRebuild(ds);
  }, 60_000);
});
