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

/**
 * An id as clients send it: a string, or an integer (analytics-ruby and others pass ids as given, so `42` arrives
 * as a JSON number). The loader stores a number as its decimal text, every digit kept (the collector forwards the
 * client's bytes unchanged, so an integer beyond 2^53 reaches the raw file whole). Required ids (`groupId`,
 * `previousId`, an alias's `userId`) may not be empty.
 */
export const Id = Type.Union([Type.String({ minLength: 1, maxLength: 1024 }), Type.Integer()]);
/**
 * `userId` / `anonymousId`: an id, null, or the empty string, which means absent (RudderStack's SDKs send
 * `"userId": ""` before identify and after reset; Segment accepts such events). At least one of the two must be
 * present (`identityRule`).
 */
export const NullableId = Type.Union([Type.String({ maxLength: 1024 }), Type.Integer(), Type.Null()]);

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

/** A present id: a non-empty string or an integer (JSON Schema). */
const presentId = { anyOf: [{ type: 'string', minLength: 1 }, { type: 'integer' }] };

/**
 * JSON Schema `anyOf` expressing "userId or anonymousId" (a present id in either: a non-empty string or an
 * integer; null and "" are absent). Attach it to a message schema's options so Ajv (Fastify) enforces it;
 * `checkEvent` enforces it for TypeBox (`hasIdentity`).
 */
export const identityRule = {
  anyOf: [
    { required: ['userId'], properties: { userId: presentId } },
    { required: ['anonymousId'], properties: { anonymousId: presentId } },
  ],
};

/**
 * True for an id that is present: a non-empty string or an integer (a `bigint` too: the loader's exact parse of
 * an integer beyond 2^53). Null, undefined and "" are absent.
 */
export function isPresentId(value: unknown): boolean {
  if (typeof value === 'string') return value !== '';
  if (typeof value === 'number') return Number.isInteger(value);
  return typeof value === 'bigint';
}
