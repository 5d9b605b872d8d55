import type { EventType, SluiceEvent } from '../protocol/messages.ts';

/** A JSON object as accepted by `properties`, `traits` and `context`. */
export type Dict = Record<string, unknown>;

/** Per-call options, as Segment's libraries accept them. */
export interface CallOptions {
  timestamp?: Date | string;
  context?: Dict;
  anonymousId?: string;
  userId?: string;
  messageId?: string;
  integrations?: Record<string, boolean | Dict>;
}

/**
 * A plugin sees every event before it is queued and returns it (possibly changed), or `null` to drop it.
 * Plugins run in the order they were added; a plugin that throws is skipped for that event and reported.
 */
export type Plugin = (event: SluiceEvent) => SluiceEvent | null | undefined;

/** Where the SDK reports what went wrong; it never throws into the host application. */
export type Logger = (code: string, detail?: unknown) => void;

/** The public tracking API shared by the browser and Node SDKs. */
export interface Api {
  track(event: string, properties?: Dict, options?: CallOptions): void;
  identify(userId?: string | Dict | null, traits?: Dict, options?: CallOptions): void;
  page(
    category?: string | Dict | null,
    name?: string | Dict | null,
    properties?: Dict,
    options?: CallOptions,
  ): void;
  screen(
    category?: string | Dict | null,
    name?: string | Dict | null,
    properties?: Dict,
    options?: CallOptions,
  ): void;
  group(groupId: string, traits?: Dict, options?: CallOptions): void;
  alias(userId: string, previousId?: string, options?: CallOptions): void;
  use(plugin: Plugin): void;
  flush(): Promise<void>;
}

export type { EventType, SluiceEvent };
