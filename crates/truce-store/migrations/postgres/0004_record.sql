-- The rest of the service's record beside the log, for instances that keep it in the database
-- (`record = "database"`): the entry journal and the bodies the log commits to by hash.

-- One row per journal line, in the order written: what the service knows about the entry it
-- logged at `log_index` beyond the entry's bytes (a JSON object the service reads and writes;
-- this crate keeps it as text). Lines of an append that never reached the log stay here and
-- are told apart by the entry hash inside them. Written only in transactions that hold the
-- sequencer lease (as the log's tables are).
CREATE TABLE log_journal (
    seq       BIGSERIAL PRIMARY KEY,
    log_index BIGINT NOT NULL CHECK (log_index >= 0),
    line      TEXT NOT NULL
);

CREATE INDEX log_journal_by_index ON log_journal (log_index, seq);

-- Bodies by their SHA-256 (report texts, agreement files, reasons). A body is never changed
-- once stored; storing it again is a no-op.
CREATE TABLE log_blobs (
    hash BYTEA PRIMARY KEY CHECK (length(hash) = 32),
    body BYTEA NOT NULL
);
