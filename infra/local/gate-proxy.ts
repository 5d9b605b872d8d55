import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface GateProxy {
  /** `127.0.0.1:<port>`: what clients connect to instead of the upstream. */
  readonly host: string;
  /** Lets connections through to `upstream` (`host:port`): the held ones now, later ones as they come. */
  open(upstream: string): void;
  /**
   * Cuts every connection through the gate and holds new ones (unanswered) until the next `open`: from now on no
   * client request reaches an upstream.
   */
  close(): void;
  readonly isOpen: boolean;
  /** Stops listening and destroys every connection. */
  stop(): Promise<void>;
}

/** How long a connection may wait at a closed gate before it is dropped (the client then reconnects). */
const HOLD_MS = 30_000;

/**
 * A TCP gate in front of the Pub/Sub emulator, listening on loopback. The stack's supervisor keeps it closed
 * while the emulator's topic and subscription are not both known to exist, so the collector (whose
 * PUBSUB_EMULATOR_HOST is this gate) cannot publish to a topic that no subscription will deliver from: a publish
 * through a closed gate waits, then times out into a 503 the client retries. It works at the TCP level (gRPC's
 * HTTP/2 passes through untouched), and the emulator behind it may move to another port across restarts.
 */
export async function startGateProxy(): Promise<GateProxy> {
  let upstream: string | undefined;
  const piped = new Set<Socket>();
  const held = new Set<Socket>();

  const pipe = (client: Socket, to: string): void => {
    const [host, port] = splitHost(to);
    const server = createConnection({ host, port });
    piped.add(client);
    piped.add(server);
    const end = (): void => {
      client.destroy();
      server.destroy();
      piped.delete(client);
      piped.delete(server);
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    client.pipe(server);
    server.pipe(client);
    client.resume();
  };

  const hold = (client: Socket): void => {
    client.pause();
    held.add(client);
    const timer = setTimeout(() => client.destroy(), HOLD_MS);
    timer.unref();
    client.once('close', () => {
      clearTimeout(timer);
      held.delete(client);
    });
    client.on('error', () => client.destroy());
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    if (upstream) pipe(client, upstream);
    else hold(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('gate proxy has no TCP address');

  return {
    host: `127.0.0.1:${address.port}`,
    open(to) {
      upstream = to;
      for (const client of [...held]) {
        held.delete(client);
        if (!client.destroyed) pipe(client, to);
      }
    },
    close() {
      upstream = undefined;
      for (const socket of [...piped]) socket.destroy();
      piped.clear();
    },
    get isOpen() {
      return upstream !== undefined;
    },
    async stop() {
      upstream = undefined;
      for (const socket of [...piped, ...held]) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHost(host: string): [string, number] {
  const i = host.lastIndexOf(':');
  return [host.slice(0, i), Number(host.slice(i + 1))];
}
