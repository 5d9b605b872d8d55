import { LoaderError } from '../errors.ts';
import type { IdentityRules } from '../schema/identity-rules.ts';
import { chunks, isoOfMicros, timestampMicros } from './store-support.ts';
import {
  type IdentityStore,
  recomputeInBatches,
  type StateCell,
  seedBatch,
  type UpkeepReport,
} from './upkeep.ts';

/** The scheduled update's document (`StateCell`): how far the log is folded in, and who holds the lease. */
export interface UpdateState {
  /** The latest `loaded_at` of the log rows a finished run compacted and recomputed (null: none yet). */
  watermark: string | null;
  holder: string | null;
  /** Epoch ms after which another run may take the lease over (a run killed while holding it). */
  expiresAt: number | null;
}

export interface UpdateOptions {
  /** This run's id (the lease holder). */
  holder: string;
  now: () => number;
  /** Lease length: longer than a run may last (the update function's timeout), so two runs never overlap. */
  leaseMs: number;
  /**
   * How far before the watermark each run reads the log again: at least the loader's longest load (its function
   * timeout), since a load's rows carry its start time (`loaded_at`) but become visible at its commit. Re-reading
   * rows is harmless: compaction and recomputation are idempotent.
   */
  overlapMs: number;
  /** Test seam: awaited after each step (`acquired`, `read`, `compacted`, `recomputed`), before the next. */
  step?: (name: UpdateStep) => Promise<void>;
}

export type UpdateStep = 'acquired' | 'read' | 'compacted' | 'recomputed';

export type UpdateOutcome =
  | { outcome: 'busy'; holder: string | null; expiresAt: number | null }
  | ({ outcome: 'updated'; watermark: string | null; from: string | null } & UpkeepReport);

const EMPTY: UpdateState = { watermark: null, holder: null, expiresAt: null };

function parseState(text: string): UpdateState {
  const doc = JSON.parse(text) as Partial<UpdateState>;
  return {
    watermark: typeof doc.watermark === 'string' ? doc.watermark : null,
    holder: typeof doc.holder === 'string' ? doc.holder : null,
    expiresAt: typeof doc.expiresAt === 'number' ? doc.expiresAt : null,
  };
}

/** Takes the lease if it is free or expired: the version written, or undefined when another run holds it. */
async function acquire(
  cell: StateCell,
  options: UpdateOptions,
): Promise<{ version: string; state: UpdateState } | { busy: UpdateState }> {
  const current = await cell.read();
  const state = current ? parseState(current.text) : EMPTY;
  if (state.holder !== null && state.expiresAt !== null && state.expiresAt > options.now())
    return { busy: state };
  const mine: UpdateState = { ...state, holder: options.holder, expiresAt: options.now() + options.leaseMs };
  // Compare-and-set on the version read: of two runs that read the same free lease, exactly one write succeeds.
  const version = await cell.write(JSON.stringify(mine), current?.version ?? '0');
  if (version === undefined) {
    const now = await cell.read();
    return { busy: now ? parseState(now.text) : EMPTY };
  }
  return { version, state: mine };
}

/**
 * The scheduled, bounded incremental update (BigQuery; `npm run identity -- update` on either destination):
 * under a lease, the log rows loaded since the watermark (less `overlapMs`) are compacted into `identity_edges`,
 * the ids they link seed `recomputeAround` (their current components through `identity_map`, those components'
 * edges, to a fixpoint), only those components are rewritten, and the watermark advances last, with the lease's
 * release, in one compare-and-set. A run killed at any point leaves the watermark where it was: the next run
 * redoes the same idempotent steps, so the map equals a rebuild. Memory and bytes grow with the touched components,
 * not with the graph (a giant one fails loudly: SLUICE_ERR_IDENTITY_COMPONENT_TOO_LARGE).
 */
export async function updateIdentity(
  store: IdentityStore,
  rules: IdentityRules,
  options: UpdateOptions,
): Promise<UpdateOutcome> {
  const step = options.step ?? (async () => undefined);
  if (!(await store.hasLog())) {
    return { outcome: 'updated', watermark: null, from: null, edges: 0, ids: 0, components: 0, rounds: 0 };
  }
  const cell = store.updateState();
  const lease = await acquire(cell, options);
  if ('busy' in lease) return { outcome: 'busy', holder: lease.busy.holder, expiresAt: lease.busy.expiresAt };
  await step('acquired');
  await store.ensure(rules);
  const { watermark } = lease.state;
  const from = watermark === null ? null : isoOfMicros(timestampMicros(watermark) - options.overlapMs * 1000);
  const { ids, through } = await store.logIds({ from });
  await step('read');
  let report: UpkeepReport = { edges: 0, ids: 0, components: 0, rounds: 0 };
  if (through !== undefined) {
    await store.compact({ from, through });
    await step('compacted');
    report = await recomputeInBatches(store, chunks(ids, seedBatch(rules)), rules);
    await step('recomputed');
  }
  const advanced =
    through === undefined || (watermark !== null && timestampMicros(watermark) >= timestampMicros(through))
      ? watermark
      : through;
  const done: UpdateState = { watermark: advanced, holder: null, expiresAt: null };
  if ((await cell.write(JSON.stringify(done), lease.version)) === undefined) {
    throw new LoaderError(
      'SLUICE_ERR_IDENTITY_LEASE_LOST',
      `run ${options.holder} held the lease past ${options.leaseMs} ms; the watermark stays for the next run`,
    );
  }
  return { outcome: 'updated', watermark: advanced, from, ...report };
}
