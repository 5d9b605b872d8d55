// Child process for the update crash test: runs the scheduled identity update on `<db>` and SIGKILLs itself after
// step `<point>` (the lease held, the watermark not advanced). No close, no cleanup.

import { duckdbDestination } from '../../src/destinations/duckdb/duckdb-destination.ts';
import { updateIdentity } from '../../src/identity/update.ts';
import { DEFAULT_IDENTITY_RULES } from '../../src/schema/identity-rules.ts';

const [db, point] = process.argv.slice(2) as [string, string];
const destination = duckdbDestination({ path: db, lockTimeoutMs: 5000 });
await destination.open();
const store = (destination.identity as NonNullable<typeof destination.identity>).store();
await updateIdentity(store, DEFAULT_IDENTITY_RULES, {
  holder: 'child',
  now: Date.now,
  leaseMs: 60_000,
  overlapMs: 3_600_000,
  step: async (s) => {
    if (s === point) process.kill(process.pid, 'SIGKILL');
  },
});
process.stderr.write(`the update finished without reaching ${point}\n`);
