/** Helpers the scenarios share: crafted files, mixed-in events, per-file expectations. */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pollUntil } from '@sluice/infra/local';
import { listRawFiles } from '../harness/checks.ts';
import { enrichedLine, writeRawFile } from '../harness/raw-files.ts';
import type { ScenarioContext } from '../harness/scenario.ts';

export const nothing = async (): Promise<void> => undefined;

/** A valid track event for a mixed-in request. */
export const normalEvent = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'track',
  messageId: id,
  anonymousId: `anon-${id}`,
  event: 'Chaos Mixed',
  timestamp: new Date().toISOString(),
  properties: { plan: 'pro' },
  ...extra,
});

/** Crafted files as the stand-in would write them: each id is an event some collector acknowledged. */
export async function craftedFiles(
  ctx: ScenarioContext,
  files: readonly (readonly string[])[],
  windowStarts?: readonly Date[],
): Promise<Awaited<ReturnType<typeof writeRawFile>>[]> {
  const now = Date.now();
  const objects = [];
  for (const [i, ids] of files.entries()) {
    const at = windowStarts?.[i] ?? new Date(now + i);
    const lines = ids.map((id) => enrichedLine(id, at, { n: i }));
    objects.push(await writeRawFile(ctx.config.bucketsDir, ctx.config.rawBucket, lines, at));
    ctx.ledger.record(ids, 200, null);
  }
  return objects;
}

export const idRange = (prefix: string, n: number, from = 0): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}-${from + i}`);

export function expectDelivered(ctx: ScenarioContext, what: string, statuses: number[]): void {
  const last = statuses.at(-1) ?? 0;
  if (last < 200 || last >= 300)
    ctx.problem(`${what}: the loader never accepted it (answers ${statuses.join(',')})`);
}

/** Depth-`n` nested object: {"d":{"d":...{"d":1}}}. */
export const deep = (n: number): string => `${'{"d":'.repeat(n)}1${'}'.repeat(n)}`;

/**
 * Pauses the traffic and waits until every id acknowledged so far is in a finalized raw file. The Pub/Sub emulator
 * keeps nothing on disk: a message it acknowledged and had not yet delivered dies with it (documented in
 * docs/local.md, "What a crash loses"; spool is the durable local mode). An emulator scenario that kills it only
 * after this tests what the stack promises across the restart (no 200 while the topology is missing, the
 * stand-in resuming) instead of that documented loss.
 */
export async function everyAcknowledgedWritten(ctx: ScenarioContext): Promise<void> {
  await ctx.traffic.pause();
  const wanted = ctx.ledger.acknowledged();
  const missing = await pollUntil(
    async () => {
      const seen = new Set<string>();
      for (const name of await listRawFiles(ctx.stack.rawBucketDir)) {
        const text = await readFile(join(ctx.stack.rawBucketDir, name), 'utf8').catch(() => '');
        for (const m of text.matchAll(/"messageId"\s*:\s*"([^"\\]+)"/g)) seen.add(m[1] as string);
      }
      return wanted.filter((id) => !seen.has(id)).length;
    },
    (n) => n === 0,
    { initial: wanted.length, timeoutMs: 60_000, intervalMs: 200 },
  );
  if (missing > 0)
    ctx.problem(`${missing} acknowledged id(s) not in a raw file 60 s after the traffic paused`);
}
