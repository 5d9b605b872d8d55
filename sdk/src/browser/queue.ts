import type { Logger } from '../core/types.ts';
import { ERR_QUEUE_FULL } from '../errors.ts';
import type { SluiceEvent } from '../protocol/messages.ts';
import type { Store } from './store.ts';

/** A tab whose heartbeat is older than this is presumed gone and its queue may be adopted. */
const STALE_MS = 180_000;
/** How long a claimer waits before re-reading its claim (lets other tabs' writes land). */
export const SETTLE_MS = 100;
const CLAIM_TTL = 10_000;

const newId = (): string => Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

/**
 * The persistent queue of one tab (design: docs/sdk.md, "Two tabs"). Each tab owns `<p>q:<tab>` and is its only
 * writer and sender, so two live tabs never send the same event. A tab's queue outlives it: on `pagehide` the
 * tab marks itself gone (heartbeat 0); a tab that crashed stops beating. Another tab (or the next page load) then
 * claims the queue (`<p>c:<tab>` = claimer + expiry), re-reads the claim after SETTLE_MS, and only if it still
 * holds it moves the events into its own queue. Bounded: beyond `max` events the oldest are dropped and counted.
 */
export function queue(store: Store, p: string, max: number, log: Logger) {
  const Q = `${p}q:`;
  const H = `${p}h:`;
  const C = `${p}c:`;
  let hb = '';
  const q = {
    id: newId(),
    items: [] as SluiceEvent[],
    dropped: 0,
    persist(): void {
      store.set(Q + q.id, JSON.stringify(q.items));
    },
    push(...events: SluiceEvent[]): void {
      q.items.push(...events);
      const over = q.items.length - max;
      if (over > 0) {
        q.items.splice(0, over);
        q.dropped += over;
        log(ERR_QUEUE_FULL, { dropped: over, total: q.dropped });
      }
      q.persist();
    },
    remove(sent: readonly SluiceEvent[]): void {
      const ids = new Set(sent.map((e) => e.messageId));
      q.items = q.items.filter((e) => !ids.has(e.messageId));
      q.persist();
    },
    /** Proves this tab is alive; notices when another tab adopted our queue (we were presumed gone). */
    beat(now: number): void {
      if (hb && store.get(H + q.id) !== hb) q.renew();
      hb = String(now);
      if (!store.set(H + q.id, hb)) hb = '';
    },
    /** Leaving (pagehide): our queue is free for the next page or another tab to adopt at once. */
    orphan(): void {
      store.set(H + q.id, '0');
      hb = '';
    },
    /** Start over as a new tab (restored from the back/forward cache, or adopted while frozen). */
    renew(): void {
      q.items = [];
      q.id = newId();
      hb = '';
    },
    clear(): void {
      store.del(Q + q.id);
      store.del(H + q.id);
      q.items = [];
    },
    /** Claims queues of tabs that are gone; `later` runs the second half after SETTLE_MS. */
    adopt(now: number, later: (f: () => void) => void): void {
      for (const k of store.keys()) {
        const other = k.slice(Q.length);
        if (!k.startsWith(Q) || other === q.id || now - Number(store.get(H + other) || 0) < STALE_MS)
          continue;
        const c = store.get(C + other);
        if (c && Number(c.split(' ')[1]) > now) continue;
        const mine = `${q.id} ${now + CLAIM_TTL}`;
        if (!store.set(C + other, mine)) continue;
        later(() => {
          if (store.get(C + other) !== mine) return;
          let got: unknown;
          try {
            got = JSON.parse(store.get(k) || '[]');
          } catch {
            got = [];
          }
          store.del(k);
          store.del(H + other);
          store.del(C + other);
          if (Array.isArray(got) && got.length) {
            q.items.unshift(...(got as SluiceEvent[]));
            q.push();
          }
        });
      }
    },
  };
  return q;
}
