import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, mkdtemp, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RAW_NAMING, parseRawObjectTime } from '@sluice/sdk/protocol';
import { describe, expect, it } from 'vitest';
import { SpoolTransport } from './spool.ts';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const msg = (i: number) => ({
  data: JSON.stringify({ type: 'track', event: 'E', messageId: `m${i}`, anonymousId: 'a' }),
  attributes: { type: 'track' as const, sourceId: 'web' },
});

async function waitFor(check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SpoolTransport', () => {
  it('writes data + newline per event under a Cloud Storage subscription name, visible only once finalized', async () => {
    const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-'));
    const spool = await SpoolTransport.open({
      bucketsDir,
      bucket: 'raw-b',
      windowSeconds: 600,
      maxFileBytes: 1e6,
    });
    await Promise.all([spool.publish([msg(0), msg(1)]), spool.publish([msg(2)])]);
    expect(await listFiles(join(bucketsDir, 'raw-b'))).toEqual([]);
    await spool.rotateNow();
    const files = await listFiles(join(bucketsDir, 'raw-b'));
    expect(files).toHaveLength(1);
    const name = files[0] ?? '';
    expect(parseRawObjectTime(DEFAULT_RAW_NAMING, name)).toBeInstanceOf(Date);
    const text = await readFile(join(bucketsDir, 'raw-b', name), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(
      text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).messageId),
    ).toEqual(['m0', 'm1', 'm2']);
    await spool.close();
  });

  it('rotates by size and by time', async () => {
    const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-'));
    const line = msg(0).data.length + 1;
    const spool = await SpoolTransport.open({
      bucketsDir,
      bucket: 'b1',
      windowSeconds: 0.3,
      maxFileBytes: line * 2,
    });
    for (let i = 0; i < 5; i++) await spool.publish([msg(i)]);
    // 2 full files rotated by size, the 5th line waits for its window to end.
    expect(await listFiles(join(bucketsDir, 'b1'))).toHaveLength(2);
    await waitFor(async () => (await listFiles(join(bucketsDir, 'b1'))).length === 3);
    await spool.close();
  });

  it('POSTs a binary-mode storage.object.v1.finalized CloudEvent per file, retrying on failure', async () => {
    const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-'));
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    let calls = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        calls++;
        if (calls === 1) {
          res.statusCode = 500;
          res.end();
          return;
        }
        received.push({ headers: req.headers, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const spool = await SpoolTransport.open({
      bucketsDir,
      bucket: 'b2',
      windowSeconds: 600,
      maxFileBytes: 1e6,
      loaderUrl: `http://127.0.0.1:${port}/`,
      notifyBaseDelayMs: 10,
    });
    await spool.publish([msg(0)]);
    await spool.close();
    server.close();
    expect(calls).toBe(2);
    const [event] = received;
    expect(event?.headers['ce-type']).toBe('google.cloud.storage.object.v1.finalized');
    const data = JSON.parse(event?.body ?? '{}');
    const [name] = await listFiles(join(bucketsDir, 'b2'));
    expect(data).toMatchObject({ bucket: 'b2', name, size: String(msg(0).data.length + 1) });
  });

  it('finalizes a temp file left by a crashed process at the next start', async () => {
    const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-'));
    const first = await SpoolTransport.open({
      bucketsDir,
      bucket: 'b3',
      windowSeconds: 600,
      maxFileBytes: 1e6,
    });
    const name = 'raw/2024-05-01/12_00_00+00:00_3f1e6b2a-9c4d-4e5f-8a7b-1c2d3e4f5a6b.ndjson';
    await writeFile(join(first.tempDir, `${encodeURIComponent(name)}.part`), `${msg(0).data}\n`);
    const second = await SpoolTransport.open({
      bucketsDir,
      bucket: 'b3',
      windowSeconds: 600,
      maxFileBytes: 1e6,
    });
    expect(await listFiles(join(bucketsDir, 'b3'))).toEqual([name]);
    await first.close();
    await second.close();
  });

  // Issue 12 item 4: a window renamed into the bucket just before its writer is killed must still be loaded.
  describe('after a SIGKILL (a child process), the next start delivers what the loader never acknowledged', () => {
    interface Delivery {
      id: string;
      name: string;
      generation: string;
    }
    /** A CloudEvent sink that records each delivery and accepts it (200) only when `answer` is true, else 503. */
    async function fakeLoader(answer: () => boolean) {
      const deliveries: Delivery[] = [];
      const server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => {
          body += c;
        });
        req.on('end', () => {
          const data = JSON.parse(body) as { name: string; generation: string };
          deliveries.push({ id: String(req.headers['ce-id']), name: data.name, generation: data.generation });
          res.statusCode = answer() ? 200 : 503;
          res.end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      return {
        url,
        deliveries,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      };
    }

    async function runWriter(bucketsDir: string, loaderUrl: string, count: number, mode: 'rotate' | 'hold') {
      const fixture = fileURLToPath(new URL('./test-fixtures/spool-writer.ts', import.meta.url));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fixture, bucketsDir, 'raw-b', loaderUrl, String(count), mode],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
      });
      const acked = (): string[] => [...out.matchAll(/^acked (\S+)$/gm)].map((m) => m[1] ?? '');
      return { child, acked, done: () => out.includes('done\n') };
    }

    const kill = async (child: ReturnType<typeof spawn>): Promise<void> => {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'close');
    };

    it('killed right after the rename, before the loader answered: redelivered once, same load key', async () => {
      const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-kill-'));
      let answer = false;
      const loader = await fakeLoader(() => answer);
      const writer = await runWriter(bucketsDir, loader.url, 50, 'rotate');
      await waitFor(() => loader.deliveries.length === 1, 20_000);
      await kill(writer.child);
      expect(writer.acked()).toHaveLength(50);
      const [first] = loader.deliveries;
      const files = await listFiles(join(bucketsDir, 'raw-b'));
      expect(files).toEqual([first?.name]);

      answer = true;
      const restarted = await SpoolTransport.open({
        bucketsDir,
        bucket: 'raw-b',
        windowSeconds: 600,
        maxFileBytes: 1e6,
        loaderUrl: loader.url,
      });
      await waitFor(() => loader.deliveries.length === 2);
      await restarted.close();
      // Same bucket/name#generation: the loader's idempotent load key, so nothing loads twice.
      expect(loader.deliveries[1]).toEqual(first);
      const text = await readFile(join(bucketsDir, 'raw-b', first?.name ?? ''), 'utf8');
      expect(
        text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l).messageId),
      ).toEqual(writer.acked());
      // Acknowledged now: a third start delivers nothing more.
      const again = await SpoolTransport.open({
        bucketsDir,
        bucket: 'raw-b',
        windowSeconds: 600,
        maxFileBytes: 1e6,
        loaderUrl: loader.url,
      });
      await again.close();
      expect(loader.deliveries).toHaveLength(2);
      expect(await readdir(restarted.outboxDir)).toEqual([]);
      loader.close();
    });

    it('killed mid-window: the temp file is cut after its last whole line, finalized and delivered', async () => {
      const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-kill-'));
      const loader = await fakeLoader(() => true);
      const writer = await runWriter(bucketsDir, loader.url, 30, 'hold');
      await waitFor(writer.done, 20_000);
      await kill(writer.child);
      expect(loader.deliveries).toEqual([]);
      const [part] = await readdir(join(bucketsDir, '.raw-b.spool'));
      // A torn write the crash left behind (never acknowledged: the fsync before 200 did not complete).
      await appendFile(join(bucketsDir, '.raw-b.spool', part ?? ''), '{"type":"track","messageId":"torn');

      const restarted = await SpoolTransport.open({
        bucketsDir,
        bucket: 'raw-b',
        windowSeconds: 600,
        maxFileBytes: 1e6,
        loaderUrl: loader.url,
      });
      await waitFor(() => loader.deliveries.length === 1);
      await restarted.close();
      const [file] = await listFiles(join(bucketsDir, 'raw-b'));
      expect(loader.deliveries[0]?.name).toBe(file);
      const path = join(bucketsDir, 'raw-b', file ?? '');
      expect(loader.deliveries[0]?.generation).toBe(String((await stat(path, { bigint: true })).mtimeNs));
      const text = await readFile(path, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(
        text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l).messageId),
      ).toEqual(writer.acked());
      expect(await readdir(join(bucketsDir, '.raw-b.spool'))).toEqual([]);
      loader.close();
    });

    it('redelivers periodically while the loader refuses, until it accepts (no restart)', async () => {
      const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-sweep-'));
      let answer = false;
      const loader = await fakeLoader(() => answer);
      const spool = await SpoolTransport.open({
        bucketsDir,
        bucket: 'raw-b',
        windowSeconds: 600,
        maxFileBytes: 1e6,
        loaderUrl: loader.url,
        notifyAttempts: 1,
        redeliverIntervalMs: 50,
      });
      await spool.publish([msg(0)]);
      await spool.rotateNow();
      await waitFor(() => loader.deliveries.length >= 3);
      expect(await readdir(spool.outboxDir)).toHaveLength(1);
      answer = true;
      await waitFor(async () => (await readdir(spool.outboxDir)).length === 0);
      const settled = loader.deliveries.length;
      await new Promise((r) => setTimeout(r, 200));
      expect(loader.deliveries).toHaveLength(settled);
      expect(new Set(loader.deliveries.map((d) => `${d.name}#${d.generation}`)).size).toBe(1);
      await spool.close();
      loader.close();
    });

    it('a closed window whose rename failed (bucket unwritable for a while) is finalized by the sweep, once', async () => {
      const bucketsDir = await mkdtemp(join(tmpdir(), 'spool-stranded-'));
      const loader = await fakeLoader(() => true);
      const spool = await SpoolTransport.open({
        bucketsDir,
        bucket: 'raw-b',
        windowSeconds: 600,
        maxFileBytes: 1e6,
        loaderUrl: loader.url,
        notifyAttempts: 1,
        redeliverIntervalMs: 50,
      });
      // A file where the object names' first segment must be a directory: the window cannot be renamed in.
      const blocker = join(spool.bucketDir, DEFAULT_RAW_NAMING.prefix.replace(/\/$/, ''));
      await writeFile(blocker, '');
      await spool.publish([msg(0), msg(1)]);
      await spool.rotateNow().catch(() => undefined);
      expect(await listFiles(spool.bucketDir)).toHaveLength(1);
      expect(await readdir(spool.tempDir)).toHaveLength(1);
      await unlink(blocker);
      await waitFor(
        async () => (await readdir(spool.outboxDir)).length === 0 && loader.deliveries.length > 0,
      );
      const [file, ...more] = await listFiles(spool.bucketDir);
      expect(more).toEqual([]);
      const lines = (await readFile(join(spool.bucketDir, String(file)), 'utf8')).trim().split('\n');
      expect(lines.map((l) => JSON.parse(l).messageId)).toEqual(['m0', 'm1']);
      expect(await readdir(spool.tempDir)).toEqual([]);
      expect(loader.deliveries).toHaveLength(1);
      await spool.close();
      loader.close();
    });
  });
});
