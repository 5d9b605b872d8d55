// `npm run bench -- sdk-size`: our script-tag SDK against Segment's, RudderStack's and Jitsu's browser SDKs,
// each bundled, minified (esbuild) and gzipped the same way in the same run. Fails when ours is over budget.
// Returns one figure for ours (budget) and one per incumbent (ours beside theirs).
// One IIFE per SDK with every dynamic import inlined (what a page eventually downloads for the same features).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type Figure, figure, type SuiteOptions, type SuiteResult } from './report.ts';

const BUDGET = 5 * 1024;
const sdkDir = fileURLToPath(new URL('../../sdk/', import.meta.url));

interface Entry {
  /** Figure id suffix. */
  id: string;
  name: string;
  /** Module source for the entry (imports resolved from sdk/, where the incumbents are devDependencies). */
  code: string;
  /** The package says `sideEffects: false`; its standalone entry is nothing but side effects. */
  keepSideEffects?: boolean;
}

const ENTRIES: Entry[] = [
  { id: 'sluice', name: 'sluice (sdk/src/browser/iife.ts)', code: `import './src/browser/iife.ts';` },
  {
    id: 'segment-standalone',
    name: 'segment @segment/analytics-next (standalone)',
    code: `import '@segment/analytics-next/dist/pkg/browser/standalone.js';`,
    keepSideEffects: true,
  },
  {
    id: 'segment-npm',
    name: 'segment @segment/analytics-next (AnalyticsBrowser)',
    code: `import { AnalyticsBrowser } from '@segment/analytics-next'; window.AnalyticsBrowser = AnalyticsBrowser;`,
  },
  {
    id: 'rudderstack',
    name: 'rudderstack @rudderstack/analytics-js',
    code: `import { RudderAnalytics } from '@rudderstack/analytics-js'; window.RudderAnalytics = RudderAnalytics;`,
  },
  {
    id: 'jitsu',
    name: 'jitsu @jitsu/js',
    code: `import { jitsuAnalytics } from '@jitsu/js'; window.jitsuAnalytics = jitsuAnalytics;`,
  },
];

async function measure(e: Entry, dir: string, i: number): Promise<{ min: number; gz: number } | string> {
  const entry = join(sdkDir, `.size-entry-${process.pid}-${i}.ts`);
  writeFileSync(entry, e.code);
  try {
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2019',
      write: false,
      outdir: dir,
      logLevel: 'silent',
      legalComments: 'none',
      ignoreAnnotations: e.keepSideEffects === true,
      define: { 'process.env.NODE_ENV': '"production"' },
    });
    const js = out.outputFiles.filter((f) => f.path.endsWith('.js'));
    const all = Buffer.concat(js.map((f) => Buffer.from(f.contents)));
    return { min: all.length, gz: gzipSync(all, { level: 9 }).length };
  } catch (err) {
    return `failed: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(entry, { force: true });
  }
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-size-'));
  const rows: { id: string; name: string; min: number; gz: number }[] = [];
  let failed = false;
  try {
    // Byte counts are not timings: --quick measures the same bundles, only fewer of them.
    const entries = options.quick ? ENTRIES.slice(0, 2) : ENTRIES;
    for (const [i, e] of entries.entries()) {
      const r = await measure(e, dir, i);
      if (typeof r === 'string') {
        console.log(`${e.name}: ${r}`);
        failed = true;
      } else rows.push({ id: e.id, name: e.name, ...r });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ours = rows.find((r) => r.id === 'sluice');
  if (!ours) {
    console.log('could not bundle our SDK');
    return { ok: false, figures: [] };
  }
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `${'bundle'.padEnd(55)} ${'min'.padStart(9)} ${'min+gzip'.padStart(9)} ${'vs ours'.padStart(8)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(55)} ${kb(r.min).padStart(9)} ${kb(r.gz).padStart(9)} ${`${(r.gz / ours.gz).toFixed(1)}x`.padStart(8)}`,
    );
  }
  const ok = ours.gz <= BUDGET;
  console.log(`budget: ours ${ours.gz} B min+gzip <= ${BUDGET} B: ${ok ? 'OK' : 'OVER BUDGET'}`);
  const figures: Figure[] = [
    figure({
      id: 'sdk.sluice.gzipBytes',
      label: 'SDK bundle, min+gzip (sluice)',
      unit: 'B',
      rounds: [ours.gz],
      target: { of: 'value', op: '<=', limit: BUDGET },
    }),
    ...rows.slice(1).map((r) =>
      figure({
        id: `sdk.vs.${r.id}`,
        label: `SDK min+gzip, ours vs ${r.name}`,
        unit: 'B',
        rounds: [ours.gz],
        baseline: { label: r.id, value: r.gz },
      }),
    ),
  ];
  return { ok: !failed && (options.quick || ok), figures };
}
