import type { Dict } from '../core/types.ts';
import { type BrowserAnalytics, type BrowserOptions, createAnalytics } from './analytics.ts';

/** Methods a page may call before `load()`; queued and replayed in order once loaded. */
const METHODS = [
  'track',
  'identify',
  'page',
  'screen',
  'group',
  'alias',
  'use',
  'flush',
  'reset',
  'user',
  'enable',
  'disable',
  'stats',
  'ready',
] as const;

type Call = [string, ...unknown[]];
/** What the snippet leaves behind: an array of calls, plus the write key and options its `load` recorded. */
type Stub = Call[] & { _writeKey?: string; _loadOptions?: Partial<BrowserOptions> };
type Global = Record<string, unknown> & { load(writeKey: string, options?: Partial<BrowserOptions>): void };

/**
 * Installs `window.analytics` as Segment's snippet does: `analytics.load(writeKey, { host })`, every method
 * callable before load (calls are buffered), and the snippet's queued calls replayed in order.
 */
export function install(w: Dict): Global {
  const stub = w.analytics as Stub | undefined;
  const buf: Call[] = Array.isArray(stub) ? [...stub] : [];
  let sdk: BrowserAnalytics | undefined;
  const ready: (() => void)[] = [];
  const call = (m: string, args: unknown[]): unknown => {
    if (m === 'ready') return sdk ? (args[0] as () => void)() : ready.push(args[0] as () => void);
    if (!sdk) return void buf.push([m, ...args]);
    const fn = (sdk as unknown as Record<string, (...a: unknown[]) => unknown>)[m];
    return fn?.(...args);
  };
  const a: Global = {
    load(writeKey: string, options?: Partial<BrowserOptions>): void {
      try {
        if (sdk) return;
        sdk = createAnalytics({ host: '', ...options, writeKey });
        for (const [m, ...args] of buf.splice(0)) call(m, args);
        for (const fn of ready.splice(0)) fn();
      } catch {
        // never throw into the host page
      }
    },
  };
  for (const m of METHODS) {
    a[m] = (...args: unknown[]) => {
      try {
        return call(m, args);
      } catch {
        return undefined;
      }
    };
  }
  w.analytics = a;
  if (stub?._writeKey) a.load(stub._writeKey, stub._loadOptions);
  return a;
}
