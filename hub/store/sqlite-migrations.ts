import type Database from 'better-sqlite3';

/** One schema step; `version` is what PRAGMA user_version reads once it is applied. */
export interface Migration {
  version: number;
  name: string;
  up: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices and ratings',
    up: `
      CREATE TABLE devices (
        device_id  TEXT PRIMARY KEY,
        last_seq   INTEGER NOT NULL CHECK (last_seq >= 0),
        last_hash  TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen  TEXT NOT NULL
      ) STRICT;

      -- id is the storage order (export paging); the dedup keys are the two UNIQUE constraints.
      CREATE TABLE ratings (
        id           INTEGER PRIMARY KEY,
        event_id     TEXT NOT NULL UNIQUE,
        device_id    TEXT NOT NULL REFERENCES devices (device_id),
        seq          INTEGER NOT NULL CHECK (seq >= 1),
        level        INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
        channel      INTEGER NOT NULL,
        case_ref     TEXT,
        staff_no     TEXT NOT NULL,
        staff_name   TEXT NOT NULL,
        window_id    TEXT NOT NULL,
        hall_id      TEXT NOT NULL,
        opened_at    TEXT NOT NULL,
        rated_at     TEXT NOT NULL,
        mono_ms      REAL NOT NULL,
        app_boot_id  TEXT NOT NULL,
        source       TEXT NOT NULL,
        pad_boot_id  INTEGER,
        pad_press_id INTEGER,
        pad_key      INTEGER,
        prev_hash    TEXT NOT NULL,
        hash         TEXT NOT NULL,
        -- Derived at ingest: the Asia/Shanghai date (stats) and epoch ms (offset-free time order) of rated_at.
        day          TEXT NOT NULL,
        rated_ms     INTEGER NOT NULL,
        received_at  TEXT NOT NULL,
        UNIQUE (device_id, seq)
      ) STRICT;
      CREATE INDEX ratings_day_place ON ratings (day, hall_id, window_id, level);

      -- A chain link whose event_id was already stored under another (device, seq): counted once,
      -- yet kept so the device's chain stays complete and a resend can still be checked.
      CREATE TABLE chain_aliases (
        device_id   TEXT NOT NULL REFERENCES devices (device_id),
        seq         INTEGER NOT NULL,
        event_id    TEXT NOT NULL,
        hash        TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (device_id, seq)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'national record fields, 未评价 and legacy records',
    // SQLite cannot relax the NOT NULL/CHECK on level in place: build the new table, copy, swap.
    // Every v1 row is a legacy record (rec_version 1, rated); its new columns stay NULL so it is
    // given back in the legacy shape its hash covers.
    up: `
      CREATE TABLE ratings_v2 (
        id                  INTEGER PRIMARY KEY,
        event_id            TEXT NOT NULL UNIQUE,
        device_id           TEXT NOT NULL REFERENCES devices (device_id),
        seq                 INTEGER NOT NULL CHECK (seq >= 1),
        -- 1 = legacy record (counter store schema 1-2), 2 = current record with the national fields.
        rec_version         INTEGER NOT NULL CHECK (rec_version IN (1, 2)),
        outcome             TEXT NOT NULL CHECK (outcome IN ('rated', 'not_rated')),
        level               INTEGER CHECK (level BETWEEN 1 AND 5),
        channel             INTEGER NOT NULL,
        case_ref            TEXT,
        item_code           TEXT,
        item_name           TEXT,
        case_status         TEXT,
        accepted_at         TEXT,
        finished_at         TEXT,
        assess_number       INTEGER,
        reasons             TEXT,    -- canonical JSON array
        reason_status       TEXT,
        reason_dict_version TEXT,
        dimensions          TEXT,    -- canonical JSON object
        free_text           TEXT,
        rater_type          TEXT,
        anonymous           INTEGER CHECK (anonymous IN (0, 1)),
        rater               TEXT,    -- canonical JSON object; NULL when anonymous
        signals             TEXT,    -- canonical JSON array
        staff_no            TEXT NOT NULL,
        staff_name          TEXT NOT NULL,
        window_id           TEXT NOT NULL,
        hall_id             TEXT NOT NULL,
        dept_id             TEXT,
        config_version      TEXT,
        opened_at           TEXT NOT NULL,
        rated_at            TEXT NOT NULL,
        mono_ms             REAL NOT NULL,
        app_boot_id         TEXT NOT NULL,
        source              TEXT NOT NULL,
        pad_boot_id         INTEGER,
        pad_press_id        INTEGER,
        pad_key             INTEGER,
        prev_hash           TEXT NOT NULL,
        hash                TEXT NOT NULL,
        -- The record's canonical JSON, kept only when the columns cannot give it back byte for byte
        -- (a lone UTF-16 surrogate in a text becomes U+FFFD in SQLite): the export must re-verify.
        verbatim            TEXT,
        day                 TEXT NOT NULL,
        rated_ms            INTEGER NOT NULL,
        -- Derived at ingest: the record carries an anti-fraud signal; a default rating (none yet).
        flagged             INTEGER NOT NULL CHECK (flagged IN (0, 1)),
        is_default          INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
        received_at         TEXT NOT NULL,
        UNIQUE (device_id, seq),
        CHECK ((outcome = 'rated') = (level IS NOT NULL)),
        CHECK (rec_version = 1 OR (assess_number IS NOT NULL AND reasons IS NOT NULL
          AND reason_status IS NOT NULL AND rater_type IS NOT NULL AND anonymous IS NOT NULL
          AND signals IS NOT NULL AND config_version IS NOT NULL))
      ) STRICT;

