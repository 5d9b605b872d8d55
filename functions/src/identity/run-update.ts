import { randomUUID } from 'node:crypto';
import type { LoaderConfig } from '../config.ts';
import type { Destination } from '../destinations/destination.ts';
import { LoaderError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { DEFAULT_IDENTITY_RULES } from '../schema/identity-rules.ts';
import { type UpdateOptions, type UpdateOutcome, updateIdentity } from './update.ts';

/**
 * One scheduled identity update on a destination (the GCP update function's body and `npm run identity --
 * update`): opens it, runs `updateIdentity` under the lease, closes it. Logs one line `identity updated` with the
 * outcome and counts (never an id value); a failure logs at error level with its code and is thrown.
 */
export async function runIdentityUpdate(
  config: Pick<LoaderConfig, 'contracts' | 'identityUpdate'>,
  destination: Destination,
  log: Logger,
  overrides: Partial<UpdateOptions> = {},
): Promise<UpdateOutcome> {
  const hook = destination.identity;
  if (hook === undefined)
    throw new LoaderError('SLUICE_ERR_CONFIG_INVALID', 'the destination keeps no identity graph');
  const rules = config.contracts.identity ?? DEFAULT_IDENTITY_RULES;
  const holder = overrides.holder ?? randomUUID();
  const started = Date.now();
  await destination.open();
  try {
    const outcome = await updateIdentity(hook.store(), rules, {
      holder,
      now: Date.now,
      leaseMs: config.identityUpdate.leaseMs,
      overlapMs: config.identityUpdate.overlapMs,
      ...overrides,
    });
    log.info({ holder, ...outcome, durationMs: Date.now() - started }, 'identity updated');
    return outcome;
  } catch (error) {
    const code = error instanceof LoaderError ? error.code : 'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE';
    log.error({ holder, code, err: error }, 'identity update failed');
    throw error;
  } finally {
    await destination.close();
  }
}
