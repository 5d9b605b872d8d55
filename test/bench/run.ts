// `npm run bench [-- suite...] [--quick] [--compare old.json] [--out file]`: runs each benchmark suite in turn,
// prints one table (figure, value, same-run baseline, ratio, target, spread over rounds) and writes
// bench/results.json (gitignored; read by `npm run cost`). `--quick` proves the harness works on tiny inputs
// (one short round, targets not judged; CI runs it). `--compare old.json` prints each figure's change against an
// earlier run. Exit 1 when a suite fails a functional check, or (full mode) misses a target.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Figure,
  formatCompare,
  formatTable,
  gitCommit,
  machine,
  type Results,
  readResults,
  type SuiteOptions,
  type SuiteResult,
} from './report.ts';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Suite name -> module (each exports `run(options): Promise<SuiteResult>`). */
const SUITES = {
  'sdk-size': './sdk-size.ts',
  traffic: './traffic.ts',
  collector: './collector-report.ts',
  loader: './loader.ts',
  'bigquery-billing': './bigquery-billing.ts',
  latency: './latency.ts',
} as const;
type Suite = keyof typeof SUITES;

interface Args {
  suites: Suite[];
  quick: boolean;
  compare: string | undefined;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const known = Object.keys(SUITES);
  const suites: Suite[] = [];
  let quick = false;
  let compare: string | undefined;
  let out = resolve(REPO, 'bench', 'results.json');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--quick') quick = true;
    else if (a === '--compare') compare = argv[++i];
    else if (a === '--out') out = resolve(argv[++i] ?? out);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else if (known.includes(a)) suites.push(a as Suite);
    else throw new Error(`unknown bench suite ${a}; known: ${known.join(', ')}`);
  }
  if (compare !== undefined && compare.trim() === '') throw new Error('--compare needs a results file');
  return { suites: suites.length > 0 ? suites : (known as Suite[]), quick, compare, out };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const old = args.compare ? readResults(args.compare) : undefined;
  const startedAt = new Date().toISOString();
  const m = machine();
  const options: SuiteOptions = { quick: args.quick };
  const figures: Figure[] = [];
  const suites: Results['suites'] = [];
  console.log(
    `bench${args.quick ? ' --quick' : ''}: ${m.cpus} x ${m.cpuModel}, ${m.totalMemGiB} GiB, node ${m.node}, load average ${m.loadAverageAtStart.join(' ')}`,
  );
  for (const name of args.suites) {
    console.log(`\n=== bench: ${name} ===`);
    const t = process.hrtime.bigint();
    try {
      const mod = (await import(new URL(SUITES[name], import.meta.url).href)) as {
        run: (o: SuiteOptions) => Promise<SuiteResult>;
      };
      const result = await mod.run(options);
      figures.push(...result.figures);
      suites.push({ name, ok: result.ok, seconds: Number(process.hrtime.bigint() - t) / 1e9 });
    } catch (error) {
      console.log(`bench suite ${name} failed: ${(error as Error).stack ?? String(error)}`);
      suites.push({
        name,
        ok: false,
        seconds: Number(process.hrtime.bigint() - t) / 1e9,
        error: String(error),
      });
    }
  }
  const results: Results = {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: args.quick,
    commit: gitCommit(REPO),
    machine: { ...m, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    suites,
    figures,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${formatTable(figures, args.quick)}`);
  console.log(
    `\nsuites: ${suites.map((s) => `${s.name} ${s.ok ? 'ok' : 'FAILED'} (${s.seconds.toFixed(0)} s)`).join(', ')}`,
  );
  console.log(`load average at end: ${results.machine.loadAverageAtEnd.join(' ')}; written ${args.out}`);
  if (old) console.log(`\n${formatCompare(old, results)}`);
  return suites.every((s) => s.ok) ? 0 : 1;
}

process.exit(await main());
