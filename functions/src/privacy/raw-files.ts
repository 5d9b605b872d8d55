import { TABLES } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import { loadKeyOf } from '../load/load-object.ts';
import type { PlannedFile } from './ledger.ts';
import { lineBelongs, needlesOf, type Person } from './person.ts';
import type { RawStore } from './raw-store.ts';
import { rewriteChain, rewriteMarker } from './rewrite-marker.ts';
import type { PrivacyWarehouse } from './warehouse.ts';

/** One line of a file as bytes (`\n` excluded), and whether a `\n` ended it. */
interface RawLine {
  bytes: Buffer;
  terminated: boolean;
}

/**
 * The lines of one generation, streamed: memory holds one chunk and the line being assembled (a line is kept
 * whole: the person rule needs all of it), never the file.
 */
async function* rawLines(
  store: RawStore,
  bucket: string,
  name: string,
  generation: string,
): AsyncGenerator<RawLine> {
  const stream = await store.read(bucket, name, generation);
  let pending: Buffer[] = [];
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    let start = 0;
    for (let i = buf.indexOf(10, start); i >= 0; i = buf.indexOf(10, start)) {
      const piece = buf.subarray(start, i);
      yield { bytes: pending.length === 0 ? piece : Buffer.concat([...pending, piece]), terminated: true };
      pending = [];
      start = i + 1;
    }
    if (start < buf.length) pending.push(buf.subarray(start));
  }
  if (pending.length > 0) yield { bytes: Buffer.concat(pending), terminated: false };
}

/** Whether one raw line is the person's (the rule of person.ts `lineBelongs`), with a cheap pre-check. */
function personLine(line: Buffer, person: Person, needles: string[]): boolean {
  const text = line.toString('utf8');
  // A line holding none of the ids in their plain JSON spelling cannot be theirs, unless it has an escape (any
  // other spelling of a string has a backslash): those are always parsed.
  if (!text.includes('\\') && !needles.some((n) => text.includes(n.slice(1, -1)))) return false;
  return lineBelongs(text, person);
}

/** Every raw file under `prefix` holding lines of the person, with how many (read-only: the plan, the dry run). */
export async function scanRawFiles(
  store: RawStore,
  bucket: string,
  prefix: string,
  person: Person,
): Promise<PlannedFile[]> {
  const found: PlannedFile[] = [];
  const needles = needlesOf(person);
  for await (const info of store.list(bucket, prefix)) {
    let lineCount = 0;
    for await (const line of rawLines(store, bucket, info.name, info.generation))
      if (personLine(line.bytes, person, needles)) lineCount++;
    if (lineCount > 0) found.push({ bucket, name: info.name, generation: info.generation, lines: lineCount });
  }
  return found;
}

export interface RewriteOutcome {
  rewritten: boolean;
  removed: number;
  generation: string;
}

/**
 * Streams generation `file.generation` into a new generation of the same object without the person's lines
 * (kept lines byte for byte, the final `\n` as it was), marked as a rewrite of it (rewrite-marker.ts) in the
 * same upload, under an `ifGenerationMatch` precondition. Memory: one line and one chunk, not the file.
 */
export async function rewriteObject(
  store: RawStore,
  file: PlannedFile,
  person: Person,
  requestId: string,
  replacedMetadata: Readonly<Record<string, string>> | undefined,
): Promise<{ generation: string; removed: number; kept: number }> {
  const needles = needlesOf(person);
  let removed = 0;
  let kept = 0;
  const newline = Buffer.from('\n');
  async function* keptLines(): AsyncGenerator<Buffer> {
    // Each kept line is written with the `\n` that ended it (only the last line of a file may lack one).
    for await (const line of rawLines(store, file.bucket, file.name, file.generation)) {
      if (personLine(line.bytes, person, needles)) {
        removed++;
        continue;
      }
      kept++;
      yield line.bytes;
      if (line.terminated) yield newline;
    }
  }
  const generation = await store.replace(
    file.bucket,
    file.name,
    keptLines(),
    file.generation,
    rewriteMarker(file.generation, replacedMetadata, requestId),
  );
  return { generation, removed, kept };
}

/**
 * Replaces one planned file by a copy without the person's lines (a new generation, marked as a rewrite of the
 * planned one, see rewrite-marker.ts), then makes replay exact: if a generation it descends from was loaded, the
 * new generation gets a loads row of its own (its lines are all events that load already wrote: counted as
 * duplicates, `reason` naming the request and the old generation), so `npm run replay` skips it; then the old
 * generation is deleted (a versioned bucket keeps noncurrent generations). The loader answers `already_loaded`
 * for the marked generation even before that row exists. Idempotent: a file already rewritten (its live
 * generation is not the planned one) only gets the missing loads row and the old generation's deletion.
 */
