// Node entry of @sluice/sdk (`@sluice/sdk/node`).
export type { Api, CallOptions, Dict, Logger, Plugin } from './core/types.ts';
export { ERR_CONFIG, SDK_ERRORS, SdkConfigError } from './errors.ts';
export { createNodeAnalytics, type NodeAnalytics, type NodeOptions } from './node/analytics.ts';
export { type HttpTransportOptions, httpTransport } from './node/http-transport.ts';
export { type PubSubTransportOptions, pubsubTransport } from './node/pubsub-transport.ts';
export type { Transport } from './node/transport.ts';
export type { SluiceEvent } from './protocol/messages.ts';
export { VERSION } from './version.ts';
