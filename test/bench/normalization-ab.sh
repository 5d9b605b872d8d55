#!/usr/bin/env bash
# Normalization on one core, two trees side by side (issue 17's before/after figure):
#   test/bench/normalization-ab.sh <before-tree> <after-tree> [rounds=3]
# Builds each tree's loader bench (test/bench/loader.ts) into an esbuild bundle inside that tree (its own
# node_modules resolve the externals), then runs `node --single-threaded <bundle> --norm-child 100000 7` for
# before and after alternately, `rounds` times. Each line: best and median of the 7 passes (events/s), JSON.parse
# of the same lines in the same run, the ratio, and the load average when the run started (a shared machine moves
# every figure; the ratio moves least).
set -euo pipefail
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
rounds=${3:-3}
build() {
  (cd "$1" && node -e "
    require('esbuild').buildSync({
      entryPoints: ['test/bench/loader.ts'], bundle: true, platform: 'node', target: 'node20', format: 'esm',
      outfile: 'node_modules/.cache/sluice-bench/normalization-ab.js', external: ['@duckdb/node-api', '@google-cloud/*'],
      banner: { js: \"import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);\" },
      logLevel: 'error',
    })")
}
build "$before"
build "$after"
for round in $(seq 1 "$rounds"); do
  for side in before after; do
    tree=$before
    [ "$side" = after ] && tree=$after
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    node --single-threaded "$tree/node_modules/.cache/sluice-bench/normalization-ab.js" --norm-child 100000 7 | tail -1 |
      node -e '
        let s = "";
        process.stdin.on("data", (d) => (s += d)).on("end", () => {
          const j = JSON.parse(s);
          const [round, side, load] = process.argv.slice(1);
          console.log(`round ${round} ${side.padEnd(6)} best ${Math.round(j.eventsPerS)} median ${Math.round(j.eventsPerSMedian)} | JSON.parse best ${Math.round(j.parsePerS)} | ratio ${(j.eventsPerS / j.parsePerS).toFixed(3)} | load ${load}`);
        });' "$round" "$side" "$load"
  done
done
