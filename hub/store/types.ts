import type {
  AnyRatingRecord,
  DeliveredCommand,
  FleetCommand,
  HeartbeatRequest,
  HUB_ERROR_CODES,
  IngestReply,
  Level,
  QueuedCommand,
  RatingOutcome,
} from '../../src-shared/index.ts';

/**
 * The hub's storage, whatever the engine (SQLite now, PostgreSQL later). Every method is async so
 * a networked engine fits the same interface; the chain rules live in ../ingest-rules.ts and are
 * shared by every implementation.
 */
export interface IngestOptions {
  /**
   * Every item's hash was checked against its content by the caller (the ingest route's parse
   * workers do it off the event loop): the store does not hash the batch again.
   */
  hashesVerified?: boolean;
  /**
   * No record can hold a lone UTF-16 surrogate (the caller found no escape that could make one in
   * the record texts): the store need not look for one in every text of every record.
   */
  noLoneSurrogates?: boolean;
}

export interface HubStore {
  /**
   * Stores a schema-validated batch in one transaction, all or nothing: verifies hashes (unless
   * the caller already did), checks the device's chain, inserts the new records, advances the
   * cursor. A rejection changes nothing.
   */
  ingest(batch: HubIngestBatch, receivedAt: Date, options?: IngestOptions): Promise<IngestOutcome>;
  /**
   * True when ingest() applies batches in the order it is called (SQLite: one queue, one
   * writer): a batch handed over right after another is checked against the cursor that one
   * leaves. The ingest route then hands a device's next upload over without waiting for the
   * previous one's answer. Otherwise (PostgreSQL: concurrent transactions on pooled connections)
   * it waits for that answer.
   */
  readonly ingestsInCallOrder?: boolean;
  /** The device's chain head at the hub, or null for a device never seen. */
  deviceCursor(deviceId: string): Promise<DeviceCursor | null>;
  /** Record counts per Asia/Shanghai day, hall, window, outcome, level and flags, for days from..to inclusive. */
  statsCounts(from: string, to: string): Promise<StatsCountRow[]>;
  /** One page of stored ratings in storage order; pass `next` back as `after` for the following page. */
  listRatings(options: ListRatingsOptions): Promise<RatingPage>;
  /** Sizes for /metrics. */
  summary(): Promise<StoreSummary>;
  /** Dead letters in storage order (GET /api/v1/admin/dead-letters); optional until every engine has it. */
  listDeadLetters?(options: { after?: number; limit?: number }): Promise<DeadLetterPage>;
  /** Throws when the store cannot answer (for /healthz). */
  ping(): Promise<void>;
  /** Enrollment tokens, enrolled device keys and spent nonces (device trust). */
  readonly trust: TrustStore;
  /** Heartbeats, clock anchors and queued commands (the fleet view). */
  readonly fleet: FleetStore;
  /** Config bundle versions (issue 6 item 4): published content, newest is current. */
  readonly configs: ConfigStore;
  close(): Promise<void>;
}

/** The codes a store may reject a batch with (BAD_REQUEST is the HTTP layer's, before the store). */
export type IngestRejectCode =
  | typeof HUB_ERROR_CODES.hashMismatch
  | typeof HUB_ERROR_CODES.seqGap
  | typeof HUB_ERROR_CODES.chainMismatch
  | typeof HUB_ERROR_CODES.conflict;

export interface IngestRejection {
  code: IngestRejectCode;
  message: string;
  /** The device's last seq at the hub, so the counter can rewind to it. */
  cursor?: number;
}

export type IngestOutcome =
  | { ok: true; reply: IngestReply; stored: number; duplicates: number; dead_letters?: number }
  | { ok: false; rejection: IngestRejection };

export interface DeviceCursor {
  device_id: string;
  last_seq: number;
  last_hash: string;
  first_seen: string;
  last_seen: string;
}

export interface StatsCountRow {
  day: string;
  hall_id: string;
  window_id: string;
  outcome: RatingOutcome;
  /** null exactly when outcome is not_rated. */
  level: Level | null;
  /** The records carry an anti-fraud signal. */
  flagged: boolean;
  /** Default ratings (no answer in time); none are made yet. */
  is_default: boolean;
  count: number;
}

/**
 * A rating as stored: the counter's record, untouched (legacy ones in their legacy shape), plus when
 * the hub received it, and, once a heartbeat anchor of its boot arrived, its time on the hub's clock
 * and the hub's own signals about it (e.g. `before_accept`). Those two keys are absent until then.
 */
export type StoredRating = AnyRatingRecord & {
  received_at: string;
  corrected_at?: string;
  hub_signals?: HubSignal[];
};

/** Signals the hub derives (the counter's own are in the record's `signals`); each flags the rating. */
export type HubSignal = 'before_accept';

export interface ListRatingsOptions {
  /** Only ratings rated (rated_at, the counter's clock) at or after this instant (ISO 8601). */
  since?: string;
  /** Opaque position from a previous page's `next`. */
  after?: string | null;
  /** Page size, default 1000. */
  limit?: number;
}

export interface RatingPage {
  ratings: StoredRating[];
  /** Position to continue from, or null when this was the last page. */
  next: string | null;
}

export interface StoreSummary {
  ratings: number;
  devices: number;
  /** Items held in dead_letters (absent from engines without them). */
  dead_letters?: number;
}

