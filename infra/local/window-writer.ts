import { type FinalizedObject, type RawObjectNaming, rawObjectName } from '@sluice/sdk/protocol';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { LocalError } from './errors.ts';
import type { ObjectSink } from './local-bucket.ts';

/** One pulled message as the window writer sees it (a Pub/Sub message, or a fake in tests). */
export interface WindowMessage {
  readonly data: Uint8Array;
  ack(): void;
  nack(): void;
}

export interface WindowWriterOptions {
  /** Window length: a window opens with its first message and closes this long after. */
  windowMs: number;
  /** A window is closed before a message would take it past this size (a lone larger message still goes). */
  maxBytes: number;
  naming: RawObjectNaming;
  clock: Clock;
  sink: ObjectSink;
  /** Unique part of object names (crypto.randomUUID in production). */
  newId: () => string;
  /** Called once a file is durable and its messages are acked. Must not throw. */
  onFile: (object: FinalizedObject) => void;
  logger: Logger;
}

export interface WindowWriter {
  add(message: WindowMessage): void;
  /** Closes the open window now (if any) and resolves when every closed window is written and acked. */
  flush(): Promise<void>;
  /** Flushes, then nacks every later message. */
  close(): Promise<void>;
  /** Messages in the open window. */
  readonly pending: number;
}

interface Window {
  start: Date;
  messages: WindowMessage[];
  bytes: number;
  cancelTimer: () => void;
}

const NEWLINE = 0x0a;

/** Encodes a window exactly as a Cloud Storage subscription does in text mode: each message's data, then `\n`. */
export function encodeWindow(messages: readonly WindowMessage[]): Uint8Array {
  const size = messages.reduce((sum, m) => sum + m.data.byteLength + 1, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const m of messages) {
    out.set(m.data, offset);
    offset += m.data.byteLength;
    out[offset] = NEWLINE;
    offset += 1;
  }
  return out;
}

/**
 * The core of the storage-subscription stand-in: groups messages into windows and writes each window as one raw
 * file. Order per window: write durably → ack every message → `onFile`. If the write fails the messages are
 * nacked (Pub/Sub redelivers them into a later window), so a message is acked only once it is on disk.
 * Windows are written one at a time, in the order they closed.
 */
export function createWindowWriter(options: WindowWriterOptions): WindowWriter {
  const { clock, logger } = options;
  let current: Window | undefined;
  let closed = false;
  let chain: Promise<void> = Promise.resolve();

  const writeWindow = async (window: Window): Promise<void> => {
    const name = naming(window);
    let object: FinalizedObject;
    try {
      object = await options.sink.write(name, encodeWindow(window.messages));
    } catch (cause) {
      for (const m of window.messages) m.nack();
      const error = new LocalError('SLUICE_ERR_LOCAL_WINDOW_WRITE', `could not write ${name}`, { cause });
      logger.error({ err: error, code: error.code, name, messages: window.messages.length }, error.message);
      return;
    }
    for (const m of window.messages) m.ack();
    logger.info(
      { bucket: object.bucket, name: object.name, messages: window.messages.length, bytes: object.size },
      'window file written',
    );
    options.onFile(object);
  };

  const naming = (window: Window): string => rawObjectName(options.naming, window.start, options.newId());

  const closeCurrent = (): void => {
    const window = current;
    if (!window) return;
    current = undefined;
    window.cancelTimer();
    chain = chain.then(() => writeWindow(window));
  };

  return {
    add(message) {
      if (closed) {
        message.nack();
        return;
      }
      const bytes = message.data.byteLength + 1;
      if (current && current.bytes + bytes > options.maxBytes) closeCurrent();
      if (!current) {
        current = {
          start: clock.now(),
          messages: [],
          bytes: 0,
          cancelTimer: clock.setTimer(closeCurrent, options.windowMs),
        };
      }
      current.messages.push(message);
      current.bytes += bytes;
    },
    async flush() {
      closeCurrent();
      await chain;
    },
    async close() {
      closed = true;
      closeCurrent();
      await chain;
    },
    get pending() {
      return current?.messages.length ?? 0;
    },
  };
}
