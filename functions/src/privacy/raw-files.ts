import { TABLES } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import { loadKeyOf } from '../load/load-object.ts';
import type { PlannedFile } from './ledger.ts';
import { lineBelongs, needlesOf, type Person } from './person.ts';
import type { RawStore } from './raw-store.ts';
import type { PrivacyWarehouse } from './warehouse.ts';

/** A file split into its lines (bytes, `\n` excluded) and whether it ended with `\n`. */
async function readLinesExact(
  store: RawStore,
  bucket: string,
  name: string,
  generation: string,
): Promise<{ lines: Buffer[]; terminated: boolean }> {
  const stream = await store.read(bucket, name, generation);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  const all = Buffer.concat(chunks);
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = all.indexOf(10, start); i >= 0; i = all.indexOf(10, start)) {
    lines.push(all.subarray(start, i));
    start = i + 1;
  }
  const terminated = start === all.length;
  if (!terminated) lines.push(all.subarray(start));
  return { lines, terminated };
}

/** Lines of the person in one file (the rule of person.ts `lineBelongs`). */
function personLines(lines: readonly Buffer[], person: Person): boolean[] {
  const needles = needlesOf(person);
  return lines.map((line) => {
    const text = line.toString('utf8');
    // Cheap pre-check: a line that names none of the ids as a JSON string cannot be theirs.
    // (A line with \u escapes may spell an id differently: it is always parsed.)
    if (!text.includes('\\u') && !needles.some((n) => text.includes(n.slice(1, -1)))) return false;
    return lineBelongs(text, person, needles);
  });
}

/** Every raw file under `prefix` holding lines of the person, with how many (read-only: the plan, the dry run). */
export async function scanRawFiles(
  store: RawStore,
  bucket: string,
  prefix: string,
  person: Person,
): Promise<PlannedFile[]> {
  const found: PlannedFile[] = [];
  for await (const info of store.list(bucket, prefix)) {
    const { lines } = await readLinesExact(store, bucket, info.name, info.generation);
    const lineCount = personLines(lines, person).filter(Boolean).length;
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
 * Replaces one planned file by a copy without the person's lines (a new generation), then makes replay exact:
 * if the old generation was loaded, the new generation gets a loads row of its own (its lines are all events
 * that load already wrote: counted as duplicates, `reason` naming the request and the old generation), so the
 * loader answers `already_loaded` for it and `npm run replay` skips it; then the old generation is deleted (a
 * versioned bucket keeps noncurrent generations). Idempotent: a file already rewritten (its live generation is
 * not the planned one) only gets the missing loads row and the old generation's deletion.
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
  let generation = live?.generation;
  let removed = 0;
  let rewritten = false;
  if (live && live.generation === file.generation) {
    const { lines, terminated } = await readLinesExact(store, file.bucket, file.name, file.generation);
    const mine = personLines(lines, person);
    removed = mine.filter(Boolean).length;
    const kept = lines.filter((_l, i) => !mine[i]);
    const parts: Buffer[] = [];
    kept.forEach((line, i) => {
      parts.push(line);
      if (i < kept.length - 1 || terminated) parts.push(Buffer.from('\n'));
    });
    generation = await store.replace(file.bucket, file.name, Buffer.concat(parts), file.generation);
    rewritten = true;
  }
  if (generation === undefined) {
    // Deleted meanwhile (retention): nothing of the person is left in it.
    return { rewritten, removed, generation: '' };
  }
  if (generation !== file.generation) {
    await recordRewrite(wh, file, generation, requestId, now, store, loadsColumns);
    await store.deleteGeneration(file.bucket, file.name, file.generation);
  }
  return { rewritten, removed, generation };
}

/** The loads row of the rewritten generation, when the old one was loaded and the new one has none. */
async function recordRewrite(
  wh: PrivacyWarehouse,
  file: PlannedFile,
  generation: string,
  requestId: string,
  now: () => Date,
  store: RawStore,
  loadsColumns: ReadonlySet<string>,
): Promise<void> {
  const d = wh.dialect;
  const c = d.column;
  const loads = d.table(TABLES.loads);
  const oldKey = loadKeyOf(file);
  const newKey = loadKeyOf({ ...file, generation });
  const { lines } = await readLinesExact(store, file.bucket, file.name, generation).catch(
    (error: unknown) => {
      if (error instanceof LoaderError) return { lines: [] as Buffer[] };
      throw error;
    },
  );
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
WHERE EXISTS (SELECT 1 FROM ${loads} WHERE ${c('load_key')} = ${d.value('old_key')} AND ${c('status')} IN ('loaded', 'complete'))
  AND NOT EXISTS (SELECT 1 FROM ${loads} WHERE ${c('load_key')} = ${d.value('new_key')})`,
    {
      values: {
        load_id: `privacy-${requestId}-${generation}`,
        new_key: newKey,
        old_key: oldKey,
        bucket: file.bucket,
        name: file.name,
        generation,
        reason: `rewritten by privacy request ${requestId} from generation ${file.generation} (loaded as ${oldKey}); its events were loaded then`,
        at,
        lines: String(lines.length),
        changes: '[]',
      },
    },
  );
}
