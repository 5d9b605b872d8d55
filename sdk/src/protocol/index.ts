export {
  type CheckIssue,
  type CheckResult,
  checkEvent,
  checkIntegrations,
  hasIdentity,
  isDateTime,
  isDateTimeString,
  isValidEvent,
  type MemberRules,
  memberRules,
} from './check.ts';
export { digitsAt, isCalendarDate, isTimeOfDay } from './date-parts.ts';
export { type EnrichedEvent, LIMITS, type MessageAttributes } from './enriched.ts';
export { correctedTimestampMs, isTimestampInRange, TIMESTAMP_RANGE_MS } from './event-time.ts';
export {
  DateTimeString,
  Id,
  Integrations,
  identityRule,
  isPresentId,
  JsonObject,
  NullableId,
} from './fields.ts';
export {
  compactJsonText,
  EVENT_TEXT_LIMITS,
  type JsonElement,
  type JsonMember,
  JsonTextScanner,
  lastMember,
} from './json-text.ts';
export {
  AliasEvent,
  AnyEvent,
  BatchEnvelope,
  EVENT_SCHEMAS,
  EVENT_TYPES,
  type EventType,
  GroupEvent,
  IdentifyEvent,
  isEventType,
  PageEvent,
  ScreenEvent,
  type SluiceEvent,
  TrackEvent,
} from './messages.ts';
export {
  DEFAULT_DATETIME_FORMAT,
  DEFAULT_RAW_NAMING,
  formatDatetime,
  parseRawObjectTime,
  type RawObjectNaming,
  rawLine,
  rawObjectName,
} from './raw-file.ts';
export {
  type FinalizedObject,
  finalizedCloudEvent,
  STORAGE_FINALIZED_TYPE,
  type StorageObjectData,
} from './storage-event.ts';
