/** The local topology's public entry point (`@sluice/infra/local`): used by the CLIs and the end-to-end tests. */
export { groupAlive } from './child-process.ts';
export { type LocalConfig, type LocalTransport, loadConfig, REPO_ROOT } from './config.ts';
export { isLocalError, LOCAL_ERRORS, LocalError, type LocalErrorCode } from './errors.ts';
export { sendEvents } from './send-events.ts';
export { type LocalStack, type StackOptions, type StackProcess, startStack } from './stack.ts';
export { expectedCounts, SYNTHETIC_TRACK_EVENTS, syntheticEvents, TABLE_OF } from './synthetic-events.ts';
export { pollUntil } from './wait-for.ts';
export { countRowsByIdPrefix } from './warehouse-counts.ts';
export { type Cell, formatTable, type QueryResult, queryWarehouse } from './warehouse-query.ts';
