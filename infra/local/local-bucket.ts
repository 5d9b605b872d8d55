import { join } from 'node:path';
import type { FinalizedObject } from '@sluice/sdk/protocol';
import type { Clock } from './clock.ts';
import { writeFileDurably } from './durable-file.ts';

/** Where a window file goes (seam for tests). Resolves only once the object is durable. */
export interface ObjectSink {
  readonly bucket: string;
  write(name: string, content: Uint8Array): Promise<FinalizedObject>;
}

/**
 * A local "bucket": the directory `<bucketsDir>/<bucket>/`, objects stored by name (`/` makes folders).
 * Generations are microsecond timestamps, strictly increasing per process, like Cloud Storage's.
 */
export function localBucket(bucketsDir: string, bucket: string, clock: Clock): ObjectSink {
  let lastGeneration = 0n;
  return {
    bucket,
    async write(name, content) {
      await writeFileDurably(join(bucketsDir, bucket, name), content);
      const time = clock.now();
      let generation = BigInt(time.getTime()) * 1000n;
      if (generation <= lastGeneration) generation = lastGeneration + 1n;
      lastGeneration = generation;
      return { bucket, name, generation: String(generation), size: content.byteLength, time };
    },
  };
}
