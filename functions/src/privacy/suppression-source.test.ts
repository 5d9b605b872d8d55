import { describe, expect, it } from 'vitest';
import { LoaderError } from '../errors.ts';
import { cachedSuppressionSource, type SuppressionSource } from './suppression-source.ts';

/** A list whose reads are counted, answer what `state` says, and can be made to fail. */
function counted(): {
  source: SuppressionSource;
  reads: () => number;
  state: { suppressed: string; fail: boolean };
} {
  let reads = 0;
  const state = { suppressed: 'u1', fail: false };
  return {
    reads: () => reads,
    state,
    source: {
      async lineFilter() {
        reads++;
        await Promise.resolve();
        if (state.fail) throw new LoaderError('SLUICE_ERR_LOAD_OBJECT_READ', 'list unreadable');
        const who = state.suppressed;
        return (text) => text.includes(who);
      },
    },
  };
}

describe("the loader's suppression list cache (at most SLUICE_SUPPRESSION_REFRESH_SECONDS old)", () => {
  it('reads once per interval, shares one read between loads at once, and is never older than the bound', async () => {
    let t = 1_000_000;
    const list = counted();
    const cache = cachedSuppressionSource(list.source, { maxAgeMs: 60_000, now: () => t });
    const [a, b] = await Promise.all([cache.lineFilter(), cache.lineFilter()]);
    expect(list.reads()).toBe(1);
    expect(a?.('u1')).toBe(true);
    expect(b).toBe(a);
    list.state.suppressed = 'u2';
    t += 59_999;
    expect((await cache.lineFilter())?.('u2')).toBe(false); // still the cached view, within the bound
    expect(list.reads()).toBe(1);
    t += 1;
    expect((await cache.lineFilter())?.('u2')).toBe(true); // 60 s old: read again
    expect(list.reads()).toBe(2);
  });

  it('a failed read after the bound fails the load (retryable) instead of using the older list', async () => {
    let t = 0;
    const list = counted();
    const cache = cachedSuppressionSource(list.source, { maxAgeMs: 60_000, now: () => t });
    await cache.lineFilter();
    list.state.fail = true;
    t = 60_000;
    await expect(cache.lineFilter()).rejects.toMatchObject({
      code: 'SLUICE_ERR_LOAD_OBJECT_READ',
      retryable: true,
    });
    list.state.fail = false;
    expect(await cache.lineFilter()).toBeDefined();
    expect(list.reads()).toBe(3);
  });

  it('0 reads the list at every load (DuckDB default)', async () => {
    const list = counted();
    const cache = cachedSuppressionSource(list.source, { maxAgeMs: 0 });
    await cache.lineFilter();
    await cache.lineFilter();
    expect(list.reads()).toBe(2);
  });
});
