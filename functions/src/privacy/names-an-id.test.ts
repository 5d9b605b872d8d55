import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { localPrivacyDeps } from '../../test/helpers/privacy-scenario.ts';
import { TABLES } from '../destinations/destination.ts';
import { openDuckdbWarehouse } from './duckdb-warehouse.ts';
import { deletePerson } from './engine.ts';
import { LEDGER_COLUMNS } from './ledger.ts';
import { lineBelongs, namesAnId } from './person.ts';

const SHORT: Record<string, string[]> = {
  '"': ['\\"'],
  '\\': ['\\\\'],
  '/': ['/', '\\/'],
  '\b': ['\\b'],
  '\f': ['\\f'],
  '\n': ['\\n'],
  '\r': ['\\r'],
  '\t': ['\\t'],
};

/**
 * One JSON spelling of `id` as a string literal: each character plain (where JSON allows), short-escaped or as
 * `\uXXXX` escapes (either case; a surrogate pair escaped as two, never split: failed events hold well-formed text).
 */
function spelling(id: string, choices: readonly number[]): string {
  let out = '"';
  let i = 0;
  for (const ch of id) {
    const units = [...Array(ch.length).keys()].map((k) => ch.charCodeAt(k).toString(16).padStart(4, '0'));
    const plain = SHORT[ch] ?? (ch.charCodeAt(0) < 0x20 ? [] : [ch]);
    const ways = [
      ...plain,
      units.map((h) => `\\u${h}`).join(''),
      units.map((h) => `\\u${h.toUpperCase()}`).join(''),
    ];
    out += ways[(choices[i++ % Math.max(1, choices.length)] ?? 0) % ways.length];
  }
  return `${out}"`;
}

// Ids with quotes, backslashes, control characters, emoji (surrogate pairs), and plain ones.
const hostileId = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
    fc.string({
      unit: fc.constantFrom('"', '\\', '/', '\n', 'é', '😀', 'a', ' ', '\u2028', '\u0000'),
      minLength: 1,
      maxLength: 8,
    }),
    fc.constantFrom('user"1', 'u\\1', 'a/b', '😀', "o'brien"),
  )
  .filter((id) => id.length > 0);
const choices = fc.array(fc.nat(5), { minLength: 1, maxLength: 12 });
const space = fc.constantFrom('', ' ', '  ', '\t', ' \t ');
/** Contexts a bad line puts the id in: a property value, an array item, cut right after it, after an odd quote. */
const context = fc.constantFrom(
  (s: string, w: string) => `{"type":"track","userId"${w}:${w}${s}${w},"event":"Cut`,
  (s: string, w: string) => `[1,${w}${s}${w}]`,
  (s: string, w: string) => `{"userId":${w}${s}`,
  (s: string, w: string) => `garbage " and ${w}${s}${w}`,
  (s: string, w: string) => `{"previousId":${w}${s}${w},"x":"\\"`,
);
const JUNK_TOKENS = new Set(['type', 'track', 'userId', 'event', 'Cut', 'previousId', 'x', ' and ']);
/**
 * Every `"` is tried as a literal's start, so the separators between the contexts' strings read as tokens too
 * (`":"`, `" , "`), and so does any tail of another id after a quote inside it: such ids may match by design
 * (a failed event errs on erasing). The "another id is not found" half excludes them.
 */
const distinct = (id: string, other: string): boolean =>
  other !== id && !other.includes(id) && !JUNK_TOKENS.has(id) && !/^[\s:,]+$/.test(id);

describe('a failed event names an id in any JSON spelling (person.ts namesAnId)', () => {
  it('every spelling of an id, in any context and spacing, is found; another id is not', () => {
    fc.assert(
      fc.property(hostileId, hostileId, choices, space, context, (id, other, how, w, put) => {
        const line = put(spelling(id, how), w);
        expect(namesAnId(line, new Set([id]))).toBe(true);
        // A line that is not a JSON object follows the same rule in the raw rewrite.
        if (!line.startsWith('{"type"') || !line.endsWith('}'))
          expect(lineBelongs(line, { userIds: [id], anonymousIds: [] })).toBe(true);
        fc.pre(distinct(id, other));
        expect(namesAnId(put(spelling(other, how), w), new Set([id]))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('the delete erases exactly the failed events naming the person in any spelling (DuckDB, through SQL and the engine)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sluice-privacy-failed-'));
    const wh = await openDuckdbWarehouse({ path: path.join(dir, 'w.duckdb'), lockTimeoutMs: 5000 });
    try {
      await wh.exec(
        `CREATE TABLE IF NOT EXISTS ${TABLES.failedEvents} (load_id VARCHAR, line BIGINT, event_id VARCHAR, raw_line VARCHAR)`,
      );
      await wh.exec('CREATE TABLE IF NOT EXISTS tracks (id VARCHAR, user_id VARCHAR, anonymous_id VARCHAR)');
      await wh.ensureTable('privacy_requests', LEDGER_COLUMNS);
      const deps = localPrivacyDeps(wh, dir);
      await fc.assert(
        fc.asyncProperty(
          hostileId,
          hostileId,
          choices,
          choices,
          space,
          context,
          async (victim, other, h1, h2, w, put) => {
            fc.pre(distinct(victim, other));
            const lines = [
              put(spelling(victim, h1), w),
              put(spelling(victim, h2), ''),
              put(spelling(other, h1), w),
            ];
            for (const [i, raw] of lines.entries()) {
              await wh.exec(
                `INSERT INTO ${TABLES.failedEvents} (load_id, line, event_id, raw_line) VALUES ('L', ${i + 1}, NULL, $raw)`,
                {
                  values: { raw },
                },
              );
            }
            await deletePerson(deps, { userIds: [victim], anonymousIds: [] }, { suppress: false });
            const left = await wh.select(`SELECT line, raw_line FROM ${TABLES.failedEvents} ORDER BY line`);
            expect(left.map((r) => r.raw_line)).toEqual([lines[2]]);
            await wh.exec(`DELETE FROM ${TABLES.failedEvents}`);
            await wh.exec('DELETE FROM privacy_requests');
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      await wh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
