import type { CollectorConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { PubSubTransport } from './pubsub.ts';
import { SpoolTransport } from './spool.ts';
import type { Transport } from './transport.ts';

/** The transport selected by `SLUICE_TRANSPORT`. */
export async function createTransport(config: CollectorConfig, logger: Logger): Promise<Transport> {
  switch (config.transport) {
    case 'pubsub':
      return new PubSubTransport(config.pubsub, { publishTimeoutMs: config.publishTimeoutMs });
    case 'spool':
      return SpoolTransport.open({ ...config.spool, logger });
    default: {
      const never: never = config.transport;
      throw new Error(`unknown transport ${String(never)}`);
    }
  }
}
