-- Where the sequencer answers: the base URL (`http://10.0.0.5:8080`) the instance holding the
-- lease advertises, so that the other instances on the database forward writes to it. Set by
-- the holder after it acquires the lease, cleared whenever a new term starts or the lease is
-- released; NULL when the holder advertises none (the others then answer writes with 503).
ALTER TABLE log_sequencer ADD COLUMN address TEXT CHECK (address <> '');
