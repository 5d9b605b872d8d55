import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { outcome } from '../core/retry.ts';
import type { Transport } from './transport.ts';

const gzip = promisify(gzipCb);

export interface HttpTransportOptions {
  writeKey: string;
  /** Collector base URL, e.g. `https://collect.example.com`. */
  host: string;
  /** Compress request bodies (`Content-Encoding: gzip`); default true. */
  gzip?: boolean;
  /** Per-request timeout in ms (default 10000); a timeout counts as a network error and is retried. */
  timeout?: number;
  fetch?: typeof fetch;
}

/** `POST {host}/v1/batch` with the write key as HTTP Basic username, the Segment HTTP API way. */
export function httpTransport(o: HttpTransportOptions): Transport {
  const url = `${o.host.replace(/\/+$/, '')}/v1/batch`;
  const auth = `Basic ${Buffer.from(`${o.writeKey}:`).toString('base64')}`;
  const f = o.fetch ?? fetch;
  return {
    async send(batch, sentAt) {
      const json = JSON.stringify({ batch, sentAt });
      const zip = o.gzip !== false;
      try {
        const res = await f(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Authorization: auth,
            ...(zip ? { 'Content-Encoding': 'gzip' } : {}),
          },
          body: zip ? await gzip(json) : json,
          signal: AbortSignal.timeout(o.timeout ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        return outcome(res.status, res.headers.get('retry-after'), Date.now());
      } catch {
        return { ok: false, retry: true, status: 0 };
      }
    },
  };
}
