import type { DuckDBConnection } from '@duckdb/node-api';

/** Where a load's time went: `step` is a label (`stage write`, or a statement's first words), `ms` its duration. */
export type LoadProfiler = (step: string, ms: number) => void;

/** A statement's label: its first words, without the table names and values that vary per load. */
export function statementLabel(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/'[^']*'/g, "'…'")
    .replace(/"[^"]*"/g, '"…"')
    .trim()
    .slice(0, 72);
}

/**
 * `connection` whose `run` and `runAndReadAll` report each statement's time to `profiler` (the bench's split of a
 * commit). Without a profiler, `connection` itself.
 */
export function profiledConnection(connection: DuckDBConnection, profiler?: LoadProfiler): DuckDBConnection {
  if (profiler === undefined) return connection;
  const time = async <T>(sql: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      profiler(statementLabel(sql), performance.now() - started);
    }
  };
  return new Proxy(connection, {
    get(target, prop, receiver) {
      if (prop === 'run' || prop === 'runAndReadAll') {
        const method = Reflect.get(target, prop, target) as (
          sql: string,
          ...rest: unknown[]
        ) => Promise<unknown>;
        return (sql: string, ...rest: unknown[]) => time(sql, () => method.call(target, sql, ...rest));
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
