import { open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FinalizedObject } from '@sluice/sdk/protocol';
import type { Clock } from './clock.ts';
import { cutAfterLastNewline, ensureDir, fsyncDir, renameDurably, writeTempDurably } from './durable-file.ts';

/** Where a window file goes (seam for tests). Resolves only once the object is durable. */
export interface ObjectSink {
  readonly bucket: string;
  write(name: string, content: Uint8Array): Promise<FinalizedObject>;
  /** The loader acknowledged `name`'s finalized event: no later start delivers it again. */
  acknowledge?(name: string): Promise<void>;
  /**
   * Every object whose finalized event was never acknowledged. `recover` (only before any write of this process
   * starts) first turns the temp files a crashed writer left into objects (cut after their last whole line) and
   * drops outbox entries whose object is gone.
   */
  unacknowledged?(options: { recover: boolean }): Promise<FinalizedObject[]>;
}

/**
 * A local "bucket": the directory `<bucketsDir>/<bucket>/`, objects stored by name (`/` makes folders).
 *
 * A write goes to a temp file in `<bucketsDir>/.<bucket>.staging/` (fsynced), then an empty outbox entry
 * `<bucketsDir>/.<bucket>.outbox/<encodeURIComponent(name)>` is created (fsynced), then the temp file is renamed
 * into the bucket (directory fsynced). The entry stays until `acknowledge(name)`: a crash at any point after the
 * rename leaves a record that the object still needs its CloudEvent. The spool transport (publisher) keeps the same
 * outbox, so either writer delivers what the other left.
 *
 * Generations are the file's mtime in nanoseconds: what the loader's local object store reports for it, stable
 * across restarts, so a redelivered CloudEvent carries the load key of the first.
 */
export function localBucket(bucketsDir: string, bucket: string, clock: Clock): ObjectSink {
  const bucketDir = join(bucketsDir, bucket);
  const stagingDir = join(bucketsDir, `.${bucket}.staging`);
  const outboxDir = join(bucketsDir, `.${bucket}.outbox`);
  const entryOf = (name: string): string => join(outboxDir, encodeURIComponent(name));
  const ensureOutbox = (): Promise<void> => ensureDir(outboxDir);

  const describe = async (name: string): Promise<FinalizedObject | undefined> => {
    const s = await stat(join(bucketDir, ...name.split('/')), { bigint: true }).catch(() => undefined);
    if (!s?.isFile()) return undefined;
    return { bucket, name, generation: String(s.mtimeNs), size: Number(s.size), time: clock.now() };
  };

  const finalize = async (temp: string, name: string): Promise<FinalizedObject> => {
    await renameDurablyWithEntry(temp, name);
    const object = await describe(name);
    if (!object) throw new Error(`${bucket}/${name} vanished right after its rename`);
    return object;
  };

  const renameDurablyWithEntry = async (temp: string, name: string): Promise<void> => {
    const entry = await open(entryOf(name), 'w');
    await entry.close();
    await fsyncDir(outboxDir);
    await renameDurably(temp, join(bucketDir, ...name.split('/')));
  };

  return {
    bucket,
    async write(name, content) {
      const temp = await writeTempDurably(stagingDir, encodeURIComponent(name), content);
      await ensureOutbox();
      try {
        return await finalize(temp, name);
      } catch (error) {
        // The caller nacks the window's messages (Pub/Sub redelivers them into a later window): this copy and
        // its outbox entry must go, or a restart would recover it and load the same events from two files.
        await unlink(temp).catch(() => undefined);
        await unlink(entryOf(name)).catch(() => undefined);
        throw error;
      }
    },
    async acknowledge(name) {
      await unlink(entryOf(name)).catch(() => undefined);
    },
    async unacknowledged({ recover }) {
      await ensureOutbox();
      const temps = recover ? await readdir(stagingDir).catch(() => [] as string[]) : [];
      for (const temp of temps) {
        const match = /^(.+)\.[0-9a-f-]{36}\.tmp$/.exec(temp);
        if (!match?.[1]) continue;
        const path = join(stagingDir, temp);
        if ((await cutAfterLastNewline(path)) === 0) await unlink(path);
        else await renameDurablyWithEntry(path, decodeURIComponent(match[1]));
      }
      const pending: FinalizedObject[] = [];
      for (const entry of await readdir(outboxDir)) {
        const object = await describe(decodeURIComponent(entry));
        if (object) pending.push(object);
        else if (recover) await unlink(join(outboxDir, entry)).catch(() => undefined);
      }
      return pending;
    },
  };
}
