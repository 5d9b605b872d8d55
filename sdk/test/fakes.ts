// Test doubles injected through the SDK's public options (no module mocking).
import type { SluiceEvent } from '../src/protocol/messages.ts';

/** A Map-backed `Storage`; `full = true` makes writes throw like a quota-exceeded localStorage. */
export class MemoryStorage implements Storage {
  readonly map = new Map<string, string>();
  full = false;
  get length(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
  getItem(key: string): string | null {
    return this.map.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.map.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
  setItem(key: string, value: string): void {
    if (this.full) throw new DOMException('quota exceeded', 'QuotaExceededError');
    this.map.set(key, value);
  }
}

export interface Sent {
  url: string;
  headers: Record<string, string>;
  body: { batch: SluiceEvent[]; sentAt: string; writeKey?: string };
}

export type Reply = number | { status: number; retryAfter?: string } | 'network';

/**
 * A fake `fetch` answering from a script of replies (then `fallback`). Records every request's parsed body.
 * `hold()` makes the next requests wait until `release()`.
 */
export function fakeFetch(replies: Reply[] = [], fallback: Reply = 200) {
  const sent: Sent[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const fn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const body = JSON.parse(String(init?.body)) as Sent['body'];
    sent.push({ url: String(input), headers: { ...(init?.headers as Record<string, string>) }, body });
    if (gate) await gate;
    const r = replies.length ? replies.shift()! : fallback;
    if (r === 'network') throw new TypeError('Failed to fetch');
    const { status, retryAfter } = typeof r === 'number' ? { status: r, retryAfter: undefined } : r;
    return new Response(null, { status, headers: retryAfter ? { 'Retry-After': retryAfter } : {} });
  };
  return {
    fetch: fn as typeof fetch,
    sent,
    events: (): SluiceEvent[] => sent.flatMap((s) => s.body.batch),
    hold(): void {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release(): void {
      gate = undefined;
      open?.();
    },
  };
}

/** Collects `(code, detail)` reports. */
export function fakeLogger() {
  const seen: { code: string; detail: unknown }[] = [];
  return {
    logger: (code: string, detail?: unknown) => void seen.push({ code, detail }),
    seen,
    codes: () => seen.map((s) => s.code),
  };
}
