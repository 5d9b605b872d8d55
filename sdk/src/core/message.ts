import type { EventType, SluiceEvent } from '../protocol/messages.ts';
import type { CallOptions, Dict } from './types.ts';
import { uuid } from './uuid.ts';

/** Identity and context the caller's environment contributes to every message. */
export interface Base {
  userId?: string | null;
  anonymousId?: string | null;
  context?: Dict;
}

const isObj = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Builds one protocol message. Per-call options win over the environment's identity; per-call context is merged
 * over the environment's context (one level deep, as Segment does for `context.page` and friends).
 */
export function message(type: EventType, fields: Dict, o: CallOptions | undefined, base: Base): SluiceEvent {
  const opt = o ?? {};
  const context: Dict = { ...base.context };
  for (const [k, v] of Object.entries(opt.context ?? {})) {
    const cur = context[k];
    context[k] = isObj(cur) && isObj(v) ? { ...cur, ...v } : v;
  }
  const ts = opt.timestamp ? new Date(opt.timestamp) : new Date();
  const e: Dict = {
    ...fields,
    type,
    messageId: opt.messageId || uuid(),
    timestamp: ts.toISOString(),
    context,
  };
  const userId = opt.userId ?? (fields.userId as string | undefined) ?? base.userId;
  const anonymousId = opt.anonymousId ?? base.anonymousId;
  if (userId) e.userId = userId;
  if (anonymousId) e.anonymousId = anonymousId;
  if (opt.integrations) e.integrations = opt.integrations;
  return e as SluiceEvent;
}

/** Normalized arguments of `page`/`screen`: Segment's overloads `(name)`, `(category, name)`, `(name, props)`, `(props)`. */
export function pageArgs(
  a?: string | Dict | null,
  b?: string | Dict | null,
  c?: Dict,
  d?: CallOptions,
): { category?: string; name?: string; properties: Dict; options?: CallOptions } {
  if (isObj(a)) return { properties: a, options: b as CallOptions | undefined };
  if (isObj(b)) return { name: a ?? undefined, properties: b, options: c as CallOptions | undefined };
  if (typeof b === 'string') return { category: a ?? undefined, name: b, properties: c ?? {}, options: d };
  return { name: a ?? undefined, properties: c ?? {}, options: d };
}

/** Normalized arguments of `identify`: `(userId, traits, options)` or `(traits, options)`. */
export function identifyArgs(
  a?: string | Dict | null,
  b?: Dict,
  c?: CallOptions,
): { userId?: string; traits: Dict; options?: CallOptions } {
  if (isObj(a)) return { traits: a, options: b as CallOptions | undefined };
  return { userId: a ?? undefined, traits: b ?? {}, options: c };
}
