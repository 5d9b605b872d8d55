import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { wellFormed } from '../../normalize/parse-json.ts';
import { failedEventColumns } from '../bookkeeping-tables.ts';
import type { CellValue, FailedEvent, StagedRow } from '../destination.ts';
import { ident, literal } from './sql.ts';

/**
 * Staged rows are CSV: each table's file has the row metadata first (`_l`, then `_r` for an upsert table), then one
 * field per column in the order the load first staged it (`StageFiles.positions`; a column added later in the load
 * comes after the others, and the rows written before it are shorter: read with `null_padding`). No keys: JSON
 * stage rows repeated every column's key, and a typical stage was 2.6x its raw file; CSV is about half of that,
 * and `cellsFields` about half the work of writing JSON members (docs/performance.md, "The stage as CSV").
 */
class ColumnPositions {
  /** column name -> field index after the row metadata (0-based). */
  readonly byColumn = new Map<string, number>();
  private readonly byLayout = new WeakMap<readonly string[], LayoutFields>();

  position(column: string): number {
    let n = this.byColumn.get(column);
    if (n === undefined) {
      n = this.byColumn.size;
      this.byColumn.set(column, n);
    }
    return n;
  }

  /**
   * The fields of a `StagedRow.columns` array: each of its columns gets a field, in its order, on first sight. The
   * normalizer may append columns to a layout it already used (a column found later in the file): those get theirs
   * when a row first has them (`fieldOf`).
   */
  fieldsOf(columns: readonly string[]): LayoutFields {
    let layout = this.byLayout.get(columns);
    if (layout === undefined) {
      layout = {
        columns,
        fields: columns.map((c) => this.position(c)),
        order: undefined,
        cellAt: undefined,
        of: this,
      };
      this.byLayout.set(columns, layout);
    }
    return layout;
  }
}

/** The field of layout position `pos`, given one if the layout grew since it was first seen. */
function fieldOf(layout: LayoutFields, pos: number): number {
  const { columns, fields } = layout;
  for (let p = fields.length; p < columns.length; p++) fields.push(layout.of.position(columns[p] as string));
  return fields[pos] as number;
}

/**
 * Where a row layout's cells go: `fields[pos]` is the field of layout position `pos`. A row whose cells do not come
 * in field order (a column first staged by another layout, or cells listed out of position order) is written through
 * `order` (the layout's positions sorted by field) and `cellAt` (scratch: the cell index of each position in one
 * row), both made the first time a row needs them.
 */
interface LayoutFields {
  readonly columns: readonly string[];
  readonly of: ColumnPositions;
  fields: number[];
  order: number[] | undefined;
  cellAt: number[] | undefined;
}

/** `,` repeated n times, for the empty (NULL) fields between two cells. */
const COMMAS: string[] = [''];
function commas(n: number): string {
  while (COMMAS.length <= n) COMMAS.push(`${COMMAS[COMMAS.length - 1]},`);
  return COMMAS[n] as string;
}

/**
 * The first character of a string field written as JSON text: a string holding a line break (or starting with this
 * character itself) is staged as `\u0001` + its JSON text, so no field of a stage file holds a line break and every
 * `\n` in it ends a row. `read_csv`'s parallel reader refuses quoted line breaks with `null_padding`, and its
 * serial reader holds every block an `INSERT` appends until the statement ends: a 1.5M-event load ran out of
 * DuckDB's 96 MB limit (docs/performance.md, "The stage's reader and memory"). `readStage` decodes these fields.
 */
export const JSON_FIELD = '\u0001';

/**
 * One CSV field. A string is always quoted (an unquoted empty field is NULL, a quoted one the empty string: read with
 * `allow_quoted_nulls = false`); quotes are doubled; commas and NUL stay as they are inside the quotes; a string with
 * a line break is JSON text after `JSON_FIELD`. Numbers, bigints (exact INT64 beyond 2^53) and booleans as their
 * text. Values are typed by the loader: finite numbers, bigints, booleans, strings.
 */
