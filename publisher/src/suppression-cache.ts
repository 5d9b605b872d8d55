import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { isSuppressedEvent } from './suppression-hash.ts';

/** Reads the list object's text; undefined when it does not exist (nothing suppressed). */
export type SuppressionReader = () => Promise<string | undefined>;

/** `<buckets dir>/<bucket>/<object>`: the local stand-in of the privacy bucket (what `npm run privacy` writes). */
export function localSuppressionReader(
  bucketsDir: string,
  bucket: string,
  object: string,
): SuppressionReader {
  const file = join(bucketsDir, bucket, ...object.split('/'));
  return async () => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
}

/**
 * Cloud Storage JSON API media download (`GET /storage/v1/b/{bucket}/o/{object}?alt=media`,
 * https://cloud.google.com/storage/docs/json_api/v1/objects/get), 404 = no list. The token comes from the
 * metadata server (the service's own account, granted objectViewer on the privacy bucket only); an `endpoint`
 * override (emulator, tests) sends none.
 */
export function gcsSuppressionReader(
  bucket: string,
  object: string,
  endpoint: string | undefined,
  fetchImpl: typeof fetch = fetch,
): SuppressionReader {
  const base = endpoint ?? 'https://storage.googleapis.com';
  const url = `${base.replace(/\/$/, '')}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(object)}?alt=media`;
  return async () => {
    const headers: Record<string, string> = {};
    if (endpoint === undefined) {
      const token = await fetchImpl(
        'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token',
        { headers: { 'Metadata-Flavor': 'Google' } },
      );
      if (!token.ok) throw new Error(`metadata token: HTTP ${token.status}`);
      headers.authorization = `Bearer ${((await token.json()) as { access_token: string }).access_token}`;
    }
    const res = await fetchImpl(url, { headers });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`suppression list: HTTP ${res.status}`);
    return res.text();
  };
}

/**
 * The collector's cached view of the suppression list, at most `refreshMs` old while the list is readable: a
 * request that finds it older refreshes it first (one read at a time; others wait for the same read). A failed
 * read keeps the previous list, is logged and counted, and is tried again after `retryMs` — the loader, which
 * reads the list at every file load, still drops what the collector let through.
 */
export class SuppressionCache {
  #hashes = new Set<string>();
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #nextAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  failures = 0;

  constructor(
    private readonly read: SuppressionReader,
    private readonly options: { refreshMs: number; retryMs: number; clock: Clock; logger?: Logger },
  ) {}

  /** Makes the view fresh enough for this request (a no-op most of the time). */
  async fresh(): Promise<void> {
    const now = this.options.clock.now().getTime();
    if (now - this.#fetchedAt < this.options.refreshMs || now < this.#nextAttempt) return;
    this.#inflight ??= this.#refresh(now).finally(() => {
      this.#inflight = undefined;
    });
    await this.#inflight;
  }

  async #refresh(now: number): Promise<void> {
    try {
      const text = await this.read();
      const hashes =
        text === undefined ? {} : (JSON.parse(text) as { hashes?: Record<string, unknown> }).hashes;
      if (typeof hashes !== 'object' || hashes === null) throw new Error('not a suppression list');
      this.#hashes = new Set(Object.keys(hashes));
      this.#fetchedAt = now;
    } catch (error) {
      this.failures++;
      this.#nextAttempt = now + this.options.retryMs;
      this.options.logger?.warn(
        { err: error, code: 'SLUICE_ERR_PUBLISHER_SUPPRESSION_UNREADABLE' },
        'suppression list unreadable; keeping the previous one',
      );
    }
  }

  isSuppressed(event: { userId?: unknown; anonymousId?: unknown; previousId?: unknown }): boolean {
    if (this.#hashes.size === 0) return false;
    return isSuppressedEvent(event, (h) => this.#hashes.has(h));
  }
}
