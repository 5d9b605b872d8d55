import type { EventType } from '@sluice/sdk/protocol';
import type { ColumnSchema, LogicalType } from '../model/warehouse.ts';

/**
 * Segment's common columns, per message type, typed as Segment types them: every Segment table (`tracks`, each
 * track event's own table, `identifies`, `pages`, `screens`, `groups`, `aliases`) is created with them, so SQL
 * written against an established Segment warehouse (sessionization models reading `user_id`,
 * `context_campaign_source`...) runs on a fresh one too. Only the table's creation adds them (a schema change
 * like any other, so every destination gets them); a value of another type for one of them goes to a variant
 * column, as for any column. `loaded_at` is one of the bookkeeping columns every table gets (`tableColumns`).
 * Listed in docs/warehouse-schema.md ("Common columns").
 */
const columns = (type: LogicalType, names: readonly string[]): ColumnSchema[] =>
  names.map((name) => ({ name, type }));

const COMMON: readonly ColumnSchema[] = [
  ...columns('STRING', ['id', 'anonymous_id', 'user_id']),
  ...columns('TIMESTAMP', ['received_at', 'sent_at', 'original_timestamp', 'timestamp']),
  ...columns('STRING', [
    'context_ip',
    'context_library_name',
    'context_library_version',
    'context_user_agent',
    'context_locale',
    'context_page_path',
    'context_page_referrer',
    'context_page_search',
    'context_page_title',
    'context_page_url',
    'context_campaign_source',
    'context_campaign_medium',
    'context_campaign_name',
    'context_campaign_term',
    'context_campaign_content',
  ]),
];

/** The columns a Segment table of each message type is created with (a track's own table: `track`'s). */
export const SEGMENT_COLUMNS: Record<EventType, readonly ColumnSchema[]> = {
  track: [...COMMON, ...columns('STRING', ['event', 'event_text'])],
  identify: COMMON,
  page: [...COMMON, ...columns('STRING', ['name', 'url', 'path', 'title', 'search', 'referrer'])],
  screen: [...COMMON, ...columns('STRING', ['name'])],
  group: [...COMMON, ...columns('STRING', ['group_id'])],
  alias: [...COMMON, ...columns('STRING', ['previous_id'])],
};
