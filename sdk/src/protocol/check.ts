import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { EVENT_SCHEMAS, type EventType, isEventType, type SluiceEvent } from './messages.ts';

export interface CheckIssue {
  /** JSON pointer of the offending field, e.g. `/properties/price` or `/type`. */
  path: string;
  message: string;
}

export type CheckResult = { ok: true; event: SluiceEvent } | { ok: false; issues: CheckIssue[] };

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The n-digit number at `at`, or -1 when a character is not a digit. */
function digitsAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (Date#toISOString's form, what SDKs and the collector write) naming a real calendar
 * date and time: such a string matches RFC3339 and Date.parse reads it, so neither needs to run. Checked by hand,
 * as it runs for every timestamp of every event.
 */
function isIsoStringForm(v: string): boolean {
  if (v.length !== 24 || v.charCodeAt(23) !== 90) return false; // Z
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84) return false; // - - T
  if (v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58 || v.charCodeAt(19) !== 46) return false; // : : .
  const year = digitsAt(v, 0, 4);
  const month = digitsAt(v, 5, 2);
  const day = digitsAt(v, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] as number))
    return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  const hour = digitsAt(v, 11, 2);
  const minute = digitsAt(v, 14, 2);
  const second = digitsAt(v, 17, 2);
  return (
    hour >= 0 &&
    hour <= 23 &&
    minute >= 0 &&
    minute <= 59 &&
    second >= 0 &&
    second <= 59 &&
    digitsAt(v, 20, 3) >= 0
  );
}

/** True for ISO-8601 / RFC 3339 date-times that also parse to a real instant. */
export function isDateTime(value: string): boolean {
  return isIsoStringForm(value) || (RFC3339.test(value) && !Number.isNaN(Date.parse(value)));
}

let compiled: Record<EventType, TypeCheck<TSchema>> | undefined;

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

/** The "userId or anonymousId" rule: a string in either. */
const hasIdentity = (event: Record<string, unknown>): boolean =>
  typeof event.userId === 'string' || typeof event.anonymousId === 'string';

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
