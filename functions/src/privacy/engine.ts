import { randomUUID } from 'node:crypto';
import { TABLES } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import { eraseIdentities } from '../identity/erase.ts';
import { DEFAULT_IDENTITY_RULES, type IdentityRules } from '../schema/identity-rules.ts';
import { IDENTITY_TABLES } from '../schema/segment-layout.ts';
import { type LedgerRow, ledger, type Plan, type RequestKind } from './ledger.ts';
import { findLinkedIds } from './linked-ids.ts';
import { partitionFilter } from './partition-filter.ts';
import { allIds, failedEventNamesPerson, hashId, needlesOf, type Person } from './person.ts';
import { rewriteFile, scanRawFiles } from './raw-files.ts';
import type { RawStore } from './raw-store.ts';
import { type SuppressionLocation, updateSuppressions } from './suppression-list.ts';
import { type ErasureTarget, personWhere, targetOf } from './targets.ts';
import type { PrivacyWarehouse, StatementParams } from './warehouse.ts';

export interface PrivacyDeps {
  warehouse: PrivacyWarehouse;
  raw: RawStore;
  /** The raw window files' bucket and the prefix scanned for the person's lines ('' = the whole bucket). */
  rawBucket: string;
  rawPrefix: string;
  suppression: SuppressionLocation;
  /**
   * Wait this long after the suppression list changed before counting and erasing (SLUICE_PRIVACY_SETTLE_SECONDS):
   * a load that read the list before the change commits within it. 0 for DuckDB (the request holds the file, so
   * no load runs meanwhile); the loader's time budget for BigQuery.
   */
  settleMs: number;
  now?: () => Date;
  newRequestId?: () => string;
  sleep?: (ms: number) => Promise<void>;
  /** Progress for the operator (the CLI prints it): ids found, rows per table, files. Never an event body. */
  report?: (line: string) => void;
  /** The identity graph's rules (the contracts file's `identity`), for recomputing what remains after an erasure. */
  identityRules?: IdentityRules;
}

export interface DeleteOptions {
  reason?: string;
  dryRun?: boolean;
  /** Also suppress the ids (default true: Segment's SUPPRESS_WITH_DELETE), so the person is not collected again. */
  suppress?: boolean;
}

export interface DeleteOutcome {
  person: Person;
  plan: Plan;
  row: LedgerRow | undefined;
}

/** Rejects empty requests and empty ids before anything runs. */
export function checkPerson(given: Person): void {
  const ids = [...given.userIds, ...given.anonymousIds];
  if (ids.length === 0)
    throw new LoaderError('SLUICE_ERR_PRIVACY_INVALID_REQUEST', 'give --user-id or --anonymous-id');
  if (ids.some((id) => id.length === 0))
    throw new LoaderError('SLUICE_ERR_PRIVACY_INVALID_REQUEST', 'an id may not be empty');
}

interface Located {
  table: string;
  columns: ReadonlySet<string>;
  target: ErasureTarget;
}

async function located(wh: PrivacyWarehouse): Promise<Located[]> {
  const out: Located[] = [];
  for (const [table, columns] of await wh.tables()) {
    const target = targetOf(table, columns);
    if (target) out.push({ table, columns, target });
  }
  return out.sort((a, b) => a.target.phase - b.target.phase || a.table.localeCompare(b.table));
}

function paramsOf(
  person: Person,
  eventIds: readonly string[],
  failedKeys: readonly string[] = [],
): StatementParams {
  return {
    sets: {
      u: person.userIds,
      a: person.anonymousIds,
      ua: allIds(person),
      e: eventIds,
      n: needlesOf(person),
      f: failedKeys,
    },
    values: { backslash: '\\' },
  };
}

/**
 * The failed events whose raw text names one of the person's ids in any JSON spelling (`\u` escapes, `\/`, any
 * whitespace around it): SQL cannot decode JSON escapes in text that is not JSON, so it selects the candidates —
 * rows holding an id in its plain JSON spelling or any backslash (every other spelling has one) — and the engine
 * decides exactly (person.ts `namesAnId`). Keys `<load_id>#<line>`, the target's `f` set.
 */
