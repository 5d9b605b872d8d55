import type { Readable } from 'node:stream';

export interface Line {
  /** 1-based line number. */
  number: number;
  /** The line's text (without `\n`; a trailing `\r` is kept and tolerated by JSON parsing). */
  text: string;
  /** The line exceeded `maxLineBytes`: `text` holds only its first `maxLineBytes` bytes. */
  tooLong: boolean;
  /** The file ended without a final `\n` after this line. */
  unterminated: boolean;
}

/**
 * Splits a byte stream into lines with bounded memory: a line longer than `maxLineBytes` is not buffered whole —
 * its head is kept and the rest skipped up to the next `\n`. An empty final segment (file ending in `\n`, or an
 * empty file) is not a line.
 */
export async function* readLines(
  stream: Readable,
  maxLineBytes: number,
  onBytes?: (n: number) => void,
): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let tooLong = false;
  let number = 0;
  const take = (tail: Buffer): Buffer => {
    if (parts.length === 0) return tail;
    const all = Buffer.concat([...parts, tail]);
    parts = [];
    partBytes = 0;
    return all;
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    onBytes?.(chunk.length);
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl < 0 ? chunk.length : nl;
      if (!tooLong) {
        const room = maxLineBytes - partBytes;
        if (end - start > room) {
          parts.push(chunk.subarray(start, start + room));
          partBytes += room;
          tooLong = true;
        } else if (nl < 0) {
          // Copy: the stream may reuse the chunk's memory.
          parts.push(Buffer.from(chunk.subarray(start, end)));
          partBytes += end - start;
        }
      }
      if (nl < 0) break;
      const bytes = tooLong ? take(Buffer.alloc(0)) : take(chunk.subarray(start, end));
      number++;
      yield { number, text: bytes.toString('utf8'), tooLong, unterminated: false };
      parts = [];
      partBytes = 0;
      tooLong = false;
      start = nl + 1;
    }
  }
  if (partBytes > 0 || tooLong) {
    number++;
    yield { number, text: take(Buffer.alloc(0)).toString('utf8'), tooLong, unterminated: true };
  }
}
