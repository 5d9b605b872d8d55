import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnricher } from './enrich.ts';

/** A JSON object as the collector receives it: parsed from text (so `"__proto__"` is a plain own key). */
const parsedObject = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('__proto__', 'ip', '0', '10', 'library', 'writeKey'), fc.string()),
      fc.jsonValue(),
    ),
    { maxLength: 8 },
  )
  .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);

describe('createEnricher', () => {
  it('builds the event and its context as spreads would (same keys, order and values; writeKey removed)', () => {
    fc.assert(
      fc.property(parsedObject, fc.option(parsedObject), parsedObject, (ownText, batchText, extraText) => {
        const own = JSON.parse(ownText) as Record<string, unknown>;
        const batchContext =
          batchText === null ? undefined : (JSON.parse(batchText) as Record<string, unknown>);
        const event = JSON.parse(
          `{"type":"track","event":"E","anonymousId":"a","messageId":"m","context":${ownText},"extra":${extraText}}`,
        ) as Parameters<ReturnType<typeof createEnricher>>[0];
        const enriched = createEnricher({
          receivedAt: new Date('2024-05-01T12:00:00.000Z'),
          sourceId: 'src',
          ip: '10.0.0.1',
          anonymizeIp: false,
          ...(batchContext ? { batch: { context: batchContext } } : {}),
        })(event);

        const context: Record<string, unknown> = { ...batchContext, ...own };
        if (typeof context.ip !== 'string') context.ip = '10.0.0.1';
        expect(JSON.stringify(enriched.context)).toBe(JSON.stringify(context));
        const { writeKey: _dropped, ...rest } = event as Record<string, unknown>;
        expect(Object.keys(enriched).slice(0, Object.keys(rest).length)).toEqual(Object.keys(rest));
        expect(Object.getPrototypeOf(enriched.context)).toBe(Object.prototype);
      }),
      { numRuns: 400 },
    );
  });
});
