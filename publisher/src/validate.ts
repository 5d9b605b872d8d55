import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import {
  type CheckResult,
  checkEvent,
  EVENT_SCHEMAS,
  type EventType,
  isDateTime,
  isEventType,
  type SluiceEvent,
} from '@sluice/sdk/protocol';

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
 * The protocol's `checkEvent`, with a fast path: the compiled schema's boolean check (plus the userId-or-
 * anonymousId rule) accepts valid events without walking the error iterator; only failures go through
 * `checkEvent` to collect field paths. Same verdicts as `checkEvent`.
 */
export function validateEvent(value: unknown): CheckResult {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { type, userId, anonymousId } = value as {
      type?: unknown;
      userId?: unknown;
      anonymousId?: unknown;
    };
    if (
      isEventType(type) &&
      (typeof userId === 'string' || typeof anonymousId === 'string') &&
      checkers()[type].Check(value)
    ) {
      return { ok: true, event: value as SluiceEvent };
    }
  }
  return checkEvent(value);
}