export async function rewriteFile(
  store: RawStore,
  wh: PrivacyWarehouse,
  file: PlannedFile,
  person: Person,
  requestId: string,
  now: () => Date,
  loadsColumns: ReadonlySet<string>,
): Promise<RewriteOutcome> {
  const live = await store.stat(file.bucket, file.name);
  if (!live) {
    // Deleted meanwhile (retention): nothing of the person is left in it.
    return { rewritten: false, removed: 0, generation: '' };
  }
  let generation = live.generation;
  let removed = 0;
  let rewritten = false;
  let lineCount: number | undefined;
  let chain: string[];
  if (live.generation === file.generation) {
    const out = await rewriteObject(store, file, person, requestId, live.metadata);
    generation = out.generation;
    removed = out.removed;
    lineCount = out.kept;
    rewritten = true;
    chain = rewriteChain(rewriteMarker(file.generation, live.metadata, requestId));
  } else {
    // Resumed after the upload: the live generation's mark says what it descends from.
    const marked = rewriteChain(live.metadata);
    chain = marked.includes(file.generation) ? marked : [file.generation];
  }
  if (generation !== file.generation) {
    await recordRewrite(wh, file, generation, chain, requestId, now, store, loadsColumns, lineCount);
    await store.deleteGeneration(file.bucket, file.name, file.generation);
  }
  return { rewritten, removed, generation };
}

/** The loads row of the rewritten generation, when the old one was loaded and the new one has none. */
async function recordRewrite(
  wh: PrivacyWarehouse,
  file: PlannedFile,
  generation: string,
  chain: readonly string[],
  requestId: string,
  now: () => Date,
  store: RawStore,
  loadsColumns: ReadonlySet<string>,
  knownLines: number | undefined,
): Promise<void> {
  const d = wh.dialect;
  const c = d.column;
  const loads = d.table(TABLES.loads);
  const oldKey = loadKeyOf(file);
  const oldKeys = chain.map((g) => loadKeyOf({ ...file, generation: g }));
  const newKey = loadKeyOf({ ...file, generation });
  let lines = knownLines ?? 0;
  if (knownLines === undefined) {
    try {
      for await (const _line of rawLines(store, file.bucket, file.name, generation)) lines++;
    } catch (error) {
      if (!(error instanceof LoaderError)) throw error;
    }
  }
  const at = now().toISOString();
  const lineCount = d.int(d.value('lines'));
  const stamp = d.timestamp(d.value('at'));
  const columns: [string, string][] = [
    ['load_id', d.value('load_id')],
    ['load_key', d.value('new_key')],
    ['bucket', d.value('bucket')],
    ['name', d.value('name')],
    ['generation', d.value('generation')],
    ['status', "'loaded'"],
    ['reason', d.value('reason')],
    ['started_at', stamp],
    ['finished_at', stamp],
    ['duration_ms', '0'],
    ['lines_read', lineCount],
    ['bytes_read', '0'],
    ['events_loaded', '0'],
    ['duplicates', lineCount],
    ['failed', '0'],
    ['values_discarded', '0'],
    ['rows_written', '0'],
    ['suppressed', '0'],
    ['schema_changes', d.json(d.value('changes'))],
    ['loaded_at', stamp],
  ];
  // A warehouse whose loads table predates a column (BigQuery adds it at the next load) gets the others.
  const present = columns.filter(([name]) => loadsColumns.has(name));
  await wh.exec(
    `INSERT INTO ${loads} (${present.map(([name]) => c(name)).join(', ')})
SELECT ${present.map(([, expr]) => expr).join(', ')}
FROM (SELECT 1 AS one) AS x
WHERE EXISTS (SELECT 1 FROM ${loads} WHERE ${c('load_key')} IN ${d.set('old_keys')} AND ${c('status')} IN ('loaded', 'complete'))
  AND NOT EXISTS (SELECT 1 FROM ${loads} WHERE ${c('load_key')} = ${d.value('new_key')})`,
    {
      sets: { old_keys: oldKeys },
      values: {
        load_id: `privacy-${requestId}-${generation}`,
        new_key: newKey,
        bucket: file.bucket,
        name: file.name,
        generation,
        reason: `rewritten by privacy request ${requestId} from generation ${file.generation} (loaded as ${oldKey}); its events were loaded then`,
        at,
        lines: String(lines),
        changes: '[]',
      },
    },
  );
}
