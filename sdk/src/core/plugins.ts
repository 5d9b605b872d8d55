import { ERR_PLUGIN } from '../errors.ts';
import type { SluiceEvent } from '../protocol/messages.ts';
import type { Logger, Plugin } from './types.ts';

/**
 * Runs plugins in order. A plugin returns the event (possibly a new object), `undefined` to keep it as it is
 * (mutated in place), or `null` to drop it. A plugin that throws is skipped for that event and reported.
 */
export function runPlugins(plugins: readonly Plugin[], event: SluiceEvent, log: Logger): SluiceEvent | null {
  let e = event;
  for (const p of plugins) {
    try {
      const r = p(e);
      if (r === null) return null;
      if (r) e = r;
    } catch (err) {
      log(ERR_PLUGIN, err);
    }
  }
  return e;
}
