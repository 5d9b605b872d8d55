import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('../../test/helpers/privacy-rewrite-child.ts', import.meta.url));
const HEAP_MB = 64;

/** ~150 MB of events, every 100th the target's (one written with a \u escape in its user id). */
async function writeFile(
  file: string,
): Promise<{ lines: number; target: number; bytes: number; keptSha: string; keptBytes: number }> {
  const out = createWriteStream(file);
  const pad = 'x'.repeat(900);
  let lines = 0;
  let target = 0;
  let bytes = 0;
  let keptBytes = 0;
  const kept = createHash('sha256');
  for (let i = 0; bytes < 150 * 1024 * 1024; i++) {
    const mine = i % 100 === 7;
    const userId = mine ? (i % 200 === 7 ? 'u-t\\u0061rget' : 'u-target') : `u-${i}`;
    const line = `{"type":"track","messageId":"m-${i}","userId":"${userId}","event":"E","properties":{"p":"${pad}"}}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    lines++;
    bytes += line.length;
    if (mine) target++;
    else {
      kept.update(line);
      keptBytes += line.length;
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error) => (error ? reject(error) : resolve())),
  );
  return { lines, target, bytes, keptSha: kept.digest('hex'), keptBytes };
}

describe('the raw rewrite streams', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it(`rewrites a ~150 MB file in a child whose heap is limited to ${HEAP_MB} MB`, {
    timeout: 120_000,
  }, async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-rewrite-mem-'));
    const name = 'raw/2026-01-01/big.ndjson';
    const file = path.join(dir, 'sluice-raw', ...name.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    const written = await writeFile(file);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', CHILD, dir, 'sluice-raw', name, 'u-target'],
      { maxBuffer: 1024 * 1024 },
    );
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      removed: number;
      kept: number;
      peakHeap: number;
    };
    expect(out).toMatchObject({
      removed: written.target,
      kept: written.lines - written.target,
    });
    // Heap + Buffers at their peak: bounded by a chunk and a line, not by the 150 MB file.
    expect(out.peakHeap).toBeLessThan(HEAP_MB * 1024 * 1024);
    // The new file: exactly the others' lines, in order, byte for byte.
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    expect((await stat(file)).size).toBe(written.keptBytes);
    expect(hash.digest('hex')).toBe(written.keptSha);
  });
});
