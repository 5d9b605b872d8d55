import type { Dict } from '../core/types.ts';
import { uuid } from '../core/uuid.ts';
import type { Store } from './store.ts';

/** Segment's key names, so a site migrating from analytics.js keeps its visitors' ids. */
const ANON = 'ajs_anonymous_id';
const USER = 'ajs_user_id';
const TRAITS = 'ajs_user_traits';
const YEAR = 31_536_000;

export interface User {
  anonymousId: string;
  userId: string | null;
  traits: Dict;
}

function readCookie(name: string): string | null {
  try {
    const m = document.cookie.match(new RegExp(`(?:^|; )${name}=([^;]*)`));
    return m ? decodeURIComponent(m[1]!) : null;
  } catch {
    return null;
  }
}

function writeCookie(name: string, value: string | null, domain?: string): void {
  try {
    // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is async and missing in Firefox/Safari
    document.cookie =
      `${name}=${value === null ? '' : encodeURIComponent(value)}; path=/; max-age=${value === null ? 0 : YEAR}` +
      `; SameSite=Lax${domain ? `; domain=${domain}` : ''}${location.protocol === 'https:' ? '; Secure' : ''}`;
  } catch {
    // no document (Node, workers) or cookies blocked: localStorage still holds the value
  }
}

function parse(v: string | null): unknown {
  try {
    return v === null ? null : JSON.parse(v);
  } catch {
    return v;
  }
}

/**
 * Identity persisted in a first-party cookie (shared across subdomains with `cookieDomain`) and in localStorage
 * (fallback when cookies are blocked). `persist = false` (consent withheld) keeps everything in memory.
 */
export function identity(store: Store, cookieDomain?: string) {
  let persist = false;
  const read = (k: string): unknown => parse(readCookie(k)) ?? parse(store.get(k));
  const save = (k: string, v: unknown, cookie: boolean): void => {
    if (!persist) return;
    const s = v === null ? null : JSON.stringify(v);
    if (cookie) writeCookie(k, s, cookieDomain);
    s === null ? store.del(k) : store.set(k, s);
  };
  const u: User = { anonymousId: '', userId: null, traits: {} };
  const load = (): void => {
    const a = read(ANON);
    const id = read(USER);
    const t = parse(store.get(TRAITS));
    u.anonymousId = typeof a === 'string' && a ? a : u.anonymousId || uuid();
    u.userId = typeof id === 'string' ? id : u.userId;
    u.traits = t && typeof t === 'object' ? (t as Dict) : u.traits;
  };
  const flushAll = (): void => {
    save(ANON, u.anonymousId, true);
    save(USER, u.userId, true);
    save(TRAITS, u.traits, false);
  };
  return {
    user: u,
    /** Starts (or stops) persisting; on start, stored identity is read first so it survives reloads. */
    setPersist(on: boolean): void {
      persist = on;
      if (on) {
        load();
        flushAll();
      }
    },
    identify(userId: string | undefined, traits: Dict): void {
      if (userId && userId !== u.userId) {
        if (u.userId) u.traits = {};
        u.userId = userId;
      }
      u.traits = { ...u.traits, ...traits };
      flushAll();
    },
    reset(): void {
      u.userId = null;
      u.traits = {};
      u.anonymousId = uuid();
      flushAll();
    },
  };
}

export type Identity = ReturnType<typeof identity>;
