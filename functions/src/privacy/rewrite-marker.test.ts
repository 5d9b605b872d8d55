import { describe, expect, it } from 'vitest';
import {
  REWRITE_CHAIN_MAX,
  REWRITE_OF,
  REWRITE_REQUEST,
  rewriteChain,
  rewriteMarker,
} from './rewrite-marker.ts';

describe('the rewrite mark of a raw file generation', () => {
  it('names the generation it replaced, then what that one descends from (a file rewritten twice)', () => {
    const first = rewriteMarker('100', undefined, 'r1');
    expect(first).toEqual({ [REWRITE_OF]: '100', [REWRITE_REQUEST]: 'r1' });
    // The second request rewrites generation 200 (the first rewrite): the loader accepts either ancestor's load.
    const second = rewriteMarker('200', { ...first, other: 'kept out' }, 'r2');
    expect(rewriteChain(second)).toEqual(['200', '100']);
    expect(second[REWRITE_REQUEST]).toBe('r2');
    expect(rewriteChain(undefined)).toEqual([]);
    expect(rewriteChain({ [REWRITE_OF]: '1 x 2' })).toEqual(['1', '2']);
  });

  it('keeps at most REWRITE_CHAIN_MAX generations (custom metadata is at most 8 KiB)', () => {
    let mark: Record<string, string> | undefined;
    for (let g = 1; g <= REWRITE_CHAIN_MAX + 10; g++) mark = rewriteMarker(String(g), mark, `r${g}`);
    const chain = rewriteChain(mark);
    expect(chain).toHaveLength(REWRITE_CHAIN_MAX);
    expect(chain[0]).toBe(String(REWRITE_CHAIN_MAX + 10));
    expect(Buffer.byteLength(JSON.stringify(mark))).toBeLessThan(8 * 1024);
  });
});
