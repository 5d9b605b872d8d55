import type { IncomingMessage, ServerResponse } from 'node:http';

/** One request the fake received, as the client sent it (parsed where it is JSON). */
export interface RecordedRequest {
  /** `bigquery` or `gcs`, from the path. */
  service: 'bigquery' | 'gcs' | 'other';
  method: string;
  /** Path without the query string, percent-decoded segments left as sent. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON body, or `undefined` for none / non-JSON (see `rawBody`). */
  body: unknown;
  rawBody: Buffer;
  /** Status the fake answered with (`0` when the connection was dropped before answering). */
  status: number;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function parseJsonBody(headers: Record<string, string>, raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  if (!(headers['content-type'] ?? '').includes('json')) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** A response the fake sends; `drop` destroys the socket instead (a crash, a lost response). */
export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  raw?: Buffer;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): FakeResponse {
  return { status, body, headers };
}

/** Google API error body (`{error: {code, message, errors: [{reason}], status}}`), as both APIs send it. */
export function apiError(status: number, reason: string, message: string): FakeResponse {
  const grpcStatus: Record<number, string> = {
    400: 'INVALID_ARGUMENT',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    409: 'ALREADY_EXISTS',
    412: 'FAILED_PRECONDITION',
    429: 'RESOURCE_EXHAUSTED',
    500: 'INTERNAL',
    503: 'UNAVAILABLE',
  };
  return json(status, {
    error: {
      code: status,
      message,
      errors: [{ message, domain: 'global', reason }],
      status: grpcStatus[status] ?? 'UNKNOWN',
    },
  });
}

export function send(res: ServerResponse, response: FakeResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let payload: Buffer | undefined = response.raw;
  if (payload === undefined && response.body !== undefined) {
    payload = Buffer.from(JSON.stringify(response.body));
    headers['content-type'] ??= 'application/json; charset=UTF-8';
  }
  if (payload !== undefined) headers['content-length'] = String(payload.length);
  res.writeHead(response.status, headers);
  res.end(payload);
}
