// Browser entry of @sluice/sdk. Imports only TYPES from the protocol, so TypeBox never lands in a page bundle.
export { type BrowserAnalytics, type BrowserOptions, createAnalytics } from './browser/analytics.ts';
export type { User } from './browser/identity.ts';
export { install } from './browser/install.ts';
export { SNIPPET_TEMPLATE, snippet } from './browser/snippet.ts';
export type { Api, CallOptions, Dict, Logger, Plugin } from './core/types.ts';
export { SDK_ERRORS } from './errors.ts';
export type { SluiceEvent } from './protocol/messages.ts';
export { VERSION } from './version.ts';
