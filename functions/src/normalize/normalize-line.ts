import { type CheckIssue, checkEvent, type EventType } from '@sluice/sdk/protocol';
import type {
  CellValue,
  ColumnSchema,
  FailedEvent,
  SchemaChange,
  WarehouseSchema,
} from '../destinations/destination.ts';
import type { ErrorCode } from '../errors.ts';
import type { Line } from '../load/line-reader.ts';
import type { NameCache } from '../naming/name-cache.ts';
import { ID_KEYS, routeEvent } from '../route.ts';
import type { Contracts } from '../schema/contracts.ts';
import { type ResolvedRow, resolveEvent } from '../schema/evolve.ts';
import { rfc3339 } from '../schema/infer.ts';
import { fastNormalize } from './fast-path.ts';
import { Fields } from './field.ts';
import { NeedsExactParse, parseJsonExact, poisonOf } from './parse-json.ts';
import { maybeCompile, runCompiled } from './shape-plan.ts';

export interface NormalizerOptions {
  names: NameCache;
  maxNestingDepth: number;
  contracts: Contracts;
  columnBudget: number;
  canWidenIntToFloat: boolean;
  maxColumnNameLength: number;
  tableColumns: readonly ColumnSchema[];
  /** Values of `tableColumns` for every row (load time, load id); omitted, the rows carry none. */
  tableValues?: readonly CellValue[];
  /** Try the one-pass common case first (`fast-path.ts`); default true. Tests turn it off to compare. */
  fastPath?: boolean;
  /** Compile a track event name's shape after this many fast-path events of it (`shape-plan.ts`; default 64). */
  compileAfter?: number;
}

const NO_CHANGES: SchemaChange[] = [];

/** An event's members as parsed (checked or not: see where it is used). */
type EventFields = Record<string, unknown> & { type: EventType };

/** The field buffer every event is routed into (normalization is synchronous: one buffer serves all calls). */
const scratch = new Fields();

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
 * stores for a numeric id (see `idText` in route.ts), and what the protocol check takes (an id is a string or a
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

/** Longest raw line kept in a failed-event row (the rest is cut; `raw_truncated` says so). */
const MAX_RAW_CHARS = 256 * 1024;

/**
 * One raw line -> the rows it produces (with the schema changes they need) or a failed event. Pure apart from
 * updating `schema` with accepted changes. Trusts nothing: JSON, protocol check, messageId, routing, contracts.
 */
export function normalizeLine(line: Line, schema: WarehouseSchema, options: NormalizerOptions): Normalized {
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
  if (eventId !== null && options.fastPath !== false && typeof value === 'object') {
    // A compiled shape checks the protocol's rules itself (`shape-plan.ts`): its rows are those of a valid event.
    const rows = runCompiled(value as Record<string, unknown>, eventId, receivedAt, schema, options);
    if (rows !== undefined) return { ok: true, eventId, receivedAt, rows, changes: NO_CHANGES, discarded: 0 };
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
  if (options.fastPath !== false) {
    const rows = fastNormalize(event, eventId, schema, options);
    if (rows !== undefined) {
      maybeCompile(event, eventId, schema, options);
      return { ok: true, eventId, receivedAt, rows, changes: NO_CHANGES, discarded: 0 };
    }
  }
  let routed: ReturnType<typeof routeEvent>;
  try {
    routed = routeEvent(
      event,
      eventId,
      { names: options.names, maxDepth: options.maxNestingDepth, contracts: options.contracts },
      scratch,
    );
  } catch (error) {
    if (!(error instanceof NeedsExactParse)) throw error;
    // An integer beyond 2^53: parse again keeping every digit (bigint), then check and route that.
    const exact = idsAsText(parseJsonExact(line.text));
    const recheck = checkEvent(exact);
    if (!recheck.ok) {
      return failed(line, 'SLUICE_ERR_LOAD_INVALID_EVENT', issuesText(recheck.issues), eventId);
    }
    event = exact as EventFields;
    routed = routeEvent(
      event,
      eventId,
      { names: options.names, maxDepth: options.maxNestingDepth, exact: true, contracts: options.contracts },
      scratch,
    );
  }
  const resolution = resolveEvent(scratch, routed.rows, schema, options);
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
