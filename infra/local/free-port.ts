import { createServer } from 'node:net';
import type { Child } from './child-process.ts';

/** A TCP port free on 127.0.0.1 right now (the OS picks it; the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

/**
 * Starts a child that listens on the port it is given, on a port free right now. `freePort` and the child's listen
 * are apart (a child takes a second or more to start), and another process may take the port in between: the
 * child then exits saying EADDRINUSE (seen in CI: the loader of one test lost its port to another test's process),
 * and it is started again on another port, up to `attempts` times. `ready` resolves once the child answers on the
 * port and rejects once it exited; a child that failed for any other reason fails the start.
 */
export async function startOnFreePort(options: {
  start: (port: number) => Child;
  ready: (port: number, child: Child) => Promise<void>;
  attempts?: number;
  ports?: () => Promise<number>;
  /** Told of each child that lost its port (it has exited) before the next start. */
  onRetry?: (port: number, attempt: number, child: Child) => void;
}): Promise<{ child: Child; port: number }> {
  const attempts = options.attempts ?? 5;
  const ports = options.ports ?? freePort;
  for (let attempt = 1; ; attempt++) {
    const port = await ports();
    const child = options.start(port);
    try {
      await options.ready(port, child);
      return { child, port };
    } catch (error) {
      const taken = child.exitReason() !== undefined && child.tail().includes('EADDRINUSE');
      if (!taken || attempt >= attempts) throw error;
      options.onRetry?.(port, attempt, child);
    }
  }
}
