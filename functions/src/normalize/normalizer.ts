import { type CheckIssue, checkEvent, type EventType } from '@sluice/sdk/protocol';
import type { ErrorCode } from '../errors.ts';
import type { Line } from '../load/line-reader.ts';
import type { FailedEvent, SchemaChange } from '../model/warehouse.ts';
import { type ResolvedRow, resolveEvent } from '../schema/evolve.ts';
import { Fields } from '../schema/fields.ts';
import { rfc3339 } from '../schema/infer.ts';
import { ResolveState } from '../schema/resolve-state.ts';
import { ID_KEYS } from '../schema/segment-layout.ts';
import { ShapeCache } from './compiled/shape-cache.ts';
import type { NormalizerOptions, NormalizerStats } from './options.ts';
import { NeedsExactParse, parseJsonExact, poisonOf } from './parse-json.ts';
import { route } from './route.ts';
import { Walk, type WalkContext } from './walk.ts';

const NO_CHANGES: SchemaChange[] = [];

/** An event's members as parsed (checked or not: see where it is used). */
type EventFields = Record<string, unknown> & { type: EventType };

export type Normalized =
  | {
      ok: true;
      eventId: string;
      receivedAt: string | undefined;
      rows: ResolvedRow[];
      changes: SchemaChange[];
      discarded: number;
    }
  | { ok: false; failure: FailedEvent };

/** Longest raw line kept in a failed-event row (the rest is cut; `raw_truncated` says so). */
const MAX_RAW_CHARS = 256 * 1024;

function failed(
  line: Line,
  code: ErrorCode,
  reason: string,
  eventId: string | null,
  keepRaw = true,
): Normalized {
  const truncated = line.tooLong || line.text.length > MAX_RAW_CHARS;
  return {
    ok: false,
    failure: {
      line: line.number,
      raw: keepRaw ? (truncated ? line.text.slice(0, MAX_RAW_CHARS) : line.text) : null,
      rawTruncated: keepRaw && truncated,
      code,
      reason,
      eventId,
    },
  };
}

/** A failed check's issues as one `reason` (`/path: message; ...`). */
function issuesText(issues: readonly CheckIssue[]): string {
  return issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; ');
}

/**
 * The exact parse of an event with its integer ids beyond 2^53 (bigints) as their decimal text: what the loader
 * stores for a numeric id (see `idText` in ids.ts), and what the protocol check takes (an id is a string or a
 * JSON number; a bigint is neither).
 */
function idsAsText(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const event = value as Record<string, unknown>;
  for (const key of ID_KEYS) {
    const id = event[key];
    if (typeof id === 'bigint') event[key] = id.toString();
  }
  return event;
}

/** One load's normalizer: `normalize` turns each raw line into rows (or a failed event); `stats` counts paths. */
export interface Normalizer {
  normalize(line: Line): Normalized;
  readonly stats: NormalizerStats;
}

/**
 * The normalizer of one load. It owns everything kept from line to line (the field buffer, the column layouts
 * and row stamps of schema resolution, the compiled shapes), so nothing is shared between loads or modules.
 *
 * Per line, one walk of the event by the Segment layout (`route.ts`, `schema/segment-layout.ts`) and the coercion
 * table (`schema/coercion.ts`), in three speeds: a compiled shape of the line's kind (generated from a recording of
 * the walk's fast branch), else the walk's fast branch (the common case in one pass), else its general branch
 * (fields, then resolved against the schema: the only one that changes the schema). Each faster speed gives up
 * rather than decide differently.
 */
export function createNormalizer(options: NormalizerOptions): Normalizer {
  const state = new ResolveState(options.tableColumns);
  const ctx: LoadContext = {
    options,
    state,
    fast: options.fastPath !== false,
    out: new Fields(),
    shapes: new ShapeCache({ options, state }),
    stats: { general: 0, fast: 0, compiled: 0, shapesCompiled: 0 },
  };
  return {
    stats: ctx.stats,
    normalize(line) {
      const result = normalizeLine(line, ctx);
      ctx.stats.shapesCompiled = ctx.shapes.compiled;
      return result;
    },
  };
}

