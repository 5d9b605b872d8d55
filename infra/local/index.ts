/** The local topology's public entry point (`@sluice/infra/local`) for the end-to-end tests; the CLIs import modules. */
export { groupAlive } from './child-process.ts';
export { type LocalConfig, type LocalTransport, loadConfig } from './config.ts';
export { isLocalError, LOCAL_ERRORS, LocalError, type LocalErrorCode } from './errors.ts';
export { freePort } from './free-port.ts';
export { sendEvents } from './send-events.ts';
export { type LocalStack, type StackOptions, type StackProcess, startStack } from './stack.ts';
export { expectedCounts, syntheticEvents } from './synthetic-events.ts';
export { pollUntil, waitFor } from './wait-for.ts';
export { countRowsByIdPrefix } from './warehouse-counts.ts';
export { type Cell, type QueryResult, queryWarehouse } from './warehouse-query.ts';
