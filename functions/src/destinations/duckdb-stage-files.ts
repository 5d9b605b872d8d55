import { appendFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FailedEvent, StagedRow } from './destination.ts';

const quotedKeys = new Map<string, string>();

/** `"key":` for a column name, memoized (the same few hundred names repeat on every row). */
function quotedKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = `,${JSON.stringify(key)}:`;
    if (quotedKeys.size < 100_000) quotedKeys.set(key, q);
  }
  return q;
}

/**
 * The members of a row's values as JSON text, each preceded by `,` (`,"a":1,"b":"x"`). Hand-rolled: faster than
 * JSON.stringify on these wide, per-row objects, and bigints (exact INT64 beyond 2^53) come out as bare digits.
 * Values are typed by the loader: finite numbers, bigints, booleans, strings, null.
 */
function valuesMembers(values: StagedRow['values']): string {
  let out = '';
  for (const key in values) {
    const v = values[key];
    out += quotedKey(key);
    out += typeof v === 'string' ? JSON.stringify(v) : v === null || v === undefined ? 'null' : String(v);
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
 * Staging on disk, like a BigQuery load job's staged NDJSON: each batch is appended to one NDJSON file per table
 * (plus one for the event list and one for failed events); the commit reads them with DuckDB's `read_json`. Memory
 * stays bounded by one batch; a crash leaves only files, removed on the next open.
 */
export class StageFiles {
  private readonly files = new Map<string, string>();
  private readonly seen = new LineSet();
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

  async appendRows(table: string, rows: readonly StagedRow[]): Promise<void> {
    let text = '';
    let events = '';
    for (const row of rows) {
      text += `{"_sluice_event_id":${JSON.stringify(row.eventId)},"_sluice_line":${row.line},"_sluice_received_at":${JSON.stringify(row.receivedAt)}${valuesMembers(row.values)}}\n`;
      if (this.seen.add(row.line)) {
        events += `{"event_id":${JSON.stringify(row.eventId)},"line":${row.line},"received_at":${JSON.stringify(row.receivedAt)}}\n`;
      }
    }
    if (text !== '') await appendFile(this.file(table), text);
    if (events !== '') await appendFile(this.file(EVENTS), events);
  }

  async appendFailed(failures: readonly FailedEvent[]): Promise<void> {
    let text = '';
    for (const f of failures) {
      text += `${JSON.stringify({
        line: f.line,
        event_id: f.eventId,
        error_code: f.code,
        reason: f.reason,
        raw_line: f.raw,
        raw_truncated: f.rawTruncated,
      })}\n`;
    }
    if (text !== '') await appendFile(this.file(FAILED), text);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export const EVENTS = '\u0000events';
export const FAILED = '\u0000failed';
