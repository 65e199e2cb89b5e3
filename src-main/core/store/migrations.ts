/**
 * Counter store schema, one entry per version (PRAGMA user_version). Append only: a shipped
 * migration is never edited, since counters in the field are at every earlier version.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the rating stream (also the outbox: rows with acked_at NULL), pad presses, key/value meta.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;

  CREATE TABLE ratings (
    seq          INTEGER PRIMARY KEY,           -- gap-free per device, from 1
    event_id     TEXT NOT NULL UNIQUE,          -- UUIDv7
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
    source       TEXT NOT NULL CHECK (source IN ('pad', 'screen')),
    pad_boot_id  INTEGER,
    pad_press_id INTEGER,
    pad_key      INTEGER,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    acked_at     TEXT                            -- set when the hub acknowledged it
  ) STRICT;
  CREATE INDEX ratings_unacked ON ratings (seq) WHERE acked_at IS NULL;

  -- Every press the pad reported, rating or not: the (boot, press) key makes a retransmitted
  -- press after a reconnect get its first outcome again instead of a second rating.
  CREATE TABLE pad_presses (
    pad_boot_id INTEGER NOT NULL,
    press_id    INTEGER NOT NULL,
    key         INTEGER NOT NULL,
    outcome     INTEGER NOT NULL,               -- EVP/1 ACK status: 0 rating, 1 recorded not a rating
    reason      TEXT NOT NULL,
    rating_seq  INTEGER REFERENCES ratings (seq),
    received_at TEXT NOT NULL,
    PRIMARY KEY (pad_boot_id, press_id)
  ) STRICT, WITHOUT ROWID;
  `,
];
