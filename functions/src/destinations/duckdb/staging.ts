import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { wellFormed } from '../../normalize/parse-json.ts';
import { failedEventColumns } from '../bookkeeping-tables.ts';
import type { FailedEvent, StagedRow } from '../destination.ts';

/**
 * Staged rows use short keys: per table, each column gets an alias (`c0`, `c1`, ...) on first use, and the commit
 * renames them back (`StageFiles.aliases`). Column names repeat on every row and are often longer than the values:
 * short keys about halve the staged bytes that are written, then read back by `read_json`.
 */
class ColumnAliases {
  /** column name -> `,"cN":` (the member prefix as written). */
  private readonly members = new Map<string, string>();
  readonly byColumn = new Map<string, string>();
  private readonly byLayout = new WeakMap<readonly string[], string[]>();

  member(column: string): string {
    let m = this.members.get(column);
    if (m === undefined) {
      const alias = `c${this.byColumn.size}`;
      this.byColumn.set(column, alias);
      m = `,"${alias}":`;
      this.members.set(column, m);
    }
    return m;
  }

  /** Member prefixes by position of a `StagedRow.columns` array (filled as positions are first written). */
  membersOf(columns: readonly string[]): string[] {
    let members = this.byLayout.get(columns);
    if (members === undefined) {
      members = [];
      this.byLayout.set(columns, members);
    }
    return members;
  }

  alias(column: string): string {
    this.member(column);
    return this.byColumn.get(column) as string;
  }
}

/**
 * The members of a row's cells as JSON text, each preceded by `,` (`,"c0":1,"c1":"x"`). Hand-rolled: faster than
 * JSON.stringify on these wide rows, and bigints (exact INT64 beyond 2^53) come out as bare digits. Values are
 * typed by the loader: finite numbers, bigints, booleans, strings, null. `members` caches each position's prefix.
 */
function cellsMembers(row: StagedRow, members: string[], aliases: ColumnAliases): string {
  let out = '';
  const { at, cells, columns } = row;
  for (let k = 0; k < at.length; k++) {
    const v = cells[k];
    if (v === null || v === undefined) continue;
    const pos = at[k] as number;
    let member = members[pos];
    if (member === undefined) {
      member = aliases.member(columns[pos] as string);
      members[pos] = member;
    }
    out += member;
    // A lone surrogate would make DuckDB reject the whole staged file; the loader fails such events before
    // they get here (`poisonOf`), and this keeps any that slip through from blocking the load.
    out += typeof v === 'string' ? JSON.stringify(wellFormed(v)) : String(v);
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

/** Stage files kept open at once, at most (each table of a load has one). */
export const MAX_OPEN_FILES = 64;

/**
 * Staging on disk, like a BigQuery load job's staged NDJSON: each batch is appended to one NDJSON file per table
 * (plus one for the event list and one for failed events); the commit reads them with DuckDB's `read_json`. Memory
 * stays bounded by one batch; a crash leaves only files, removed on the next open. Each file is opened once and
 * appended to through its handle (not opened and closed per batch); `finish()` closes them before the commit reads
 * the files. (Writing a batch while the next one is normalized was tried: it doubled the CPU time, all of it in
 * V8's GC under the loader's 128 MB old-space cap.)
 */
export class StageFiles {
  private readonly files = new Map<string, string>();
  private readonly handles = new Map<string, FileHandle>();
  private readonly aliasesByTable = new Map<string, ColumnAliases>();
  private readonly seen = new LineSet();
  private readonly rowCounts = new Map<string, number>();
  private counter = 0;

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
  alias(table: string, column: string): string {
    return this.aliasesOf(table).alias(column);
  }

  private aliasesOf(table: string): ColumnAliases {
    let aliases = this.aliasesByTable.get(table);
    if (aliases === undefined) {
      aliases = new ColumnAliases();
      this.aliasesByTable.set(table, aliases);
    }
    return aliases;
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
      file = path.join(this.dir, `${this.counter++}.ndjson`);
      this.files.set(table, file);
    }
    return file;
  }

  /**
   * Stages `rows` of `table`. A row carries its line (`_l`: the commit's de-duplication filters on it) and, for an
   * upsert table only, its received_at (`_r`: the latest row per id wins); the event id and time are in the events
   * file once per event, not on every row of every table (60 bytes a row, ~30% of a typical stage).
   */
  async appendRows(table: string, rows: readonly StagedRow[], withReceivedAt: boolean): Promise<void> {
    let text = '';
    let events = '';
    const aliases = this.aliasesOf(table);
    let columns: readonly string[] | undefined;
    let members: string[] = [];
    for (const row of rows) {
      if (row.columns !== columns) {
        columns = row.columns;
        members = aliases.membersOf(columns);
      }
      text += withReceivedAt
        ? `{"_l":${row.line},"_r":${JSON.stringify(row.receivedAt)}${cellsMembers(row, members, aliases)}}\n`
        : `{"_l":${row.line}${cellsMembers(row, members, aliases)}}\n`;
      if (this.seen.add(row.line)) {
        events += `{"event_id":${JSON.stringify(row.eventId)},"line":${row.line},"received_at":${JSON.stringify(row.receivedAt)}}\n`;
      }
    }
    if (text !== '') await this.write(table, text);
    if (events !== '') await this.write(EVENTS, events);
    this.rowCounts.set(table, (this.rowCounts.get(table) ?? 0) + rows.length);
  }

  /** Appends `text` to `table`'s file. */
  private async write(table: string, text: string): Promise<void> {
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
    await handle.appendFile(text);
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
    if (text !== '') await this.write(FAILED, text);
  }

  /** Closes the files and deletes the stage. */
  async remove(): Promise<void> {
    await this.finish().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export const EVENTS = '\u0000events';
export const FAILED = '\u0000failed';
