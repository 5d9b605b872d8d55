import { randomUUID } from 'node:crypto';
import {
  correctedTimestampMs,
  type JsonMember,
  type JsonTextScanner,
  type SluiceEvent,
} from '@sluice/sdk/protocol';
import { anonymizeIp } from './ip.ts';
import { formatIsoTime } from './iso-time.ts';

/** Batch-level defaults (Segment's batch envelope), each already checked against the protocol: an event's own keys win. */
export interface BatchDefaults {
  /** The envelope's `context` object: parsed, and its members (offsets into the request's text). */
  context?: { value: Record<string, unknown>; members: readonly JsonMember[] };
  /** The envelope's `integrations` object as the client wrote it (JSON text). */
  integrations?: string;
  sentAt?: string;
}

export interface EnrichContext {
  receivedAt: Date;
  sourceId: string;
  /** Client address (socket or trusted proxy header). */
  ip: string | undefined;
  anonymizeIp: boolean;
  /** The scanner over the request's text: every offset below points into it. */
  scanner: JsonTextScanner;
  batch?: BatchDefaults;
}

/** An event object as the client wrote it: its members, offsets into the request's text. */
export interface EventText {
  members: readonly JsonMember[];
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The keys whose value the collector writes (a bit each); every other member is copied as the client wrote it. */
const TYPE = 1;
const RECEIVED_AT = 2;
const TIMESTAMP = 4;
const SOURCE_ID = 8;
const CONTEXT = 16;
const ORIGINAL_TIMESTAMP = 32;
const WRITE_KEY = 64;
const SET_BY_COLLECTOR: ReadonlyMap<string, number> = new Map([
  ['type', TYPE],
  ['receivedAt', RECEIVED_AT],
  ['timestamp', TIMESTAMP],
  ['sourceId', SOURCE_ID],
  ['context', CONTEXT],
  ['originalTimestamp', ORIGINAL_TIMESTAMP],
  ['writeKey', WRITE_KEY],
]);

/** `{"k":v,...}` from ordered entries (key -> value as JSON text). */
function objectText(entries: ReadonlyMap<string, string>): string {
  let out = '{';
  for (const [key, value] of entries) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${value}`;
  return `${out}}`;
}

/** Sets `key` in ordered entries as an object literal would: a new key is appended, an existing one keeps its place. */
function addMembers(entries: Map<string, string>, text: string, members: readonly JsonMember[]): void {
  for (const m of members) entries.set(m.key, text.slice(m.valueStart, m.valueEnd));
}

/**
 * Adds what the collector knows to a valid event (seam 3), writing the client's own text for everything it does
 * not set, so that numbers keep every digit (`9007199254740993`, `1e400`, `-0` reach the raw file as sent):
 * `messageId` if missing, `receivedAt`, the skew-corrected `timestamp` (`correctedTimestampMs`, the protocol's rule)
 * keeping the client's value as `originalTimestamp`, `context.ip` (unless the client set one), `sourceId`, and the
 * batch's `context`, `integrations` and `sentAt` where the event has none. Removes `writeKey`: it never leaves the
 * collector.
 *
 * The result has the keys of `{ ...event (without writeKey), type, messageId, receivedAt, timestamp, sourceId,
 * context, originalTimestamp?, sentAt?, integrations? }` in that order: a key the event has keeps its place (the
 * first, where a key is duplicated; the value `JSON.parse` keeps, the last, is the one enriched). Duplicated keys
 * that the collector does not set are copied as written: `JSON.parse` reads them the same on both sides.
 *
 * Everything that is the same for every event of a request (the `receivedAt` string, the batch's `sentAt` instant,
 * the client address) is computed once by `createEnricher`; the returned function does the per-event work.
 */
export function createEnricher(ctx: EnrichContext): (event: SluiceEvent, source: EventText) => string {
  const receivedAtMs = ctx.receivedAt.getTime();
  const receivedAt = formatIsoTime(receivedAtMs);
  const receivedAtText = `"${receivedAt}"`;
  const sourceIdText = JSON.stringify(ctx.sourceId);
  const text = ctx.scanner.text;
  const scanner = ctx.scanner;
  const batchContext = ctx.batch?.context;
  const batchIntegrations = ctx.batch?.integrations;
  const batchSentAt = ctx.batch?.sentAt;
  const batchSentAtMs = batchSentAt === undefined ? undefined : Date.parse(batchSentAt);
  const ip = ctx.ip !== undefined && ctx.anonymizeIp ? anonymizeIp(ctx.ip) : ctx.ip;
  const ipText = ip === undefined ? undefined : JSON.stringify(ip);

  /** The new `context.ip` as JSON text, or undefined to leave the merged context's `ip` as it is. */
  const contextIp = (own: Record<string, unknown> | undefined): string | undefined => {
    const client =
      own !== undefined && Object.hasOwn(own, 'ip')
        ? own.ip
        : batchContext !== undefined && Object.hasOwn(batchContext.value, 'ip')
          ? batchContext.value.ip
          : undefined;
    if (typeof client === 'string') {
      if (!ctx.anonymizeIp) return undefined;
      const masked = anonymizeIp(client);
      return masked === client ? undefined : JSON.stringify(masked);
    }
    return ipText;
  };

  /** The enriched `context` as JSON text: the batch's, then the event's own members, then `ip`. */
  const contextText = (event: SluiceEvent, own: JsonMember | undefined): string => {
    const value = event.context;
    const newIp = contextIp(value);
    if (batchContext === undefined && own !== undefined) {
      const raw = text.slice(own.valueStart, own.valueEnd);
      if (newIp === undefined) return raw;
      if (value !== undefined && !Object.hasOwn(value, 'ip')) {
        const empty = scanner.skipWhitespace(own.valueStart + 1) === own.valueEnd - 1;
        return `${raw.slice(0, -1)}${empty ? '' : ','}"ip":${newIp}}`;
      }
    }
    const entries = new Map<string, string>();
    if (batchContext !== undefined) addMembers(entries, text, batchContext.members);
    if (own !== undefined) addMembers(entries, text, scanner.members(own.valueStart));
    if (newIp !== undefined) entries.set('ip', newIp);
    return objectText(entries);
  };

  return (event, source) => {
    const clientTimestamp = event.timestamp ?? event.originalTimestamp;
    const sentAt = event.sentAt ?? batchSentAt;
    const sentAtMs = event.sentAt === undefined ? batchSentAtMs : Date.parse(event.sentAt);
    const timestamp =
      clientTimestamp === undefined
        ? receivedAtText
        : `"${formatIsoTime(correctedTimestampMs(receivedAtMs, Date.parse(clientTimestamp), sentAtMs))}"`;
    const originalText = clientTimestamp === undefined ? undefined : JSON.stringify(clientTimestamp);

    const members = source.members;
    let ownContext: JsonMember | undefined;
    for (let i = members.length - 1; i >= 0; i--) {
      const m = members[i] as JsonMember;
      if (m.key === 'context') {
        ownContext = m;
        break;
      }
    }

    // Runs of members copied as written, and the members the collector writes, in the event's order. Plain loops
    // and a bit set: no closure or collection is created per event.
    const typeText = `"${event.type}"`;
    let out = '{';
    let sep = '';
    let runStart = -1;
    let runEnd = -1;
    let written = 0;
    for (const m of members) {
      const bit = SET_BY_COLLECTOR.get(m.key);
      if (bit === undefined) {
        if (runStart < 0) runStart = m.keyStart;
        runEnd = m.valueEnd;
        continue;
      }
      if (runStart >= 0) {
        out += sep + text.slice(runStart, runEnd);
        sep = ',';
        runStart = -1;
      }
      if (bit === WRITE_KEY || (written & bit) !== 0) continue;
      let value: string | undefined;
      if (bit === TYPE) value = typeText;
      else if (bit === RECEIVED_AT) value = receivedAtText;
      else if (bit === TIMESTAMP) value = timestamp;
      else if (bit === SOURCE_ID) value = sourceIdText;
      else if (bit === CONTEXT) value = contextText(event, ownContext);
      else value = originalText; // originalTimestamp: the protocol check made the event have one
      if (value === undefined) continue;
      written |= bit;
      out += `${sep}"${m.key}":${value}`;
      sep = ',';
    }
    if (runStart >= 0) {
      out += sep + text.slice(runStart, runEnd);
      sep = ',';
    }
    if ((written & TYPE) === 0) out += `${sep}"type":${typeText}`;
    if (event.messageId === undefined) out += `,"messageId":"${randomUUID()}"`;
    if ((written & RECEIVED_AT) === 0) out += `,"receivedAt":${receivedAtText}`;
    if ((written & TIMESTAMP) === 0) out += `,"timestamp":${timestamp}`;
    if ((written & SOURCE_ID) === 0) out += `,"sourceId":${sourceIdText}`;
    if ((written & CONTEXT) === 0) out += `,"context":${contextText(event, ownContext)}`;
    if (originalText !== undefined && (written & ORIGINAL_TIMESTAMP) === 0)
      out += `,"originalTimestamp":${originalText}`;
    if (sentAt !== undefined && event.sentAt === undefined) out += `,"sentAt":${JSON.stringify(sentAt)}`;
    if (batchIntegrations !== undefined && event.integrations === undefined)
      out += `,"integrations":${batchIntegrations}`;
    return `${out}}`;
  };
}