function field(v: Exclude<CellValue, null>): string {
  if (typeof v !== 'string') return String(v);
  if (v.indexOf('\n') !== -1 || v.indexOf('\r') !== -1 || v.charCodeAt(0) === 1) {
    // Well-formed first: DuckDB's JSON reader refuses an escaped lone surrogate (`Buffer.write` below would have
    // written U+FFFD for it; the loader fails such events before they get here, see `poisonOf`).
    return `"${(JSON_FIELD + JSON.stringify(wellFormed(v))).replaceAll('"', '""')}"`;
  }
  // A lone surrogate is written as U+FFFD by the UTF-8 encoder (`Chunk.put`); the loader fails such events before
  // they get here (`poisonOf`), so this only keeps one that slips through from reaching DuckDB as invalid UTF-8.
  return v.indexOf('"') === -1 ? `"${v}"` : `"${v.replaceAll('"', '""')}"`;
}

/**
 * The fields of a row's cells, each preceded by `,`, in the table's field order, with empty fields for the columns
 * the row leaves NULL; ends at the row's last cell (the rest are NULL by `null_padding`).
 */
function cellsFields(row: StagedRow, layout: LayoutFields): string {
  const { at, cells } = row;
  const fields = layout.fields;
  let out = '';
  let next = 0;
  for (let k = 0; k < at.length; k++) {
    const v = cells[k];
    if (v === null || v === undefined) continue;
    const n = fields[at[k] as number] ?? fieldOf(layout, at[k] as number);
    if (n < next) return fieldsInOrder(row, layout);
    out += commas(n - next + 1);
    out += field(v);
    next = n + 1;
  }
  return out;
}

/** `cellsFields` of a row whose cells are not in field order: visited in the layout's field order. */
function fieldsInOrder(row: StagedRow, layout: LayoutFields): string {
  const { at, cells } = row;
  const fields = layout.fields;
  fieldOf(layout, 0);
  if (layout.order === undefined || layout.cellAt === undefined || layout.order.length !== fields.length) {
    layout.order = fields.map((_n, pos) => pos).sort((x, y) => (fields[x] as number) - (fields[y] as number));
    layout.cellAt = new Array<number>(fields.length).fill(-1);
  }
  const { order, cellAt } = layout;
  for (let k = 0; k < at.length; k++) cellAt[at[k] as number] = k;
  let out = '';
  let next = 0;
  for (let i = 0; i < order.length; i++) {
    const pos = order[i] as number;
    const k = cellAt[pos] as number;
    if (k < 0) continue;
    cellAt[pos] = -1;
    const v = cells[k];
    if (v === null || v === undefined) continue;
    const n = fields[pos] as number;
    out += commas(n - next + 1);
    out += field(v);
    next = n + 1;
  }
  return out;
}

/** Set of line numbers as a growable bitmap: one bit per line, so a 10M-line file costs 1.25 MB. */
class LineSet {
  private bits = new Uint8Array(1024);
  add(line: number): boolean {
    const byte = line >>> 3;
    if (byte >= this.bits.length) {
      const next = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      next.set(this.bits);
      this.bits = next;
    }
    const mask = 1 << (line & 7);
    const old = this.bits[byte] ?? 0;
    this.bits[byte] = old | mask;
    return (old & mask) === 0;
  }
}

/**
 * Staged text is encoded into a buffer row by row as it is made and written out when the buffer fills. Joining a
 * batch's rows into one string and encoding that cost about 4x more: the batch-long rope lived long enough to reach
 * V8's old space, and flattening it was most of the stage's time (measured in docs/performance.md).
 */
class Chunk {
  static readonly BYTES = 1 << 20;
  readonly bytes = Buffer.allocUnsafe(Chunk.BYTES);
  used = 0;

