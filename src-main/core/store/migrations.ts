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
  // 2: the audit log (append-only, hash-chained: 电子监察), cases opened and tickets called over
  // the window-system API, and an index to find a case's rating.
  `
  CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,              -- gap-free from 1
    at        TEXT NOT NULL,                    -- wall clock, ISO
    actor     TEXT NOT NULL,                    -- staff:NO, citizen, api:CALLER, system
    action    TEXT NOT NULL,
    details   TEXT NOT NULL,                    -- canonical JSON; never a rating's level
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL                     -- SHA-256 over the canonical row with prev_hash
  ) STRICT;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
  CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

  CREATE TABLE api_cases (
    case_no           TEXT PRIMARY KEY,
    item_code         TEXT NOT NULL,
    item_name         TEXT NOT NULL,
    applicant_type    TEXT NOT NULL,
    anonymous_allowed INTEGER NOT NULL,
    caller            TEXT NOT NULL,            -- JSON: declared name, user agent, peer address
    opened_at         TEXT NOT NULL,            -- last time a rating window was opened for it
    opens             INTEGER NOT NULL DEFAULT 1
  ) STRICT;

  CREATE TABLE queue_calls (
    id           INTEGER PRIMARY KEY,
    ticket       TEXT NOT NULL,
    service_name TEXT,
    caller       TEXT NOT NULL,
    called_at    TEXT NOT NULL
  ) STRICT;

  CREATE INDEX ratings_case ON ratings (case_ref) WHERE case_ref IS NOT NULL;
  `,
];
