import type { RawStore } from './raw-store.ts';
import { readSuppressions, type SuppressionLocation, suppressedLineFilter } from './suppression-list.ts';

/** Where a load gets the suppression list: one read per file load (see suppression-list.ts for the cost). */
export interface SuppressionSource {
  /** A filter of the person lines to drop, or undefined when nothing is suppressed. Throws retryable errors. */
  lineFilter(): Promise<((text: string) => boolean) | undefined>;
}

/** Reads the list object at every call: the loader's view is never staler than the start of the file's load. */
export function objectSuppressionSource(store: RawStore, at: SuppressionLocation): SuppressionSource {
  return {
    async lineFilter() {
      const { list } = await readSuppressions(store, at);
      return suppressedLineFilter(list);
    },
  };
}

export interface CacheOptions {
  /** At most this old (ms) when used; 0: read at every call. */
  maxAgeMs: number;
  now?: () => number;
}

/**
 * The loader's view of the list, at most `maxAgeMs` old (SLUICE_SUPPRESSION_REFRESH_SECONDS, the collector's
 * bound): one read per process per interval instead of one per file, shared by loads running at once. Unlike the
 * collector's cache, a failed read is never papered over with a list older than the bound: the load fails
 * (retryable) rather than load a person suppressed since. One instance per loader process (created with it).
 */
export function cachedSuppressionSource(inner: SuppressionSource, options: CacheOptions): SuppressionSource {
  if (options.maxAgeMs <= 0) return inner;
  const now = options.now ?? Date.now;
  let cached: { at: number; filter: ((text: string) => boolean) | undefined } | undefined;
  let inflight: Promise<((text: string) => boolean) | undefined> | undefined;
  return {
    async lineFilter() {
      if (cached && now() - cached.at < options.maxAgeMs) return cached.filter;
      // The read's start is the view's age: a list read is as old as the moment it was asked for.
      const at = now();
      inflight ??= inner
        .lineFilter()
        .then((filter) => {
          cached = { at, filter };
          return filter;
        })
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    },
  };
}
