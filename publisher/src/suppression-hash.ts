import { createHash } from 'node:crypto';

/**
 * How the suppression list names an id: SHA-256 of `sluice-id:` + the id, hex — the loader's `hashId`
 * (functions/src/privacy/person.ts). The packages never import each other; both test the same vector.
 */
export function suppressionHash(id: string): string {
  return createHash('sha256').update(`sluice-id:${id}`, 'utf8').digest('hex');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The loader's rule (`eventBelongs`), by hash: suppressed when the user id is listed, or the alias's previous id
 * is, or the anonymous id is and the event carries no user id (or a listed one).
 */
export function isSuppressedEvent(
  event: { userId?: unknown; anonymousId?: unknown; previousId?: unknown },
  listed: (hash: string) => boolean,
): boolean {
  const has = (id: string | undefined): boolean => id !== undefined && listed(suppressionHash(id));
  const userId = str(event.userId);
  if (has(userId) || has(str(event.previousId))) return true;
  return has(str(event.anonymousId)) && userId === undefined;
}
