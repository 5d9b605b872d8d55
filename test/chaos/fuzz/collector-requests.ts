/** Generated HTTP requests to the collector: any route, any auth, any content type, any body. */
import fc from 'fast-check';
import { bigints, hostileEvent, jsonText, type Value, value } from './arbitraries.ts';

export interface FuzzRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The messageIds the body carries (batch/single requests), in order. */
  ids: string[];
  /** Per id, the digit strings of the big integers its properties, traits and context carry. */
  digits: Map<string, string[]>;
}

const ROUTES = [
  '/v1/batch',
  '/v1/track',
  '/v1/identify',
  '/v1/page',
  '/v1/screen',
  '/v1/group',
  '/v1/alias',
  '/v1/import',
];

export function fuzzRequests(
  writeKey: string,
  idPrefix: string,
  maxDepth: number,
): fc.Arbitrary<FuzzRequest> {
  const event = hostileEvent(maxDepth);
  let next = 0;
  const auth = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constant({ authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` }),
    },
    {
      weight: 1,
      arbitrary: fc.constant({ authorization: `Basic ${Buffer.from('wrong-key:').toString('base64')}` }),
    },
    {
      weight: 1,
      arbitrary: fc.string({ maxLength: 30 }).map((s) => ({ authorization: s.replace(/[^\x20-\x7e]/g, '') })),
    },
    { weight: 1, arbitrary: fc.constant({}) },
  );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
        '',
      ),
    },
  );
  const withId = (e: Record<string, Value>): Record<string, Value> => ({
    ...e,
    messageId: `${idPrefix}-${next++}`,
  });
  const body = fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .array(event, { minLength: 1, maxLength: 8 })
        .map((events) => ({ kind: 'batch' as const, events })),
    },
    { weight: 2, arbitrary: event.map((e) => ({ kind: 'single' as const, events: [e] })) },
    { weight: 1, arbitrary: value.map((v) => ({ kind: 'value' as const, v })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => ({ kind: 'text' as const, s })) },
  );
  return fc
    .record({ route: fc.constantFrom(...ROUTES), auth, contentType, body, cut: fc.nat({ max: 20 }) })
    .map(({ route, auth: headers, contentType: type, body: b, cut }) => {
      if (b.kind === 'value' || b.kind === 'text') {
        const text = b.kind === 'value' ? jsonText(b.v) : b.s;
        return {
          url: route,
          headers: { ...headers, 'content-type': type },
          body: text,
          ids: [],
          digits: new Map(),
        };
      }
      const events = b.events.map(withId);
      const ids = events.map((e) => String(e.messageId));
      const digits = new Map(
        events.map((e) => [
          String(e.messageId),
          [e.properties, e.traits, e.context].flatMap((v) => (v === undefined ? [] : bigints(v))),
        ]),
      );
      const single = b.kind === 'single' && route !== '/v1/batch';
      let text = single
        ? jsonText(events[0] ?? null)
        : jsonText({ batch: events, sentAt: new Date().toISOString() });
      // Now and then a truncated body (a client cut off mid-request).
      if (cut === 0) text = text.slice(0, Math.floor(text.length / 2));
      return {
        url: single ? route : '/v1/batch',
        headers: { ...headers, 'content-type': type },
        body: text,
        ids,
        digits,
      };
    });
}
