import { LIMITS } from '@sluice/sdk/protocol';
import type { FastifyRequest } from 'fastify';
import { authenticate } from './auth.ts';
import type { Clock } from './clock.ts';
import type { CollectorConfig } from './config.ts';
import { assertOrigin } from './cors.ts';
import { createEnricher, type EnrichContext, isRecord } from './enrich.ts';
import { CollectorError, type RejectedEvent } from './errors.ts';
import { validIp } from './ip.ts';
import type { Metrics } from './metrics.ts';
import type { PublishGate } from './publish-gate.ts';
import type { TokenBuckets } from './rate-limit.ts';
import type { OutboundMessage } from './transports/transport.ts';
import { validateEvent } from './validate.ts';

export interface IngestDeps {
  config: CollectorConfig;
  clock: Clock;
  gate: PublishGate;
  metrics: Metrics;
  keyLimiter: TokenBuckets;
}

export interface IngestResult {
  success: true;
  accepted: number;
}

/**
 * The one path every event takes: authenticate, check origin and rate limit, validate each event against the
 * protocol schema, enrich, publish the valid ones, and answer.
 *
 * Partial batches (see docs/collector.md): valid events are published; if any event is invalid the answer is
 * 400 (413 when all rejections are size) listing every rejected index with its field paths, plus the accepted
 * count. Nothing accepted is lost, nothing invalid is dropped without the client being told.
 */
export async function ingest(
  deps: IngestDeps,
  request: FastifyRequest,
  body: unknown,
  shape: { kind: 'single'; bytes: number } | { kind: 'batch' },
): Promise<IngestResult> {
  const { config, metrics } = deps;
  if (!isRecord(body)) {
    throw new CollectorError('SLUICE_ERR_PUBLISHER_BATCH_SCHEMA', { message: 'body must be a JSON object' });
  }
  const source = authenticate(request, body, config.writeKeys);
  assertOrigin(config, request, source.sourceId);

  let events: unknown[];
  let batch: EnrichContext['batch'];
  if (shape.kind === 'batch') {
    if (!Array.isArray(body.batch) || body.batch.length === 0) {
      throw new CollectorError('SLUICE_ERR_PUBLISHER_BATCH_SCHEMA', {
        message: '/batch must be a non-empty array of events',
      });
    }
    events = body.batch;
    batch = {
      ...(isRecord(body.context) ? { context: body.context } : {}),
      ...(isRecord(body.integrations) ? { integrations: body.integrations } : {}),
      ...(typeof body.sentAt === 'string' && !Number.isNaN(Date.parse(body.sentAt))
        ? { sentAt: body.sentAt }
        : {}),
    };
  } else {
    events = [body];
  }

  const receivedAt = deps.clock.now();
  const wait = deps.keyLimiter.take(source.writeKey, events.length, receivedAt.getTime());
  if (wait > 0) throw new CollectorError('SLUICE_ERR_PUBLISHER_RATE_LIMITED', { retryAfterSeconds: wait });

  const enrich = createEnricher({
    receivedAt,
    sourceId: source.sourceId,
    ip: validIp(request.ip),
    anonymizeIp: config.anonymizeIp,
    ...(batch ? { batch } : {}),
  });
  const messages: OutboundMessage[] = [];
  const rejected: RejectedEvent[] = [];
  for (let index = 0; index < events.length; index++) {
    const raw = events[index];
    const checked = validateEvent(raw);
    if (!checked.ok) {
      rejected.push({ index, code: 'SLUICE_ERR_PUBLISHER_SCHEMA', issues: checked.issues });
      continue;
    }
    const enriched = enrich(checked.event);
    const data = JSON.stringify(enriched);
    // The limit applies to the event as sent. The enriched line is never much smaller than that, so the exact
    // (second) serialization is only needed near the limit.
    if (shape.kind === 'single' || data.length > LIMITS.maxEventBytes - 4096) {
      const bytes = shape.kind === 'single' ? shape.bytes : Buffer.byteLength(JSON.stringify(raw) ?? '');
      if (bytes > LIMITS.maxEventBytes) {
        rejected.push({
          index,
          code: 'SLUICE_ERR_PUBLISHER_EVENT_TOO_LARGE',
          issues: [{ path: '', message: `event is ${bytes} bytes; the limit is ${LIMITS.maxEventBytes}` }],
        });
        continue;
      }
    }
    messages.push({ data, attributes: { type: enriched.type, sourceId: source.sourceId } });
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
    const allSize = rejected.every((r) => r.code === 'SLUICE_ERR_PUBLISHER_EVENT_TOO_LARGE');
    const code =
      messages.length > 0
        ? 'SLUICE_ERR_PUBLISHER_BATCH_PARTIAL'
        : allSize
          ? 'SLUICE_ERR_PUBLISHER_EVENT_TOO_LARGE'
          : 'SLUICE_ERR_PUBLISHER_SCHEMA';
    throw new CollectorError(code, {
      message: `${rejected.length} of ${events.length} events rejected (indexes ${rejected
        .slice(0, 20)
        .map((r) => r.index)
        .join(', ')}${rejected.length > 20 ? ', ...' : ''}); ${messages.length} accepted`,
      rejected,
      accepted: messages.length,
    });
  }
  return { success: true, accepted: messages.length };
}
