-- Time-window listings. A report matches a window when its span [start_ms, end_ms] overlaps it,
-- so an index on the start alone bounds the candidates from one side only. Reports are put in
-- span classes by their duration: class c holds those shorter than 2^(10 + 2c) ms (from about a
-- second to about 35 years, each limit four times the last), class 16 the longer ones and those
-- with a time beyond +/-2^62 ms (whose duration could overflow). A report of class c < 16 that
-- overlaps a window starts at most 2^(10 + 2c) - 1 ms before the window, so the candidates are
-- one range of (span_class, start_ms) per class. The limits are `SPAN_CLASS_LIMITS` in
-- src/query.rs; the two must agree.

-- A stored generated column (adding it rewrites the table once). The index carries the log
-- index so that counting the candidates reads the index alone.
ALTER TABLE reports ADD COLUMN span_class SMALLINT NOT NULL GENERATED ALWAYS AS (
    CASE
        WHEN start_ms < -4611686018427387904 OR end_ms > 4611686018427387903 THEN 16
        WHEN end_ms - start_ms < 1024 THEN 0
        WHEN end_ms - start_ms < 4096 THEN 1
        WHEN end_ms - start_ms < 16384 THEN 2
        WHEN end_ms - start_ms < 65536 THEN 3
        WHEN end_ms - start_ms < 262144 THEN 4
        WHEN end_ms - start_ms < 1048576 THEN 5
        WHEN end_ms - start_ms < 4194304 THEN 6
        WHEN end_ms - start_ms < 16777216 THEN 7
        WHEN end_ms - start_ms < 67108864 THEN 8
        WHEN end_ms - start_ms < 268435456 THEN 9
        WHEN end_ms - start_ms < 1073741824 THEN 10
        WHEN end_ms - start_ms < 4294967296 THEN 11
        WHEN end_ms - start_ms < 17179869184 THEN 12
        WHEN end_ms - start_ms < 68719476736 THEN 13
        WHEN end_ms - start_ms < 274877906944 THEN 14
        WHEN end_ms - start_ms < 1099511627776 THEN 15
        ELSE 16
    END
) STORED;

CREATE INDEX reports_by_span ON reports (span_class, start_ms, end_ms, log_index);
