import { isLegacyRecord, type RatingRecord } from '../src-shared/index.ts';
import type { HubStore, StoredRating } from './store/types.ts';

export interface ExportOptions {
  /** Only ratings rated at or after this ISO 8601 instant (rated_at, the counter's clock). */
  since?: string;
  format: 'jsonl' | 'csv';
}

/**
 * CSV columns, in order: identity and pad press, the record flattened (arrays joined with `|`,
 * dimensions as JSON, the rater's contact as two columns), then received_at. A legacy record
 * (rec_version 1) leaves the columns it does not carry empty.
 */
export const EXPORT_COLUMNS = [
  'device_id',
  'seq',
  'event_id',
  'pad_boot_id',
  'pad_press_id',
  'pad_key',
  'rec_version',
  'outcome',
  'level',
  'channel',
  'case_ref',
  'item_code',
  'item_name',
  'case_status',
  'accepted_at',
  'finished_at',
  'assess_number',
  'reasons',
  'reason_status',
  'reason_dict_version',
  'dimensions',
  'free_text',
  'rater_type',
  'anonymous',
  'rater_name',
  'rater_phone',
  'signals',
  'staff_no',
  'staff_name',
  'window_id',
  'hall_id',
  'dept_id',
  'config_version',
  'opened_at',
  'rated_at',
  'mono_ms',
  'app_boot_id',
  'source',
  'prev_hash',
  'hash',
  'received_at',
  // Derived at the hub from heartbeat anchors (empty until an anchor of the rating's boot arrived).
  'corrected_at',
  'hub_signals',
] as const;
type ExportColumn = (typeof EXPORT_COLUMNS)[number];

/** Keys the JSONL export adds to each record; drop them and the record's hash verifies again. */
export const JSONL_ADDED_KEYS = [
  'rec_version',
  'received_at',
  'pad_boot_id',
  'pad_press_id',
  // Only on lines the hub has corrected (fleet clock anchors).
  'corrected_at',
  'hub_signals',
] as const;

/**
 * Writes every stored rating, in storage order, page by page (so a large export never holds the
 * store). JSONL lines are the record as stored, legacy records in their legacy shape (its hash
 * still verifies after dropping JSONL_ADDED_KEYS), plus those keys. Returns the number written.
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

function recVersion(rating: StoredRating): 1 | 2 {
  return isLegacyRecord(rating) ? 1 : 2;
}

function jsonLine(rating: StoredRating): string {
  return `${JSON.stringify({
    ...rating,
    rec_version: recVersion(rating),
    pad_boot_id: rating.pad?.boot_id ?? null,
    pad_press_id: rating.pad?.press_id ?? null,
  })}\n`;
}

type Cell = string | number | boolean | null;

function csvLine(rating: StoredRating): string {
  // Legacy records have none of the national fields: their cells stay empty.
  const current: Partial<RatingRecord> = isLegacyRecord(rating) ? {} : rating;
  const flat: Record<ExportColumn, Cell> = {
    device_id: rating.device_id,
    seq: rating.seq,
    event_id: rating.event_id,
    pad_boot_id: rating.pad?.boot_id ?? null,
    pad_press_id: rating.pad?.press_id ?? null,
    pad_key: rating.pad?.key ?? null,
    rec_version: recVersion(rating),
    outcome: current.outcome ?? 'rated',
    level: rating.level,
    channel: rating.channel,
    case_ref: rating.case_ref,
    item_code: current.item_code ?? null,
    item_name: current.item_name ?? null,
    case_status: current.case_status ?? null,
    accepted_at: current.accepted_at ?? null,
    finished_at: current.finished_at ?? null,
    assess_number: current.assess_number ?? null,
    reasons: current.reasons?.join('|') ?? null,
    reason_status: current.reason_status ?? null,
    reason_dict_version: current.reason_dict_version ?? null,
    dimensions: current.dimensions ? JSON.stringify(current.dimensions) : null,
    free_text: current.free_text ?? null,
    rater_type: current.rater_type ?? null,
    anonymous: current.anonymous ?? null,
    rater_name: current.rater?.name ?? null,
    rater_phone: current.rater?.phone ?? null,
    signals: current.signals?.join('|') ?? null,
    staff_no: rating.staff_no,
    staff_name: rating.staff_name,
    window_id: rating.window_id,
    hall_id: rating.hall_id,
    dept_id: current.dept_id ?? null,
    config_version: current.config_version ?? null,
    opened_at: rating.opened_at,
    rated_at: rating.rated_at,
    mono_ms: rating.mono_ms,
    app_boot_id: rating.app_boot_id,
    source: rating.source,
    prev_hash: rating.prev_hash,
    hash: rating.hash,
    received_at: rating.received_at,
    corrected_at: rating.corrected_at ?? null,
    hub_signals: rating.hub_signals?.join('|') ?? null,
  };
  return `${EXPORT_COLUMNS.map((c) => csvField(flat[c])).join(',')}\n`;
}

/**
 * RFC 4180 quoting; null is an empty field. Text that a spreadsheet would run as a formula
 * (citizen free text, item names: = + - @ at the start) gets a leading apostrophe (OWASP CSV
 * injection); JSONL keeps every value as stored.
 */
function csvField(value: Cell): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
