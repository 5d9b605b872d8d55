import type { Destination } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { IdentityRules } from '../schema/identity-rules.ts';
import { upkeepAfterLoad } from './upkeep.ts';

/**
 * The loader's per-file identity upkeep, after a file's commit and also for a file found already loaded (a crash
 * between its commit and its upkeep is repaired by the redelivery). A failure is retryable: the trigger delivers the
 * file again, which finds it loaded and runs the upkeep again (idempotent).
 */
export async function identityAfterLoad(
  destination: Destination,
  loadId: string,
  rules: IdentityRules,
  log: Logger,
): Promise<void> {
  const hook = destination.identity;
  if (hook === undefined || hook.schedule !== 'per_file') return;
  try {
    const report = await upkeepAfterLoad(hook.store(), loadId, rules);
    if (report.edges > 0) log.debug({ identity: report }, 'identity map updated');
  } catch (error) {
    if (!retryableUpkeepFailure(error)) {
      // No retry can fix it (a giant component: the data, not the moment): the file's events are committed, so the
      // load completes instead of being redelivered forever. The components it touched keep their previous map
      // until the operator acts (docs/errors/functions.md: block the value, raise the limit, `identity -- rebuild`).
      const code = error instanceof LoaderError ? error.code : 'SLUICE_ERR_LOAD_IDENTITY_UPKEEP';
      log.error(
        { code, err: error, loadId },
        'identity upkeep skipped; the map of the components this file touched is stale',
      );
      return;
    }
    const wrapped =
      error instanceof LoaderError
        ? error
        : new LoaderError('SLUICE_ERR_LOAD_IDENTITY_UPKEEP', (error as Error).message, { cause: error });
    log.warn({ code: wrapped.code, err: error }, 'load failed; will retry');
    throw wrapped;
  }
}

/**
 * Whether a redelivery could make the upkeep succeed: a coded error says so itself; a RangeError (a call stack or
 * an allocation size exceeded) comes from the data and would recur on every delivery; anything else (the warehouse
 * connection, an I/O error) is taken as transient, as before.
 */
function retryableUpkeepFailure(error: unknown): boolean {
  if (error instanceof LoaderError) return error.retryable;
  return !(error instanceof RangeError);
}
