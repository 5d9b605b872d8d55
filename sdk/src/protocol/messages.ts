import { type Static, type TObject, Type } from '@sinclair/typebox';
import { commonFields, Id, identityRule, JsonObject } from './fields.ts';

/** The six Segment message types. */
export const EVENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

const opts = { additionalProperties: true, ...identityRule };

export const TrackEvent = Type.Object(
  {
    ...commonFields,
    type: Type.Literal('track'),
    event: Type.String({ minLength: 1, maxLength: 1024 }),
    properties: Type.Optional(JsonObject),
  },
  { $id: 'TrackEvent', ...opts },
);
export type TrackEvent = Static<typeof TrackEvent>;

export const IdentifyEvent = Type.Object(
  { ...commonFields, type: Type.Literal('identify'), traits: Type.Optional(JsonObject) },
  { $id: 'IdentifyEvent', ...opts },
);
export type IdentifyEvent = Static<typeof IdentifyEvent>;

export const PageEvent = Type.Object(
  {
    ...commonFields,
    type: Type.Literal('page'),
    name: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
    category: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
    properties: Type.Optional(JsonObject),
  },
  { $id: 'PageEvent', ...opts },
);
export type PageEvent = Static<typeof PageEvent>;

export const ScreenEvent = Type.Object(
  {
    ...commonFields,
    type: Type.Literal('screen'),
    name: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
    category: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
    properties: Type.Optional(JsonObject),
  },
  { $id: 'ScreenEvent', ...opts },
);
export type ScreenEvent = Static<typeof ScreenEvent>;

export const GroupEvent = Type.Object(
  { ...commonFields, type: Type.Literal('group'), groupId: Id, traits: Type.Optional(JsonObject) },
  { $id: 'GroupEvent', ...opts },
);
export type GroupEvent = Static<typeof GroupEvent>;

export const AliasEvent = Type.Object(
  { ...commonFields, type: Type.Literal('alias'), userId: Id, previousId: Id },
  { $id: 'AliasEvent', additionalProperties: true },
);
export type AliasEvent = Static<typeof AliasEvent>;

/** Schema per message type: exhaustive by construction. */
export const EVENT_SCHEMAS: Record<EventType, TObject> = {
  track: TrackEvent,
  identify: IdentifyEvent,
  page: PageEvent,
  screen: ScreenEvent,
  group: GroupEvent,
  alias: AliasEvent,
};

export type SluiceEvent = TrackEvent | IdentifyEvent | PageEvent | ScreenEvent | GroupEvent | AliasEvent;

/** Any one message; the discriminator is `type`. */
export const AnyEvent = Type.Union(
  [TrackEvent, IdentifyEvent, PageEvent, ScreenEvent, GroupEvent, AliasEvent],
  {
    $id: 'AnyEvent',
  },
);

/**
 * The batch envelope (`POST /v1/batch`). Top-level `context` and `integrations` apply to every event
 * in the batch (an event's own keys win), as Segment documents.
 */
export const BatchEnvelope = Type.Object(
  {
    batch: Type.Array(Type.Object({ type: Type.String() }, { additionalProperties: true }), {
      minItems: 1,
      maxItems: 10_000,
    }),
    context: Type.Optional(JsonObject),
    integrations: Type.Optional(JsonObject),
    sentAt: Type.Optional(Type.String({ format: 'date-time', maxLength: 64 })),
    writeKey: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { $id: 'BatchEnvelope', additionalProperties: true },
);
export type BatchEnvelope = Static<typeof BatchEnvelope>;
