import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { computeIdentity, type GraphEdge } from './compute.ts';
import { compactLog, linkKey } from './edges.ts';
import { isoOfMicros, timestampMicros } from './store-support.ts';
import type { CompactEdge, IdentityEdge } from './tables.ts';

const T0 = 1_767_225_600_000_000;
/** Per-event log rows: few ids and events, so links repeat across events (what compaction folds). */
const logArb = fc
  .uniqueArray(
    fc.record({
      aType: fc.constantFrom('anonymous_id', 'user_id'),
      aValue: fc.constantFrom('a', 'b', 'c'),
      bType: fc.constant('user_id'),
      bValue: fc.constantFrom('u1', 'u2', 'u3'),
      kind: fc.constantFrom('identify', 'event', 'alias', 'event'),
      eventId: fc.constantFrom('m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'),
      ordinal: fc.nat(1),
      second: fc.nat(4),
    }),
    { maxLength: 16, selector: (e) => `${e.eventId}/${e.ordinal}` },
  )
  .map((rows) =>
    rows.map(
      (r): IdentityEdge => ({
        ...r,
        kind: r.kind as IdentityEdge['kind'],
        eventTable: 'tracks',
        timestamp: isoOfMicros(T0 + r.second * 1_000_000),
        receivedAt: isoOfMicros(T0),
        loadId: 'l',
        loadedAt: isoOfMicros(T0),
      }),
    ),
  );

const fromLog = (e: IdentityEdge): GraphEdge => ({
  ...e,
  atMicros: timestampMicros(e.timestamp),
  lastMicros: timestampMicros(e.timestamp),
});
const fromCompact = (e: CompactEdge): GraphEdge => ({
  ...e,
  atMicros: timestampMicros(e.firstSeen),
  lastMicros: timestampMicros(e.lastSeen),
});
const sorted = <T>(rows: T[]): string[] => rows.map((r) => JSON.stringify(r)).sort();

describe('identity_edges compaction (one row per link)', () => {
  it('the map over the compacted links equals the map over the per-event log (ids, persons, first/last seen); a flagged link is recorded once', () => {
    fc.assert(
      fc.property(logArb, fc.integer({ min: 1, max: 2 }), (log, max) => {
        const rules = { ...DEFAULT_IDENTITY_RULES, maxUserIdsPerPerson: max };
        const compact = compactLog(log);
        expect(new Set(compact.map(linkKey)).size).toBe(compact.length);
        expect(new Set(log.map(linkKey)).size).toBe(compact.length);
        const raw = computeIdentity(log.map(fromLog), rules);
        const folded = computeIdentity(compact.map(fromCompact), rules);
        expect(sorted(folded.map)).toEqual(sorted(raw.map));
        // The same merges (their `seq` counts the flagged records too, which the log repeats).
        const merges = (rows: typeof raw.merges) =>
          sorted(rows.filter((m) => m.action === 'merge').map(({ seq: _seq, ...m }) => m));
        expect(merges(folded.merges)).toEqual(merges(raw.merges));
        const flaggedLinks = (rows: typeof raw.merges) =>
          [
            ...new Set(
              rows
                .filter((m) => m.action === 'rejected_user_limit')
                .map((m) => `${m.aType}:${m.aValue}/${m.bType}:${m.bValue}`),
            ),
          ].sort();
        const foldedFlags = folded.merges.filter((m) => m.action === 'rejected_user_limit');
        expect(foldedFlags.map((m) => `${m.aType}:${m.aValue}/${m.bType}:${m.bValue}`).sort()).toEqual(
          flaggedLinks(raw.merges),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the first event in the canonical order and the latest time, whatever the arrival order', () => {
    fc.assert(
      fc.property(logArb, fc.nat(), (log, seed) => {
        const shuffled = fc.sample(fc.shuffledSubarray(log, { minLength: log.length }), {
          seed,
          numRuns: 1,
        })[0];
        expect(sorted(compactLog(shuffled ?? []))).toEqual(sorted(compactLog(log)));
        for (const edge of compactLog(log)) {
          const mine = log.filter((e) => linkKey(e) === linkKey(edge));
          const times = mine.map((e) => timestampMicros(e.timestamp));
          expect(timestampMicros(edge.firstSeen)).toBe(Math.min(...times));
          expect(timestampMicros(edge.lastSeen)).toBe(Math.max(...times));
        }
      }),
      { numRuns: 200 },
    );
  });
});