async function failedKeysOf(
  wh: PrivacyWarehouse,
  tables: readonly Located[],
  person: Person,
): Promise<string[]> {
  const d = wh.dialect;
  const c = d.column;
  const failed = tables.find((t) => t.table === TABLES.failedEvents);
  if (!failed || !['raw_line', 'load_id', 'line'].every((col) => failed.columns.has(col))) return [];
  const rows = await wh.select(
    `SELECT ${c('load_id')} AS load_id, CAST(${c('line')} AS STRING) AS line, ${c('raw_line')} AS raw_line
FROM ${d.table(failed.table)}
WHERE ${c('raw_line')} IS NOT NULL AND (${d.contains(c('raw_line'), d.value('backslash'))}
  OR EXISTS (SELECT 1 FROM ${d.set('n')} AS s WHERE ${d.contains(c('raw_line'), 's.v')}))`,
    paramsOf(person, []),
  );
  const keys: string[] = [];
  for (const row of rows) {
    if (typeof row.raw_line === 'string' && failedEventNamesPerson(row.raw_line, person))
      keys.push(`${String(row.load_id)}#${String(row.line)}`);
  }
  return keys;
}

/** The parameters of the erasure statements: the ids, the person's event ids and failed-event keys. */
async function erasureParams(
  wh: PrivacyWarehouse,
  tables: readonly Located[],
  person: Person,
): Promise<StatementParams> {
  return paramsOf(person, await eventIdsOf(wh, tables, person), await failedKeysOf(wh, tables, person));
}

/** The person's event ids, from every event table (before anything of theirs is erased). */
async function eventIdsOf(
  wh: PrivacyWarehouse,
  tables: readonly Located[],
  person: Person,
): Promise<string[]> {
  const d = wh.dialect;
  const ids = new Set<string>();
  for (const t of tables) {
    if (!t.target.eventIds || !t.columns.has('id')) continue;
    const rows = await wh.select(
      `SELECT ${d.column('id')} AS id FROM ${d.table(t.table)} WHERE ${personWhere(d, t.columns)}`,
      paramsOf(person, []),
    );
    for (const row of rows) if (typeof row.id === 'string') ids.add(row.id);
  }
  return [...ids];
}

/** Rows per table the request removes, and the raw files holding the person's lines. Read-only. */
export async function planErasure(deps: PrivacyDeps, person: Person): Promise<Plan> {
  const wh = deps.warehouse;
  const d = wh.dialect;
  const tables = await located(wh);
  const params = await erasureParams(wh, tables, person);
  const counts: Record<string, number> = {};
  const partitions: Record<string, (string | null)[]> = {};
  for (const t of tables) {
    const where = t.target.where(d, t.columns);
    const column = partitionColumnOf(wh, t);
    if (column && d.day) {
      // The same scan as a count (the person columns and the partition column), grouped by day.
      const rows = await wh.select(
        `SELECT ${d.day(d.column(column))} AS d, COUNT(*) AS n FROM ${d.table(t.table)} WHERE ${where} GROUP BY d`,
        params,
      );
      const n = rows.reduce((sum, r) => sum + Number(r.n ?? 0), 0);
      if (n === 0) continue;
      counts[t.table] = n;
      partitions[t.table] = rows.map((r) => (r.d === null || r.d === undefined ? null : String(r.d))).sort();
      continue;
    }
    const [row] = await wh.select(`SELECT COUNT(*) AS n FROM ${d.table(t.table)} WHERE ${where}`, params);
    const n = Number(row?.n ?? 0);
    if (n > 0) counts[t.table] = n;
  }
  const files = await scanRawFiles(deps.raw, deps.rawBucket, deps.rawPrefix, person);
  return { tables: counts, files, ...(Object.keys(partitions).length > 0 ? { partitions } : {}) };
}

