// The DuckDB loader's fixed cost per file (`npm run bench -- loader`): loads of 100-line files, each alone (the
// instance opened and closed per file) and queued together in one process (one instance handed from load to load,
// its schema cache kept; docs/warehouse-schema.md). Runs in the loader child bundle (see loader.ts).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../functions/src/config.ts';
import { createDestinationFactory } from '../../functions/src/destinations/create-destination.ts';
import { loadObject } from '../../functions/src/load/load-object.ts';
import { createLogger } from '../../functions/src/logger.ts';
import { localDirectoryStore } from '../../functions/src/storage/local-directory.ts';
import { type Figure, figure } from './report.ts';

const BUCKET = 'bench';

/** Lines per small file, and files per measure. */
export const SMALL_FILE_LINES = 100;
export const SMALL_FILES = 12;

/** The object name of small file `i` (distinct names, one window each). */
export function smallFileName(i: number): string {
  const n = String(i).padStart(12, '0');
  return `raw/2026-01-01/00_${String(Math.floor(i / 60) % 60).padStart(2, '0')}_${String(i % 60).padStart(2, '0')}+00:00_00000000-0000-0000-0000-${n}.ndjson`;
}

export interface SmallFileFigures {
  /** Mean wall time per file, loaded one after another (nothing queued: the instance is closed after each). */
  aloneS: number[];
  /** Wall time per file of `files` loads started at once in one process (queued: the instance is reused). */
  queuedS: number;
  loaded: number;
}

/** Child entry: loads files 0..files-1 one at a time, then files..2*files-1 all at once; prints one JSON line. */
export async function childSmallFiles(dbPath: string, bucketsDir: string, files: number): Promise<void> {
  const config = loadConfig({ SLUICE_DUCKDB_PATH: dbPath, SLUICE_BUCKETS_DIR: bucketsDir });
  const factory = createDestinationFactory(config);
  const store = localDirectoryStore(bucketsDir);
  const logger = createLogger('silent');
  const load = async (i: number) =>
    loadObject(
      { store, destination: await factory(), settings: config, logger },
      { bucket: BUCKET, name: smallFileName(i), generation: '1' },
    );
  let loaded = 0;
  const aloneS: number[] = [];
  for (let i = 0; i < files; i++) {
    const t = process.hrtime.bigint();
    if ((await load(i)).status === 'loaded') loaded++;
    aloneS.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const t = process.hrtime.bigint();
  const outcomes = await Promise.all(Array.from({ length: files }, (_, k) => load(files + k)));
  const queuedS = Number(process.hrtime.bigint() - t) / 1e9 / files;
  loaded += outcomes.filter((o) => o.status === 'loaded').length;
  const figures: SmallFileFigures = { aloneS, queuedS, loaded };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

/**
 * The small-file figures: 2 x `SMALL_FILES` files of `SMALL_FILE_LINES` typical events, loaded by the child bundle
 * with the loader's process settings. Undefined when the child failed or did not load every file.
 */
export async function smallFileFigures(options: {
  bundle: string;
  files: number;
  event: (i: number) => string;
  nodeOptions: string[];
  env: Readonly<Record<string, string>>;
}): Promise<Figure[] | undefined> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-bench-small-'));
  try {
    const bucketsDir = path.join(dir, 'buckets');
    for (let i = 0; i < 2 * options.files; i++) {
      const file = path.join(bucketsDir, BUCKET, smallFileName(i));
      await mkdir(path.dirname(file), { recursive: true });
      let text = '';
      for (let k = 0; k < SMALL_FILE_LINES; k++) text += `${options.event(i * SMALL_FILE_LINES + k)}\n`;
      await writeFile(file, text);
    }
    const child = spawnSync(
      process.execPath,
      [
        ...options.nodeOptions,
        options.bundle,
        '--small-files-child',
        path.join(dir, 'w.duckdb'),
        bucketsDir,
        String(options.files),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...options.env } },
    );
    if (child.status !== 0) {
      console.log(`small files: FAILED (${child.status}) ${child.stderr.slice(0, 2000)}`);
      return undefined;
    }
    const r = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as SmallFileFigures;
    if (r.loaded !== 2 * options.files) {
      console.log(`small files: expected ${2 * options.files} loaded, got ${r.loaded}`);
      return undefined;
    }
    // The first file alone also creates the tables: the steady cost is the files after it.
    const alone = r.aloneS.slice(1);
    const mean = alone.reduce((s, v) => s + v, 0) / Math.max(1, alone.length);
    console.log(
      `DuckDB load of a ${SMALL_FILE_LINES}-line file: ${(mean * 1000).toFixed(0)} ms alone (mean of ${alone.length}, ` +
        `instance opened per file) | ${(r.queuedS * 1000).toFixed(0)} ms per file with ${options.files} queued at once ` +
        '(one instance handed from load to load)',
    );
    return [
      figure({
        id: 'loader.file100.aloneSeconds',
        label: `DuckDB load of one ${SMALL_FILE_LINES}-line file, nothing queued`,
        unit: 's',
        rounds: alone,
      }),
      figure({
        id: 'loader.file100.queuedSeconds',
        label: `DuckDB load of a ${SMALL_FILE_LINES}-line file, ${options.files} queued in one process (per file)`,
        unit: 's',
        rounds: [r.queuedS],
        baseline: { label: 'the same file, nothing queued (mean)', value: mean },
      }),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
