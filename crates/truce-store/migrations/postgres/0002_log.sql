-- The Merkle log in PostgreSQL, so that several service instances can share it: the sequencer
-- lease with its fencing token, the tile and entry-bundle files, and the published and staged
-- checkpoints. The documentation of `PgLog` (src/postgres/log.rs) describes how they are used.

-- Who may append to the log. One row. `token` grows by one at every acquisition that is not a
-- renewal of a live lease by its holder; every write to the log's tables locks this row
-- (SELECT ... FOR SHARE) and goes ahead only while it still carries the writer's holder and
-- token. `holder` is NULL when the lease was released. Expiry is on the database's clock.
CREATE TABLE log_sequencer (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    holder     TEXT CHECK (holder <> ''),
    token      BIGINT NOT NULL CHECK (token >= 0),
    expires_at TIMESTAMPTZ NOT NULL
);

INSERT INTO log_sequencer (id, holder, token, expires_at) VALUES (1, NULL, 0, '-infinity');

-- Tile and entry-bundle files, keyed by their path in the tlog-tiles layout (`tile/0/x001/234`,
-- `tile/entries/005.p/17`), byte for byte what a file-system log holds at that path.
CREATE TABLE log_tiles (
    path TEXT COLLATE "C" PRIMARY KEY CHECK (path LIKE 'tile/%'),
    data BYTEA NOT NULL
);

-- The published checkpoint and the staged one (durable, signed, not yet published), each a
-- signed note. Publishing moves the staged row to the published one in one transaction.
CREATE TABLE log_checkpoints (
    kind TEXT PRIMARY KEY CHECK (kind IN ('published', 'staged')),
    note BYTEA NOT NULL
);
