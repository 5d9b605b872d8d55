import { afterEach, describe, expect, it } from 'vitest';
import { TARGET_STRINGS, windowFiles } from '../../test/helpers/privacy-people.ts';
import {
  type PrivacyPipeline,
  privacyDeleteChild,
  privacyPipeline,
} from '../../test/helpers/privacy-pipeline.ts';
import { TABLES } from '../destinations/destination.ts';
import { ledger } from './ledger.ts';

const cli = privacyDeleteChild;

/** Resolves once a stdout line matches. */
const lineMatching = (run: ReturnType<typeof cli>, re: RegExp): Promise<void> =>
  new Promise((resolve, reject) => {
    const check = (): void => {
      if (run.lines.some((l) => re.test(l))) resolve();
    };
    run.child.on('lines', check);
    run.exited.then(() => reject(new Error(`exited before ${re}: ${run.lines.join('\n')}`)));
    check();
  });

async function rowsMentioningTarget(p: PrivacyPipeline): Promise<string[]> {
  const wh = await p.warehouse();
  try {
    const out: string[] = [];
    for (const table of (await wh.tables()).keys()) {
      if (table === TABLES.eventIds) continue;
      for (const row of await wh.select(`SELECT * FROM ${wh.dialect.table(table)}`)) {
        const text = JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
        if (TARGET_STRINGS.some((s) => text.includes(s))) out.push(`${table}: ${text}`);
      }
    }
    return out;
  } finally {
    await wh.close();
  }
}

async function loaded(name: 'duckdb' | 'bigquery'): Promise<PrivacyPipeline> {
  const p = await privacyPipeline(name);
  for (const [file, content] of Object.entries(windowFiles())) await p.put(file, content);
  for (const file of Object.keys(windowFiles())) await p.load(file);
  return p;
}

async function theRequest(p: PrivacyPipeline) {
  const wh = await p.warehouse();
  try {
    const rows = await ledger(wh).list();
    expect(rows).toHaveLength(1);
    return rows[0]!;
  } finally {
    await wh.close();
  }
}

describe('a delete killed midway (SIGKILL of the CLI) and run again completes exactly', () => {
  let p: PrivacyPipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('BigQuery: killed while its DELETE of order_completed runs (the job finishes server-side), then resumed', {
    timeout: 120_000,
  }, async () => {
    p = await loaded('bigquery');
    const fake = p.fake!;
    fake.bigquery.holdJobs(/^sluice_privacy_.*_delete_order_completed_/);
    const first = cli(p);
    const held = await fake.bigquery.waitForHeld(/^sluice_privacy_.*_delete_order_completed_/);
    first.child.kill('SIGKILL');
    await first.exited;
    const midway = await theRequest(p);
    expect(midway.status).toBe('running');
    expect(midway.ids).not.toBeNull(); // kept in clear only to resume
    // BigQuery finishes a job whose client died; the re-run finds it by its id instead of deleting twice.
    await fake.bigquery.release(held);
    const second = cli(p);
    expect(await second.exited).toBe(0);
    expect(second.lines.some((l) => l.startsWith('resuming request'))).toBe(true);
    const done = await theRequest(p);
    expect(done).toMatchObject({ requestId: midway.requestId, status: 'done', ids: null, filesRewritten: 2 });
    expect(done.rowsRemoved).toEqual(midway.plan?.tables);
    expect(await rowsMentioningTarget(p)).toEqual([]);
    expect((await p.rawLines()).filter((l) => TARGET_STRINGS.some((s) => l.includes(s)))).toEqual([]);
  });

  it('DuckDB: killed after its first erasure, then resumed', { timeout: 120_000 }, async () => {
    p = await loaded('duckdb');
    const first = cli(p);
    await lineMatching(first, /^erased \d+ row\(s\) from /);
    first.child.kill('SIGKILL');
    await first.exited;
    const midway = await theRequest(p);
    expect(midway.status).toBe('running');
    expect((await rowsMentioningTarget(p)).length).toBeGreaterThan(0); // really midway
    const second = cli(p);
    expect(await second.exited).toBe(0);
    const done = await theRequest(p);
    expect(done).toMatchObject({ requestId: midway.requestId, status: 'done', ids: null, filesRewritten: 2 });
    expect(done.rowsRemoved).toEqual(midway.plan?.tables);
    expect(await rowsMentioningTarget(p)).toEqual([]);
    expect((await p.rawLines()).filter((l) => TARGET_STRINGS.some((s) => l.includes(s)))).toEqual([]);
  });
});
