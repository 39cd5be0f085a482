-- The truce store on PostgreSQL, first schema. The crate documentation (src/lib.rs) describes
-- every table. Log indexes are BIGINT (so at most 2^63-1), times are Unix epoch milliseconds.

-- Reports' points are PostGIS geometries. Creating the extension needs a role that may; when an
-- administrator has already created it in this database, IF NOT EXISTS makes this a no-op.
CREATE EXTENSION IF NOT EXISTS postgis;

-- How many log entries the projection reflects: entries 0 .. applied_size. Every batch locks
-- this row (SELECT ... FOR UPDATE) first, so batches from several handles are serialised.
CREATE TABLE store_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    applied_size BIGINT NOT NULL CHECK (applied_size >= 0)
);

INSERT INTO store_state (id, applied_size) VALUES (1, 0);

CREATE TABLE sources (
    name                TEXT PRIMARY KEY,
    vkey                TEXT NOT NULL,
    kind                TEXT NOT NULL,
    party               TEXT,
    role                TEXT NOT NULL,
    registered_at_index BIGINT NOT NULL UNIQUE CHECK (registered_at_index >= 0),
    revoked_at_index    BIGINT,
    revoked_at_ms       BIGINT,
    CHECK ((revoked_at_index IS NULL) = (revoked_at_ms IS NULL)),
    CHECK (revoked_at_index IS NULL OR revoked_at_index > registered_at_index)
);

CREATE TABLE agreements (
    id               TEXT NOT NULL,
    version          BIGINT NOT NULL CHECK (version >= 0 AND version <= 4294967295),
    interpretation   TEXT NOT NULL,
    log_index        BIGINT NOT NULL UNIQUE CHECK (log_index >= 0),
    content_sha256   TEXT NOT NULL,
    title            TEXT NOT NULL,
    registered_at_ms BIGINT NOT NULL,
    PRIMARY KEY (id, version, interpretation)
);

-- A report's zones are an array in the report's order (GIN-indexed for the zone filter); its
-- point is derived from lon/lat (GiST-indexed for bounding boxes). The index compares 32-bit
-- bounds rounded outwards, so queries recheck the exact lon/lat.
CREATE TABLE reports (
    log_index       BIGINT PRIMARY KEY CHECK (log_index >= 0),
    report_id       TEXT NOT NULL,
    agreement_id    TEXT NOT NULL,
    source_name     TEXT NOT NULL,
    source_kind     TEXT NOT NULL,
    party           TEXT,
    actor           TEXT,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    start_ms        BIGINT NOT NULL,
    end_ms          BIGINT NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    lat             DOUBLE PRECISION NOT NULL,
    radius_m        DOUBLE PRECISION NOT NULL,
    submitted_at_ms BIGINT NOT NULL,
    zone_ids        TEXT[] NOT NULL,
    point           geometry(Point, 4326) NOT NULL
                    GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED,
    UNIQUE (agreement_id, report_id),
    CHECK (start_ms <= end_ms)
);

CREATE INDEX reports_by_agreement ON reports (agreement_id, log_index);
CREATE INDEX reports_by_party ON reports (party, log_index);
CREATE INDEX reports_by_actor ON reports (actor, log_index);
CREATE INDEX reports_by_source_kind ON reports (source_kind, log_index);
CREATE INDEX reports_by_start ON reports (start_ms);
CREATE INDEX reports_by_zone ON reports USING GIN (zone_ids);
CREATE INDEX reports_by_point ON reports USING GIST (point);

-- body_json is kept as TEXT, not jsonb, so it reads back byte for byte.
CREATE TABLE annotations (
    log_index       BIGINT NOT NULL CHECK (log_index >= 0),
    kind            TEXT NOT NULL CHECK (kind IN ('review', 'contest', 'coverage', 'retraction')),
    subject         TEXT NOT NULL,
    author          TEXT NOT NULL,
    body_json       TEXT NOT NULL,
    submitted_at_ms BIGINT NOT NULL,
    PRIMARY KEY (log_index, subject)
);

CREATE INDEX annotations_by_subject ON annotations (subject, log_index);
CREATE INDEX annotations_by_kind ON annotations (kind, log_index);

-- Bookkeeping: which submission produced which entry, so a retry gets its first receipt.
CREATE TABLE receipts (
    key       TEXT NOT NULL,
    nonce     TEXT NOT NULL,
    log_index BIGINT NOT NULL CHECK (log_index >= 0),
    PRIMARY KEY (key, nonce)
);

-- Bookkeeping: request nonces seen recently, for replay protection across restarts. Byte order
-- ("C" collation), so nonces are listed in the order SQLite lists them.
CREATE TABLE nonces (
    key       TEXT COLLATE "C" NOT NULL,
    nonce_hex TEXT COLLATE "C" NOT NULL,
    ts_ms     BIGINT NOT NULL,
    PRIMARY KEY (key, nonce_hex)
);

CREATE INDEX nonces_by_time ON nonces (ts_ms);
