// `npm run cost -- --mtu 100000 --events-per-user 15 [--retention-days 365] [--window 600]
//   [--users-upsert hourly|daily|per-file] [--results bench/results.json]`: a monthly estimate by line item from
// figures measured in this repository (bench/results.json from `npm run bench`; any figure missing there is
// measured now by running the suite that makes it, in --quick mode) and the list prices of prices.json.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Figure, readResults, type SuiteOptions, type SuiteResult } from '../report.ts';
import { BUDGETS, estimate, type Measured, NEEDED, type Params, type Prices } from './model.ts';
import PRICES from './prices.json' with { type: 'json' };

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const SUITE_OF: Record<string, string> = {
  traffic: '../traffic.ts',
  collector: '../collector-report.ts',
  loader: '../loader.ts',
  bigquery: '../bigquery-billing.ts',
};

export function parseCostArgs(argv: readonly string[]): Params & { results: string } {
  const v = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${a}`);
    v.set(a.slice(2), argv[++i] as string);
  }
  const known = ['mtu', 'events-per-user', 'retention-days', 'window', 'users-upsert', 'results'];
  for (const k of v.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}`);
  const n = (k: string, d?: number): number => {
    const raw = v.get(k);
    if (raw === undefined && d !== undefined) return d;
    const x = Number(raw);
    if (raw === undefined || !Number.isFinite(x) || x <= 0)
      throw new Error(`--${k} must be a positive number`);
    return x;
  };
  const upsert = v.get('users-upsert') ?? 'hourly';
  if (upsert !== 'hourly' && upsert !== 'daily' && upsert !== 'per-file') {
    throw new Error('--users-upsert must be hourly, daily or per-file');
  }
  return {
    mtu: n('mtu'),
    eventsPerUser: n('events-per-user'),
    retentionDays: n('retention-days', 365),
    windowSeconds: n('window', 600),
    usersUpsert: upsert,
    results: resolve(v.get('results') ?? resolve(REPO, 'bench', 'results.json')),
  };
}

/** The measured inputs: from the results file, and any missing figure measured now. */
export async function measuredInputs(file: string, log: (s: string) => void): Promise<Measured> {
  let figures: Figure[] = [];
  if (existsSync(file)) {
    const r = readResults(file);
    figures = r.figures;
    log(`measured figures: ${file} (commit ${r.commit}, ${r.startedAt}${r.quick ? ', --quick' : ''})`);
  } else log(`no ${file}: measuring on the fly (--quick)`);
  const byId = () => new Map(figures.map((f) => [f.id, f.value]));
  const missingSuites = new Set<string>();
  const have = byId();
  if (have.has('collector.track.p50MsAlone')) have.set('collector.track.latencyMsAlone', 0);
  for (const id of NEEDED) if (!have.has(id)) missingSuites.add(id.split('.')[0] as string);
  if (![...byId().keys()].some((k) => k.startsWith('bigquery.usersRefresh.'))) missingSuites.add('bigquery');
  for (const s of missingSuites) {
    log(`measuring ${s} now (--quick)`);
    const mod = (await import(new URL(SUITE_OF[s] as string, import.meta.url).href)) as {
      run: (o: SuiteOptions) => Promise<SuiteResult>;
    };
    const result = await mod.run({ quick: true });
    figures = [...figures.filter((f) => !result.figures.some((g) => g.id === f.id)), ...result.figures];
  }
  const map = byId();
  // Results written before the figure was a mean (autocannon's whole-millisecond p50) name it p50MsAlone.
  const oldLatency = map.get('collector.track.p50MsAlone');
  if (!map.has('collector.track.latencyMsAlone') && oldLatency !== undefined) {
    map.set('collector.track.latencyMsAlone', oldLatency);
  }
  const out: Partial<Measured> = { usersRefreshMb: new Map() };
  for (const id of NEEDED) {
    const value = map.get(id);
    if (value === undefined || !Number.isFinite(value)) throw new Error(`figure ${id} could not be measured`);
    out[id] = value;
  }
  for (const [id, value] of map) {
    const m = /^bigquery\.usersRefresh\.bytesBilled\.(\d+)$/.exec(id);
    if (m) out.usersRefreshMb?.set(Number(m[1]), value);
  }
  return out as Measured;
}

const usd = (n: number): string => `$${n < 10 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US')}`;

export function formatEstimate(m: Measured, p: Params, prices: Prices = PRICES): string {
  const e = estimate(m, p, prices);
  const out: string[] = [];
  out.push(
    `monthly estimate: ${p.mtu.toLocaleString('en-US')} MTU x ${p.eventsPerUser} events = ${e.facts.events.toLocaleString('en-US')} events, ` +
      `${p.windowSeconds} s windows, users upkeep ${p.usersUpsert}, ${p.retentionDays} days retention (storage at steady state)`,
  );
  out.push(
    `list prices read ${prices.read} (test/bench/cost/prices.json); assumptions dated ${prices.assumptions.read}`,
  );
  const w = Math.max(...e.lines.map((l) => l.item.length));
  out.push(`${'line item'.padEnd(w)} | ${'list'.padStart(8)} | ${'after free tiers'.padStart(16)} | detail`);
  for (const l of e.lines)
    out.push(
      `${l.item.padEnd(w)} | ${usd(l.usd).padStart(8)} | ${usd(l.usdAfterFree).padStart(16)} | ${l.detail}`,
    );
  out.push(`${'total'.padEnd(w)} | ${usd(e.total).padStart(8)} | ${usd(e.totalAfterFree).padStart(16)} |`);
  out.push('');
  out.push('against the budgets of issue 18 (list prices, no free tiers):');
  const groups = Object.keys(BUDGETS) as (keyof typeof BUDGETS)[];
  const sums = groups.map(
    (g) => [g, e.lines.filter((l) => l.group === g).reduce((s, l) => s + l.usd, 0)] as const,
  );
  for (const [g, s] of sums)
    out.push(
      `  ${g.padEnd(10)} ${usd(s).padStart(8)}  budget ${usd(BUDGETS[g])}  ${s <= BUDGETS[g] ? 'within' : 'OVER'}`,
    );
  const top = [...sums].sort((a, b) => b[1] - a[1])[0];
  out.push(
    `  total ${usd(e.total)} (goal < $2.00: ${e.total < 2 ? 'met' : 'missed'}); the largest line: ${top?.[0]}`,
  );
  out.push('');
  out.push(
    `collector if clients send one request per event (Segment's analytics.js): ${usd(e.collectorOnePerEvent.usd)} (${e.collectorOnePerEvent.detail})`,
  );
  out.push('');
  out.push('other designs at the same list prices:');
  for (const a of e.alternatives)
    out.push(`  ${a.name}: ${usd(a.usd)}\n    ${a.detail}\n    lacks: ${a.lacks}`);
  out.push(
    `  Segment (Team plan, ${prices.prices.segmentTeamBase.source}, read ${prices.read}): ${usd(e.segment.low)}-${usd(e.segment.high)} a month`,
  );
  out.push('');
  out.push('assumptions (not measured here; replace them with live figures when you have them):');
  for (const [k, a] of Object.entries(prices.assumptions)) {
    if (typeof a === 'object' && a !== null && 'value' in a) out.push(`  ${k} = ${a.value}: ${a.what}`);
  }
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    const params = parseCostArgs(process.argv.slice(2));
    const measured = await measuredInputs(params.results, (s) => console.log(s));
    console.log(formatEstimate(measured, params));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
