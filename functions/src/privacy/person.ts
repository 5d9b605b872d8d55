import { createHash } from 'node:crypto';

/**
 * The ids of one person a privacy request is about: the user ids and anonymous ids (given, plus the linked ones
 * `findLinkedIds` found). Every erasure and suppression rule reads this.
 */
export interface Person {
  userIds: readonly string[];
  anonymousIds: readonly string[];
}

/**
 * How an id is stored once a request is done, and in the suppression list: SHA-256 of `sluice-id:` + the id, hex.
 * The collector (publisher/src/suppression-hash.ts) computes the same hash; both packages test the same vector.
 */
export function hashId(id: string): string {
  return createHash('sha256').update(`sluice-id:${id}`, 'utf8').digest('hex');
}

/** Every id of the person (user and anonymous), each once. */
export function allIds(person: Person): string[] {
  return [...new Set([...person.userIds, ...person.anonymousIds])];
}

/**
 * The text a raw line or failed event holds for an id: its JSON string form (`"user-1"`, with JSON's escapes).
 * Used only for lines that are not a JSON object (a failed event's raw text): containment errs on erasing.
 */
export function needlesOf(person: Person): string[] {
  return allIds(person).map((id) => JSON.stringify(id));
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * THE rule of whose event is whose (warehouse rows, raw lines, suppression): an event belongs to the person when
 * its `userId` is theirs; or its `previousId` (alias) is one of theirs; or its `anonymousId` is theirs and it
 * carries no user id or one of theirs. An anonymous id shared with another user (one device, two accounts) does
 * not erase that user's identified events.
 */
export function eventBelongs(
  event: { userId?: unknown; anonymousId?: unknown; previousId?: unknown },
  has: { user: (id: string) => boolean; anonymous: (id: string) => boolean },
): boolean {
  const userId = str(event.userId);
  if (userId !== undefined && userId !== '' && has.user(userId)) return true;
  const previousId = str(event.previousId);
  if (previousId !== undefined && (has.user(previousId) || has.anonymous(previousId))) return true;
  const anonymousId = str(event.anonymousId);
  if (anonymousId === undefined || !has.anonymous(anonymousId)) return false;
  return userId === undefined || userId === '' || event.userId === null || has.user(userId);
}

/** Set-backed membership for `eventBelongs`. */
export function memberships(person: Person): {
  user: (id: string) => boolean;
  anonymous: (id: string) => boolean;
} {
  const users = new Set(person.userIds);
  const anonymous = new Set(person.anonymousIds);
  return { user: (id) => users.has(id), anonymous: (id) => anonymous.has(id) };
}

/**
 * Whether one raw line (a window file's line, a failed event's raw text) is the person's: a JSON object by
 * `eventBelongs`; anything else (bad JSON, a truncated line) when it contains one of their ids as a JSON string.
 */
export function lineBelongs(text: string, person: Person): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return namesAnId(text, new Set(allIds(person)));
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return namesAnId(text, new Set(allIds(person)));
  }
  return eventBelongs(parsed as Record<string, unknown>, memberships(person));
}

/**
 * Does `text` hold one of the ids as a JSON string, in ANY spelling (`"user-1"`, `"user\u002d1"`, `"\u0075ser-1"`,
 * `"a\/b"` for `a/b`)? Every `"` of the text is tried as the start of a string literal (so text cut at any point,
 * or with an odd number of quotes before, is read in every phase), up to the longest spelling an id can have (each
 * UTF-16 unit escaped as `\uXXXX`), and the literal is decoded by `JSON.parse`. Exact and bounded: O(quotes x
 * that length). Whitespace around it does not matter. Used for lines that are not a JSON object and for failed
 * events' raw text.
 */
export function namesAnId(text: string, ids: ReadonlySet<string>): boolean {
  let longest = 0;
  for (const id of ids) longest = Math.max(longest, id.length * 6 + 2);
  for (let start = text.indexOf('"'); start >= 0; start = text.indexOf('"', start + 1)) {
    const limit = Math.min(text.length, start + longest);
    for (let j = start + 1; j < limit; j++) {
      const c = text.charCodeAt(j);
      if (c === 92) {
        j++; // an escape: the next unit is part of it
        continue;
      }
      if (c !== 34) continue;
      try {
        if (ids.has(JSON.parse(text.slice(start, j + 1)) as string)) return true;
      } catch {
        // Not a valid literal from this quote (a raw control character, a bad escape).
      }
      break;
    }
  }
  return false;
}

/** A failed event is the person's when its event id is one of theirs or its raw text names one of their ids. */
export function failedEventNamesPerson(raw: string, person: Person): boolean {
  return namesAnId(raw, new Set(allIds(person)));
}