/** The table's day-partitioning column, where the warehouse prunes on one (BigQuery) and the table has it. */
function partitionColumnOf(wh: PrivacyWarehouse, t: Located): string | undefined {
  const column = t.target.partitionColumn;
  return column && wh.dialect.day && t.columns.has(column) ? column : undefined;
}

function describe(person: Person): string {
  const list = (ids: readonly string[]): string =>
    ids.length === 0 ? '(none)' : ids.map((id) => JSON.stringify(id)).join(', ');
  return `user ids ${list(person.userIds)}; anonymous ids ${list(person.anonymousIds)}`;
}

/**
 * `delete`: find the linked ids, print them, suppress them (unless told not to), plan (rows per table, raw files),
 * record the request as running (ids in clear, to resume), erase table by table in target order, rewrite the raw
 * files, then mark it done with the ids hashed. Re-running the same command resumes a running (or failed)
 * request from its recorded plan; every step is idempotent.
 */
export async function deletePerson(
  deps: PrivacyDeps,
  given: Person,
  options: DeleteOptions = {},
): Promise<DeleteOutcome> {
  checkPerson(given);
  const wh = deps.warehouse;
  const now = deps.now ?? (() => new Date());
  const report = deps.report ?? (() => undefined);
  const book = ledger(wh);
  const givenHashes = allIds(given).map(hashId);
  if (options.dryRun) {
    const person = await findLinkedIds(wh, given);
    report(`ids: ${describe(person)}`);
    const plan = await planErasure(deps, person);
    reportPlan(report, plan, 'would remove');
    return { person, plan, row: undefined };
  }
  await book.ensure();
  let row = await book.findRunning('delete', givenHashes);
  let person: Person;
  if (row?.ids) {
    person = row.ids;
    report(`resuming request ${row.requestId}; ids: ${describe(person)}`);
  } else {
    person = await findLinkedIds(wh, given);
    report(`ids: ${describe(person)}`);
    row = {
      requestId: deps.newRequestId?.() ?? randomUUID(),
      kind: 'delete',
      status: 'running',
      reason: options.reason ?? null,
      idHashes: allIds(person).map(hashId),
      ids: person,
      plan: null,
      rowsRemoved: null,
      filesRewritten: 0,
      bytesBilled: 0n,
      requestedAt: now().toISOString(),
      finishedAt: null,
      error: null,
    };
    await book.insert(row);
  }
  const running = row;
  wh.setScope(running.requestId);
  try {
    if (options.suppress ?? true) {
      const changed = await suppress(deps, person, running.requestId);
      if (changed > 0 && deps.settleMs > 0) {
        report(`suppressed ${changed} id(s); waiting ${deps.settleMs} ms for loads in flight`);
        await (deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))))(deps.settleMs);
      }
    }
    let bytes = 0n;
    if (running.plan === null) {
      running.plan = await planErasure(deps, person);
      await book.update(running);
    }
    const plan = running.plan;
    reportPlan(report, plan, 'removing');
    const tables = await located(wh);
    const params = await erasureParams(wh, tables, person);
    for (const t of tables) {
      if (!(t.table in plan.tables)) continue;
      const where = t.target.where(wh.dialect, t.columns);
      const column = partitionColumnOf(wh, t);
      const days = plan.partitions?.[t.table];
      // BigQuery: only the partitions that hold the person's rows (found by the plan) are scanned and billed.
      const pruned = column && days ? partitionFilter(wh.dialect, column, days) : undefined;
      const result = await wh.exec(
        `DELETE FROM ${wh.dialect.table(t.table)} WHERE (${where})${pruned ? ` AND (${pruned.sql})` : ''}`,
        pruned ? { ...params, values: { ...params.values, ...pruned.values } } : params,
      );
      bytes += result.bytesBilled;
      report(`erased ${result.affected} row(s) from ${t.table}`);
    }
    const after = await wh.tables();
    if (after.has(IDENTITY_TABLES.edges) || after.has(IDENTITY_TABLES.edgeLog)) {
      // The graph: every id of the person's persons leaves identity_edges / _map / _merges (idempotent: a re-run
      // finds nothing left), and the persons that shared a component with them are recomputed.
      const refs = [
        ...person.userIds.map((value) => ({ type: 'user_id', value })),
        ...person.anonymousIds.map((value) => ({ type: 'anonymous_id', value })),
      ];
      const graph = await eraseIdentities(
        wh.identityStore(),
        refs,
        deps.identityRules ?? DEFAULT_IDENTITY_RULES,
      );
      report(`erased ${graph.erased.length} id(s) from the identity graph`);
    }
    const loadsColumns = after.get(TABLES.loads) ?? new Set<string>();
    let rewritten = 0;
    for (const file of plan.files) {
      const outcome = await rewriteFile(deps.raw, wh, file, person, running.requestId, now, loadsColumns);
      rewritten++;
      report(`rewrote ${file.bucket}/${file.name} (${outcome.removed} line(s) removed)`);
    }
    const done: LedgerRow = {
      ...running,
      status: 'done',
      ids: null,
      rowsRemoved: plan.tables,
      filesRewritten: rewritten,
      bytesBilled: running.bytesBilled + bytes,
      finishedAt: now().toISOString(),
      error: null,
      // Once done, the plan keeps counts and file names only (no id ever appears in it).
      plan,
    };
    await book.update(done);
    report(`request ${done.requestId} done`);
    return { person, plan, row: done };
  } catch (error) {
    await book
      .update({ ...running, status: 'failed', error: (error as Error).message.slice(0, 1000) })
      .catch(() => undefined);
    throw error;
  }
}

