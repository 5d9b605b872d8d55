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
 * and writing the fields about half the work of writing JSON members (docs/performance.md, "The stage as CSV").
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

/**
 * The first character of a string field written as JSON text: a string holding a line break (or starting with this
 * character itself) is staged as `\u0001` + its JSON text, so no field of a stage file holds a line break and every
 * `\n` in it ends a row. `read_csv`'s parallel reader refuses quoted line breaks with `null_padding`, and its
 * serial reader holds every block an `INSERT` appends until the statement ends: a 1.5M-event load ran out of
 * DuckDB's 96 MB limit (docs/performance.md, "The stage's reader and memory"). `readStage` decodes these fields.
 */
const JSON_FIELD = '\u0001';
/** `JSON_FIELD`'s code, a literal: `putString`'s loop compares it per character. */
const JSON_FIELD_CODE = 1;

/**
 * The CSV field of a string: always quoted (an unquoted empty field is NULL, a quoted one the empty string: read with
 * `allow_quoted_nulls = false`); quotes doubled; commas and NUL as they are inside the quotes; a string with a line
 * break (or starting with `JSON_FIELD`) as `JSON_FIELD` + its JSON text. The other cells (finite numbers, bigints,
 * booleans: values are typed by the loader) are their text (`putCell`).
 */
function stringField(v: string): string {
  if (v.indexOf('\n') !== -1 || v.indexOf('\r') !== -1 || v.charCodeAt(0) === JSON_FIELD_CODE) {
    // Well-formed first: DuckDB's JSON reader refuses an escaped lone surrogate (the loader fails such events
    // before they get here, see `poisonOf`).
    return `"${(JSON_FIELD + JSON.stringify(wellFormed(v))).replaceAll('"', '""')}"`;
  }
  // A lone surrogate is written as U+FFFD by the UTF-8 encoder (`Buffer.write` in `putText`): one that slipped past
  // `poisonOf` never reaches DuckDB as invalid UTF-8.
  return v.indexOf('"') === -1 ? `"${v}"` : `"${v.replaceAll('"', '""')}"`;
}

/**
 * Writes `text` (ASCII: a number's, a boolean's or a bigint's text) into `b` at `u`; returns the end. The staged
 * text is written byte by byte where it can be: building each row as a string and encoding it cost more, most of
 * it in V8's GC of the row strings (docs/performance.md, "The stage written as bytes").
 */
function putAscii(b: Buffer, u: number, text: string): number {
  for (let i = 0; i < text.length; i++) b[u + i] = text.charCodeAt(i);
  return u + text.length;
}

/**
 * Writes `stringField(v)` into `b` at `u`; returns the end. ASCII without quotes, line breaks or `JSON_FIELD` is
 * copied as it is between quotes; anything else is `stringField(v)` encoded as UTF-8 by `putText`.
 */
function putString(b: Buffer, u: number, v: string): number {
  b[u] = 34;
  const start = u + 1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 128 || c === 34 || c === 10 || c === 13 || c === JSON_FIELD_CODE)
      return putText(b, u, stringField(v));
    b[start + i] = c;
  }
  b[start + v.length] = 34;
  return start + v.length + 1;
}

/** Writes `text` as UTF-8 into `b` at `u`; returns the end. Throws rather than write part of it. */
function putText(b: Buffer, u: number, text: string): number {
  const n = b.write(text, u);
  if (n !== Buffer.byteLength(text))
    throw new Error('a staged field did not fit its buffer (rowBound is wrong)');
  return u + n;
}

/** Writes one cell's field. */
function putCell(b: Buffer, u: number, v: Exclude<CellValue, null>): number {
  return typeof v === 'string' ? putString(b, u, v) : putAscii(b, u, String(v));
}

/** Writes `n` commas (the empty, NULL, fields between two cells, and the separator). */
function putCommas(b: Buffer, u: number, n: number): number {
  for (let k = 0; k < n; k++) b[u + k] = 44;
  return u + n;
}

/**
 * The most bytes a cell's field can take (`stringField`, `putCell`): 6 per UTF-16 unit (`\u001f`; a quote is
 * `\""`), the marker and 4 quotes.
 */
const fieldBound = (v: Exclude<CellValue, null>): number => (typeof v === 'string' ? v.length * 6 + 8 : 48);

/** The most bytes `putRow` can write for `row`. */
function rowBound(row: StagedRow, layout: LayoutFields, withReceivedAt: boolean): number {
  let n =
    32 + layout.of.byColumn.size + layout.columns.length + (withReceivedAt ? fieldBound(row.receivedAt) : 0);
  const cells = row.cells;
  for (let k = 0; k < cells.length; k++) {
    const v = cells[k];
    if (v !== null && v !== undefined) n += fieldBound(v);
  }
  return n;
}

/**
 * Writes a staged row into `b` at `u` (room for `rowBound` bytes): its line, its received_at for an upsert table,
 * then its cells' fields in the table's field order, each preceded by `,`, with empty fields for the columns the row
 * leaves NULL, ending at the row's last cell (the rest are NULL by `null_padding`), and a newline. Returns the end.
 */
