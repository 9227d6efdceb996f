-- One-minute candles kept beside the ticks, so history reads candles, not
-- ticks (wider timeframes are rolled up from them). A trigger merges every
-- statement's newly inserted ticks into their minutes in the same
-- transaction, whoever inserts (the persister, psql \copy, an older
-- binary): a duplicate or a retried batch inserts no tick and so merges
-- nothing; a late tick merges into its (closed) minute. Open and close
-- keep the (timestamp, id) of the tick they came from, so merges commute:
-- ties in time go to the earlier insertion, as the live aggregator's go to
-- the earlier arrival, in whatever order concurrent writers commit. The
-- first and last tick of a minute are found in one pass, as the least and
-- greatest ARRAY[timestamp, id, price] (arrays compare element by element).

CREATE TABLE IF NOT EXISTS candles_1m (
    pair VARCHAR(20) NOT NULL,
    bucket BIGINT NOT NULL,            -- open time, Unix seconds
    open DECIMAL(20,10) NOT NULL,
    high DECIMAL(20,10) NOT NULL,
    low DECIMAL(20,10) NOT NULL,
    close DECIMAL(20,10) NOT NULL,
    ticks BIGINT NOT NULL,
    open_at BIGINT NOT NULL,           -- the open's tick: timestamp (ms), id
    open_id BIGINT NOT NULL,
    close_at BIGINT NOT NULL,          -- the close's tick: timestamp (ms), id
    close_id BIGINT NOT NULL,
    PRIMARY KEY (pair, bucket)
);

-- The statement that merges the ticks of `source` (a relation with the
-- columns of historical_ticks) into their minutes, in key order so that
-- concurrent writers never deadlock.
CREATE OR REPLACE FUNCTION tickstream_candle_merge(source text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format($merge$
    INSERT INTO candles_1m AS c
        (pair, bucket, open, high, low, close, ticks, open_at, open_id, close_at, close_id)
    SELECT pair, bucket, o[3], high, low, l[3], n, o[1], o[2], l[1], l[2] FROM (
        SELECT pair, (timestamp - timestamp %% 60000) / 1000 AS bucket,
               min(ARRAY[timestamp, id, price]) AS o, max(ARRAY[timestamp, id, price]) AS l,
               max(price) AS high, min(price) AS low, count(*) AS n
        FROM %s
        GROUP BY 1, 2) merged
    ORDER BY 1, 2
    ON CONFLICT (pair, bucket) DO UPDATE SET
        open = CASE WHEN (EXCLUDED.open_at, EXCLUDED.open_id) < (c.open_at, c.open_id)
                    THEN EXCLUDED.open ELSE c.open END,
        open_at = least(c.open_at, EXCLUDED.open_at),
        open_id = CASE WHEN (EXCLUDED.open_at, EXCLUDED.open_id) < (c.open_at, c.open_id)
                       THEN EXCLUDED.open_id ELSE c.open_id END,
        high = greatest(c.high, EXCLUDED.high),
        low = least(c.low, EXCLUDED.low),
        close = CASE WHEN (EXCLUDED.close_at, EXCLUDED.close_id) > (c.close_at, c.close_id)
                     THEN EXCLUDED.close ELSE c.close END,
        close_at = greatest(c.close_at, EXCLUDED.close_at),
        close_id = CASE WHEN (EXCLUDED.close_at, EXCLUDED.close_id) > (c.close_at, c.close_id)
                        THEN EXCLUDED.close_id ELSE c.close_id END,
        ticks = c.ticks + EXCLUDED.ticks
    $merge$, source)
$$;

CREATE OR REPLACE FUNCTION tickstream_ticks_to_candles() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    EXECUTE tickstream_candle_merge('fresh');
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS historical_ticks_candles ON historical_ticks;
CREATE TRIGGER historical_ticks_candles AFTER INSERT ON historical_ticks
    REFERENCING NEW TABLE AS fresh
    FOR EACH STATEMENT EXECUTE FUNCTION tickstream_ticks_to_candles();

-- Ticks stored before this migration have no candles yet: those with ids
-- below `until_id` (every one: creating the trigger waited for writes in
-- flight) are merged from `next_id` on, in bounded batches, by
-- tickstream_backfill_candles(), which `serve` and `tickstream migrate`
-- call until it returns 0.
CREATE TABLE IF NOT EXISTS candles_backfill (
    next_id BIGINT NOT NULL,
    until_id BIGINT NOT NULL
);
INSERT INTO candles_backfill (next_id, until_id)
    SELECT 0, coalesce(max(id), 0) + 1 FROM historical_ticks
    WHERE NOT EXISTS (SELECT 1 FROM candles_backfill);

-- Merges the next `batch` ticks waiting for their candles; returns how
-- many it merged (0: none is left). Batches are serialised by the row lock.
CREATE OR REPLACE FUNCTION tickstream_backfill_candles(batch integer)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    next bigint;
    until bigint;
    merged bigint;
    last bigint;
BEGIN
    SELECT next_id, until_id INTO next, until FROM candles_backfill FOR UPDATE;
    IF next IS NULL OR next >= until THEN
        RETURN 0;
    END IF;
    SELECT count(*), max(id) INTO merged, last FROM (
        SELECT id FROM historical_ticks WHERE id >= next AND id < until
        ORDER BY id LIMIT batch) b;
    IF merged < batch THEN
        last := until - 1;
    END IF;
    EXECUTE tickstream_candle_merge(format(
        '(SELECT * FROM historical_ticks WHERE id >= %s AND id <= %s) t', next, last));
    UPDATE candles_backfill SET next_id = last + 1;
    RETURN merged;
END
$$;

REVOKE ALL ON candles_1m, candles_backfill FROM PUBLIC;
GRANT SELECT ON candles_1m TO tickstream_reader, tickstream_writer;
REVOKE ALL ON FUNCTION tickstream_backfill_candles(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tickstream_backfill_candles(integer) TO tickstream_writer;
