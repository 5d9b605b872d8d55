/**
 * Test fixture (storage-subscription.test.ts): a stand-in over an in-memory source whose sink SIGKILLs this
 * process right after the window file is renamed into the bucket — before any message is acked and before the
 * CloudEvent is sent. Args: <bucketsDir> <loaderUrl> <count>.
 */
import { pino } from 'pino';
import { systemClock } from '../clock.ts';
import { localBucket, type ObjectSink } from '../local-bucket.ts';
import { createStorageSubscription } from '../storage-subscription.ts';

const [bucketsDir, loaderUrl, countArg] = process.argv.slice(2) as [string, string, string];
const real = localBucket(bucketsDir, 'sluice-raw', systemClock);
const killing: ObjectSink = {
  bucket: real.bucket,
  async write(name, content) {
    const object = await real.write(name, content);
    process.kill(process.pid, 'SIGKILL');
    return object;
  },
};
const standIn = createStorageSubscription({
  source: {
    start(onMessage) {
      for (let i = 0; i < Number(countArg); i++) {
        onMessage({
          data: Buffer.from(`{"messageId":"m${i}"}`),
          ack: () => undefined,
          nack: () => undefined,
        });
      }
    },
    stop: async () => undefined,
  },
  sink: killing,
  windowSeconds: 0.2,
  maxBytes: 1024 * 1024,
  loaderUrl,
  logger: pino({ level: 'silent' }),
});
standIn.start();
setInterval(() => undefined, 60_000);
