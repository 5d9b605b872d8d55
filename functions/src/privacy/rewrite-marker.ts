/**
 * The mark a privacy rewrite leaves on the new generation of a raw file, in its custom object metadata, written
 * with the upload itself (GCS: the multipart upload's metadata part, under an `ifGenerationMatch` precondition;
 * locally: the sidecar of storage/local-metadata.ts, before the rename):
 *
 *   sluice-rewrite-of:        the generations this content descends from, newest first, space-separated
 *                             (the one it replaced, then what that one replaced, ...; at most REWRITE_CHAIN_MAX)
 *   sluice-privacy-request:   the request that wrote it
 *
 * The loader (load/load-object.ts) answers `already_loaded` for a marked generation when one generation of its
 * chain has a loads row: its lines are that load's events minus the person's, all already in the warehouse. The
 * request writes the new generation's own loads row afterwards (raw-files.ts); the mark makes the order of the
 * two irrelevant — the rewrite's `object.finalized` event may reach the loader first, or the request may die
 * between the upload and its loads row.
 */
export const REWRITE_OF = 'sluice-rewrite-of';
export const REWRITE_REQUEST = 'sluice-privacy-request';
/** Custom metadata is at most 8 KiB per object; 64 generations of ~16 digits stay far below. */
export const REWRITE_CHAIN_MAX = 64;

/** The generations a generation descends from (newest first); [] for a file no privacy request rewrote. */
export function rewriteChain(metadata: Readonly<Record<string, string>> | undefined): string[] {
  const value = metadata?.[REWRITE_OF];
  if (value === undefined) return [];
  return value.split(' ').filter((g) => /^\d+$/.test(g));
}

/** The mark of a rewrite of generation `replaced` (whose own metadata is `replacedMetadata`) by `requestId`. */
export function rewriteMarker(
  replaced: string,
  replacedMetadata: Readonly<Record<string, string>> | undefined,
  requestId: string,
): Record<string, string> {
  const chain = [replaced, ...rewriteChain(replacedMetadata).filter((g) => g !== replaced)];
  return {
    [REWRITE_OF]: chain.slice(0, REWRITE_CHAIN_MAX).join(' '),
    [REWRITE_REQUEST]: requestId,
  };
}
