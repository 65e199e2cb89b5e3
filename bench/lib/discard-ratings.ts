import type {
  DeviceCursor,
  HubIngestBatch,
  HubStore,
  IngestOptions,
  IngestOutcome,
} from '../../hub/store/types.ts';

/**
 * The hub's store with ingest() answering every record `stored` without writing it: the fleet
 * benchmark's `--store discard` measures with it what the hub costs apart from storing ratings
 * (HTTP, signatures, nonces, heartbeats, the parse worker's inflate, parse, check and hashes, the
 * replies). That is the floor under the fleet goals for this hub on this machine: whatever the
 * store costs comes on top of it. Everything else (trust, fleet, configs) is the real store.
 *
 * Never for a real hub: nothing ingested is kept, and no chain or seq is checked.
 */
export class DiscardRatingsStore implements HubStore {
  readonly ingestsInCallOrder: boolean | undefined;
  /** The real store's, where it has them: the route takes dead letters only from a store that does. */
  readonly listDeadLetters: HubStore['listDeadLetters'];
  /** Ratings answered `stored` and thrown away. */
  discarded = 0;

  constructor(private readonly inner: HubStore) {
    this.ingestsInCallOrder = inner.ingestsInCallOrder;
    this.listDeadLetters = inner.listDeadLetters?.bind(inner);
  }

  get trust() {
    return this.inner.trust;
  }
  get fleet() {
    return this.inner.fleet;
  }
  get configs() {
    return this.inner.configs;
  }

  async ingest(batch: HubIngestBatch, receivedAt: Date, _options?: IngestOptions): Promise<IngestOutcome> {
    // A turn later, as a group commit answers: answered at once, uploads would seldom overlap, and
    // the route parses an upload alone in hand on the event loop instead of in the parse worker.
    await new Promise((resolve) => setImmediate(resolve));
    const items = batch.items.map((item) => ({ seq: item.seq, status: 'stored' as const }));
    this.discarded += items.length;
    return {
      ok: true,
      reply: {
        ack_through_seq: batch.items.at(-1)?.seq ?? 0,
        items,
        server_time: receivedAt.toISOString(),
      },
      stored: items.length,
      duplicates: 0,
      dead_letters: 0,
    };
  }

  deviceCursor(deviceId: string): Promise<DeviceCursor | null> {
    return this.inner.deviceCursor(deviceId);
  }
  statsCounts(from: string, to: string) {
    return this.inner.statsCounts(from, to);
  }
  listRatings(options: Parameters<HubStore['listRatings']>[0]) {
    return this.inner.listRatings(options);
  }
  summary() {
    return this.inner.summary();
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}
