// The split of a loader child's wall time (`npm run bench -- loader`), from the DuckDB destination's profiler.

/**
 * The split of a load's wall time: reading and normalizing (what is left), stage writes, and each SQL statement
 * (by its first words), largest first.
 */
export function printProfile(
  label: string,
  seconds: number,
  profile: [string, { ms: number; n: number }][],
): void {
  const totalMs = seconds * 1000;
  const accounted = profile.reduce((sum, [, p]) => sum + p.ms, 0);
  const rows: [string, number, number][] = [
    ['read + normalize (the rest)', totalMs - accounted, 1],
    ...profile.map(([step, p]): [string, number, number] => [step, p.ms, p.n]),
  ];
  rows.sort((a, b) => b[1] - a[1]);
  console.log(`  where the time of the load of ${label} went (${seconds.toFixed(1)} s):`);
  for (const [step, ms, n] of rows.slice(0, 14)) {
    if (ms < totalMs * 0.005) continue;
    console.log(
      `    ${(ms / 1000).toFixed(2).padStart(7)} s ${((100 * ms) / totalMs).toFixed(0).padStart(3)}%  ${n > 1 ? `${n}x ` : ''}${step}`,
    );
  }
}