  /** Encodes `text` as UTF-8 after what the chunk holds; false (nothing written) when it might not fit. */
  put(text: string): boolean {
    // At most 3 bytes per UTF-16 unit (a lone surrogate is written as U+FFFD, 3 bytes).
    if (this.used + text.length * 3 > this.bytes.length) return false;
    this.used += this.bytes.write(text, this.used);
    return true;
  }
}

/** Stage files kept open at once, at most (each table of a load has one). */
export const MAX_OPEN_FILES = 64;

/**
 * Staging on disk, like a BigQuery load job's staged files: each batch is appended to one CSV file per table (plus
 * one for the event list, and one NDJSON file for failed events); the commit reads them with DuckDB's `read_csv`
 * (`readStage`) and `read_json`. Memory
 * stays bounded by one batch; a crash leaves only files, removed on the next open. Each file is opened once and
 * appended to through its handle (not opened and closed per batch); `finish()` closes them before the commit reads
 * the files. (Writing a batch while the next one is normalized was tried: it doubled the CPU time, all of it in
 * V8's GC under the loader's 128 MB old-space cap.)
 */
export class StageFiles {
  private readonly files = new Map<string, string>();
  private readonly handles = new Map<string, FileHandle>();
  private readonly positionsByTable = new Map<string, ColumnPositions>();
  private readonly seen = new LineSet();
  private readonly rowCounts = new Map<string, number>();
  private counter = 0;
  private readonly rowsChunk = new Chunk();
  private readonly eventsChunk = new Chunk();

  constructor(readonly dir: string) {}

  static async create(root: string, loadId: string): Promise<StageFiles> {
    const dir = path.join(root, loadId.replace(/[^A-Za-z0-9_-]/g, '_'));
    await mkdir(dir, { recursive: true });
    return new StageFiles(dir);
  }

  /** Tables with staged rows, and their files. */
  tables(): [string, string][] {
    return [...this.files].filter(([t]) => t !== EVENTS && t !== FAILED);
  }

  /** The staged key of `column` in `table`'s file (`c<n>`); row metadata keys are `_l` and `_r`. */
  /**
   * The stage's field order of `table` after the row metadata: every column staged so far, then `columns` not yet
   * staged (their fields are past every row's end, so they read as NULL). Call once all rows are staged.
   */
  fieldsOf(table: string, columns: Iterable<string>): string[] {
    const positions = this.positionsOf(table);
    for (const column of columns) positions.position(column);
    return [...positions.byColumn.keys()];
  }

  private positionsOf(table: string): ColumnPositions {
    let positions = this.positionsByTable.get(table);
    if (positions === undefined) {
      positions = new ColumnPositions();
      this.positionsByTable.set(table, positions);
    }
    return positions;
  }

  /** Rows staged for `table` so far. */
  rowsOf(table: string): number {
    return this.rowCounts.get(table) ?? 0;
  }

  fileOf(table: string): string | undefined {
    return this.files.get(table);
  }

  private file(table: string): string {
    let file = this.files.get(table);
    if (file === undefined) {
      file = path.join(this.dir, `${this.counter++}.${table === FAILED ? 'ndjson' : 'csv'}`);
      this.files.set(table, file);
    }
    return file;
  }

  /**
   * Stages `rows` of `table`. A row carries its line (`_l`: the commit's de-duplication filters on it) and, for an
   * upsert table only, its received_at (`_r`: the latest row per id wins); the event id and time are in the events
   * file once per event (`event_id,line,received_at`), not on every row of every table.
   */
  async appendRows(table: string, rows: readonly StagedRow[], withReceivedAt: boolean): Promise<void> {
    const columns = this.positionsOf(table);
    const out = this.rowsChunk;
    const events = this.eventsChunk;
    let layoutOf: readonly string[] | undefined;
    let layout: LayoutFields | undefined;
    for (const row of rows) {
      if (row.columns !== layoutOf || layout === undefined) {
        layoutOf = row.columns;
        layout = columns.fieldsOf(layoutOf);
      }
      const text = withReceivedAt
        ? `${row.line},${field(row.receivedAt)}${cellsFields(row, layout)}\n`
        : `${row.line}${cellsFields(row, layout)}\n`;
      if (!out.put(text)) await this.spill(table, out, text);
      if (this.seen.add(row.line)) {
        const event = `${field(row.eventId)},${row.line},${field(row.receivedAt)}\n`;
        if (!events.put(event)) await this.spill(EVENTS, events, event);
      }
    }
    await this.drain(table, out);
    await this.drain(EVENTS, events);
    this.rowCounts.set(table, (this.rowCounts.get(table) ?? 0) + rows.length);
  }

