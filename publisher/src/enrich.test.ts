import { JsonTextScanner, type SluiceEvent } from '@sluice/sdk/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchDefaults, createEnricher } from './enrich.ts';

/** A member's value as JSON text: numbers as a client may write them (beyond 2^53, 1e400, -0), nested values. */
const valueText = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '9007199254740993',
    '12345678901234567890123',
    '1e400',
    '-0',
    '-0.0',
    '1E+2',
    '0.1000',
    '[ 1 , -0 ]',
  ),
);
const key = fc.oneof(
  fc.constantFrom('__proto__', 'ip', '0', 'library', 'writeKey', 'a b', 'é'),
  fc.string({ maxLength: 6 }),
);
/** An object's JSON text with arbitrary members (duplicates included). */
const objectText = fc
  .array(fc.tuple(key, valueText), { maxLength: 6 })
  .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
const dateTime = fc.constantFrom(
  '2024-05-01T11:59:00.000Z',
  '2024-05-01T12:00:01+02:00',
  '9999-12-31T23:59:59.999Z',
  '0000-01-01T00:00:00.000Z',
);

/** Optional top-level members an event may carry, as JSON text. */
const optional = fc.record(
  {
    messageId: fc.constantFrom('"m-1"'),
    context: objectText,
    timestamp: dateTime.map((d) => JSON.stringify(d)),
    originalTimestamp: dateTime.map((d) => JSON.stringify(d)),
    sentAt: dateTime.map((d) => JSON.stringify(d)),
    receivedAt: dateTime.map((d) => JSON.stringify(d)),
    sourceId: fc.constant('"client-said"'),
    writeKey: fc.constant('"wk"'),
    integrations: fc.constant('{"All":false}'),
    extra: valueText,
  },
  { requiredKeys: [] },
);

/** The enrichment as object spreads would build it from the parsed event (the rule the text splice must follow). */
function expected(
  event: Record<string, unknown>,
  batch: Record<string, unknown>,
  ip: string,
): Record<string, unknown> {
  const context: Record<string, unknown> = { ...(batch.context as object), ...(event.context as object) };
  if (typeof context.ip !== 'string') context.ip = ip;
  const { writeKey: _dropped, ...rest } = event;
  const out: Record<string, unknown> = { ...rest, type: event.type };
  out.messageId = event.messageId ?? '(uuid)';
  out.receivedAt = '2024-05-01T12:00:00.000Z';
  out.timestamp = '(corrected)';
  out.sourceId = 'src';
  out.context = context;
  const original = event.timestamp ?? event.originalTimestamp;
  if (original !== undefined) out.originalTimestamp = original;
  const sentAt = event.sentAt ?? batch.sentAt;
  if (sentAt !== undefined) out.sentAt = sentAt;
  if (batch.integrations !== undefined && event.integrations === undefined)
    out.integrations = batch.integrations;
  return out;
}

describe('createEnricher', () => {
  it('splices the enrichment into the client text: same keys, order and values as spreads, numbers as written', () => {
    fc.assert(
      fc.property(
        optional,
        fc.shuffledSubarray([
          'messageId',
          'context',
          'timestamp',
          'originalTimestamp',
          'sentAt',
          'receivedAt',
          'sourceId',
          'writeKey',
          'integrations',
          'extra',
          'context',
          'extra',
        ]),
        fc.option(objectText, { nil: undefined }),
        fc.boolean(),
        (values, order, batchContextText, batchDefaults) => {
          const members = ['"type":"track"', '"event":"E"', '"anonymousId":"a"'];
          for (const k of order) {
            const v = (values as Record<string, string | undefined>)[k];
            if (v !== undefined) members.push(`"${k}":${v}`);
          }
          // The parsed event must be one the protocol accepts: its last context is an object.
          const envelope = `{"context":${batchContextText ?? '0'},"batch":[{${members.join(',')}}]}`;
          const scanner = new JsonTextScanner(envelope);
          const root = scanner.members(0, 'batch');
          const element = scanner.expanded?.[0];
          const parsed = JSON.parse(envelope) as { batch: Record<string, unknown>[] };
          const event = parsed.batch[0] as Record<string, unknown>;
          const batch: BatchDefaults = {};
          if (batchContextText !== undefined) {
            batch.context = {
              value: JSON.parse(batchContextText) as Record<string, unknown>,
              members: scanner.members((root[0] as { valueStart: number }).valueStart),
            };
          }
          if (batchDefaults) {
            batch.sentAt = '2024-05-01T11:59:59.000Z';
            batch.integrations = '{"Mixpanel":false}';
          }
          const data = createEnricher({
            receivedAt: new Date('2024-05-01T12:00:00.000Z'),
            sourceId: 'src',
            ip: '10.0.0.1',
            anonymizeIp: false,
            scanner,
            batch,
          })(event as unknown as SluiceEvent, { members: element?.members ?? [] });

          const out = JSON.parse(data) as Record<string, unknown>;
          const want = expected(
            event,
            {
              ...(batch.context ? { context: batch.context.value } : {}),
              ...(batchDefaults ? { sentAt: batch.sentAt, integrations: { Mixpanel: false } } : {}),
            },
            '10.0.0.1',
          );
          expect(Object.keys(out)).toEqual(Object.keys(want));
          expect({ ...out, messageId: 0, timestamp: 0 }).toEqual({ ...want, messageId: 0, timestamp: 0 });
          if (event.messageId === undefined) expect(out.messageId).toMatch(/^[0-9a-f-]{36}$/);
          // Members the collector does not set are the client's text, byte for byte (numbers included).
          if (values.extra !== undefined && order.includes('extra'))
            expect(data).toContain(`"extra":${values.extra}`);
          const own = element?.members?.filter((m) => m.key === 'context').pop();
          if (own !== undefined) {
            const inner = new JsonTextScanner(envelope).members(own.valueStart);
            for (const m of inner) {
              if (m.key === 'ip' || inner.some((later) => later.key === m.key && later.keyStart > m.keyStart))
                continue;
              expect(data).toContain(`${JSON.stringify(m.key)}:${envelope.slice(m.valueStart, m.valueEnd)}`);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('skew-corrects the timestamp and keeps the client value as originalTimestamp', () => {
    const text =
      '{"type":"track","event":"E","anonymousId":"a","timestamp":"2024-05-01T11:00:00.000Z","sentAt":"2024-05-01T11:00:10.000Z"}';
    const scanner = new JsonTextScanner(text);
    const members = scanner.members(0);
    const data = createEnricher({
      receivedAt: new Date('2024-05-01T12:00:00.000Z'),
      sourceId: 's',
      ip: undefined,
      anonymizeIp: false,
      scanner,
    })(JSON.parse(text) as SluiceEvent, { members });
    expect(JSON.parse(data)).toMatchObject({
      timestamp: '2024-05-01T11:59:50.000Z',
      originalTimestamp: '2024-05-01T11:00:00.000Z',
      context: {},
    });
  });
});
