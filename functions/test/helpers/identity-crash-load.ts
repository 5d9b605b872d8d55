// Child process for the identity crash test: loads `<bucketsDir>/<bucket>/<name>` into `<db>` and SIGKILLs itself
// in the identity upkeep that follows the file's commit: `after_commit` (the upkeep has not started) or
// `mid_write` (inside the map's write transaction: rows deleted and inserted, not committed). No close, no cleanup.

import { duckdbDestination } from '../../src/destinations/duckdb/duckdb-destination.ts';
import type { IdentityResult } from '../../src/identity/compute.ts';
import type { IdentityStore } from '../../src/identity/upkeep.ts';
import { loadObject } from '../../src/load/load-object.ts';
import { createLogger } from '../../src/logger.ts';
import { localDirectoryStore } from '../../src/storage/local-directory.ts';
import { DEFAULT_SETTINGS } from './warehouse.ts';

const [db, bucketsDir, bucket, name, point] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const inner = duckdbDestination({ path: db, lockTimeoutMs: 5000 });
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};
const destination = {
  ...inner,
  identity: {
    schedule: 'per_file' as const,
    store(): IdentityStore {
      const store = (inner.identity as NonNullable<typeof inner.identity>).store();
      return {
        ...store,
        seedPages(slice, size) {
          if (point === 'after_commit') die();
          return store.seedPages(slice, size);
        },
        async replaceComponents(components, ids, result: IdentityResult) {
          const dying: IdentityResult = {
            map: result.map,
            get merges() {
              return point === 'mid_write' ? die() : result.merges;
            },
          };
          return store.replaceComponents(components, ids, dying);
        },
      };
    },
  },
};
await loadObject(
  {
    store: localDirectoryStore(bucketsDir),
    destination,
    settings: DEFAULT_SETTINGS,
    logger: createLogger('silent'),
  },
  { bucket, name, generation: '1' },
);
