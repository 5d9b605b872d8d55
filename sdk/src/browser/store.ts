import type { Logger } from '../core/types.ts';
import { ERR_STORAGE } from '../errors.ts';

/** localStorage behind a wall: unavailable, blocked or full storage degrades to "not persisted", never throws. */
export interface Store {
  get(key: string): string | null;
  /** False when the value could not be stored (quota, blocked, absent). */
  set(key: string, value: string): boolean;
  del(key: string): void;
  keys(): string[];
}

export function safeStore(open: () => Storage | null | undefined, log: Logger): Store {
  let s: Storage | null | undefined;
  let warned = false;
  const fail = (err: unknown): void => {
    if (!warned) log(ERR_STORAGE, err);
    warned = true;
  };
  try {
    s = open();
  } catch (err) {
    fail(err);
  }
  const run = <T>(f: (s: Storage) => T, fallback: T): T => {
    try {
      return s ? f(s) : fallback;
    } catch (err) {
      fail(err);
      return fallback;
    }
  };
  return {
    get: (k) => run((s) => s.getItem(k), null),
    set: (k, v) =>
      run((s) => {
        s.setItem(k, v);
        return true;
      }, false),
    del: (k) => run((s) => s.removeItem(k), undefined),
    keys: () =>
      run((s) => {
        const out: string[] = [];
        for (let i = 0; i < s.length; i++) out.push(s.key(i)!);
        return out;
      }, []),
  };
}
