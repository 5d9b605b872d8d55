import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { digitsAt, isCalendarDate, isTimeOfDay } from './date-parts.ts';
import { DateTimeString, Integrations, isPresentId } from './fields.ts';
import { EVENT_SCHEMAS, EVENT_TYPES, type EventType, isEventType, type SluiceEvent } from './messages.ts';

export interface CheckIssue {
  /** JSON pointer of the offending field, e.g. `/properties/price` or `/type`. */
  path: string;
  message: string;
}

export type CheckResult = { ok: true; event: SluiceEvent } | { ok: false; issues: CheckIssue[] };

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?$/;

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (Date#toISOString's form, what SDKs and the collector write) naming a real calendar
 * date and time: such a string matches RFC3339 and Date.parse reads it, so neither needs to run. Checked by hand,
 * as it runs for every timestamp of every event.
 */
function isIsoStringForm(v: string): boolean {
  if (v.length !== 24 || v.charCodeAt(23) !== 90) return false; // Z
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84) return false; // - - T
  if (v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58 || v.charCodeAt(19) !== 46) return false; // : : .
  return (
    isCalendarDate(digitsAt(v, 0, 4), digitsAt(v, 5, 2), digitsAt(v, 8, 2)) &&
    isTimeOfDay(digitsAt(v, 11, 2), digitsAt(v, 14, 2), digitsAt(v, 17, 2)) &&
    digitsAt(v, 20, 3) >= 0
  );
}

/** True for ISO-8601 / RFC 3339 date-times that also parse to a real instant. */
export function isDateTime(value: string): boolean {
  return isIsoStringForm(value) || (RFC3339.test(value) && !Number.isNaN(Date.parse(value)));
}

/** The protocol's `DateTimeString` rule (what `sentAt`, `timestamp`... must be): a date-time of at most 64 characters. */
export function isDateTimeString(value: unknown): value is string {
  return typeof value === 'string' && value.length <= (DateTimeString.maxLength ?? 64) && isDateTime(value);
}

let compiled: Record<EventType, TypeCheck<TSchema>> | undefined;
let integrationsCheck: TypeCheck<TSchema> | undefined;

/**
 * The protocol's rule for an `integrations` value (an event's, or a batch envelope's default for its events), with
 * the field paths of what breaks it (`/integrations/Mixpanel`). Empty when it holds.
 */
export function checkIntegrations(value: unknown): CheckIssue[] {
  integrationsCheck ??= TypeCompiler.Compile(Integrations);
  if (integrationsCheck.Check(value)) return [];
  const issues: CheckIssue[] = [];
  for (const error of integrationsCheck.Errors(value)) {
    issues.push({ path: `/integrations${error.path}`, message: error.message });
    if (issues.length >= 10) break;
  }
  return issues;
}

function checkers(): Record<EventType, TypeCheck<TSchema>> {
  if (!compiled) {
    if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isDateTime);
    compiled = {
      track: TypeCompiler.Compile(EVENT_SCHEMAS.track),
      identify: TypeCompiler.Compile(EVENT_SCHEMAS.identify),
      page: TypeCompiler.Compile(EVENT_SCHEMAS.page),
      screen: TypeCompiler.Compile(EVENT_SCHEMAS.screen),
      group: TypeCompiler.Compile(EVENT_SCHEMAS.group),
      alias: TypeCompiler.Compile(EVENT_SCHEMAS.alias),
    };
  }
  return compiled;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The "userId or anonymousId" rule: a present id (non-empty string or integer, `isPresentId`) in either. */
export const hasIdentity = (event: Record<string, unknown>): boolean =>
  isPresentId(event.userId) || isPresentId(event.anonymousId);

/**
 * One message type's rules member by member, for code that checks events of known keys (the loader's compiled
 * shapes): an object `v` of that type passes `isValidEvent` exactly when `hasIdentity(v)`, every `required` key is
 * present and every present key with a rule satisfies it (other keys are free). Each rule is the TypeBox schema of
 * that member, compiled on its own.
 */
export interface MemberRules {
  rules: ReadonlyMap<string, (value: unknown) => boolean>;
  required: readonly string[];
  /** Members whose rule is a date-time (`DateTimeString`): a string of at most 64 characters that `isDateTime` accepts. */
  dateTimes: ReadonlySet<string>;
}

let memberRulesByType: Record<EventType, MemberRules> | undefined;

export function memberRules(type: EventType): MemberRules {
  if (!memberRulesByType) {
    checkers(); // registers the date-time format the rules use
    const byType: Partial<Record<EventType, MemberRules>> = {};
    for (const t of EVENT_TYPES) {
      const schema = EVENT_SCHEMAS[t];
      const rules = new Map<string, (value: unknown) => boolean>();
      const dateTimes = new Set<string>();
      for (const [key, member] of Object.entries(schema.properties)) {
        const compiled = TypeCompiler.Compile(member);
        rules.set(key, (value) => compiled.Check(value));
        if (member.type === 'string' && member.format === 'date-time' && member.maxLength === 64)
          dateTimes.add(key);
      }
      byType[t] = { rules, required: schema.required ?? [], dateTimes };
    }
    memberRulesByType = byType as Record<EventType, MemberRules>;
  }
  return memberRulesByType[type];
}

/**
 * Validates one message against the protocol, including the "userId or anonymousId" rule.
 * Pure: no side effects beyond compiling the schemas on first use. Valid events take the boolean fast path
 * (`isValidEvent`); only failures walk TypeBox's error iterator to collect field paths.
 */
export function checkEvent(value: unknown): CheckResult {
  if (isValidEvent(value)) return { ok: true, event: value };
  if (!isObject(value)) {
    return { ok: false, issues: [{ path: '', message: 'event must be a JSON object' }] };
  }
  const type = value.type;
  if (!isEventType(type)) {
    return {
      ok: false,
      issues: [{ path: '/type', message: 'type must be one of track, identify, page, screen, group, alias' }],
    };
  }
  const checker = checkers()[type];
  const issues: CheckIssue[] = [];
  for (const error of checker.Errors(value)) {
    issues.push({ path: error.path, message: error.message });
    if (issues.length >= 10) break;
  }
  if (!hasIdentity(value)) issues.push({ path: '/userId', message: 'userId or anonymousId is required' });
  return issues.length === 0 ? { ok: true, event: value as SluiceEvent } : { ok: false, issues };
}

/**
 * Boolean form of `checkEvent` (same rules): the compiled `Check` builds no error objects, so validating millions
 * of events costs a type test per field, not an error walk.
 */
export function isValidEvent(value: unknown): value is SluiceEvent {
  if (!isObject(value)) return false;
  const type = value.type;
  return isEventType(type) && hasIdentity(value) && checkers()[type].Check(value);
}
