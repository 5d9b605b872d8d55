export { type AppDeps, buildApp, type CollectorApp } from './app.ts';
export { type Clock, systemClock } from './clock.ts';
export {
  type CollectorConfig,
  ConfigError,
  loadConfig,
  type RateLimit,
  type TransportKind,
} from './config.ts';
export { CollectorError, ERRORS, type ErrorCode, type RejectedEvent } from './errors.ts';
export { anonymizeIp } from './ip.ts';
export {
  createRandom,
  type GeneratedEvent,
  type GenerateOptions,
  generateEvents,
} from './loadgen/generate.ts';
export { type LoadOptions, type LoadReport, runLoad } from './loadgen/run.ts';
export { createLogger, type Logger } from './logger.ts';
export { createTransport } from './transports/create.ts';
export { InMemoryTransport } from './transports/in-memory.ts';
export { PubSubTransport } from './transports/pubsub.ts';
export { type SpoolOptions, SpoolTransport } from './transports/spool.ts';
export type { OutboundMessage, Transport } from './transports/transport.ts';
