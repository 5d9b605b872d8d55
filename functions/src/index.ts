import { type CloudEvent, cloudEvent, http } from '@google-cloud/functions-framework';
import { loadConfig } from './config.ts';
import { createDestinationFactory } from './destinations/create-destination.ts';
import { createLoadHandler } from './handler.ts';
import { runIdentityUpdate } from './identity/run-update.ts';
import { createLogger } from './logger.ts';
import { createSuppressionSource } from './privacy/create-suppression-source.ts';
import { createObjectStore } from './storage/create-object-store.ts';

export { type LoaderConfig, loadConfig } from './config.ts';
export type {
  Destination,
  DestinationCapabilities,
  LoadRecord,
  LoadSession,
} from './destinations/destination.ts';
export { createLoadHandler } from './handler.ts';
export { type LoadOutcome, loadObject } from './load/load-object.ts';
export type { ObjectStore } from './storage/object-store.ts';

/**
 * Registers `loadEvents` (signature type `cloudevent`). Config is read once, at the first invocation, so that
 * importing this module has no side effects beyond the registration functions-framework needs.
 */
let handler: ReturnType<typeof createLoadHandler> | undefined;

cloudEvent('loadEvents', async (event: CloudEvent<unknown>) => {
  if (!handler) {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const store = await createObjectStore(config);
    handler = createLoadHandler({
      config,
      logger,
      store,
      destination: createDestinationFactory(config),
      suppression: await createSuppressionSource(config),
    });
  }
  await handler(event);
});

/**
 * Registers `updateIdentity` (signature type `http`): the scheduled identity update (Cloud Scheduler calls it,
 * hourly by default, with an OIDC token; the function accepts only authenticated calls). 200 with the outcome
 * (`updated`, or `busy` when another run holds the lease); 500 on a failure, which the scheduler's retry config
 * and the next run repair (every step is idempotent). Same package as the loader, its own function and account.
 */
http('updateIdentity', async (_req, res) => {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  try {
    const outcome = await runIdentityUpdate(config, await createDestinationFactory(config)(), logger);
    res.status(200).json(outcome);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    res
      .status(500)
      .json({ error: typeof code === 'string' ? code : 'SLUICE_ERR_LOAD_DESTINATION_UNAVAILABLE' });
  }
});
