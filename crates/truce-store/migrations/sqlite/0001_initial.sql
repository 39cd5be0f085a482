-- The truce store, first schema. The crate documentation (src/lib.rs) describes every table.

-- Marks the file as a truce store ("trce"), so a restore can refuse other SQLite files.
PRAGMA application_id = 1953653605;

-- How many log entries the projection reflects: entries 0 .. applied_size.
CREATE TABLE store_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    applied_size INTEGER NOT NULL CHECK (applied_size >= 0)
) STRICT;

INSERT INTO store_state (id, applied_size) VALUES (1, 0);

CREATE TABLE sources (
    name                TEXT PRIMARY KEY,
    vkey                TEXT NOT NULL,
    kind                TEXT NOT NULL,
    party               TEXT,
    role                TEXT NOT NULL,
    registered_at_index INTEGER NOT NULL UNIQUE CHECK (registered_at_index >= 0),
    revoked_at_index    INTEGER,
    revoked_at_ms       INTEGER,
    CHECK ((revoked_at_index IS NULL) = (revoked_at_ms IS NULL)),
    CHECK (revoked_at_index IS NULL OR revoked_at_index > registered_at_index)
) STRICT;

CREATE TABLE agreements (
    id               TEXT NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 0),
    interpretation   TEXT NOT NULL,
    log_index        INTEGER NOT NULL UNIQUE CHECK (log_index >= 0),
    content_sha256   TEXT NOT NULL,
    title            TEXT NOT NULL,
    registered_at_ms INTEGER NOT NULL,
    PRIMARY KEY (id, version, interpretation)
) STRICT;

CREATE TABLE reports (
    log_index       INTEGER PRIMARY KEY CHECK (log_index >= 0),
    report_id       TEXT NOT NULL,
    agreement_id    TEXT NOT NULL,
    source_name     TEXT NOT NULL,
    source_kind     TEXT NOT NULL,
    party           TEXT,
    actor           TEXT,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    start_ms        INTEGER NOT NULL,
    end_ms          INTEGER NOT NULL,
    lon             REAL NOT NULL,
    lat             REAL NOT NULL,
    radius_m        REAL NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    UNIQUE (agreement_id, report_id),
    CHECK (start_ms <= end_ms)
) STRICT;

CREATE INDEX reports_by_agreement ON reports (agreement_id, log_index);
CREATE INDEX reports_by_party ON reports (party, log_index);
CREATE INDEX reports_by_actor ON reports (actor, log_index);
CREATE INDEX reports_by_source_kind ON reports (source_kind, log_index);
CREATE INDEX reports_by_start ON reports (start_ms);

-- The zones a report falls in, in the report's order.
CREATE TABLE report_zones (
    log_index INTEGER NOT NULL REFERENCES reports (log_index) ON DELETE CASCADE,
    position  INTEGER NOT NULL CHECK (position >= 0),
    zone_id   TEXT NOT NULL,
    PRIMARY KEY (log_index, position),
    UNIQUE (log_index, zone_id)
) STRICT;

CREATE INDEX report_zones_by_zone ON report_zones (zone_id, log_index);

-- Each report's point, for bounding-box queries. R*Tree coordinates are 32-bit floats
-- rounded outwards, so a query narrows with this table and then checks reports.lon/lat.
CREATE VIRTUAL TABLE report_points USING rtree (log_index, min_lon, max_lon, min_lat, max_lat);

CREATE TABLE annotations (
    log_index       INTEGER NOT NULL CHECK (log_index >= 0),
    kind            TEXT NOT NULL CHECK (kind IN ('review', 'contest', 'coverage', 'retraction')),
    subject         TEXT NOT NULL,
    author          TEXT NOT NULL,
    body_json       TEXT NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (log_index, subject)
) STRICT;

CREATE INDEX annotations_by_subject ON annotations (subject, log_index);

-- Bookkeeping: which submission produced which entry, so a retry gets its first receipt.
CREATE TABLE receipts (
    key       TEXT NOT NULL,
    nonce     TEXT NOT NULL,
    log_index INTEGER NOT NULL CHECK (log_index >= 0),
    PRIMARY KEY (key, nonce)
) STRICT;

-- Bookkeeping: request nonces seen recently, for replay protection across restarts.
CREATE TABLE nonces (
    key       TEXT NOT NULL,
    nonce_hex TEXT NOT NULL,
    ts_ms     INTEGER NOT NULL,
    PRIMARY KEY (key, nonce_hex)
) STRICT;

CREATE INDEX nonces_by_time ON nonces (ts_ms);
