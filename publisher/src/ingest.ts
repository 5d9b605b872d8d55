import {
  checkIntegrations,
  compactJsonText,
  EVENT_TEXT_LIMITS,
  isDateTimeString,
  type JsonElement,
  type JsonMember,
  JsonTextScanner,
  LIMITS,
  lastMember,
} from '@sluice/sdk/protocol';
import type { FastifyRequest } from 'fastify';
import { authenticate } from './auth.ts';
import type { Clock } from './clock.ts';
import type { CollectorConfig } from './config.ts';
import { assertOrigin } from './cors.ts';
import { type BatchDefaults, createEnricher, isRecord } from './enrich.ts';
import { CollectorError, type ErrorCode, type RejectedEvent } from './errors.ts';
import { validIp } from './ip.ts';
import type { Metrics } from './metrics.ts';
import type { PublishGate } from './publish-gate.ts';
import type { TokenBuckets } from './rate-limit.ts';
import type { SuppressionCache } from './suppression-cache.ts';
import type { OutboundMessage } from './transports/transport.ts';
import { validateEvent } from './validate.ts';

export interface IngestDeps {
  config: CollectorConfig;
  clock: Clock;
  gate: PublishGate;
  metrics: Metrics;
  keyLimiter: TokenBuckets;
  /** The suppression list (privacy): events of suppressed people are answered 200, counted, and not published. */
  suppression?: SuppressionCache;
}

export interface IngestResult {
  success: true;
  accepted: number;
}

/** What a route hands to `ingest`: one event (`bytes`: its size as received, when known) or a batch envelope. */
export type IngestShape = { kind: 'single'; bytes?: number } | { kind: 'batch' };

const MAX_DEPTH = EVENT_TEXT_LIMITS.maxDepth;

/** JSON pointer of a top-level key. */
function pointer(key: string): string {
  return `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/**
 * The request's JSON text: what the body parser read, when `body` is what it parsed (a route may have set `type`
 * on it: the enricher writes the checked event's type). A body a route built itself is serialized (its numbers are
 * then those of `JSON.parse`).
 */
function requestText(request: FastifyRequest, body: unknown): string {
  if (body === request.body && request.bodyText !== undefined) return request.bodyText;
  try {
    return JSON.stringify(body);
  } catch {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_EVENT_TOO_DEEP');
  }
}

/** The text rules (`EVENT_TEXT_LIMITS`) for one event or batch-level value: a rejection, or undefined. */
function textRejection(
  at: { loneSurrogate: boolean; depth: number },
  members: readonly JsonMember[] | undefined,
  prefix = '',
): { code: ErrorCode; issues: RejectedEvent['issues'] } | undefined {
  if (at.loneSurrogate) {
    const where = members?.find((m) => m.loneSurrogate);
    return {
      code: 'SLUICE_ERR_PUBLISHER_LONE_SURROGATE',
      issues: [
        {
          path: prefix + (where ? pointer(where.key) : ''),
          message:
            'a string or key holds a lone surrogate (an unpaired \\ud800-\\udfff), which UTF-8 cannot encode',
        },
      ],
    };
  }
  if (at.depth > MAX_DEPTH) {
    const where = members?.find((m) => m.depth + 1 > MAX_DEPTH);
    return {
      code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_DEEP',
      issues: [
        {
          path: prefix + (where ? pointer(where.key) : ''),
          message: `objects and arrays nest ${at.depth} levels deep; the limit is ${MAX_DEPTH} (the event is level 1)`,
        },
      ],
    };
  }
  return undefined;
}

function envelopeError(rejection: { code: ErrorCode; issues: RejectedEvent['issues'] }): CollectorError {
  return new CollectorError(rejection.code, {
    message: `batch envelope: ${rejection.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
  });
}

/**
 * The batch envelope's defaults for its events (Segment's `context`, `integrations`, `sentAt`). A key whose JSON
 * type does not fit (a `context` that is not an object...) is ignored; one that fits must satisfy the protocol,
 * as the event it is copied into must: otherwise the whole batch is refused (400), since every event would carry
 * it. A default is one level down in the event, so its own nesting may be at most `maxDepth - 1`.
 */
function batchDefaults(
  body: Record<string, unknown>,
  root: readonly JsonMember[],
  scanner: JsonTextScanner,
): BatchDefaults {
  const out: BatchDefaults = {};
  const member = (key: string): JsonMember => {
    const m = lastMember(root, key) as JsonMember;
    const rejection = textRejection(
      { loneSurrogate: m.loneSurrogate, depth: m.depth + 1 },
      undefined,
      pointer(key),
    );
    if (rejection) throw envelopeError(rejection);
    return m;
  };
  if (isRecord(body.context)) {
    const m = member('context');
    out.context = { value: body.context, members: scanner.members(m.valueStart) };
  }
  if (isRecord(body.integrations)) {
    const m = member('integrations');
    const issues = checkIntegrations(body.integrations);
    if (issues.length > 0) throw envelopeError({ code: 'SLUICE_ERR_PUBLISHER_BATCH_SCHEMA', issues });
    out.integrations = scanner.text.slice(m.valueStart, m.valueEnd);
  }
  if (typeof body.sentAt === 'string') {
    if (!isDateTimeString(body.sentAt)) {
      throw envelopeError({
        code: 'SLUICE_ERR_PUBLISHER_BATCH_SCHEMA',
        issues: [{ path: '/sentAt', message: 'must be an RFC 3339 date-time of at most 64 characters' }],
      });
    }
    out.sentAt = body.sentAt;
  }
  return out;
}

