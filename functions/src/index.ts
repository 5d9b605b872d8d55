import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { loadConfig } from './config.ts';
import { createDestinationFactory } from './destinations/create-destination.ts';
import { createLoadHandler } from './handler.ts';
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
