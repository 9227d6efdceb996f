-- Every accepted tick, exactly once. The table, its three indexes and the
-- row-level-security intent are the original design's; the unique key on a
-- tick's natural identity (pair, timestamp, price) is what makes replays and
-- retried batches insert nothing twice.

CREATE TABLE IF NOT EXISTS historical_ticks (
    id BIGSERIAL PRIMARY KEY,
    pair VARCHAR(20) NOT NULL,        -- e.g. 'EURUSD_otc'
    price DECIMAL(20,10) NOT NULL,    -- exact, never a float
    timestamp BIGINT NOT NULL,        -- Unix epoch milliseconds
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT historical_ticks_identity UNIQUE (pair, timestamp, price),
    CONSTRAINT historical_ticks_price_positive CHECK (price > 0)
);

CREATE INDEX IF NOT EXISTS idx_historical_ticks_pair_timestamp
    ON historical_ticks (pair, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_historical_ticks_timestamp
    ON historical_ticks (timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_historical_ticks_pair
    ON historical_ticks (pair);

-- Roles: a reader that may only read, a writer that may only insert (and use
-- the id sequence, and name the key columns for ON CONFLICT). Roles are cluster-wide, so create them once and tolerate
-- a concurrent creator.
DO $$
BEGIN
    CREATE ROLE tickstream_reader LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
DO $$
BEGIN
    CREATE ROLE tickstream_writer LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

REVOKE ALL ON historical_ticks FROM PUBLIC;
GRANT SELECT ON historical_ticks TO tickstream_reader;
GRANT INSERT ON historical_ticks TO tickstream_writer;
-- ON CONFLICT (pair, timestamp, price) DO NOTHING must see the conflicting
-- row's key: the writer may read those three columns, nothing else.
GRANT SELECT (pair, timestamp, price) ON historical_ticks TO tickstream_writer;
GRANT USAGE ON SEQUENCE historical_ticks_id_seq TO tickstream_writer;

-- Row-level security as the original intended: everyone who may read sees
-- every row; only the writer inserts. (The owner, who runs migrations,
-- bypasses RLS.)
ALTER TABLE historical_ticks ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS historical_ticks_viewable ON historical_ticks;
CREATE POLICY historical_ticks_viewable ON historical_ticks
    FOR SELECT TO tickstream_reader, tickstream_writer USING (true);
DROP POLICY IF EXISTS historical_ticks_insertable ON historical_ticks;
CREATE POLICY historical_ticks_insertable ON historical_ticks
    FOR INSERT TO tickstream_writer WITH CHECK (true);