/** UTF-8 size of `text` between `start` and `end`, exact only when it may exceed `limit`. */
function spanBytes(text: string, start: number, end: number, limit: number): number {
  const chars = end - start;
  return chars * 3 <= limit ? chars : Buffer.byteLength(text.slice(start, end));
}

/**
 * The one path every event takes: authenticate, check origin and rate limit, validate each event against the
 * protocol schema and the text rules (size, depth, lone surrogates), enrich, publish the valid ones, and answer.
 *
 * Enrichment writes the client's own text for every member it does not set (`enrich.ts`): the published line
 * keeps every digit of every number, as sent.
 *
 * Partial batches (see docs/collector.md): valid events are published; if any event is rejected the answer is
 * 400 listing every rejected index with its code and field paths, plus the accepted count (413 when every event
 * was rejected as too large). Nothing accepted is lost, nothing rejected is dropped without the client being told.
 */
export async function ingest(
  deps: IngestDeps,
  request: FastifyRequest,
  body: unknown,
  shape: IngestShape,
): Promise<IngestResult> {
  const { config, metrics } = deps;
  if (!isRecord(body)) {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_BATCH_SCHEMA', { message: 'body must be a JSON object' });
  }
  const source = authenticate(request, body, config.writeKeys);
  assertOrigin(config, request, source.sourceId);

  let events: unknown[];
  if (shape.kind === 'batch') {
    if (!Array.isArray(body.batch) || body.batch.length === 0) {
      throw new CollectorError('SLUICE_ERR_PUBLISHER_BATCH_SCHEMA', {
        message: '/batch must be a non-empty array of events',
      });
    }
    events = body.batch;
  } else {
    events = [body];
  }

  const receivedAt = deps.clock.now();
  const wait = deps.keyLimiter.take(source.writeKey, events.length, receivedAt.getTime());
  if (wait > 0) throw new CollectorError('SLUICE_ERR_PUBLISHER_RATE_LIMITED', { retryAfterSeconds: wait });

  const scanner = new JsonTextScanner(requestText(request, body));
  const text = scanner.text;
  const rootStart = scanner.skipWhitespace(0);
  let elements: readonly JsonElement[];
  let batch: BatchDefaults | undefined;
  if (shape.kind === 'batch') {
    const root = scanner.members(rootStart, 'batch');
    elements = scanner.expanded ?? [];
    batch = batchDefaults(body, root, scanner);
  } else {
    const members = scanner.members(rootStart);
    const { lastEnd: end, lastDepth: depth, loneSurrogate } = scanner;
    elements = [{ start: rootStart, end, depth, loneSurrogate, members }];
  }
  if (elements.length !== events.length) {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_INTERNAL', {
      message: 'body text and parsed body differ',
    });
  }
  // A raw newline can only be whitespace between tokens: such (pretty-printed) text is made one line.
  const multiline = text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0;

  const enrich = createEnricher({
    receivedAt,
    sourceId: source.sourceId,
    ip: validIp(request.ip),
    anonymizeIp: config.anonymizeIp,
    scanner,
    ...(batch ? { batch } : {}),
  });
  const messages: OutboundMessage[] = [];
  const rejected: RejectedEvent[] = [];
  let suppressed = 0;
  await deps.suppression?.fresh();
  for (let index = 0; index < events.length; index++) {
    const element = elements[index] as JsonElement;
    const checked = validateEvent(events[index]);
    if (!checked.ok) {
      rejected.push({ index, code: 'SLUICE_ERR_PUBLISHER_SCHEMA', issues: checked.issues });
      continue;
    }
    // The limit applies to the event as sent.
    const bytes =
      shape.kind === 'single' && shape.bytes !== undefined
        ? shape.bytes
        : spanBytes(text, element.start, element.end, LIMITS.maxEventBytes);
    if (bytes > LIMITS.maxEventBytes) {
      rejected.push({
        index,
        code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_LARGE',
        issues: [{ path: '', message: `event is ${bytes} bytes; the limit is ${LIMITS.maxEventBytes}` }],
      });
      continue;
    }
    const rejection = textRejection(element, element.members);
    if (rejection) {
      rejected.push({ index, ...rejection });
      continue;
    }
    if (deps.suppression?.isSuppressed(checked.event)) {
      suppressed++;
      metrics.eventSuppressed(checked.event.type);
      continue;
    }
    const data = enrich(checked.event, { members: element.members ?? [] });
    messages.push({
      data: multiline ? compactJsonText(data) : data,
      attributes: { type: checked.event.type, sourceId: source.sourceId },
    });
  }

  if (shape.kind === 'single' && rejected[0]) {
    const only = rejected[0];
    metrics.eventRejected(only.code);
    throw new CollectorError(only.code, {
      message: only.issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; '),
      rejected,
      accepted: 0,
    });
  }

  await deps.gate.publish(messages);
  for (const m of messages) metrics.eventAccepted(m.attributes.type);

  if (rejected.length > 0) {
    for (const r of rejected) metrics.eventRejected(r.code);
    const first = (rejected[0] as RejectedEvent).code;
    const code: ErrorCode =
      messages.length > 0
        ? 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL'
        : rejected.every((r) => r.code === first)
          ? first
          : 'SLUICE_ERR_PUBLISHER_SCHEMA';
    throw new CollectorError(code, {
      message: `${rejected.length} of ${events.length} events rejected (indexes ${rejected
        .slice(0, 20)
        .map((r) => r.index)
        .join(', ')}${rejected.length > 20 ? ', ...' : ''}); ${messages.length} accepted`,
      rejected,
      accepted: messages.length + suppressed,
    });
  }
  // Suppressed events count as accepted for the client: it must not retry them.
  return { success: true, accepted: messages.length + suppressed };
}
