import { HUB_ERROR_CODES } from '../src-shared/index.ts';
import { HUB_HTTP_ERROR_CODES } from './errors.ts';
import type { StoreSummary } from './store/types.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Process-lifetime counters for /metrics (Prometheus counters reset on restart by design). */
export class HubMetrics {
  storedTotal = 0;
  duplicatesTotal = 0;
  batchesTotal = 0;
  deadLettersTotal = 0;
  // Every code starts at 0 so a rate() over a code that has never fired still has a series.
  private readonly rejected = new Map<string, number>(
    [
      ...Object.values(HUB_ERROR_CODES),
      HUB_HTTP_ERROR_CODES.payloadTooLarge,
      HUB_HTTP_ERROR_CODES.unsupportedMediaType,
    ].map((code) => [code, 0]),
  );

  accepted(stored: number, duplicates: number): void {
    this.batchesTotal += 1;
    this.storedTotal += stored;
    this.duplicatesTotal += duplicates;
  }

  deadLettered(n: number): void {
    this.deadLettersTotal += n;
  }

  rejectedBatch(code: string): void {
    this.rejected.set(code, (this.rejected.get(code) ?? 0) + 1);
  }

  render(summary: StoreSummary): string {
    const lines = [
      ...metric('haocha_hub_ratings_stored_total', 'counter', 'Ratings newly stored by ingest.', [
        ['', this.storedTotal],
      ]),
      ...metric(
        'haocha_hub_ratings_duplicate_total',
        'counter',
        'Ingested items already held (not counted again).',
        [['', this.duplicatesTotal]],
      ),
      ...metric('haocha_hub_ingest_batches_total', 'counter', 'Ingest batches accepted.', [
        ['', this.batchesTotal],
      ]),
      ...metric(
        'haocha_hub_ingest_rejected_total',
        'counter',
        'Ingest batches rejected, by error code.',
        [...this.rejected].map(([code, n]) => [`{code="${code}"}`, n]),
      ),
      ...metric('haocha_hub_ratings', 'gauge', 'Ratings held in the store.', [['', summary.ratings]]),
      ...metric(
        'haocha_hub_dead_letters_total',
        'counter',
        'Items kept as dead letters (sound chain, body the hub cannot read).',
        [['', this.deadLettersTotal]],
      ),
      ...metric('haocha_hub_dead_letters', 'gauge', 'Dead letters held in the store.', [
        ['', summary.dead_letters ?? 0],
      ]),
      ...metric('haocha_hub_devices', 'gauge', 'Devices that have uploaded at least once.', [
        ['', summary.devices],
      ]),
    ];
    return `${lines.join('\n')}\n`;
  }
}

function metric(
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  samples: [string, number][],
): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(([labels, v]) => `${name}${labels} ${v}`),
  ];
}
