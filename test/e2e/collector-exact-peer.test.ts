/**
 * A real peer sends integers beyond 2^53: @segment/analytics-node (unchanged) in a child Node process started with
 * `--harmony-json-parse-with-source`, whose `JSON.rawJSON` lets an app put exact digits on the wire (its own
 * `JSON.stringify` of the batch writes them as given). The collector must publish those digits as sent.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { buildApp, InMemoryTransport, loadConfig } from '@sluice/publisher';
import { JsonTextScanner, lastMember } from '@sluice/sdk/protocol';
import { afterEach, describe, expect, it } from 'vitest';

const KEY = 'peer-key';
const CLIENT = `
import { Analytics } from '@segment/analytics-node';
const analytics = new Analytics({ writeKey: process.env.KEY, host: process.env.HOST, maxRetries: 0, flushAt: 2 });
analytics.on('http_request', (request) => process.stdout.write(request.body + '\\n'));
analytics.on('error', (error) => { process.stderr.write(String(error)); process.exitCode = 1; });
const raw = (digits) => JSON.rawJSON(digits);
analytics.track({ userId: 'u1', event: 'Big Numbers', messageId: 'peer-1',
  properties: { n: raw('9007199254740993'), m: raw('12345678901234567890123'), neg: raw('-9223372036854775809'), z: -0 } });
analytics.identify({ userId: 'u1', messageId: 'peer-2', traits: { account: raw('18446744073709551617') } });
await analytics.closeAndFlush({ timeout: 10000 });
`;

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('@segment/analytics-node sending big integers', () => {
  it('reaches the published line with every digit, as the client wrote it', async () => {
    const transport = new InMemoryTransport();
    const { app } = buildApp(loadConfig({ SLUICE_WRITE_KEY: KEY }), { transport });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();

    const child = spawn(
      process.execPath,
      ['--harmony-json-parse-with-source', '--input-type=module', '-e', CLIENT],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, KEY, HOST: url },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const [code] = (await once(child, 'exit')) as [number];
    expect(code, err).toBe(0);

    // What the client put on the wire (its request body), member by member.
    const wire = out.trim();
    expect(wire).toContain('"n":9007199254740993');
    expect(JSON.stringify(JSON.parse(wire))).not.toContain('9007199254740993'); // a parse/stringify loses it
    const scanner = new JsonTextScanner(wire);
    scanner.members(scanner.skipWhitespace(0), 'batch');
    const sent = (scanner.expanded ?? []).map((e) => {
      const members = e.members ?? [];
      const member = lastMember(members, 'properties') ?? lastMember(members, 'traits');
      return member ? wire.slice(member.keyStart, member.valueEnd) : '';
    });
    expect(sent).toEqual([
      '"properties":{"n":9007199254740993,"m":12345678901234567890123,"neg":-9223372036854775809,"z":0}',
      '"traits":{"account":18446744073709551617}',
    ]);
    const lines = transport.messages.map((m) => m.data);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(sent[0]);
    expect(lines[1]).toContain(sent[1]);
  });
});
