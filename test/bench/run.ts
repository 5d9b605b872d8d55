// `npm run bench [-- suite...]`: runs each benchmark suite in turn; every suite prints its figures beside a
// baseline measured in the same run. Suites: loader, collector, sdk-size, bigquery-billing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SUITES = ['sdk-size', 'loader', 'collector', 'bigquery-billing'] as const;
type Suite = (typeof SUITES)[number];

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = requested.filter((s) => !(SUITES as readonly string[]).includes(s));
if (unknown.length > 0) {
  console.error(`unknown bench suite(s): ${unknown.join(', ')}; known: ${SUITES.join(', ')}`);
  process.exit(2);
}
const suites = (requested.length > 0 ? requested : SUITES) as Suite[];

let failed = false;
for (const suite of suites) {
  const file = fileURLToPath(new URL(`./${suite}.ts`, import.meta.url));
  if (!existsSync(file)) {
    console.error(`bench suite ${suite}: ${file} is missing`);
    failed = true;
    continue;
  }
  console.log(`\n=== bench: ${suite} ===`);
  const mod = (await import(file)) as { run: () => Promise<boolean | undefined> };
  const ok = await mod.run();
  if (ok === false) failed = true;
}
process.exit(failed ? 1 : 0);
