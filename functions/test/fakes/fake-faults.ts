import { apiError, type FakeResponse } from './fake-http.ts';

/** What the fake sees of a request when deciding whether a fault applies. */
export interface FaultTarget {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  rawBody: Buffer;
}

/**
 * - `respond`: answer with this instead of handling the request (nothing happens server-side).
 * - `drop`: destroy the connection before handling (the client sees a reset; nothing happened).
 * - `drop-after`: handle the request (state changes!) and then destroy the connection: the client never learns
 *   that its job was created — the case deterministic job ids exist for.
 */
export type FaultAction =
  | { kind: 'respond'; response: FakeResponse }
  | { kind: 'drop' }
  | { kind: 'drop-after' };

export interface FaultRule {
  method?: string;
  /** Matched against the request path (no query string). */
  path?: RegExp;
  /** Matched against the raw body text (e.g. a job id or a SQL fragment). */
  bodyMatches?: RegExp;
  action: FaultAction;
  /** How many matching requests the rule applies to; default 1. `Infinity` until cleared. */
  times?: number;
}

interface ActiveRule extends FaultRule {
  remaining: number;
  hits: number;
}

/** Ordered fault rules: the first matching rule with uses left applies. */
export class FaultPlan {
  readonly #rules: ActiveRule[] = [];

  add(rule: FaultRule): this {
    this.#rules.push({ ...rule, remaining: rule.times ?? 1, hits: 0 });
    return this;
  }

  /** Shorthands for the faults the issue names. */
  status(
    status: number,
    reason: string,
    match: Omit<FaultRule, 'action'>,
    message = `injected ${status} ${reason}`,
  ): this {
    return this.add({ ...match, action: { kind: 'respond', response: apiError(status, reason, message) } });
  }

  clear(): void {
    this.#rules.length = 0;
  }

  /** Number of requests that each rule has intercepted, in the order added. */
  hits(): number[] {
    return this.#rules.map((r) => r.hits);
  }

  take(target: FaultTarget): FaultAction | undefined {
    for (const rule of this.#rules) {
      if (rule.remaining <= 0) continue;
      if (rule.method !== undefined && rule.method !== target.method) continue;
      if (rule.path !== undefined && !rule.path.test(target.path)) continue;
      if (rule.bodyMatches !== undefined && !rule.bodyMatches.test(target.rawBody.toString('utf8'))) continue;
      rule.remaining -= 1;
      rule.hits += 1;
      return rule.action;
    }
    return undefined;
  }
}