/**
 * A stream item whose envelope and hash are sound but whose body the hub cannot read (a field from
 * a newer app, a failing rule): it takes its place in the chain and is kept verbatim, not counted.
 */
export interface DeadLetterItem {
  dead_letter: true;
  device_id: string;
  seq: number;
  event_id: string;
  prev_hash: string;
  hash: string;
  /** The item exactly as it arrived (its hash is the SHA-256 of chainInput(raw)). */
  raw: Record<string, unknown>;
  reason: string;
}
export type HubIngestItem = AnyRatingRecord | DeadLetterItem;
/** What the store ingests: a schema-valid IngestBatch, or one with dead-letter items in their seq places. */
export interface HubIngestBatch {
  device_id: string;
  items: HubIngestItem[];
}

export interface StoredDeadLetter {
  id: number;
  device_id: string;
  seq: number;
  event_id: string;
  hash: string;
  reason: string;
  received_at: string;
  record: Record<string, unknown>;
}
export interface DeadLetterPage {
  dead_letters: StoredDeadLetter[];
  next: number | null;
}

/** The store cannot serve right now (disk full, locked, I/O error): a 503, the counter retries later. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The database file failed its integrity check at open: the hub must not start on it. */
export class StoreDamagedError extends Error {
  constructor(
    readonly file: string,
    readonly report: string[],
  ) {
    super(
      `hub database ${file} failed PRAGMA quick_check (${report.slice(0, 3).join('; ')}). ` +
        'Nothing was changed. Stop the hub, move the file (with its -wal and -shm files) aside and keep it, ' +
        'then restore the latest backup or rebuild a copy with `sqlite3 damaged.sqlite .recover`.',
    );
    this.name = 'StoreDamagedError';
  }
}

/** An enrollment token as made for IT staff: the token itself exists only in this reply. */
export interface EnrollmentTokenRecord {
  token: string;
  hall_id: string;
  window_id: string;
  expires_at: string;
}

export interface EnrolledDevice {
  device_id: string;
  /** base64 of the raw Ed25519 public key. */
  public_key: string;
  hall_id: string;
  window_id: string;
  app_version: string;
  enrolled_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
}

/** Device trust: who may upload. Engines implement it beside HubStore. */
export interface TrustStore {
  createToken(hallId: string, windowId: string, ttlS: number, now: Date): Promise<EnrollmentTokenRecord>;
  /** Spends the token and records the device's key, in one transaction. */
  enroll(
    input: { token: string; device_id: string; public_key: string; app_version: string },
    now: Date,
  ): Promise<{ ok: true; device: EnrolledDevice } | { ok: false; reason: 'token' | 'device_taken' }>;
  device(deviceId: string): Promise<EnrolledDevice | null>;
  devices(): Promise<EnrolledDevice[]>;
  /** False when the device is unknown or already revoked. */
  revoke(deviceId: string, reason: string, now: Date): Promise<boolean>;
  /** True the first time a (device, nonce) is seen. */
  spendNonce(deviceId: string, nonce: string, created: Date, now: Date, windowS: number): Promise<boolean>;
}

/** A published config version: the division-wide content exactly as validated (canonical JSON). */
export interface StoredConfigVersion {
  seq: number;
  version: string;
  issued_at: string;
  /** Parsed content (configContentSchema output). */
  content: unknown;
  content_sha256: string;
}

/** Config bundle versions; signing happens in the route, so engines store plain content. */
export interface ConfigStore {
  /** Stores the content as the next version (seq = last + 1) in one transaction. */
  publish(content: unknown, issuedAt: Date): Promise<StoredConfigVersion>;
  /** The newest version, or null before the first publish. */
  current(): Promise<StoredConfigVersion | null>;
  /** Versions newest first, without content. */
  history(limit: number): Promise<Omit<StoredConfigVersion, 'content'>[]>;
}

/** What the hub knows of one terminal, from uploads, enrollment and heartbeats (the fleet view). */
export interface FleetTerminalRow {
  device_id: string;
  /** From the last heartbeat, else the enrollment, else the last rating; null when none says. */
  hall_id: string | null;
  window_id: string | null;
  enrolled: boolean;
  revoked: boolean;
  /** Last upload (hub clock), null when it never uploaded. */
  last_upload_at: string | null;
  /** The hub's last stored seq, 0 when none. */
  hub_seq: number;
  heartbeat: { received_at: string; clock_offset_ms: number; request: HeartbeatRequest } | null;
  pending_commands: number;
}

/** The fleet: heartbeats, clock anchors and commands. Engines implement it beside HubStore. */
export interface FleetStore {
  /**
   * In one transaction: keeps the heartbeat as the device's latest state, records its clock anchor,
   * gives corrected times to the ratings of its boot that have none yet, and takes the device's
   * queued commands (marked delivered, so each goes out once), oldest first.
   */
  heartbeat(request: HeartbeatRequest, receivedAt: Date): Promise<DeliveredCommand[]>;
  /** Queues a command for a known terminal; null when no upload, enrollment or heartbeat knows the id. */
  queueCommand(deviceId: string, command: FleetCommand, now: Date): Promise<QueuedCommand | null>;
  /** The device's commands, newest first (delivered or not). */
  commands(deviceId: string): Promise<QueuedCommand[]>;
  /** Every known terminal, by device id. */
  terminals(): Promise<FleetTerminalRow[]>;
}
