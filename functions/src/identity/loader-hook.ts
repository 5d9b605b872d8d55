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
    const wrapped =
      error instanceof LoaderError && error.retryable
        ? error
        : new LoaderError('SLUICE_ERR_LOAD_IDENTITY_UPKEEP', (error as Error).message, { cause: error });
    log.warn({ code: wrapped.code, err: error }, 'load failed; will retry');
    throw wrapped;
  }
}