/** What a normalizer keeps for its load (see `createNormalizer`). */
interface LoadContext extends WalkContext {
  /** Whether the compiled shapes and the walk's fast branch run (`NormalizerOptions.fastPath`). */
  fast: boolean;
  /** The field buffer of the general branch (normalization is synchronous: one buffer serves every line). */
  out: Fields;
  shapes: ShapeCache;
  stats: NormalizerStats;
}

/**
 * One raw line -> the rows it produces (with the schema changes they need) or a failed event. Pure apart from
 * updating the schema with accepted changes and the normalizer's caches. Trusts nothing: JSON, protocol check,
 * messageId, routing, contracts.
 */
function normalizeLine(line: Line, ctx: LoadContext): Normalized {
  const { options, fast, out, state, shapes, stats } = ctx;
  const schema = options.schema;
  if (line.tooLong) return failed(line, 'SLUICE_ERR_LOAD_LINE_TOO_LONG', 'line too long', null);
  if (line.text.charCodeAt(0) !== 123 && line.text.trim() === '')
    return failed(line, 'SLUICE_ERR_LOAD_BLANK_LINE', 'blank line', null);
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (error) {
    return line.unterminated
      ? failed(line, 'SLUICE_ERR_LOAD_TRUNCATED_LINE', 'last line has no newline and is not JSON', null)
      : failed(line, 'SLUICE_ERR_LOAD_MALFORMED_JSON', (error as Error).message, null);
  }
  const fields = value as { messageId?: unknown; receivedAt?: unknown } | null;
  const messageId = fields?.messageId;
  const eventId = typeof messageId === 'string' && messageId !== '' ? messageId : null;
  // A poisoned event keeps its id in failed events (reading a top-level member is safe at any depth).
  const poison = poisonOf(line.text, value);
  if (poison !== undefined) return failed(line, poison.code, poison.reason, eventId);
  const receivedAt = typeof fields?.receivedAt === 'string' ? rfc3339(fields.receivedAt) : undefined;
  if (eventId !== null && fast && typeof value === 'object') {
    // A compiled shape checks the protocol's rules itself (`compiled/`): its rows are those of a valid event.
    const rows = shapes.run(value as Record<string, unknown>, eventId, receivedAt);
    if (rows !== undefined) {
      stats.compiled++;
      return { ok: true, eventId, receivedAt, rows, changes: NO_CHANGES, discarded: 0 };
    }
  }
  const check = checkEvent(value);
  if (!check.ok) {
    const unroutable = check.issues.some((i) => i.path === '' || i.path === '/type');
    const reason = issuesText(check.issues);
    return failed(
      line,
      unroutable ? 'SLUICE_ERR_LOAD_UNROUTABLE' : 'SLUICE_ERR_LOAD_INVALID_EVENT',
      reason,
      eventId,
    );
  }
  if (eventId === null) return failed(line, 'SLUICE_ERR_LOAD_MISSING_ID', 'messageId is missing', null);
  let event = value as EventFields;
  if (fast) {
    const w = new Walk(ctx);
    if (route(w, event, eventId)) {
      stats.fast++;
      shapes.afterFastPath(event, eventId);
      return { ok: true, eventId, receivedAt, rows: w.finish(), changes: NO_CHANGES, discarded: 0 };
    }
  }
  stats.general++;
  let w = new Walk(ctx, { fields: out, exact: false });
  try {
    route(w, event, eventId);
  } catch (error) {
    if (!(error instanceof NeedsExactParse)) throw error;
    // An integer beyond 2^53: parse again keeping every digit (bigint), then check and route that.
    const exact = idsAsText(parseJsonExact(line.text));
    const recheck = checkEvent(exact);
    if (!recheck.ok) {
      return failed(line, 'SLUICE_ERR_LOAD_INVALID_EVENT', issuesText(recheck.issues), eventId);
    }
    event = exact as EventFields;
    w = new Walk(ctx, { fields: out, exact: true });
    route(w, event, eventId);
  }
  const resolution = resolveEvent(out, w.drafts, schema, options, state);
  if (!resolution.ok) return failed(line, resolution.code, resolution.reason, eventId, resolution.keepRaw);
  return {
    ok: true,
    eventId,
    receivedAt,
    rows: resolution.rows,
    changes: resolution.changes,
    discarded: resolution.discarded,
  };
}
