/** Generated raw window-file lines: valid events, hostile event-shaped lines, garbage, blanks, truncated JSON. */
import fc from 'fast-check';
import { hostileEvent, jsonText, Nested, type Value } from './arbitraries.ts';

export interface RawLine {
  text: string;
  /** The messageId the line carries, when it has one the loader can read. */
  id: string | undefined;
}

export function rawLines(idPrefix: string, maxDepth: number): fc.Arbitrary<RawLine[]> {
  let next = 0;
  const event = hostileEvent(maxDepth);
  const line: fc.Arbitrary<RawLine> = fc.oneof(
    {
      weight: 4,
      arbitrary: event.map((e) => {
        const id = `${idPrefix}-${next++}`;
        const at = new Date().toISOString();
        const full: Record<string, Value> = { receivedAt: at, sourceId: 'local', ...e, messageId: id };
        return { text: jsonText(full), id };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.string({ maxLength: 80 }).map((s) => ({ text: s.replaceAll('\n', ' '), id: undefined })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', '{', '[]', 'null', '{"type":"track"', '\ud800')
        .map((text) => ({ text, id: undefined })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 4000, max: 6000 }).map((n) => {
        const id = `${idPrefix}-${next++}`;
        const at = new Date().toISOString();
        const text = jsonText({
          type: 'track',
          event: 'Deep',
          messageId: id,
          anonymousId: 'a',
          timestamp: at,
          receivedAt: at,
          properties: { deep: new Nested(n) },
        });
        return { text, id };
      }),
    },
  );
  return fc.array(line, { minLength: 1, maxLength: 25 });
}
