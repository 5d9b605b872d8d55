import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  DEFAULT_RAW_NAMING,
  finalizedCloudEvent,
  type RawObjectNaming,
  rawLine,
  rawObjectName,
} from '@sluice/sdk/protocol';
import { type Clock, systemClock } from '../clock.ts';
import { settledWithin } from '../deadlines.ts';
import type { Logger } from '../logger.ts';
import type { OutboundMessage, Transport } from './transport.ts';

export interface SpoolOptions {
  bucketsDir: string;
  bucket: string;
  windowSeconds: number;
  maxFileBytes: number;
  loaderUrl?: string | undefined;
  logger?: Logger;
  clock?: Clock;
  naming?: RawObjectNaming;
  /** Attempts to POST a finalized CloudEvent before giving up (Eventarc-like retries). */
  notifyAttempts?: number;
  notifyBaseDelayMs?: number;
}

interface OpenFile {
  handle: FileHandle;
  tempPath: string;
  name: string;
  bytes: number;
  timer: NodeJS.Timeout;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

const PART = '.part';

/**
 * Embedded-mode transport: writes the raw window files itself, exactly as the Cloud Storage subscription would
 * (seam 4), into `<bucketsDir>/<bucket>/<object name>`. Each publish is appended and fsynced before it resolves
 * (concurrent publishes share one write + fsync). A file is written under a temp name outside the bucket and
 * renamed into place when its window ends (time) or it reaches `maxFileBytes`, so a reader never sees a partial
 * file under a final name. After the rename, a `storage.object.v1.finalized` CloudEvent is POSTed to
 * `loaderUrl` with retries. Leftover temp files from a crash are finalized at the next start.
 */
export class SpoolTransport implements Transport {
  readonly name = 'spool';
  private current: OpenFile | undefined;
  private tail: Promise<void> = Promise.resolve();
  private pending: { chunks: string[]; waiters: Waiter[] } | undefined;
  private closed = false;
  private readonly notifications = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly naming: RawObjectNaming;
  private generation = 0;

  private constructor(private readonly options: SpoolOptions) {
    this.clock = options.clock ?? systemClock;
    this.naming = options.naming ?? DEFAULT_RAW_NAMING;
  }

  /** Creates the directories and finalizes temp files left by a previous process. */
  static async open(options: SpoolOptions): Promise<SpoolTransport> {
    const spool = new SpoolTransport(options);
    await mkdir(spool.bucketDir, { recursive: true });
    await mkdir(spool.tempDir, { recursive: true });
    for (const entry of await readdir(spool.tempDir)) {
      if (!entry.endsWith(PART)) continue;
      const tempPath = join(spool.tempDir, entry);
      const name = decodeURIComponent(entry.slice(0, -PART.length));
      const { size } = await stat(tempPath);
      if (size === 0) await unlink(tempPath);
      else await spool.finalize(tempPath, name);
      options.logger?.warn({ name, size }, 'spool: recovered a window file left by a previous run');
    }
    return spool;
  }

  get bucketDir(): string {
    return join(this.options.bucketsDir, this.options.bucket);
  }

  /** Same filesystem as the bucket (rename is atomic), but not inside it. */
  get tempDir(): string {
    return join(this.options.bucketsDir, `.${this.options.bucket}.spool`);
  }

  publish(messages: readonly OutboundMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('spool transport is closed'));
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (!this.pending) {
        this.pending = { chunks: [], waiters: [] };
        this.enqueue(() => this.flushPending());
      }
      for (const m of messages) this.pending.chunks.push(rawLine(m.data));
      this.pending.waiters.push({ resolve, reject });
    });
  }

  async ready(): Promise<boolean> {
    try {
      await stat(this.bucketDir);
      return !this.closed;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.enqueue(() => this.rotate());
    await settledWithin([...this.notifications], 15_000);
  }

  /** Finalizes the current window now (tests, and the time/size triggers). */
  rotateNow(): Promise<void> {
    return this.enqueue(() => this.rotate());
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.tail.then(op);
    this.tail = run.catch((error: unknown) => {
      this.options.logger?.error({ err: error }, 'spool: file operation failed');
    });
    return run;
  }

  private async flushPending(): Promise<void> {
    const batch = this.pending;
    this.pending = undefined;
    if (!batch) return;
    try {
      const buffer = Buffer.from(batch.chunks.join(''), 'utf8');
      if (this.current && this.current.bytes + buffer.length > this.options.maxFileBytes) await this.rotate();
      const file = this.current ?? (await this.openFile());
      let offset = 0;
      while (offset < buffer.length) {
        const { bytesWritten } = await file.handle.write(buffer, offset, buffer.length - offset);
        offset += bytesWritten;
      }
      await file.handle.datasync();
      file.bytes += buffer.length;
      for (const w of batch.waiters) w.resolve();
      if (file.bytes >= this.options.maxFileBytes) await this.rotate();
    } catch (error) {
      for (const w of batch.waiters) w.reject(error);
    }
  }

  private async openFile(): Promise<OpenFile> {
    const name = rawObjectName(this.naming, this.clock.now(), randomUUID());
    const tempPath = join(this.tempDir, `${encodeURIComponent(name)}${PART}`);
    const handle = await open(tempPath, 'a');
    const timer = setTimeout(() => {
      void this.enqueue(() => this.rotate());
    }, this.options.windowSeconds * 1000);
    timer.unref();
    this.current = { handle, tempPath, name, bytes: 0, timer };
    return this.current;
  }

  private async rotate(): Promise<void> {
    const file = this.current;
    if (!file) return;
    this.current = undefined;
    clearTimeout(file.timer);
    await file.handle.datasync();
    await file.handle.close();
    await this.finalize(file.tempPath, file.name);
  }

  private async finalize(tempPath: string, name: string): Promise<void> {
    const finalPath = join(this.bucketDir, name);
    await mkdir(dirname(finalPath), { recursive: true });
    await rename(tempPath, finalPath);
    const dir = await open(dirname(finalPath), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    const { size } = await stat(finalPath);
    const generation = String(Date.now() * 1000 + (this.generation++ % 1000));
    this.options.logger?.info({ name, size }, 'spool: window file finalized');
    if (this.options.loaderUrl) {
      const notification = this.notify(name, generation, size).finally(() => {
        this.notifications.delete(notification);
      });
      this.notifications.add(notification);
    }
  }

  private async notify(name: string, generation: string, size: number): Promise<void> {
    const url = this.options.loaderUrl;
    if (!url) return;
    const request = finalizedCloudEvent({
      bucket: this.options.bucket,
      name,
      generation,
      size,
      time: this.clock.now(),
    });
    const attempts = this.options.notifyAttempts ?? 8;
    const base = this.options.notifyBaseDelayMs ?? 500;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(60_000),
        });
        await response.arrayBuffer();
        if (response.ok) return;
        this.options.logger?.warn(
          { name, status: response.status, attempt },
          'spool: loader refused the event',
        );
      } catch (error) {
        this.options.logger?.warn({ name, attempt, err: String(error) }, 'spool: loader unreachable');
      }
      if (attempt < attempts)
        await new Promise((r) => setTimeout(r, Math.min(30_000, base * 2 ** (attempt - 1))));
    }
    this.options.logger?.error({ name }, 'spool: gave up notifying the loader; replay the file');
  }
}
