import { describe, expect, it } from 'vitest';
import { fakeFetch, MemoryStorage } from '../../test/fakes.ts';
import type { Dict } from '../core/types.ts';
import { install } from './install.ts';

describe('window.analytics (script-tag build)', () => {
  it('replays calls the snippet queued before the script loaded, then loads with the recorded key', async () => {
    const net = fakeFetch();
    const stub = Object.assign([['page'], ['track', 'Clicked', { n: 1 }], ['identify', 'u1']], {
      _writeKey: 'wk',
      _loadOptions: {
        host: 'https://c.example',
        fetch: net.fetch,
        storage: () => new MemoryStorage(),
        target: new EventTarget(),
      },
    });
    const w: Dict = { analytics: stub };
    const a = install(w);
    expect(w.analytics).toBe(a);
    await (a.flush as () => Promise<void>)();
    expect(net.events().map((e) => e.type)).toEqual(['page', 'track', 'identify']);
    expect(net.events()[2]).toMatchObject({ userId: 'u1' });
  });

  it('buffers calls made before load() and never throws', async () => {
    const net = fakeFetch();
    const w: Dict = {};
    const a = install(w);
    (a.track as (e: string) => void)('early');
    let ready = false;
    (a.ready as (f: () => void) => void)(() => {
      ready = true;
    });
    expect(() => a.bogus as unknown as undefined).not.toThrow();
    a.load('wk', {
      host: 'https://c.example',
      fetch: net.fetch,
      storage: () => new MemoryStorage(),
      target: new EventTarget(),
    });
    expect(ready).toBe(true);
    await (a.flush as () => Promise<void>)();
    expect(net.events().map((e) => (e as { event?: string }).event)).toEqual(['early']);
  });
});
