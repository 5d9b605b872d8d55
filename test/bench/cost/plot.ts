// `npx tsx test/bench/cost/plot.ts [results.json] [out.svg]`: how the monthly cost grows, drawn from the measured
// figures of a bench results file through the same model as `npm run cost` (default: bench/results.json ->
// docs/performance-cost.svg). Left: cost by line group against events per user at 100k MTU; right: against the
// window length.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measuredInputs } from './cli.ts';
import { estimate, type Line, type Measured, type Params } from './model.ts';

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const GROUPS: Line['group'][] = ['pubsub', 'collector', 'loader', 'bigquery', 'storage'];
const COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#333333'];

function panel(
  m: Measured,
  x0: number,
  title: string,
  xs: number[],
  xLabel: string,
  params: (x: number) => Params,
): string {
  const W = 420;
  const H = 260;
  const series = [...GROUPS, 'total'].map((g) =>
    xs.map((x) => {
      const e = estimate(m, params(x));
      return g === 'total' ? e.total : e.lines.filter((l) => l.group === g).reduce((s, l) => s + l.usd, 0);
    }),
  );
  const yMax = Math.max(...series.flat()) * 1.1;
  const px = (i: number) => x0 + 50 + (i / (xs.length - 1)) * (W - 70);
  const py = (v: number) => 30 + (1 - v / yMax) * (H - 70);
  const parts = [
    `<text x="${x0 + 50}" y="18" font-size="13">${title}</text>`,
    `<line x1="${x0 + 50}" y1="${py(0)}" x2="${x0 + W - 20}" y2="${py(0)}" stroke="#999"/>`,
    `<line x1="${x0 + 50}" y1="30" x2="${x0 + 50}" y2="${py(0)}" stroke="#999"/>`,
    `<text x="${x0 + W / 2}" y="${H - 8}" font-size="11" text-anchor="middle">${xLabel}</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (yMax * t) / 4;
    parts.push(
      `<text x="${x0 + 45}" y="${py(v) + 4}" font-size="10" text-anchor="end">$${v.toFixed(v < 10 ? 1 : 0)}</text>`,
    );
  }
  xs.forEach((x, i) => {
    parts.push(`<text x="${px(i)}" y="${py(0) + 14}" font-size="10" text-anchor="middle">${x}</text>`);
  });
  series.forEach((ys, s) => {
    const d = ys.map((y, i) => `${i === 0 ? 'M' : 'L'}${px(i).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${COLORS[s]}" stroke-width="${s === GROUPS.length ? 2.5 : 1.5}"/>`,
    );
  });
  return parts.join('\n');
}

const results = resolve(process.argv[2] ?? resolve(REPO, 'bench', 'results.json'));
const out = resolve(process.argv[3] ?? resolve(REPO, 'docs', 'performance-cost.svg'));
const m = await measuredInputs(results, (s) => console.log(s));
const base: Params = {
  mtu: 100_000,
  eventsPerUser: 15,
  retentionDays: 365,
  windowSeconds: 600,
  usersUpsert: 'hourly',
};
const legend = [...GROUPS, 'total']
  .map((g, i) => `<text x="${60 + i * 120}" y="292" font-size="11" fill="${COLORS[i]}">■ ${g}</text>`)
  .join('\n');
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="860" height="300" font-family="sans-serif" role="img">
<title>Sluice monthly cost by line group (npm run cost model, measured figures of ${results.split('/').at(-1)})</title>
<rect width="860" height="300" fill="white"/>
${panel(m, 0, 'USD / month at 100k MTU vs events per user', [5, 15, 30, 60, 120, 200], 'events per user per month', (x) => ({ ...base, eventsPerUser: x }))}
${panel(m, 430, 'USD / month at 100k MTU x 15 vs window length', [60, 300, 600, 1200, 1800, 3600], 'window seconds', (x) => ({ ...base, windowSeconds: x }))}
${legend}
</svg>
`;
writeFileSync(out, svg);
console.log(`written ${out}`);
