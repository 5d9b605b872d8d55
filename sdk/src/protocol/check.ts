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

/** True for ISO-8601 / RFC 3339 date-times that also parse to a real instant. */
export function isDateTime(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
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

/**
 * Validates one message against the protocol, including the "userId or anonymousId" rule.
 * Pure: no side effects beyond compiling the schemas on first use.
 */
export function checkEvent(value: unknown): CheckResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ path: '', message: 'event must be a JSON object' }] };
  }
  const type = (value as { type?: unknown }).type;
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
  const { userId, anonymousId } = value as { userId?: unknown; anonymousId?: unknown };
  if (typeof userId !== 'string' && typeof anonymousId !== 'string') {
    issues.push({ path: '/userId', message: 'userId or anonymousId is required' });
  }
  return issues.length === 0 ? { ok: true, event: value as SluiceEvent } : { ok: false, issues };
}

/**
 * Boolean fast path of `checkEvent` (same rules): the compiled `Check` builds no error objects, so a consumer that
 * validates millions of events (the loader) only calls `checkEvent` for the few that fail, to get field paths.
 */
export function isValidEvent(value: unknown): value is SluiceEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { type, userId, anonymousId } = value as { type?: unknown; userId?: unknown; anonymousId?: unknown };
  if (!isEventType(type)) return false;
  if (typeof userId !== 'string' && typeof anonymousId !== 'string') return false;
  return checkers()[type].Check(value);
}