      INSERT INTO ratings_v2 (id, event_id, device_id, seq, rec_version, outcome, level, channel, case_ref,
        staff_no, staff_name, window_id, hall_id, opened_at, rated_at, mono_ms, app_boot_id, source,
        pad_boot_id, pad_press_id, pad_key, prev_hash, hash, day, rated_ms, flagged, is_default, received_at)
      SELECT id, event_id, device_id, seq, 1, 'rated', level, channel, case_ref,
        staff_no, staff_name, window_id, hall_id, opened_at, rated_at, mono_ms, app_boot_id, source,
        pad_boot_id, pad_press_id, pad_key, prev_hash, hash, day, rated_ms, 0, 0, received_at
      FROM ratings;

      DROP TABLE ratings;
      ALTER TABLE ratings_v2 RENAME TO ratings;
      -- Covers the stats query: no table lookups for a day's counts.
      CREATE INDEX ratings_day_place ON ratings (day, hall_id, window_id, outcome, level, flagged, is_default);
    `,
  },
  {
    version: 3,
    name: 'device trust: enrollment tokens, enrolled device keys, spent nonces',
    up: `
      -- Only a token's SHA-256 is kept: the token itself is shown once to IT staff.
      CREATE TABLE enrollment_tokens (
        token_hash TEXT PRIMARY KEY,
        hall_id    TEXT NOT NULL,
        window_id  TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at    TEXT,
        used_by    TEXT
      ) STRICT;

      CREATE TABLE enrolled_devices (
        device_id      TEXT PRIMARY KEY,
        public_key     TEXT NOT NULL UNIQUE,   -- base64 raw Ed25519
        hall_id        TEXT NOT NULL,
        window_id      TEXT NOT NULL,
        app_version    TEXT NOT NULL,
        enrolled_at    TEXT NOT NULL,
        revoked_at     TEXT,
        revoked_reason TEXT
      ) STRICT;

      -- A nonce is spent once per device; rows older than the signature window are purged.
      CREATE TABLE spent_nonces (
        device_id  TEXT NOT NULL,
        nonce      TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (device_id, nonce)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX spent_nonces_age ON spent_nonces (created_ms);
    `,
  },
  {
    version: 4,
    name: 'fleet: heartbeats, clock anchors, commands; corrected rating times',
    up: `
      -- Derived at the hub, never part of the record or its hash: the rating's time on the hub's
      -- clock (from a heartbeat anchor of its boot) and the hub's own signals (JSON array).
      ALTER TABLE ratings ADD COLUMN corrected_at TEXT;
      ALTER TABLE ratings ADD COLUMN hub_signals TEXT;
      -- Ratings still waiting for an anchor of their boot: filled in when the first one arrives.
      CREATE INDEX ratings_uncorrected ON ratings (device_id, app_boot_id) WHERE corrected_at IS NULL;

      -- The latest heartbeat of each device (the whole request, canonical JSON).
      CREATE TABLE fleet_heartbeats (
        device_id       TEXT PRIMARY KEY,
        received_at     TEXT NOT NULL,
        clock_offset_ms REAL NOT NULL,
        body            TEXT NOT NULL
      ) STRICT;

      -- (boot, monotonic ms) ↔ hub time; thinned to one per boot per 5 minutes of monotonic time.
      CREATE TABLE clock_anchors (
        device_id   TEXT NOT NULL,
        app_boot_id TEXT NOT NULL,
        mono_ms     REAL NOT NULL,
        hub_ms      INTEGER NOT NULL,
        PRIMARY KEY (device_id, app_boot_id, mono_ms)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE fleet_commands (
        id           INTEGER PRIMARY KEY,
        device_id    TEXT NOT NULL,
        command      TEXT NOT NULL,
        queued_at    TEXT NOT NULL,
        delivered_at TEXT
      ) STRICT;
      CREATE INDEX fleet_commands_pending ON fleet_commands (device_id, id) WHERE delivered_at IS NULL;
    `,
  },
  {
    version: 5,
    name: 'config bundles: published config versions',
    up: `
      -- Append-only: a version is never edited; the newest row is the one in force.
      CREATE TABLE config_versions (
        seq            INTEGER PRIMARY KEY CHECK (seq >= 1),
        version        TEXT NOT NULL UNIQUE,
        issued_at      TEXT NOT NULL,
        content        TEXT NOT NULL,   -- canonical JSON of the validated content
        content_sha256 TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'dead letters: stream items kept verbatim whose body the hub cannot read',
    up: `
      -- A dead letter takes its (device, seq) place in the chain (the cursor moves past it) and is
      -- never counted in the statistics; record is the item exactly as it came (canonical JSON).
      CREATE TABLE dead_letters (
        id          INTEGER PRIMARY KEY,
        device_id   TEXT NOT NULL REFERENCES devices (device_id),
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        event_id    TEXT NOT NULL,
        hash        TEXT NOT NULL,
        reason      TEXT NOT NULL,
        record      TEXT NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (device_id, seq)
      ) STRICT;
    `,
  },
];

export interface MigrationReport {
  from: number;
  to: number;
  /** Copy taken before migrating an existing database, or null when none was needed. */
  backup: string | null;
}

/**
 * Brings the database to the latest version, one transaction per step. An existing database is
 * copied aside first (VACUUM INTO) so a failed or faulty migration can be undone by hand.
 */
export function migrate(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationReport {
  const from = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    throw new Error(
      `${file} has schema version ${from}, newer than this hub knows (${latest}): upgrade the hub`,
    );
  }
  const pending = migrations.filter((m) => m.version > from);
  if (pending.length === 0) return { from, to: from, backup: null };

  let backup: string | null = null;
  if (from > 0) {
    backup = `${file}.before-v${latest}-${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
    db.prepare('VACUUM INTO ?').run(backup);
  }
  for (const m of pending) {
    db.transaction(() => {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to: latest, backup };
}
