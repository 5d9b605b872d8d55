import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Line, readLines } from './line-reader.ts';

async function collect(chunks: Buffer[], max: number): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of readLines(Readable.from(chunks), max)) out.push(line);
  return out;
}

function chunked(text: string, cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
}

describe('readLines', () => {
  it('splits on \\n across any chunk boundaries (multi-byte characters included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/\n/g, '')),
          { maxLength: 8 },
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        async (lines, cuts, trailing) => {
          const text = lines.join('\n') + (trailing && lines.length > 0 ? '\n' : '');
          const got = await collect(chunked(text, cuts), 1 << 20);
          const expected =
            text === '' ? [] : text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
          expect(got.map((l) => l.text)).toEqual(expected);
          expect(got.map((l) => l.number)).toEqual(expected.map((_l, i) => i + 1));
          const last = got.at(-1);
          if (last) expect(last.unterminated).toBe(!text.endsWith('\n'));
        },
      ),
    );
  });

  it('keeps only the head of an over-long line and continues with the next line', async () => {
    const long = 'x'.repeat(100);
    const got = await collect(chunked(`ab\n${long}\ncd\n`, [5, 40, 70]), 10);
    expect(got.map((l) => [l.text, l.tooLong])).toEqual([
      ['ab', false],
      ['xxxxxxxxxx', true],
      ['cd', false],
    ]);
  });
});
