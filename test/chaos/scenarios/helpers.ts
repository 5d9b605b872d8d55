/** Helpers the scenarios share: crafted files, mixed-in events, per-file expectations. */

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
