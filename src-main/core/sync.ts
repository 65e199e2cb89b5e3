import { EventEmitter } from 'node:events';
import { AUTH_ERROR_CODES } from '../../src-shared/enrollment.ts';
import {
  HUB_API,
  HUB_ERROR_CODES,
  hubErrorSchema,
  type IngestBatch,
  ingestReplySchema,
  type SyncView,
} from '../../src-shared/index.ts';
import type { CounterConfig } from './config.ts';
import type { RequestSigner } from './enrollment.ts';
import type { CounterStore } from './store/counter-store.ts';

export type SyncHealth = SyncView['hub'];

/** Full-jitter exponential backoff (AWS architecture blog): spreads hundreds of counters returning at once. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.max(minMs, Math.floor(random() * cap));
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The one uploader of a counter: sends the oldest unacked ratings to the hub and marks what the
 * hub acked. It deletes nothing; a stopped or failing hub only makes the queue longer.
 */
export class SyncLoop extends EventEmitter<{ change: [SyncView] }> {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private attempt = 0;
  private batchSize: number;
  private health: SyncHealth = 'unknown';
  private lastError: string | null = null;
  /** Set after a chain mismatch or a forked stream: uploading stops until IT looks (architecture.md). */
  private halted = false;

  constructor(
    private readonly store: CounterStore,
    private readonly hubUrl: string,
    private readonly config: CounterConfig['sync'],
    private readonly fetchImpl: typeof fetch = fetch,
    /** Signs uploads once the counter is enrolled (device trust); null sends them unsigned. */
    private readonly signer: RequestSigner | null = null,
  ) {
    super();
    this.batchSize = config.batch_size;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Upload soon: a rating was just committed. */
  kick(): void {
    if (!this.running && !this.halted && this.attempt === 0) this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  view(): SyncView {
    const q = this.store.queueStats();
    return {
      queue_depth: q.queue_depth,
      last_acked_seq: q.last_acked_seq,
      oldest_unsent_age_s: q.oldest_unsent_at
        ? Math.max(0, Math.round((Date.now() - Date.parse(q.oldest_unsent_at)) / 1000))
        : null,
      hub: this.health,
      last_error: this.lastError,
    };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.running || this.stopped || this.halted) return;
    this.running = true;
    let next = this.config.interval_ms;
    try {
      next = await this.uploadOnce();
    } catch (e) {
      next = this.fail('unreachable', `hub unreachable: ${(e as Error).message}`, null);
    } finally {
      this.running = false;
      // Stopped while a request was in flight: the store may be closed by now.
      if (!this.stopped) {
        this.emit('change', this.view());
        if (!this.halted) this.schedule(next);
      }
    }
  }

  /** One batch; returns the delay before the next tick. */
  private async uploadOnce(): Promise<number> {
    const items = this.store.unsentBatch(this.batchSize);
    if (items.length === 0) {
      this.attempt = 0;
      return this.config.interval_ms;
    }
    const batch: IngestBatch = { device_id: this.store.deviceId, items };
    const url = `${this.hubUrl}${HUB_API}/ingest`;
    const payload = Buffer.from(JSON.stringify(batch));
    const base = { 'content-type': 'application/json' };
    const sentAt = new Date();
    const headers = this.signer ? await this.signer.headers('POST', url, payload, base) : base;
    const res = await this.fetchImpl(url, {
      method: 'POST',
      headers,
      body: new Uint8Array(payload),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.ok) {
      const reply = ingestReplySchema.parse(JSON.parse(text));
      this.store.markAckedThrough(reply.ack_through_seq);
      this.attempt = 0;
      this.health = 'ok';
      this.lastError = null;
      this.batchSize = Math.min(this.config.batch_size, this.batchSize * 2);
      // More waiting? Go on at once instead of waiting a full interval.
      return items.length === this.batchSize || this.store.queueStats().queue_depth > 0
        ? 0
        : this.config.interval_ms;
    }
    const body = hubErrorSchema.safeParse(safeJson(text));
    const code = body.success ? body.data.code : `HTTP_${res.status}`;
    const message = body.success ? body.data.message : text.slice(0, 200);
    if (res.status === 409 && body.success && body.data.cursor !== undefined) {
      if (code === HUB_ERROR_CODES.seqGap) {
        // The hub's cursor is behind what we think it holds: resend from there.
        this.store.rewindTo(body.data.cursor);
        this.store.markAckedThrough(body.data.cursor);
        this.attempt = 0;
        this.lastError = `hub asked to resend from seq ${body.data.cursor + 1}`;
        return 0;
      }
      // Chain mismatch or a forked stream: never paper over it; keep every row and raise the alarm.
      this.halted = true;
      return this.fail('rejected', `${code}: ${message}`, null);
    }
    if (
      res.status === 401 &&
      code === AUTH_ERROR_CODES.clockSkew &&
      this.signer &&
      body.success &&
      body.data.server_time
    ) {
      // Our clock is off: sign with the hub's time from now on and try again at once. The times
      // recorded in ratings stay as measured; the hub corrects them from boot id and monotonic time.
      const before = this.signer.clockOffsetMs();
      this.signer.learnServerTime(body.data.server_time, sentAt);
      this.lastError = `clock differs from the hub by ${Math.round(this.signer.clockOffsetMs() / 1000)} s; re-signed`;
      if (Math.abs(this.signer.clockOffsetMs() - before) > 1000) return 0;
    }
    if (res.status === 403 && code === AUTH_ERROR_CODES.revoked) {
      // Revoked at the hub: stop uploading, keep every rating, and say why (diagnostics, status).
      this.halted = true;
      return this.fail('revoked', `${code}: ${message}`, null);
    }
    if (res.status === 413 && this.batchSize > 1) {
      this.batchSize = Math.max(1, Math.floor(this.batchSize / 2));
      return 0;
    }
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
    return this.fail(
      res.status >= 500 || res.status === 429 ? 'unreachable' : 'rejected',
      `${code}: ${message}`,
      retryAfter,
    );
  }

  private fail(health: SyncHealth, message: string, retryAfterMs: number | null): number {
    this.health = health;
    this.lastError = message;
    const delay = backoffDelay(this.attempt, this.config.backoff_min_ms, this.config.backoff_max_ms);
    this.attempt++;
    return Math.max(delay, retryAfterMs ?? 0);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
