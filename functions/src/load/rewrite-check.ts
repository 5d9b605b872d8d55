import type { Destination, LoadRecord } from '../destinations/destination.ts';
import { REWRITE_REQUEST, rewriteChain } from '../privacy/rewrite-marker.ts';
import type { ObjectStore } from '../storage/object-store.ts';

export interface RewriteRef {
  bucket: string;
  name: string;
  generation: string;
  /** Custom metadata from the CloudEvent (StorageObjectData `metadata`), when the event carried the object's. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * A generation that a privacy request wrote by rewriting a loaded one (privacy/rewrite-marker.ts) holds only
 * events that load wrote: it is `already_loaded`, whether or not the request has written its own loads row yet
 * (its `object.finalized` event may arrive first; the request may have died between upload and loads row).
 * Returns the record to answer with (the loaded ancestor's, its reason naming the rewrite), or undefined when
 * the generation is no rewrite or no ancestor was loaded (then it is loaded like any file: its events reach the
 * warehouse once, through it). The mark comes from the CloudEvent when it carried the object's metadata, else
 * from one `objects.get` of that generation (locally: the sidecar file).
 */
export async function loadedAncestor(
  store: ObjectStore,
  destination: Destination,
  ref: RewriteRef,
  loadKeyOf: (ref: RewriteRef) => string,
): Promise<LoadRecord | undefined> {
  const metadata = ref.metadata ?? (await store.stat(ref.bucket, ref.name, ref.generation))?.metadata;
  for (const generation of rewriteChain(metadata)) {
    const found = await destination.findLoad(loadKeyOf({ ...ref, generation }));
    if (!found) continue;
    const request = metadata?.[REWRITE_REQUEST] ?? 'unknown';
    return {
      ...found,
      reason: `generation ${ref.generation} is privacy request ${request}'s rewrite of generation ${generation} (loaded as ${found.loadKey})`,
    };
  }
  return undefined;
}
