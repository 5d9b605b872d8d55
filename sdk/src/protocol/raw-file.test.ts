import { describe, expect, it } from 'vitest';
import { DEFAULT_RAW_NAMING, formatDatetime, parseRawObjectTime, rawObjectName } from './raw-file.ts';

const at = new Date(Date.UTC(2026, 10, 21, 9, 5, 7));
const uuid = '3f1e6b2a-9c4d-4e5f-8a7b-1c2d3e4f5a6b';

describe('raw object names', () => {
  it('formats like a Cloud Storage subscription: prefix, datetime, _uuid, suffix', () => {
    expect(rawObjectName(DEFAULT_RAW_NAMING, at, uuid)).toBe(`raw/2026-11-21/09_05_07+00:00_${uuid}.ndjson`);
    expect(formatDatetime('YYYY/MM/DD/hh', at)).toBe('2026/11/21/09');
  });

  it('round-trips the window start, and rejects foreign names', () => {
    const name = rawObjectName(DEFAULT_RAW_NAMING, at, uuid);
    expect(parseRawObjectTime(DEFAULT_RAW_NAMING, name)?.toISOString()).toBe('2026-11-21T09:05:07.000Z');
    expect(parseRawObjectTime(DEFAULT_RAW_NAMING, 'raw/notes.txt')).toBeUndefined();
    expect(
      parseRawObjectTime(DEFAULT_RAW_NAMING, `other/2026-11-21/09_05_07+00:00_${uuid}.ndjson`),
    ).toBeUndefined();
  });
});
