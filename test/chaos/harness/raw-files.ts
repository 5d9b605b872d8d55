/**
 * Raw window files written straight into the local bucket, as the Cloud Storage subscription (or the stand-in)
 * writes them, and their `object.finalized` CloudEvents POSTed to the loader the way Eventarc does.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  DEFAULT_RAW_NAMING,
  type FinalizedObject,
  finalizedCloudEvent,
  rawObjectName,
} from '@sluice/sdk/protocol';

/** One enriched track event as the collector writes it (seam 3), id `id`. */
export function enrichedLine(id: string, at: Date, properties: Record<string, unknown> = {}): string {
  const iso = at.toISOString();
  return JSON.stringify({
    type: 'track',
    event: 'Chaos File Event',
    messageId: id,
    anonymousId: `anon-${id}`,
    timestamp: iso,
    originalTimestamp: iso,
    sentAt: iso,
    receivedAt: iso,
    sourceId: 'local',
    context: { library: { name: 'sluice-chaos', version: '1' } },
    properties,
  });
}

/** Writes `lines` (each followed by `\n`) as a finalized object named for `windowStart`; atomic rename. */
export async function writeRawFile(
  bucketsDir: string,
  bucket: string,
  lines: readonly string[],
  windowStart = new Date(),
): Promise<FinalizedObject> {
  const name = rawObjectName(DEFAULT_RAW_NAMING, windowStart, randomUUID());
  const path = join(bucketsDir, bucket, name);
  await mkdir(dirname(path), { recursive: true });
  const content = lines.map((l) => `${l}\n`).join('');
  const temp = join(dirname(path), `.${randomUUID()}.tmp`);
  await writeFile(temp, content);
  await rename(temp, path);
  return {
    bucket,
    name,
    // Microseconds, like Cloud Storage's; names are unique (a UUID each), so generations need not be.
    generation: String(Date.now() * 1000 + Math.floor(Math.random() * 1000)),
    size: Buffer.byteLength(content),
    time: new Date(),
  };
}

/**
 * POSTs the finalized CloudEvent of `object` until the loader answers 2xx (as Eventarc retries), or `timeoutMs`.
 * Resolves with every answer's status (0 = network error).
 */
export async function deliver(
  loaderUrl: string,
  object: FinalizedObject,
  timeoutMs = 60_000,
): Promise<number[]> {
  const request = finalizedCloudEvent(object);
  const deadline = Date.now() + timeoutMs;
  const statuses: number[] = [];
  for (;;) {
    let status = 0;
    try {
      const response = await fetch(loaderUrl, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(Math.max(1000, deadline - Date.now())),
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      status = 0;
    }
    statuses.push(status);
    if ((status >= 200 && status < 300) || Date.now() >= deadline) return statuses;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
