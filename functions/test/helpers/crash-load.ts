// Child process for the crash test: loads `<bucketsDir>/<bucket>/<name>` into `<db>` and SIGKILLs itself after
// `k` rows were staged — no abort, no close, exactly like a process dying mid-load.

import type { LoadSession, StagedRow } from '../../src/destinations/destination.ts';
import { duckdbDestination } from '../../src/destinations/duckdb/duckdb-destination.ts';
import { loadObject } from '../../src/load/load-object.ts';
import { createLogger } from '../../src/logger.ts';
import { localDirectoryStore } from '../../src/storage/local-directory.ts';
import { DEFAULT_SETTINGS } from './warehouse.ts';

const [db, bucketsDir, bucket, name, kArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const k = Number(kArg);
const inner = duckdbDestination({ path: db, lockTimeoutMs: 5000 });
let staged = 0;
const destination = {
  ...inner,
  capabilities: inner.capabilities,
  open: () => inner.open(),
  close: () => inner.close(),
  findLoad: (key: string) => inner.findLoad(key),
  readSchema: () => inner.readSchema(),
  async beginLoad(meta: Parameters<typeof inner.beginLoad>[0]): Promise<LoadSession> {
    const session = await inner.beginLoad(meta);
    return {
      ...session,
      async appendRows(table: string, rows: readonly StagedRow[]) {
        await session.appendRows(table, rows);
        staged += rows.length;
        if (staged >= k) process.kill(process.pid, 'SIGKILL');
      },
    };
  },
};
await loadObject(
  {
    store: localDirectoryStore(bucketsDir),
    destination,
    settings: { ...DEFAULT_SETTINGS, batchEvents: 10 },
    logger: createLogger('silent'),
  },
  { bucket, name, generation: '1' },
);
