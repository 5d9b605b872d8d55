import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RAW_NAMING, type FinalizedObject, parseRawObjectTime } from '@sluice/sdk/protocol';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from './clock.ts';
import { localBucket, type ObjectSink } from './local-bucket.ts';
import { createWindowWriter, type WindowMessage } from './window-writer.ts';

const logger = pino({ level: 'silent' });

/** A clock whose timers fire only when the test advances it. */
function fakeClock(start: string) {
  let now = new Date(start).getTime();
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const clock: Clock = {
    now: () => new Date(now),
    setTimer(fn, ms) {
      const timer = { at: now + ms, fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
  };
  const advance = (ms: number): void => {
    now += ms;
    for (const t of timers.filter((t) => !t.cancelled && t.at <= now)) {
      t.cancelled = true;
      t.fn();
    }
  };
  return { clock, advance };
}

interface FakeMessage extends WindowMessage {
  state: 'held' | 'acked' | 'nacked';
  /** What the bucket held at the moment of ack (to prove durable-before-ack). */
  filesAtAck: string[];
}

describe('window writer', () => {
  let root: string;
  let bucketDir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-window-'));
    bucketDir = join(root, 'buckets', 'sluice-raw');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const listFiles = (): string[] => {
    try {
      return readdirRecursive(bucketDir);
    } catch {
      return [];
    }
  };

  const message = (data: string): FakeMessage => {
    const m: FakeMessage = {
      data: Buffer.from(data, 'utf8'),
      state: 'held',
      filesAtAck: [],
      ack() {
        m.state = 'acked';
        m.filesAtAck = listFiles().map((f) => `${f}=${readFileSync(join(bucketDir, f), 'utf8')}`);
      },
      nack() {
        m.state = 'nacked';
      },
    };
    return m;
  };

  const setup = (opts: { windowMs?: number; maxBytes?: number; sink?: ObjectSink } = {}) => {
    const { clock, advance } = fakeClock('2024-03-05T07:08:09.500Z');
    const files: FinalizedObject[] = [];
    let n = 0;
    const writer = createWindowWriter({
      windowMs: opts.windowMs ?? 5000,
      maxBytes: opts.maxBytes ?? 1024 * 1024,
      naming: DEFAULT_RAW_NAMING,
      clock,
      sink: opts.sink ?? localBucket(join(root, 'buckets'), 'sluice-raw', clock),
      newId: () => `00000000-0000-4000-8000-00000000000${++n}`,
      onFile: (f) => files.push(f),
      logger,
    });
    return { writer, advance, files };
  };

  it('writes one file per window, named by window start, with exactly data + "\\n" per message', async () => {
    const { writer, advance, files } = setup();
    const a = message('{"messageId":"a","event":"é ünïcode"}');
    const b = message('{"messageId":"b"}');
    writer.add(a);
    advance(2000);
    writer.add(b);
    expect(writer.pending).toBe(2);
    advance(2999);
    expect(files).toHaveLength(0);
    advance(1);
    await writer.flush();
    expect(files).toHaveLength(1);
    const name = 'raw/2024-03-05/07_08_09+00:00_00000000-0000-4000-8000-000000000001.ndjson';
    expect(files[0]).toMatchObject({ bucket: 'sluice-raw', name });
    const bytes = readFileSync(join(bucketDir, name));
    expect(
      bytes.equals(Buffer.from('{"messageId":"a","event":"é ünïcode"}\n{"messageId":"b"}\n', 'utf8')),
    ).toBe(true);
    expect(files[0]?.size).toBe(bytes.byteLength);
    expect(parseRawObjectTime(DEFAULT_RAW_NAMING, name)?.toISOString()).toBe('2024-03-05T07:08:09.000Z');
    expect(listFiles()).toEqual([name]);
  });

  it('acks only after the file is on disk with its full content', async () => {
    const { writer, advance } = setup();
    const a = message('{"n":1}');
    const b = message('{"n":2}');
    writer.add(a);
    writer.add(b);
    expect(a.state).toBe('held');
    advance(5000);
    await writer.flush();
    expect(a.state).toBe('acked');
    expect(b.state).toBe('acked');
    expect(a.filesAtAck).toEqual([
      'raw/2024-03-05/07_08_09+00:00_00000000-0000-4000-8000-000000000001.ndjson={"n":1}\n{"n":2}\n',
    ]);
  });

  it('nacks every message of a window whose write fails, and reports no file', async () => {
    const failing: ObjectSink = {
      bucket: 'sluice-raw',
      write: () => Promise.reject(new Error('disk full')),
    };
    const { writer, files } = setup({ sink: failing });
    const a = message('{"n":1}');
    writer.add(a);
    await writer.flush();
    expect(a.state).toBe('nacked');
    expect(files).toHaveLength(0);
  });

  it('starts a new file before a message would take the window past maxBytes', async () => {
    const { writer, files } = setup({ maxBytes: 20 });
    const msgs = ['{"n":"aaaa"}', '{"n":"bbbb"}', '{"n":"cccc"}'].map(message); // 13 bytes each with \n
    for (const m of msgs) writer.add(m);
    await writer.flush();
    expect(files.map((f) => f.size)).toEqual([13, 13, 13]);
    expect(msgs.every((m) => m.state === 'acked')).toBe(true);
    const generations = files.map((f) => BigInt(f.generation));
    expect([...generations].sort((x, y) => (x < y ? -1 : 1))).toEqual(generations);
    expect(new Set(files.map((f) => f.name)).size).toBe(3);
  });

  it('writes nothing for an empty window and nacks messages after close', async () => {
    const { writer, advance, files } = setup();
    advance(60_000);
    await writer.flush();
    expect(files).toHaveLength(0);
    const a = message('{"n":1}');
    writer.add(a);
    await writer.close();
    expect(a.state).toBe('acked');
    const late = message('{"n":2}');
    writer.add(late);
    expect(late.state).toBe('nacked');
    expect(files).toHaveLength(1);
  });

  it('a window whose rename fails (bucket unwritable) is nacked and leaves no temp file or outbox entry', async () => {
    await mkdir(bucketDir, { recursive: true });
    await writeFile(join(bucketDir, 'raw'), ''); // object names start `raw/`: the window cannot be renamed in
    const { writer, files } = setup();
    const a = message('{"n":1}');
    writer.add(a);
    await writer.flush();
    expect(a.state).toBe('nacked');
    expect(files).toHaveLength(0);
    const buckets = join(root, 'buckets');
    expect(await readdir(join(buckets, '.sluice-raw.staging'))).toEqual([]);
    expect(await readdir(join(buckets, '.sluice-raw.outbox'))).toEqual([]);
  });

  it('leaves no temp files behind', async () => {
    const { writer } = setup();
    for (let i = 0; i < 5; i++) writer.add(message(`{"i":${i}}`));
    await writer.flush();
    const day = join(bucketDir, 'raw', '2024-03-05');
    expect((await readdir(day)).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});

function readdirRecursive(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...readdirRecursive(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}
