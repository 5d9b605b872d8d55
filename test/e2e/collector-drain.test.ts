// SIGTERM drain of the real entry point: `tsx publisher/src/server.ts` as a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

describe('collector server', () => {
  it('on SIGTERM answers the in-flight request, flushes the spool and exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'collector-drain-'));
    child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['publisher/src/server.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        SLUICE_HOST: '127.0.0.1',
        SLUICE_PORT: '0',
        SLUICE_WRITE_KEY: 'drain-key',
        SLUICE_TRANSPORT: 'spool',
        SLUICE_DATA_DIR: dataDir,
        SLUICE_WINDOW_SECONDS: '600',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout?.on('data', (c) => {
      log += c;
    });
    child.stderr?.on('data', (c) => {
      log += c;
    });
    const exited = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    const deadline = Date.now() + 30_000;
    while (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(log)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
    const logLine = JSON.parse(log.split('\n').find((l) => l.includes('listening on')) ?? '{}');
    expect(logLine).toMatchObject({ level: 30, transport: 'spool' });

    // An in-flight request: headers and half the body sent before SIGTERM, the rest after.
    const body = JSON.stringify({ event: 'Drained', userId: 'u1', messageId: 'drain-1' });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/track',
          auth: 'drain-key:',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child?.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const res = await answer;
    expect(res).toEqual({ status: 200, body: JSON.stringify({ success: true, accepted: 1 }) });
    expect(await exited).toBe(0);
    expect(log).toContain('drained');
    const bucket = join(dataDir, 'buckets', 'sluice-raw');
    const files = (await readdir(bucket, { recursive: true })).filter((f) => f.endsWith('.ndjson'));
    expect(files).toHaveLength(1);
    const line = JSON.parse((await readFile(join(bucket, files[0] ?? ''), 'utf8')).trim());
    expect(line).toMatchObject({ messageId: 'drain-1', event: 'Drained', sourceId: 'local' });
  }, 60_000);
});
