import { type Static, Type } from '@sinclair/typebox';

/** ISO-8601 / RFC 3339 date-time as sent on the wire (`2024-05-01T12:00:00.000Z`). */
export const DateTimeString = Type.String({ format: 'date-time', maxLength: 64 });

/**
 * Free-form JSON object (`properties`, `traits`, `context`): any non-null, non-array object, keys unchecked.
 *
 * Written as an open `Object` (static type `Record<string, unknown>`) rather than `Type.Record(Type.String(), ...)`:
 * TypeBox compiles a record to a regex test on every key (`Object.entries(v).every(...)`), which cost more than the
 * rest of an event's check; the open object compiles to a type test only. Same verdicts and error messages for
 * every JSON value (Ajv: `type: object` either way); the one difference is outside JSON (a `Date` or `Uint8Array`
 * instance passes here), and every consumer checks parsed JSON.
 */
export const JsonObject = Type.Unsafe<Record<string, unknown>>(
  Type.Object({}, { additionalProperties: true }),
);
export type JsonObject = Static<typeof JsonObject>;

/** Per-destination switches as Segment defines them: `{ "All": true, "Mixpanel": false }` or settings objects. */
export const Integrations = Type.Record(Type.String(), Type.Union([Type.Boolean(), JsonObject]));
export type Integrations = Static<typeof Integrations>;

/** Identity strings. Segment allows either id; at least one must be present (see `identityRule`). */
export const Id = Type.String({ minLength: 1, maxLength: 1024 });
export const NullableId = Type.Union([Id, Type.Null()]);

/** Fields common to every message type (Segment Tracking API "common fields"). */
export const commonFields = {
  messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  userId: Type.Optional(NullableId),
  anonymousId: Type.Optional(NullableId),
  timestamp: Type.Optional(DateTimeString),
  originalTimestamp: Type.Optional(DateTimeString),
  sentAt: Type.Optional(DateTimeString),
  receivedAt: Type.Optional(DateTimeString),
  context: Type.Optional(JsonObject),
  integrations: Type.Optional(Integrations),
  channel: Type.Optional(Type.String({ maxLength: 64 })),
  /**
   * A number, however the reader holds it: a `bigint` is what the loader's exact parse gives for an integer beyond
   * 2^53 (`JSON.parse`, in the collector, gives a rounded number), so both check the same text the same way.
   */
  version: Type.Optional(Type.Union([Type.Number(), Type.BigInt(), Type.String({ maxLength: 16 })])),
  /** Only honoured on `sendBeacon` bodies (which cannot carry headers); never forwarded. */
  writeKey: Type.Optional(Type.String({ maxLength: 256 })),
};

/**
 * JSON Schema `anyOf` expressing "userId or anonymousId" (a non-null string in either).
 * Attach it to a message schema's options so Ajv (Fastify) enforces it; `checkEvent` enforces it for TypeBox.
 */
export const identityRule = {
  anyOf: [
    { required: ['userId'], properties: { userId: { type: 'string' } } },
    { required: ['anonymousId'], properties: { anonymousId: { type: 'string' } } },
  ],
};
