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
  // 3: the national record fields (issue 5). ratings is rebuilt because SQLite cannot relax the
  // level CHECK (a 未评价 record has no level). Rows from before carry rec_version 1: their hash
  // covers only the old fields, so they are sent in the old shape forever. Also the presence log
  // (sign-in, pause, sign-out: 窗口不空岗 records), and the case details a rating needs.
  `
  CREATE TABLE ratings_v3 (
    seq                 INTEGER PRIMARY KEY,
    event_id            TEXT NOT NULL UNIQUE,
    rec_version         INTEGER NOT NULL DEFAULT 2 CHECK (rec_version IN (1, 2)),
    outcome             TEXT NOT NULL DEFAULT 'rated' CHECK (outcome IN ('rated', 'not_rated')),
    level               INTEGER CHECK (level BETWEEN 1 AND 5),
    channel             INTEGER NOT NULL,
    case_ref            TEXT,
    item_code           TEXT,
    item_name           TEXT,
    case_status         TEXT,
    accepted_at         TEXT,
    finished_at         TEXT,
    assess_number       INTEGER NOT NULL DEFAULT 1,
    reasons             TEXT,                   -- codes joined by ',' (NULL when none)
    reason_status       TEXT NOT NULL DEFAULT 'not_required',
    reason_dict_version TEXT,
    dimensions          TEXT,                   -- canonical JSON or NULL
    free_text           TEXT,
    rater_type          TEXT NOT NULL DEFAULT 'unknown',
    anonymous           INTEGER NOT NULL DEFAULT 0,
    rater               TEXT,                   -- canonical JSON or NULL
    signals             TEXT,                   -- joined by ',' (NULL when none)
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
    source              TEXT NOT NULL CHECK (source IN ('pad', 'screen', 'wedge', 'timeout')),
    pad_boot_id         INTEGER,
    pad_press_id        INTEGER,
    pad_key             INTEGER,
    prev_hash           TEXT NOT NULL,
    hash                TEXT NOT NULL,
    acked_at            TEXT
  ) STRICT;
  INSERT INTO ratings_v3 (seq, event_id, rec_version, outcome, level, channel, case_ref, staff_no,
    staff_name, window_id, hall_id, opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id,
    pad_press_id, pad_key, prev_hash, hash, acked_at)
  SELECT seq, event_id, 1, 'rated', level, channel, case_ref, staff_no, staff_name, window_id,
    hall_id, opened_at, rated_at, mono_ms, app_boot_id, source, pad_boot_id, pad_press_id, pad_key,
    prev_hash, hash, acked_at FROM ratings;
  DROP TABLE ratings;
  ALTER TABLE ratings_v3 RENAME TO ratings;
  CREATE INDEX ratings_unacked ON ratings (seq) WHERE acked_at IS NULL;
  CREATE INDEX ratings_case ON ratings (case_ref) WHERE case_ref IS NOT NULL;
  CREATE INDEX ratings_acked_at ON ratings (acked_at) WHERE acked_at IS NOT NULL;

  -- Every change of who staffs the window, gap-free, append-only (窗口不空岗 is judged from it).
  CREATE TABLE presence_log (
    seq      INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    state    TEXT NOT NULL,                    -- signed_out | idle | paused
    staff_no TEXT,
    event    TEXT NOT NULL,                    -- sign_in, sign_out, pause, resume, restart, auto_sign_out
    reason   TEXT
  ) STRICT;
  CREATE TRIGGER presence_log_no_update BEFORE UPDATE ON presence_log
    BEGIN SELECT RAISE(ABORT, 'presence_log is append-only'); END;
  CREATE TRIGGER presence_log_no_delete BEFORE DELETE ON presence_log
    BEGIN SELECT RAISE(ABORT, 'presence_log is append-only'); END;

  ALTER TABLE api_cases ADD COLUMN case_status TEXT;
  ALTER TABLE api_cases ADD COLUMN accepted_at TEXT;
  ALTER TABLE api_cases ADD COLUMN finished_at TEXT;
  ALTER TABLE api_cases ADD COLUMN dept_id TEXT;
  ALTER TABLE api_cases ADD COLUMN rater TEXT;  -- canonical JSON contact, or NULL
  `,
  // 4: retention (issue 5). Pruning an acked rating clears the rating_seq of its pad press (the
  // press row stays for dedup): this index makes that, and SQLite's foreign key check on every
  // deleted rating, a seek instead of a scan of all presses.
  `
  CREATE INDEX pad_presses_rating ON pad_presses (rating_seq) WHERE rating_seq IS NOT NULL;
  `,
  // 5: dead letters (issue 6). A rating the hub kept aside because it cannot read it: the stream
  // went on past it, the rating row stays (acked, so the hub holds it), and this says why.
  `
  CREATE TABLE dead_letter (
    seq      INTEGER PRIMARY KEY,              -- the rating's seq (the row may be pruned later)
    event_id TEXT NOT NULL,
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL                     -- when the hub's reply said so (counter clock)
  ) STRICT;
  `,
  // 6: acks as marks (issue 6). One row per answer of the hub ("every seq up to through_seq is
  // stored there") instead of acked_at written into every acked rating: marking a 500-rating
  // batch acked rewrote 500 rows and two indexes, and the next checkpoint copied them all again;
  // a mark is one row. The acked ratings were always a prefix of seq (an ack covers a prefix, a
  // rewind un-acks a suffix, pruning removes acked rows only); marks are taken only below the
  // first unacked row, so should a store ever break that, the ratings above are sent again (the
  // hub stores each once) rather than taken as stored.
  `
  CREATE TABLE ack_marks (
    through_seq INTEGER PRIMARY KEY,           -- every rating with seq <= this is stored at the hub
    acked_at    TEXT NOT NULL                  -- when the hub's answer said so (counter clock)
  ) STRICT;
  INSERT INTO ack_marks (through_seq, acked_at)
    SELECT MAX(seq), acked_at FROM ratings
    WHERE acked_at IS NOT NULL
      AND seq < COALESCE((SELECT MIN(seq) FROM ratings WHERE acked_at IS NULL), 9223372036854775807)
    GROUP BY acked_at;
  DROP INDEX ratings_unacked;
  DROP INDEX ratings_acked_at;
  ALTER TABLE ratings DROP COLUMN acked_at;
  `,
];
