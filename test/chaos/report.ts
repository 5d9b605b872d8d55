// `npx tsx test/chaos/report.ts [dir]`: the figures of the last chaos run of this checkout (one JSON file per
// scenario, written by the runner in RESULTS_DIR, or in `dir`) as the markdown table of docs/reliability.md.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULTS_DIR, type ScenarioResult } from './harness/scenario.ts';

const dir = process.argv[2] ?? RESULTS_DIR;
const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
const results = await Promise.all(
  files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as ScenarioResult),
);
const rows = results.map((r) => {
  const f = r.figures;
  const cells = [
    `\`${r.name}\``,
    r.transport,
    r.passed ? 'pass' : '**FAIL**',
    f.acknowledged,
    f.loaded,
    f.duplicatesRemoved,
    f.failed,
    f.quarantined,
    f.lost,
    f.doubled,
    r.drain ? `${r.drain.pendingAtStart} / ${r.drain.seconds} s` : '-',
    r.loader?.secondsPerFile === undefined ? '-' : `${r.loader.files} / ${r.loader.secondsPerFile} s`,
    `${r.seconds} s`,
  ];
  return `| ${cells.join(' | ')} |`;
});
process.stdout.write(
  [
    '| Scenario | Mode | Result | Acknowledged | Loaded | Duplicates removed | Failed | Quarantined | Lost | Doubled | Backlog at stop / drain | Files loaded / s per file | Time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...results.filter((r) => !r.passed).map((r) => `- \`${r.name}\`: ${r.problems.join('; ').slice(0, 600)}`),
    '',
  ].join('\n'),
);
