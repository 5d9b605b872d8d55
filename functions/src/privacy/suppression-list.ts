import { LoaderError } from '../errors.ts';
import { eventBelongs, hashId } from './person.ts';
import { type RawStore, readSmall } from './raw-store.ts';

/**
 * The suppression list: ONE small JSON object in the privacy bucket (`SLUICE_PRIVACY_BUCKET`, object
 * `SLUICE_SUPPRESSION_OBJECT`), read by the collector (cached, refreshed every `SLUICE_SUPPRESSION_REFRESH_SECONDS`,
 * default 60) and by the loader (read at the start of every file load). It holds only hashes (`hashId`), never
 * an id in clear. Why an object, not a warehouse table: a BigQuery query bills at least 10 MB per table it
 * references, so reading a table per file load is 10 MB/file (half the ~20 MB/file budget) and per collector
 * refresh 10 MB/min/instance (~432 GB/month, ~$2.70/month/instance at $6.25/TiB); a GCS GET is a class B
 * operation ($0.0004 per 1,000): ~$0.002/month for 4,320 files plus ~$0.02/month per collector instance.
 */
export interface SuppressionFile {
  version: 1;
  /** hashId(id) -> when and by which request it was suppressed. */
  hashes: Record<string, { since: string; requestId: string }>;
}

export interface SuppressionLocation {
  bucket: string;
  object: string;
}

const EMPTY: SuppressionFile = { version: 1, hashes: {} };

function parse(text: string, where: string): SuppressionFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LoaderError('SLUICE_ERR_PRIVACY_LIST_INVALID', `${where} is not JSON`, { cause: error });
  }
  const hashes = (parsed as { hashes?: unknown } | null)?.hashes;
  if (
    (parsed as { version?: unknown } | null)?.version !== 1 ||
    typeof hashes !== 'object' ||
    hashes === null
  ) {
    throw new LoaderError('SLUICE_ERR_PRIVACY_LIST_INVALID', `${where} is not a version 1 suppression list`);
  }
  return parsed as SuppressionFile;
}

/** The list and its generation (`'0'` when the object does not exist yet: nothing is suppressed). */
export async function readSuppressions(
  store: RawStore,
  at: SuppressionLocation,
): Promise<{ list: SuppressionFile; generation: string }> {
  const got = await readSmall(store, at.bucket, at.object);
  if (!got) return { list: EMPTY, generation: '0' };
  return { list: parse(got.text, `${at.bucket}/${at.object}`), generation: got.generation };
}

/**
 * Read-modify-write of the list with a generation precondition: two requests at once both land (the loser of
 * the precondition reads again and re-applies its change). Returns the hashes whose state changed.
 */
export async function updateSuppressions(
  store: RawStore,
  at: SuppressionLocation,
  change: (hashes: SuppressionFile['hashes']) => string[],
): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const { list, generation } = await readSuppressions(store, at);
    const hashes = { ...list.hashes };
    const changed = change(hashes);
    if (changed.length === 0) return [];
    const next: SuppressionFile = { version: 1, hashes };
    try {
      await store.replace(at.bucket, at.object, Buffer.from(JSON.stringify(next)), generation);
      return changed;
    } catch (error) {
      const lost = error instanceof LoaderError && error.code === 'SLUICE_ERR_PRIVACY_CONFLICT';
      if (!lost || attempt >= 10) throw error;
    }
  }
}

/**
 * A line filter from the list: true when the line is a JSON object whose ids make it a suppressed person's event
 * (`eventBelongs` with membership by hash). Undefined when nothing is suppressed (the loader then parses nothing
 * twice). Lines that are not JSON are never suppressed here: they become failed events, which a delete erases.
 */
export function suppressedLineFilter(list: SuppressionFile): ((text: string) => boolean) | undefined {
  const hashes = new Set(Object.keys(list.hashes));
  if (hashes.size === 0) return undefined;
  const has = (id: string): boolean => hashes.has(hashId(id));
  const membership = { user: has, anonymous: has };
  return (text) => {
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return false;
    }
    if (event === null || typeof event !== 'object' || Array.isArray(event)) return false;
    return eventBelongs(event as Record<string, unknown>, membership);
  };
}

/**
 * For the reliability suite's ledger (test/chaos): whether an event the collector answered 200 for is one the
 * pipeline drops on purpose (its ids suppressed) — those are excluded from "every accepted event lands once".
 * `suppressedIds` are ids in clear (the suite knows whom it suppressed or erased).
 */
export function excludedFromLedger(
  event: { userId?: unknown; anonymousId?: unknown; previousId?: unknown },
  suppressedIds: ReadonlySet<string>,
): boolean {
  const has = (id: string): boolean => suppressedIds.has(id);
  return eventBelongs(event, { user: has, anonymous: has });
}
