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
