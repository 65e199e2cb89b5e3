import type { PoolClient } from 'pg';

/**
 * One schema step. Versions follow the SQLite store's (sqlite-migrations.ts): PostgreSQL starts at
 * the state SQLite reaches at version 3, so a later step carries the same number on both engines.
 */
export interface PgMigration {
  version: number;
  name: string;
  up: string;
}

/** Advisory lock keys (two-int form): class "hao" + what. Database-wide, so one key per purpose. */
export const LOCK_CLASS = 0x68616f;
export const LOCK_MIGRATE = 1;
export const LOCK_PARTITION = 2;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 3,
    name: 'devices, ratings partitioned by month, dedup keys, device trust (SQLite v1-v3)',
    up: `
      CREATE TABLE devices (
        device_id  text PRIMARY KEY,
        last_seq   bigint NOT NULL CHECK (last_seq >= 0),
        last_hash  text NOT NULL,
        first_seen text NOT NULL,
        last_seen  text NOT NULL
      );

      -- The dedup keys and storage order, unpartitioned: a unique index on a partitioned table must
      -- include the partition key, so (device, seq) and event_id could not be unique across months there.
      -- hash is here too so a resend is checked without touching the partitions.
      CREATE TABLE rating_keys (
        id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        device_id text NOT NULL REFERENCES devices (device_id),
        seq       bigint NOT NULL CHECK (seq >= 1),
        event_id  text NOT NULL UNIQUE,
        hash      text NOT NULL,
        day       date NOT NULL,
        UNIQUE (device_id, seq)
      );

      -- The records, one partition per month of their Asia/Shanghai day (made on demand at ingest).
      -- Columns as in the SQLite store (migration 2); id is rating_keys.id.
      CREATE TABLE ratings (
        id                  bigint NOT NULL,
        event_id            text NOT NULL,
        device_id           text NOT NULL,
        seq                 bigint NOT NULL,
        rec_version         smallint NOT NULL CHECK (rec_version IN (1, 2)),
        outcome             text NOT NULL CHECK (outcome IN ('rated', 'not_rated')),
        level               smallint CHECK (level BETWEEN 1 AND 5),
        channel             integer NOT NULL,
        case_ref            text,
        item_code           text,
        item_name           text,
        case_status         text,
        accepted_at         text,
        finished_at         text,
        assess_number       integer,
        reasons             text,
        reason_status       text,
        reason_dict_version text,
        dimensions          text,
        free_text           text,
        rater_type          text,
        anonymous           smallint CHECK (anonymous IN (0, 1)),
        rater               text,
        signals             text,
        staff_no            text NOT NULL,
        staff_name          text NOT NULL,
        window_id           text NOT NULL,
        hall_id             text NOT NULL,
        dept_id             text,
        config_version      text,
        opened_at           text NOT NULL,
        rated_at            text NOT NULL,
        mono_ms             double precision NOT NULL,
        app_boot_id         text NOT NULL,
        source              text NOT NULL,
        pad_boot_id         bigint,
        pad_press_id        bigint,
        pad_key             integer,
        prev_hash           text NOT NULL,
        hash                text NOT NULL,
        -- The record's canonical JSON when the columns cannot give it back byte for byte: a lone
        -- UTF-16 surrogate (not encodable in UTF-8) or a NUL (PostgreSQL text refuses it).
        verbatim            text,
        received_at         text NOT NULL,
        day                 date NOT NULL,
        rated_ms            bigint NOT NULL,
        flagged             smallint NOT NULL CHECK (flagged IN (0, 1)),
        is_default          smallint NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
        CHECK ((outcome = 'rated') = (level IS NOT NULL))
      ) PARTITION BY RANGE (day);
      -- Safety net: a row whose month partition is missing lands here instead of failing the batch.
      CREATE TABLE ratings_default PARTITION OF ratings DEFAULT;
      CREATE INDEX ratings_id ON ratings (id);
      CREATE INDEX ratings_day_place ON ratings (day, hall_id, window_id, outcome, level, flagged, is_default);

      CREATE TABLE chain_aliases (
        device_id   text NOT NULL REFERENCES devices (device_id),
        seq         bigint NOT NULL,
        event_id    text NOT NULL,
        hash        text NOT NULL,
        received_at text NOT NULL,
        PRIMARY KEY (device_id, seq)
      );

      CREATE TABLE enrollment_tokens (
        token_hash text PRIMARY KEY,
        hall_id    text NOT NULL,
        window_id  text NOT NULL,
        created_at text NOT NULL,
        expires_at text NOT NULL,
        used_at    text,
        used_by    text
      );

      CREATE TABLE enrolled_devices (
        n              bigint GENERATED ALWAYS AS IDENTITY,
        device_id      text PRIMARY KEY,
        public_key     text NOT NULL UNIQUE,
        hall_id        text NOT NULL,
        window_id      text NOT NULL,
        app_version    text NOT NULL,
        enrolled_at    text NOT NULL,
        revoked_at     text,
        revoked_reason text
      );

      CREATE TABLE spent_nonces (
        device_id  text NOT NULL,
        nonce      text NOT NULL,
        created_ms bigint NOT NULL,
        PRIMARY KEY (device_id, nonce)
      );
      CREATE INDEX spent_nonces_age ON spent_nonces (created_ms);
    `,
  },
  {
    version: 4,
    name: 'fleet: heartbeats, clock anchors, commands; corrected rating times',
    up: `
      -- Derived at the hub, never part of the record or its hash: the rating's time on the hub's
      -- clock (from a heartbeat anchor of its boot) and the hub's own signals (JSON array).
      ALTER TABLE ratings ADD COLUMN corrected_at text;
      ALTER TABLE ratings ADD COLUMN hub_signals text;
      -- Ratings still waiting for an anchor of their boot: filled in when the first one arrives.
      CREATE INDEX ratings_uncorrected ON ratings (device_id, app_boot_id) WHERE corrected_at IS NULL;
      -- A terminal's last place from its ratings (the fleet view, when nothing else says).
      CREATE INDEX ratings_device_seq ON ratings (device_id, seq);

      -- The latest heartbeat of each device (the whole request, JSON).
      CREATE TABLE fleet_heartbeats (
        device_id       text PRIMARY KEY,
        received_at     text NOT NULL,
        clock_offset_ms double precision NOT NULL,
        body            text NOT NULL
      );

      -- (boot, monotonic ms) ↔ hub time; thinned to one per boot per 5 minutes of monotonic time.
      CREATE TABLE clock_anchors (
        device_id   text NOT NULL,
        app_boot_id text NOT NULL,
        mono_ms     double precision NOT NULL,
        hub_ms      bigint NOT NULL,
        PRIMARY KEY (device_id, app_boot_id, mono_ms)
      );

      CREATE TABLE fleet_commands (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        device_id    text NOT NULL,
        command      text NOT NULL,
        queued_at    text NOT NULL,
        delivered_at text
      );
      CREATE INDEX fleet_commands_pending ON fleet_commands (device_id, id) WHERE delivered_at IS NULL;
    `,
  },
  {
    version: 5,
    name: 'config bundles: published config versions',
    up: `
      -- Append-only: a version is never edited; the newest row is the one in force.
      CREATE TABLE config_versions (
        seq            integer PRIMARY KEY CHECK (seq >= 1),
        version        text NOT NULL UNIQUE,
        issued_at      text NOT NULL,
        content        text NOT NULL,   -- canonical JSON of the validated content
        content_sha256 text NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'dead letters: stream items kept verbatim whose body the hub cannot read',
    up: `
      -- A dead letter takes its (device, seq) place in the chain (the cursor moves past it) and is
      -- never counted in the statistics; record is the item exactly as it came (canonical JSON).
      CREATE TABLE dead_letters (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        device_id   text NOT NULL REFERENCES devices (device_id),
        seq         bigint NOT NULL CHECK (seq >= 1),
        event_id    text NOT NULL,
        hash        text NOT NULL,
        reason      text NOT NULL,
        record      text NOT NULL,
        received_at text NOT NULL,
        UNIQUE (device_id, seq)
      );
    `,
  },
];

export interface PgMigrationReport {
  from: number;
  to: number;
}

/**
 * Brings the schema (the first one on the search_path) to the latest version in one transaction,
 * under an advisory lock so two hubs starting together do not both migrate.
 */
export async function migratePg(
  client: PoolClient,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<PgMigrationReport> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, LOCK_MIGRATE]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const from = Math.max(0, ...applied);
    const latest = Math.max(0, ...migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !migrations.some((m) => m.version === v));
    if (unknown.length > 0) {
      throw new Error(
        `the hub database has schema version ${unknown.join(', ')}, unknown to this hub (latest ${latest}): upgrade the hub`,
      );
    }
    // Every step not yet applied, in version order: versions follow the SQLite store's, whose
    // numbers other features may fill in later, so a lower step can still be pending.
    const pending = migrations
      .filter((step) => !applied.has(step.version))
      .sort((a, b) => a.version - b.version);
    for (const m of pending) {
      await client.query(m.up);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, ...pending.map((m) => m.version)) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
