export {
  type CheckIssue,
  type CheckResult,
  checkEvent,
  hasIdentity,
  isDateTime,
  isValidEvent,
  type MemberRules,
  memberRules,
} from './check.ts';
export { digitsAt, isCalendarDate, isTimeOfDay } from './date-parts.ts';
export { type EnrichedEvent, LIMITS, type MessageAttributes } from './enriched.ts';
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
