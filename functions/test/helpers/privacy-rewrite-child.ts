/**
 * Child process of privacy-rewrite-memory.test.ts (run with a small --max-old-space-size): rewrites one raw file
 * of the buckets directory for one person (the scan reads files through the same streamed line splitter), then
 * prints what it did and its peak memory (heap + Buffers) as one JSON line.
 * argv: <bucketsDir> <bucket> <name> <userId>
 */
import { rewriteObject } from '../../src/privacy/raw-files.ts';
import { localRawStore } from '../../src/privacy/raw-store.ts';

const [bucketsDir, bucket, name, userId] = process.argv.slice(2) as [string, string, string, string];
// Buffers live outside the V8 heap (--max-old-space-size does not bound them): count both.
const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
let peak = 0;
const sample = setInterval(() => {
  peak = Math.max(peak, used());
}, 2);
const store = localRawStore(bucketsDir);
const person = { userIds: [userId], anonymousIds: [] };
const live = await store.stat(bucket, name);
if (!live) throw new Error(`no file ${bucket}/${name}`);
const out = await rewriteObject(
  store,
  { bucket, name, generation: live.generation, lines: 0 },
  person,
  'req-memory',
  undefined,
);
clearInterval(sample);
peak = Math.max(peak, used());
process.stdout.write(`${JSON.stringify({ ...out, peakHeap: peak })}\n`);
