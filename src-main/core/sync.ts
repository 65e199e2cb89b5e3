import { EventEmitter } from 'node:events';
import { gzipSync } from 'node:zlib';
import { AUTH_ERROR_CODES } from '../../src-shared/enrollment.ts';
import {
  type Alarm,
  DEAD_LETTER_HEADER,
  HUB_API,
  HUB_ERROR_CODES,
  hubErrorSchema,
  ingestReplySchema,
  MAX_BATCH_ITEMS,
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

/** Default cap on a batch's gzip-compressed body (architecture.md "Sync rules": ≤ 256 KiB). */
export const DEFAULT_MAX_BATCH_BYTES = 262_144;
/** Cap on the inflated body: the hub's ingest limit is 4 MiB of inflated bytes; stay well under. */
export const MAX_RAW_BATCH_BYTES = 3 * 1024 * 1024;
/**
 * Uploads a draining counter keeps on the wire: while the hub stores one (and fsyncs it), it
 * parses the next, and the counter marks the acked one and cuts the one after (see uploadOnce).
 * With three, the hub still ran dry while the counter did that after each answer: four took a
 * loopback drain from 12.2k to 13.4k ratings/s (four runs each, docs/decisions.md).
 */
export const UPLOADS_IN_FLIGHT = 4;

/** Aim this far under the limit when estimating, so the check after gzip rarely has to cut again. */
const ESTIMATE_MARGIN = 0.9;

export interface CutLimits {
  /** Largest gzip body; a batch of one record may exceed it (a record is never split). */
  maxBytes: number;
  maxItems: number;
  /** Largest inflated body (the hub's body limit counts inflated bytes). */
  maxRawBytes: number;
}

export interface CutBatch {
  /** How many of the given items the batch holds (the oldest ones, at least 1). */
  count: number;
  /** The gzip body to send. */
  body: Buffer;
  /** Compressed ÷ inflated size of this body: the estimate for the next batch. */
  ratio: number;
  /** gzip runs it took (1 when the estimate held). */
  attempts: number;
}

/**
 * Cuts the oldest items into one upload: a JSON IngestBatch, gzip-compressed, within the limits.
 * Gzipping after every added item would cost O(n²); instead the count is estimated from the items'
 * JSON sizes and the compression ratio of the previous batch, the body is gzipped once, and only
 * if it came out over the limit is the count scaled down by the overshoot and gzipped again.
 * `items` are the items' JSON texts as UTF-8 bytes, oldest first; `ratio` ≤ 0 or absent assumes no
 * compression.
 */
export function cutBatch(
  deviceId: string,
  items: readonly Uint8Array[],
  limits: CutLimits,
  ratio = 1,
): CutBatch {
  if (items.length === 0) throw new RangeError('cutBatch: no items');
  // One record to a line (JSON whitespace, so still one JSON document): the hub reads the records
  // line by line instead of as one large text (hub/ingest-parse.ts, readBatchLines).
  const head = Buffer.from(`{"device_id":${JSON.stringify(deviceId)},"items":[\n`);
  const tail = Buffer.from('\n]}');
  const estimate = ratio > 0 && ratio <= 1 ? ratio : 1;
  let raw = head.length + tail.length;
  let n = 0;
  const cap = Math.min(items.length, limits.maxItems);
  while (n < cap) {
    const add = (items[n] as Uint8Array).length + (n > 0 ? ITEM_SEPARATOR.length : 0);
    if (
      n > 0 &&
      (raw + add > limits.maxRawBytes || (raw + add) * estimate > limits.maxBytes * ESTIMATE_MARGIN)
    )
      break;
    raw += add;
    n++;
  }
  for (let attempts = 1; ; attempts++) {
    const parts: Uint8Array[] = [head];
    for (let i = 0; i < n; i++) {
      if (i > 0) parts.push(ITEM_SEPARATOR);
      parts.push(items[i] as Uint8Array);
    }
    parts.push(tail);
    const text = Buffer.concat(parts);
    const body = gzipSync(text, { level: GZIP_LEVEL });
    if (body.length <= limits.maxBytes || n === 1) {
      return { count: n, body, ratio: body.length / text.length, attempts };
    }
    // Over: scale the count by the overshoot (at least one fewer), then check again.
    n = Math.max(1, Math.min(n - 1, Math.floor(((n * limits.maxBytes) / body.length) * ESTIMATE_MARGIN)));
  }
}
const ITEM_SEPARATOR = Buffer.from(',\n');
/**
 * On rating records level 5 compresses as well as the default 6 (70.3 against 70.4 bytes a
 * rating) in five sixths of the time; 4 and below cost bytes on slow links (3: 8 % more).
 */
const GZIP_LEVEL = 5;

/** Ratings acked per second over a sliding window of recent uploads (progress and ETA). */
export class UploadRate {
  private readonly samples: { start: number; end: number; n: number }[] = [];

  constructor(
    private readonly windowMs = 60_000,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** `n` ratings were acked by an upload that started at `start` (this clock's ms). */
  add(start: number, n: number): void {
    this.samples.push({ start, end: this.clock(), n });
    this.trim();
  }

  /** Ratings per second, or null with no upload in the window. */
  perSecond(): number | null {
    this.trim();
    const first = this.samples[0];
    if (!first) return null;
    const spanMs = Math.max(1, this.clock() - first.start);
    return (this.samples.reduce((sum, x) => sum + x.n, 0) * 1000) / spanMs;
  }

  private trim(): void {
    const from = this.clock() - this.windowMs;
    while (this.samples.length > 0 && (this.samples[0] as { end: number }).end < from) this.samples.shift();
  }
}

/** Seconds to drain `depth` at `rate` per second: 0 when empty, null when the rate is unknown. */
export function etaSeconds(depth: number, rate: number | null): number | null {
  if (depth === 0) return 0;
  if (rate === null || rate <= 0) return null;
  return Math.ceil(depth / rate);
}

/**
 * The one uploader of a counter: sends the oldest unacked ratings to the hub and marks what the
 * hub acked. It deletes nothing; a stopped or failing hub only makes the queue longer.
 */
interface PreparedBatch {
  /** The records in it, oldest first (their JSON is in the body). */
  items: { seq: number; event_id: string }[];
  body: Buffer;
  /** More unacked records wait after these. */
  more: boolean;
}

/** An upload's answer, read in full. */
interface UploadAnswer {
  ok: boolean;
  status: number;
  headers: Headers;
  text: string;
}

/** An upload on its way: the batch, when it left, and its answer to come. */
interface InFlight {
  batch: PreparedBatch;
  sentAt: Date;
  started: number;
  answer: Promise<UploadAnswer>;
}

export class SyncLoop extends EventEmitter<{ change: [SyncView] }> {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  /**
   * Aborts the upload in flight when the loop stops: a closing hub must not wait on a counter that
   * is gone (the hub keeps a connection that was busy at its close open for its keep-alive time).
   */
  private abort = new AbortController();
  private attempt = 0;
  private batchSize: number;
  private health: SyncHealth = 'unknown';
  private lastError: string | null = null;
  /** Set after a chain mismatch or a forked stream: uploading stops until IT looks (architecture.md). */
  private halted = false;
  /** Compressed ÷ inflated size of the last batch, to estimate the next cut. */
  private ratio = 1;
  /** The next batch, cut while the one before it was in flight (see uploadOnce). */
  private prepared: PreparedBatch | null = null;
  private readonly rate = new UploadRate();
  private deadLetters: number;
  private lastDeadLetter: { seq: number; reason: string; at: string } | null;

  constructor(
    private readonly store: CounterStore,
    private readonly hubUrl: string,
    private readonly config: CounterConfig['sync'],
    private readonly fetchImpl: typeof fetch = fetch,
    /** Signs uploads once the counter is enrolled (device trust); null sends them unsigned. */
    private signer: RequestSigner | null = null,
  ) {
    super();
    this.batchSize = Math.min(config.batch_size, MAX_BATCH_ITEMS);
    const dead = store.deadLetterStats();
    this.deadLetters = dead.count;
    this.lastDeadLetter = dead.last;
  }

  /** Enrolled while running (IT's provisioning panel): the next upload is signed. */
  setSigner(signer: RequestSigner): void {
    this.signer = signer;
  }

  start(): void {
    this.stopped = false;
    if (this.abort.signal.aborted) this.abort = new AbortController();
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
    this.abort.abort();
  }

  /**
   * The hub's rewind command: every rating after `toSeq` is marked unsent and goes up again at once
   * (the hub's dedup on (device, seq) and event_id makes the resend harmless). A halted stream stays halted.
   */
  rewind(toSeq: number): number {
    const n = this.store.rewindTo(toSeq);
    this.attempt = 0;
    this.kick();
    return n;
  }

  /** Stopped after a chain mismatch, a forked stream or revocation (heartbeats report it). */
  isHalted(): boolean {
    return this.halted;
  }

  view(): SyncView {
    const q = this.store.queueStats();
    const rate = this.rate.perSecond();
    return {
      queue_depth: q.queue_depth,
      last_acked_seq: q.last_acked_seq,
      oldest_unsent_age_s: q.oldest_unsent_at
        ? Math.max(0, Math.round((Date.now() - Date.parse(q.oldest_unsent_at)) / 1000))
        : null,
      hub: this.health,
      last_error: this.lastError,
      upload_rate: rate === null ? null : Math.round(rate * 10) / 10,
      eta_s: etaSeconds(q.queue_depth, rate),
      dead_letters: this.deadLetters,
    };
  }

  /** A warning for the counter's alarms while the hub has kept any of our ratings as dead letters. */
  deadLetterAlarm(): Alarm | null {
    if (this.deadLetters === 0 || !this.lastDeadLetter) return null;
    return {
      kind: 'dead_letter',
      since: this.lastDeadLetter.at,
      message: `中心无法读取 ${this.deadLetters} 条评价，已单独保存待核查（最近 seq ${this.lastDeadLetter.seq}：${this.lastDeadLetter.reason}）`,
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
      // Aborted by stop(): not a fault of the hub, so the view keeps what the last answer said.
      if (!this.stopped) next = this.fail('unreachable', `hub unreachable: ${(e as Error).message}`, null);
    } finally {
      this.running = false;
      // Stopped while a request was in flight: the store may be closed by now.
      if (!this.stopped) {
        this.emit('change', this.view());
        if (!this.halted) this.schedule(next);
      }
    }
  }

  /** The oldest unacked records after `afterSeq`, cut to the byte and item limits, or null when none. */
  private prepare(afterSeq: number): PreparedBatch | null {
    const unsent = this.store.unsentJson(this.batchSize, afterSeq);
    if (unsent.length === 0) return null;
    const cut = cutBatch(
      this.store.deviceId,
      unsent.map((r) => r.json),
      {
        maxBytes: this.config.max_batch_bytes ?? DEFAULT_MAX_BATCH_BYTES,
        maxItems: this.batchSize,
        maxRawBytes: MAX_RAW_BATCH_BYTES,
      },
      this.ratio,
    );
    this.ratio = cut.ratio;
    return {
      items: unsent.slice(0, cut.count),
      body: cut.body,
      more: cut.count < unsent.length || unsent.length === this.batchSize,
    };
  }

  /** prepare() for the batch after the one in flight; a failure here only means no head start. */
  private tryPrepare(afterSeq: number): PreparedBatch | null {
    try {
      return this.prepare(afterSeq);
    } catch {
      return null;
    }
  }

  private async uploadOnce(): Promise<number> {
    // A batch cut while the previous upload was in flight is used only if it starts exactly at the
    // oldest unacked record (records never change, so it is then the batch we would cut now);
    // after a rewind, a partial ack or a halving it is dropped and cut again.
    const first = this.store.firstUnsentSeq();
    const ready = this.prepared;
    this.prepared = null;
    const batch =
      ready && first !== null && ready.items[0]?.seq === first && ready.items.length <= this.batchSize
        ? ready
        : this.prepare(0);
    if (!batch) {
      this.attempt = 0;
      return this.config.interval_ms;
    }
    // Up to UPLOADS_IN_FLIGHT uploads go out before the oldest one's answer: the hub parses the
    // later ones while it stores the earlier (it stores a device's uploads in seq order, whatever
    // order they arrive in), and this loop cuts the next batch meanwhile. Each assumes the ones before it are
    // stored; answers are read oldest first, and after one that is not a success the later
    // answers are dropped whatever they say (the batches go again; the hub stores each once).
    const flights: InFlight[] = [await this.send(batch)];
    try {
      for (;;) {
        while (flights.length < UPLOADS_IN_FLIGHT && !this.stopped) {
          const tail = (flights.at(-1) as InFlight).batch;
          const last = tail.items.at(-1)?.seq;
          if (last === undefined || !tail.more) break;
          // setImmediate lets the request just made go out before the cut (reading rows, gzip).
          const next = await new Promise<PreparedBatch | null>((resolve) =>
            setImmediate(() => resolve(this.tryPrepare(last))),
          );
          if (!next) break;
          if (this.stopped) {
            this.prepared = next;
            break;
          }
          flights.push(await this.send(next));
        }
        const current = flights.shift() as InFlight;
        const answer = await current.answer;
        const delay = this.settle(current, answer);
        if (flights.length === 0 || !answer.ok || this.stopped || this.halted) return delay;
        this.emit('change', this.view());
      }
    } finally {
      // Uploads sent ahead whose answers will not be read: let them end before the next one starts.
      await Promise.all(flights.map((f) => f.answer.catch(() => undefined)));
    }
  }

  /** Signs and sends one batch; the answer is read by settle(). */
  private async send(batch: PreparedBatch): Promise<InFlight> {
    const url = `${this.hubUrl}${HUB_API}/ingest`;
    // The signature's Content-Digest covers these bytes exactly as sent (gzip), as the hub digests them.
    const base = {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      [DEAD_LETTER_HEADER]: '1',
    };
    const sentAt = new Date();
    const started = performance.now();
    const headers = this.signer ? await this.signer.headers('POST', url, batch.body, base) : base;
    const answer = this.fetchImpl(url, {
      method: 'POST',
      headers,
      body: new Uint8Array(batch.body),
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(30_000)]),
    }).then(async (res) => ({
      ok: res.ok,
      status: res.status,
      headers: res.headers,
      text: await res.text(),
    }));
    // Read later (or never, for an upload sent ahead of one that failed): no unhandled rejection.
    answer.catch(() => undefined);
    return { batch, sentAt, started, answer };
  }

  /** Acts on one upload's answer; returns the delay before the next upload. */
  private settle(flight: InFlight, res: UploadAnswer): number {
    const { text } = res;
    const { items } = flight.batch;
    const { sentAt, started } = flight;
    if (res.ok) {
      const reply = ingestReplySchema.parse(JSON.parse(text));
      this.recordDeadLetters(reply.items, items);
      const acked = this.store.markAckedThrough(reply.ack_through_seq);
      this.rate.add(started, acked);
      this.attempt = 0;
      this.health = 'ok';
      this.lastError = null;
      this.batchSize = Math.min(this.config.batch_size, this.batchSize * 2);
      // More waiting? Go on at once instead of waiting a full interval.
      return this.store.queueStats().queue_depth > 0 ? 0 : this.config.interval_ms;
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

  /** Dead letters in a reply go to the counter's own table (once per seq) and raise the alarm. */
  private recordDeadLetters(
    statuses: { seq: number; status: string; reason?: string | undefined }[],
    sent: { seq: number; event_id: string }[],
  ): void {
    const dead = statuses.filter((s) => s.status === 'dead_letter');
    if (dead.length === 0) return;
    const eventIds = new Map(sent.map((r) => [r.seq, r.event_id]));
    const added = this.store.recordDeadLetters(
      dead.map((d) => ({
        seq: d.seq,
        event_id: eventIds.get(d.seq) ?? '',
        reason: d.reason ?? 'no reason given by the hub',
      })),
    );
    if (added === 0) return;
    const stats = this.store.deadLetterStats();
    this.deadLetters = stats.count;
    this.lastDeadLetter = stats.last;
    process.emitWarning(`hub kept ${added} rating(s) as dead letters: ${stats.last?.reason ?? ''}`);
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
