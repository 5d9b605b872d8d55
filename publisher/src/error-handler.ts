import type { FastifyError, FastifyInstance } from 'fastify';
import { CollectorError, ERRORS, type ErrorCode } from './errors.ts';
import type { Metrics } from './metrics.ts';

/** Fastify's own error codes that a client can trigger, mapped onto the registry. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'SLUICE_ERR_PUBLISHER_BATCH_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'SLUICE_ERR_PUBLISHER_BODY_PARSE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'SLUICE_ERR_PUBLISHER_BODY_PARSE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'SLUICE_ERR_PUBLISHER_BODY_PARSE',
  FST_ERR_VALIDATION: 'SLUICE_ERR_PUBLISHER_SCHEMA',
};

function toCollectorError(error: unknown): CollectorError {
  if (error instanceof CollectorError) return error;
  const code = (error as FastifyError | undefined)?.code;
  const mapped = code ? FASTIFY_CODES[code] : undefined;
  if (mapped) return new CollectorError(mapped);
  if ((error as { statusCode?: number } | undefined)?.statusCode === 400) {
    return new CollectorError('SLUICE_ERR_PUBLISHER_BODY_PARSE');
  }
  return new CollectorError('SLUICE_ERR_PUBLISHER_INTERNAL', { cause: error });
}

/**
 * The one error handler: registry code -> status, `Retry-After` for retryable errors, a JSON body with the code,
 * message and (for batches) accepted count and rejected indexes. Never a stack trace.
 */
export function registerErrorHandler(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((error, request, reply) => {
    const e = toCollectorError(error);
    if (e.code === 'SLUICE_ERR_PUBLISHER_INTERNAL') request.log.error({ err: error }, 'unhandled error');
    else if (e.status >= 500) request.log.warn({ code: e.code, cause: String(e.cause ?? '') }, e.message);
    if (!e.rejected) metrics.eventRejected(e.code);
    if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
    return reply.code(e.status).send({
      success: false,
      code: e.code,
      message: e.message,
      retryable: e.retryable,
      ...(e.accepted !== undefined ? { accepted: e.accepted } : {}),
      ...(e.rejected ? { rejected: e.rejected } : {}),
    });
  });
  app.setNotFoundHandler((_request, reply) => {
    const { status, message } = ERRORS.SLUICE_ERR_PUBLISHER_NOT_FOUND;
    return reply
      .code(status)
      .send({ success: false, code: 'SLUICE_ERR_PUBLISHER_NOT_FOUND', message, retryable: false });
  });
}
