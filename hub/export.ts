import type { HubStore, StoredRating } from './store/types.ts';

export interface ExportOptions {
  /** Only ratings rated at or after this ISO 8601 instant (rated_at, the counter's clock). */
  since?: string;
  format: 'jsonl' | 'csv';
}

/** CSV columns, in order: the record flattened (pad press as pad_* columns), then received_at. */
export const EXPORT_COLUMNS = [
  'device_id',
  'seq',
  'event_id',
  'pad_boot_id',
  'pad_press_id',
  'pad_key',
  'level',
  'channel',
  'case_ref',
  'staff_no',
  'staff_name',
  'window_id',
  'hall_id',
  'opened_at',
  'rated_at',
  'mono_ms',
  'app_boot_id',
  'source',
  'prev_hash',
  'hash',
  'received_at',
] as const;
type ExportColumn = (typeof EXPORT_COLUMNS)[number];

/**
 * Writes every stored rating, in storage order, page by page (so a large export never holds the
 * store). JSONL lines are the record as stored (its hash still verifies after dropping the added
 * keys) plus received_at, pad_boot_id and pad_press_id. Returns the number of ratings written.
 */
export async function exportRatings(
  store: HubStore,
  options: ExportOptions,
  write: (chunk: string) => void,
): Promise<number> {
  const line = options.format === 'csv' ? csvLine : jsonLine;
  if (options.format === 'csv') write(`${EXPORT_COLUMNS.join(',')}\n`);
  let count = 0;
  let after: string | null = null;
  do {
    const page = await store.listRatings({ since: options.since, after, limit: 1000 });
    if (page.ratings.length > 0) write(page.ratings.map(line).join(''));
    count += page.ratings.length;
    after = page.next;
  } while (after !== null);
  return count;
}

function jsonLine(rating: StoredRating): string {
  return `${JSON.stringify({ ...rating, pad_boot_id: rating.pad?.boot_id ?? null, pad_press_id: rating.pad?.press_id ?? null })}\n`;
}

function csvLine(rating: StoredRating): string {
  const flat: Record<ExportColumn, string | number | null> = {
    ...rating,
    pad_boot_id: rating.pad?.boot_id ?? null,
    pad_press_id: rating.pad?.press_id ?? null,
    pad_key: rating.pad?.key ?? null,
  };
  return `${EXPORT_COLUMNS.map((c) => csvField(flat[c])).join(',')}\n`;
}

/** RFC 4180 quoting; null is an empty field. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
