/**
 * Serves the loader's CloudEvent function on loopback only: `node --import tsx loader-server.ts <bundle> <target>
 * <port>`. The functions-framework CLI listens on every interface and has no host option, and the loader has no
 * authentication of its own (on GCP, Eventarc's invoker identity is the guard); so the local stack imports the
 * bundle (which registers the function, or exports it by name), asks the framework for its HTTP server (`getTestServer`, the framework's
 * public API: the same Express app and CloudEvent decoding the CLI serves) and listens on 127.0.0.1 itself.
 * SIGTERM closes the listener, lets requests in flight finish, then exits.
 */
import { pathToFileURL } from 'node:url';
import { type CloudEventFunction, cloudEvent } from '@google-cloud/functions-framework';
import { getFunction, getTestServer } from '@google-cloud/functions-framework/testing';

const [bundle, target, portArg] = process.argv.slice(2);
const port = Number(portArg);
if (!bundle || !target || !Number.isInteger(port) || port <= 0 || port > 65_535) {
  process.stderr.write('usage: loader-server <bundle.js> <target> <port>\n');
  process.exit(2);
}
const exported = ((await import(pathToFileURL(bundle).href)) as Record<string, unknown>)[target];
// Like the CLI with --signature-type=cloudevent: a module may register `target` itself (functions/dist does) or
// just export a function of that name.
if (getFunction(target) === undefined && typeof exported === 'function') {
  cloudEvent(target, exported as CloudEventFunction);
}
const server = getTestServer(target);
server.once('error', (error: NodeJS.ErrnoException) => {
  process.stderr.write(`loader-server: cannot listen on 127.0.0.1:${port}: ${error.code ?? error.message}\n`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`loader-server: ${target} from ${bundle} on http://127.0.0.1:${port}/\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
