/**
 * Test fixture (spool.test.ts): opens a spool on `<bucketsDir>/<bucket>`, publishes `<count>` events one by one,
 * printing `acked <messageId>` after each publish resolved (the moment the collector would answer 200); then
 * `rotate` finalizes the window (the parent SIGKILLs this process once the loader got its CloudEvent, before it is
 * answered), or `hold` keeps it open (the parent SIGKILLs this process mid-window).
 */
import { SpoolTransport } from '../spool.ts';

const [bucketsDir, bucket, loaderUrl, countArg, mode] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const spool = await SpoolTransport.open({
  bucketsDir,
  bucket,
  windowSeconds: 600,
  maxFileBytes: 1e9,
  loaderUrl,
  notifyBaseDelayMs: 60_000,
});
for (let i = 0; i < Number(countArg); i++) {
  const messageId = `m${i}`;
  await spool.publish([
    {
      data: JSON.stringify({ type: 'track', event: 'E', messageId, anonymousId: 'a' }),
      attributes: { type: 'track', sourceId: 'web' },
    },
  ]);
  process.stdout.write(`acked ${messageId}\n`);
}
if (mode === 'rotate') await spool.rotateNow();
process.stdout.write('done\n');
setInterval(() => undefined, 60_000);