function reportPlan(report: (line: string) => void, plan: Plan, verb: string): void {
  for (const [table, n] of Object.entries(plan.tables)) report(`${verb} ${n} row(s) from ${table}`);
  for (const f of plan.files) report(`${verb} ${f.lines} line(s) from raw file ${f.bucket}/${f.name}`);
  if (Object.keys(plan.tables).length === 0 && plan.files.length === 0) report('nothing of them is stored');
}

async function suppress(deps: PrivacyDeps, person: Person, requestId: string): Promise<number> {
  const since = (deps.now ?? (() => new Date()))().toISOString();
  const changed = await updateSuppressions(deps.raw, deps.suppression, (hashes) => {
    const added: string[] = [];
    for (const id of allIds(person)) {
      const h = hashId(id);
      if (hashes[h]) continue;
      hashes[h] = { since, requestId };
      added.push(h);
    }
    return added;
  });
  return changed.length;
}

/** `suppress` / `unsuppress`: change the list and record a (done) ledger row with the ids hashed. */
export async function changeSuppression(
  deps: PrivacyDeps,
  kind: Extract<RequestKind, 'suppress' | 'unsuppress'>,
  given: Person,
  reason?: string,
): Promise<LedgerRow> {
  checkPerson(given);
  const now = deps.now ?? (() => new Date());
  const requestId = deps.newRequestId?.() ?? randomUUID();
  const hashes = allIds(given).map(hashId);
  const changed =
    kind === 'suppress'
      ? await suppress(deps, given, requestId)
      : (
          await updateSuppressions(deps.raw, deps.suppression, (list) => {
            const removed = hashes.filter((h) => list[h] !== undefined);
            for (const h of removed) delete list[h];
            return removed;
          })
        ).length;
  deps.report?.(`${kind === 'suppress' ? 'suppressed' : 'unsuppressed'} ${changed} id(s)`);
  const book = ledger(deps.warehouse);
  await book.ensure();
  const at = now().toISOString();
  const row: LedgerRow = {
    requestId,
    kind,
    status: 'done',
    reason: reason ?? null,
    idHashes: hashes,
    ids: null,
    plan: null,
    rowsRemoved: null,
    filesRewritten: 0,
    bytesBilled: 0n,
    requestedAt: at,
    finishedAt: at,
    error: null,
  };
  await book.insert(row);
  return row;
}