function putRow(b: Buffer, u: number, row: StagedRow, layout: LayoutFields, withReceivedAt: boolean): number {
  let p = putAscii(b, u, String(row.line));
  if (withReceivedAt) p = putString(b, putCommas(b, p, 1), row.receivedAt);
  const cellsStart = p;
  const { at, cells } = row;
  const fields = layout.fields;
  let next = 0;
  for (let k = 0; k < at.length; k++) {
    const v = cells[k];
    if (v === null || v === undefined) continue;
    const n = fields[at[k] as number] ?? fieldOf(layout, at[k] as number);
    if (n < next) {
      p = putCellsInOrder(b, cellsStart, row, layout);
      break;
    }
    p = putCell(b, putCommas(b, p, n - next + 1), v);
    next = n + 1;
  }
  return endLine(b, p);
}

/** Ends a line at `p`; throws if the writes before ran past the buffer (a typed array drops them silently). */
function endLine(b: Buffer, p: number): number {
  if (p >= b.length) throw new Error('a staged row did not fit its buffer (rowBound is wrong)');
  b[p] = 10;
  return p + 1;
}

/** The cells of a row that are not in field order, written at `u`: visited in the layout's field order. */
function putCellsInOrder(b: Buffer, u: number, row: StagedRow, layout: LayoutFields): number {
  const { at, cells } = row;
  const fields = layout.fields;
  fieldOf(layout, 0);
  if (layout.order === undefined || layout.cellAt === undefined || layout.order.length !== fields.length) {
    layout.order = fields.map((_n, pos) => pos).sort((x, y) => (fields[x] as number) - (fields[y] as number));
    layout.cellAt = new Array<number>(fields.length).fill(-1);
  }
  const { order, cellAt } = layout;
  for (let k = 0; k < at.length; k++) cellAt[at[k] as number] = k;
  let p = u;
  let next = 0;
  for (let i = 0; i < order.length; i++) {
    const pos = order[i] as number;
    const k = cellAt[pos] as number;
    if (k < 0) continue;
    cellAt[pos] = -1;
    const v = cells[k];
    if (v === null || v === undefined) continue;
    const n = fields[pos] as number;
    p = putCell(b, putCommas(b, p, n - next + 1), v);
    next = n + 1;
  }
  return p;
}

/** The events file's line of a row: `event_id,line,received_at`. */
function putEvent(b: Buffer, u: number, row: StagedRow): number {
  let p = putCommas(b, putString(b, u, row.eventId), 1);
  p = putCommas(b, putAscii(b, p, String(row.line)), 1);
  return endLine(b, putString(b, p, row.receivedAt));
}

const eventBound = (row: StagedRow): number => fieldBound(row.eventId) + fieldBound(row.receivedAt) + 32;

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
 * Staged rows are written into a buffer as they are made and the buffer is written out when the next row might not
 * fit. Joining a batch's rows into one string and encoding that cost about 4x more: the batch-long rope lived long
 * enough to reach V8's old space, and flattening it was most of the stage's time (measured in docs/performance.md).
 */
class Chunk {
  static readonly BYTES = 1 << 20;
  readonly bytes = Buffer.allocUnsafe(Chunk.BYTES);
  used = 0;
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
      const need = rowBound(row, layout, withReceivedAt);
      if (out.used + need > Chunk.BYTES) {
        await this.drain(table, out);
        if (need > Chunk.BYTES) {
          // A row that may not fit in a chunk (a long string): written through a buffer of its own.
          const own = Buffer.allocUnsafe(need);
          await this.write(table, own.subarray(0, putRow(own, 0, row, layout, withReceivedAt)));
        }
      }
      if (need <= Chunk.BYTES) out.used = putRow(out.bytes, out.used, row, layout, withReceivedAt);
      if (this.seen.add(row.line)) {
        const eventNeed = eventBound(row);
        if (events.used + eventNeed > Chunk.BYTES) await this.drain(EVENTS, events);
        if (eventNeed > Chunk.BYTES) {
          const own = Buffer.allocUnsafe(eventNeed);
          await this.write(EVENTS, own.subarray(0, putEvent(own, 0, row)));
        } else {
          events.used = putEvent(events.bytes, events.used, row);
        }
      }
    }
    await this.drain(table, out);
    await this.drain(EVENTS, events);
    this.rowCounts.set(table, (this.rowCounts.get(table) ?? 0) + rows.length);
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
 * the empty string, shorter rows padded with NULLs, lines up to twice the JSON stage's object limit (a row holds
 * values of one raw line of up to `SLUICE_MAX_LINE_BYTES`, 1 MiB by default; a `JSON_FIELD` is at most 1.5x its
 * text in that line, a quote `\"` becoming `\""`), and the parallel reader (no field holds a line break).
 */
export function readStage(file: string, columns: readonly (readonly [string, string])[]): string {
  const spec = columns.map(([name, type]) => `${literal(name)}: ${literal(type)}`).join(', ');
  const select = columns.map(([name, type]) => {
    const c = ident(name);
    return type === 'VARCHAR'
      ? `CASE WHEN starts_with(${c}, chr(${JSON_FIELD_CODE})) THEN json_extract_string(substr(${c}, 2), '$') ELSE ${c} END AS ${c}`
      : c;
  });
  return (
    `(SELECT ${select.join(', ')} FROM ` +
    `read_csv(${literal(file)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', ` +
    `new_line = '\\n', null_padding = true, parallel = true, allow_quoted_nulls = false, ` +
    `max_line_size = 2097152, buffer_size = 4194304, columns = {${spec}}))`
  );
}
