import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rename, stat, truncate, unlink } from 'node:fs/promises';
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
  /** How often files whose CloudEvent the loader has not acknowledged are delivered again. Default 30 s. */
  redeliverIntervalMs?: number;
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
const TAIL_CHUNK = 64 * 1024;

/** Where a file of `size` bytes ends after its last `\n` (0 when it holds none). */
async function endOfLastLine(handle: FileHandle, size: number): Promise<number> {
  const buffer = Buffer.alloc(TAIL_CHUNK);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const { bytesRead } = await handle.read(buffer, 0, end - start, start);
    const at = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Embedded-mode transport: writes the raw window files itself, exactly as the Cloud Storage subscription would
 * (seam 4), into `<bucketsDir>/<bucket>/<object name>`. Each publish is appended and fsynced before it resolves
 * (concurrent publishes share one write + fsync). A file is written under a temp name outside the bucket and
 * renamed into place when its window ends (time) or it reaches `maxFileBytes`, so a reader never sees a partial
 * file under a final name. After the rename, a `storage.object.v1.finalized` CloudEvent is POSTed to
 * `loaderUrl` with retries.
 *
 * Nothing acknowledged is left behind by a crash (SIGKILL included):
 *   - Outbox: before a file is renamed into the bucket, an empty entry named after it is created (and fsynced) in
 *     `<bucketsDir>/.<bucket>.outbox/`; it is removed only once the loader answered 2xx for that file. At start, and
 *     every `redeliverIntervalMs`, every entry whose file is in the bucket is delivered again (entries whose file is
 *     gone are dropped). The generation sent is the file's mtime in nanoseconds, what the loader's local object
 *     store reports, so a redelivery has the load key of the first delivery and loads nothing twice. The storage
 *     subscription stand-in (infra/local) uses the same outbox, so a data directory can change modes.
 *   - A temp file left by a crashed process is recovered at the next start: cut after its last complete line (a
 *     torn write was never acknowledged: 200 comes after the fsync), then finalized like any window.
 */
export class SpoolTransport implements Transport {
  readonly name = 'spool';
  private current: OpenFile | undefined;
  private tail: Promise<void> = Promise.resolve();
  private pending: { chunks: string[]; waiters: Waiter[] } | undefined;
  private closed = false;
  private readonly notifications = new Set<Promise<void>>();
  /** Object names with a delivery in flight (a sweep does not start a second one). */
  private readonly delivering = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  private readonly naming: RawObjectNaming;

  private constructor(private readonly options: SpoolOptions) {
    this.clock = options.clock ?? systemClock;
    this.naming = options.naming ?? DEFAULT_RAW_NAMING;
  }

  /**
   * Creates the directories, recovers temp files left by a previous process, and delivers every file in the
   * outbox (finalized, never acknowledged by the loader); then keeps redelivering those periodically.
   */
  static async open(options: SpoolOptions): Promise<SpoolTransport> {
    const spool = new SpoolTransport(options);
    await mkdir(spool.bucketDir, { recursive: true });
    await mkdir(spool.tempDir, { recursive: true });
    await mkdir(spool.outboxDir, { recursive: true });
    for (const entry of await readdir(spool.tempDir)) {
      if (!entry.endsWith(PART)) continue;
      const tempPath = join(spool.tempDir, entry);
      const name = decodeURIComponent(entry.slice(0, -PART.length));
      const size = await spool.cutTornLine(tempPath);
      if (size === 0) await unlink(tempPath);
      else await spool.finalize(tempPath, name);
      options.logger?.warn({ name, size }, 'spool: recovered a window file left by a previous run');
    }
    await spool.redeliver(true);
    spool.sweepTimer = setInterval(() => {
      void spool
        .enqueue(() => spool.finalizeStranded())
        .then(() => spool.redeliver(false))
        .catch((error: unknown) => {
          options.logger?.error({ err: error }, 'spool: outbox sweep failed');
        });
    }, options.redeliverIntervalMs ?? 30_000);
    spool.sweepTimer.unref();
    return spool;
  }

  /**
   * Finalizes closed window files whose rename failed (e.g. the bucket directory was read-only for a while): their
   * events were acknowledged, so the sweep keeps trying. Runs on the file queue, so never beside a rotate.
   */
  private async finalizeStranded(): Promise<void> {
    for (const entry of await readdir(this.tempDir)) {
      if (!entry.endsWith(PART)) continue;
      const tempPath = join(this.tempDir, entry);
      if (tempPath === this.current?.tempPath) continue;
      const name = decodeURIComponent(entry.slice(0, -PART.length));
      await this.finalize(tempPath, name);
      this.options.logger?.warn({ name }, 'spool: finalized a window file whose first rename failed');
    }
  }

  /** Cuts a recovered temp file after its last complete line; returns its new size. */
  private async cutTornLine(tempPath: string): Promise<number> {
    const { size } = await stat(tempPath);
    const handle = await open(tempPath, 'r');
    let end: number;
    try {
      end = await endOfLastLine(handle, size);
    } finally {
      await handle.close();
    }
    if (end < size) {
      await truncate(tempPath, end);
      this.options.logger?.warn(
        { tempPath, dropped: size - end },
        'spool: cut a torn last line (never acknowledged)',
      );
    }
    return end;
  }

  /**
   * Delivers every outbox entry whose file is in the bucket and has no delivery in flight. `prune` (at open only,
   * when no rename can be under way) drops entries whose file is gone.
   */
  private async redeliver(prune: boolean): Promise<void> {
    if (!this.options.loaderUrl) return;
    for (const entry of await readdir(this.outboxDir)) {
      const name = decodeURIComponent(entry);
      if (this.delivering.has(name)) continue;
      const exists = await stat(join(this.bucketDir, name)).then(
        () => true,
        () => false,
      );
      if (!exists) {
        if (prune) await unlink(join(this.outboxDir, entry)).catch(() => undefined);
        continue;
      }
      this.options.logger?.warn({ name }, 'spool: delivering a file the loader never acknowledged');
      this.delivering.add(name);
      await this.startNotify(name);
    }
  }

  get bucketDir(): string {
    return join(this.options.bucketsDir, this.options.bucket);
  }

  /** Same filesystem as the bucket (rename is atomic), but not inside it. */
  get tempDir(): string {
    return join(this.options.bucketsDir, `.${this.options.bucket}.spool`);
  }

  /** One empty entry per finalized file whose CloudEvent the loader has not acknowledged yet. */
  get outboxDir(): string {
    return join(this.options.bucketsDir, `.${this.options.bucket}.outbox`);
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
    clearInterval(this.sweepTimer);
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
    if (this.options.loaderUrl) {
      // Claimed first, so no outbox sweep starts a second delivery of this file; then the outbox entry, so a crash
      // right after the rename still leaves the record that the file needs its CloudEvent.
      this.delivering.add(name);
      const entry = await open(join(this.outboxDir, encodeURIComponent(name)), 'w');
      await entry.close();
      await fsyncDir(this.outboxDir);
    }
    try {
      await rename(tempPath, finalPath);
      await fsyncDir(dirname(finalPath));
    } catch (error) {
      this.delivering.delete(name);
      throw error;
    }
    this.options.logger?.info({ name }, 'spool: window file finalized');
    if (this.options.loaderUrl) await this.startNotify(name);
  }

  /** Notifies the loader of `name`, which the caller has claimed in `delivering`. */
  private async startNotify(name: string): Promise<void> {
    const found = await stat(join(this.bucketDir, name), { bigint: true }).catch(() => undefined);
    if (!found) {
      this.delivering.delete(name);
      return;
    }
    const { size, mtimeNs } = found;
    const notification = this.notify(name, String(mtimeNs), Number(size)).finally(() => {
      this.delivering.delete(name);
      this.notifications.delete(notification);
    });
    this.notifications.add(notification);
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
        if (response.ok) {
          await unlink(join(this.outboxDir, encodeURIComponent(name))).catch(() => undefined);
          return;
        }
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
    this.options.logger?.error(
      { name },
      'spool: loader did not acknowledge the file; the outbox sweep retries it',
    );
  }
}