  /** Writes out `chunk` to make room for `text`, then puts `text` in it (or writes it alone when it is larger). */
  private async spill(table: string, chunk: Chunk, text: string): Promise<void> {
    await this.drain(table, chunk);
    if (!chunk.put(text)) await this.write(table, Buffer.from(text));
  }

  /** Appends what `chunk` holds to `table`'s file and empties it. */
  private async drain(table: string, chunk: Chunk): Promise<void> {
    if (chunk.used === 0) return;
    await this.write(table, chunk.bytes.subarray(0, chunk.used));
    chunk.used = 0;
  }

  /** Appends `bytes` to `table`'s file. */
  private async write(table: string, bytes: Uint8Array): Promise<void> {
    const file = this.file(table);
    let handle = this.handles.get(file);
    if (handle === undefined) {
      // A file of thousands of event names must not run out of descriptors: the longest-open handle is closed.
      const [oldest, oldestHandle] = this.handles.size >= MAX_OPEN_FILES ? ([...this.handles][0] ?? []) : [];
      if (oldest !== undefined && oldestHandle !== undefined) {
        this.handles.delete(oldest);
        await oldestHandle.close();
      }
      handle = await open(file, 'a');
      this.handles.set(file, handle);
    }
    for (let done = 0; done < bytes.length; ) {
      done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
    }
  }

  /** Closes the files (the next append opens them again). */
  async finish(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    for (const handle of handles) await handle.close();
  }

  async appendFailed(failures: readonly FailedEvent[]): Promise<void> {
    let text = '';
    for (const f of failures) {
      text += `${JSON.stringify(failedEventColumns(f))}\n`;
    }
    if (text !== '') await this.write(FAILED, Buffer.from(text));
  }

  /** Closes the files and deletes the stage. */
  async remove(): Promise<void> {
    await this.finish().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export const EVENTS = '\u0000events';
export const FAILED = '\u0000failed';

/**
 * A stage file written by `StageFiles` as a table: `read_csv` with `columns` (name, DuckDB type) in field order, the
 * `JSON_FIELD` strings of its VARCHAR columns decoded. Explicit dialect (nothing sniffed), a quoted empty field is
 * the empty string, shorter rows padded with NULLs, lines up to twice the JSON stage's object limit (a field can
 * hold a raw line of up to `SLUICE_MAX_LINE_BYTES`), and the parallel reader (no field holds a line break).
 */
export function readStage(file: string, columns: readonly (readonly [string, string])[]): string {
  const spec = columns.map(([name, type]) => `${literal(name)}: ${literal(type)}`).join(', ');
  const select = columns.map(([name, type]) => {
    const c = ident(name);
    return type === 'VARCHAR'
      ? `CASE WHEN starts_with(${c}, chr(1)) THEN json_extract_string(substr(${c}, 2), '$') ELSE ${c} END AS ${c}`
      : c;
  });
  return (
    `(SELECT ${select.join(', ')} FROM ` +
    `read_csv(${literal(file)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    `new_line = '\\n', null_padding = true, parallel = true, allow_quoted_nulls = false, ` +
    `max_line_size = 2097152, buffer_size = 4194304, columns = {${spec}}))`
  );
}
