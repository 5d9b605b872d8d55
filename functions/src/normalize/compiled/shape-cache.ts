import type { EventType } from '@sluice/sdk/protocol';
import type { ResolvedRow } from '../../schema/evolve.ts';
import type { WalkContext } from '../walk.ts';
import { type Compiled, compileShape } from './compile-shape.ts';
import { recordShape } from './record-shape.ts';

interface PlanSet {
  plans: Compiled[];
  /** Fast-path events of this kind since the last compile: one is recorded and compiled at `compileAfter`. */
  misses: number;
}

/** Shapes kept per kind of event (most recently used first). */
const MAX_PLANS = 4;
/** Kinds kept per map (a stream of ever new event names clears it). */
const MAX_KINDS = 1000;

/**
 * The compiled shapes of one normalizer (one load: its schema's layouts give the positions, its options the
 * bookkeeping cells every row ends with). Track events' sets by name, other types' by type.
 */
export class ShapeCache {
  private readonly tracks = new Map<string, PlanSet>();
  private readonly types = new Map<string, PlanSet>();
  /** Shapes compiled so far. */
  compiled = 0;

  constructor(private readonly ctx: WalkContext) {}

  private setsOf(event: Record<string, unknown>): Map<string, PlanSet> {
    return event.type === 'track' ? this.tracks : this.types;
  }

  /**
   * The rows of an event by one of its kind's compiled shapes, or undefined; rows only for a valid event (the
   * shapes check the protocol). `event` is any object, not yet checked; `receivedAt` is
   * `rfc3339(event.receivedAt)`, which the caller has already computed.
   */
  run(
    event: Record<string, unknown>,
    eventId: string,
    receivedAt: string | undefined,
  ): ResolvedRow[] | undefined {
    const key = shapeKey(event);
    if (key === undefined) return undefined;
    const set = this.setsOf(event).get(key);
    if (set === undefined) return undefined;
    const plans = set.plans;
    for (let i = 0; i < plans.length; i++) {
      const rows = (plans[i] as Compiled)(event, eventId, receivedAt);
      if (rows !== undefined) {
        if (i > 0) plans.unshift(...plans.splice(i, 1));
        return rows;
      }
    }
    return undefined;
  }

  /**
   * After the fast path took an event: every `compileAfter` events of one kind (default 64), record this one's
   * shape and compile it, so a steady stream of one shape moves to the compiled path while a stream of ever new
   * shapes costs one recording per `compileAfter` events.
   */
  afterFastPath(event: Record<string, unknown> & { type: EventType }, eventId: string): void {
    const key = shapeKey(event);
    if (key === undefined) return;
    const byKey = this.setsOf(event);
    let set = byKey.get(key);
    if (set === undefined) {
      if (byKey.size >= MAX_KINDS) byKey.clear();
      set = { plans: [], misses: 0 };
      byKey.set(key, set);
    }
    if (++set.misses < (this.ctx.options.compileAfter ?? 64)) return;
    set.misses = 0;
    const shape = recordShape(event, eventId, this.ctx);
    if (shape === undefined) return;
    const compiled = compileShape(shape, this.ctx.options);
    if (compiled === undefined) return;
    set.plans.unshift(compiled);
    if (set.plans.length > MAX_PLANS) set.plans.length = MAX_PLANS;
    this.compiled++;
  }
}

/** The key of an event's set of compiled shapes: a track's name, another type's type (`event` not yet checked). */
function shapeKey(event: Record<string, unknown>): string | undefined {
  const type = event.type;
  if (type === 'track') return typeof event.event === 'string' ? event.event : undefined;
  return typeof type === 'string' ? type : undefined;
}
