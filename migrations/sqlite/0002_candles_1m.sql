-- One-minute candles kept beside the ticks, so history reads candles, not
-- ticks (wider timeframes are rolled up from them). Every newly inserted
-- tick is merged into its minute by a trigger, in the same transaction,
-- whoever inserts: a duplicate inserts no tick and so merges nothing; a
-- late tick merges into its (closed) minute. Open and close keep the
-- (timestamp, id) of the tick they came from, so merges commute: ties in
-- time go to the earlier insertion, as the live aggregator's go to the
-- earlier arrival. Prices are the fixed-width text of historical_ticks.

CREATE TABLE IF NOT EXISTS candles_1m (
    pair TEXT NOT NULL,
    bucket INTEGER NOT NULL,          -- open time, Unix seconds
    open TEXT NOT NULL,
    high TEXT NOT NULL,
    low TEXT NOT NULL,
    close TEXT NOT NULL,
    ticks INTEGER NOT NULL,
    open_at INTEGER NOT NULL,         -- the open's tick: timestamp (ms), id
    open_id INTEGER NOT NULL,
    close_at INTEGER NOT NULL,        -- the close's tick: timestamp (ms), id
    close_id INTEGER NOT NULL,
    PRIMARY KEY (pair, bucket)
) WITHOUT ROWID;

-- Inserting a tick's (pair, price, timestamp, id) here merges it into its
-- minute: the one place the merge is written, for the trigger and the
-- backfill.
CREATE VIEW IF NOT EXISTS candle_merges (pair, price, timestamp, id) AS
    SELECT pair, open, open_at, open_id FROM candles_1m WHERE 0;

CREATE TRIGGER IF NOT EXISTS candle_merges_merge INSTEAD OF INSERT ON candle_merges
BEGIN
    INSERT INTO candles_1m
        (pair, bucket, open, high, low, close, ticks, open_at, open_id, close_at, close_id)
    VALUES (NEW.pair, NEW.timestamp / 60000 * 60, NEW.price, NEW.price, NEW.price, NEW.price,
            1, NEW.timestamp, NEW.id, NEW.timestamp, NEW.id)
    ON CONFLICT (pair, bucket) DO UPDATE SET
        open = CASE WHEN (excluded.open_at, excluded.open_id) < (open_at, open_id)
                    THEN excluded.open ELSE open END,
        open_at = CASE WHEN (excluded.open_at, excluded.open_id) < (open_at, open_id)
                       THEN excluded.open_at ELSE open_at END,
        open_id = CASE WHEN (excluded.open_at, excluded.open_id) < (open_at, open_id)
                       THEN excluded.open_id ELSE open_id END,
        high = max(high, excluded.high),
        low = min(low, excluded.low),
        close = CASE WHEN (excluded.close_at, excluded.close_id) > (close_at, close_id)
                     THEN excluded.close ELSE close END,
        close_at = CASE WHEN (excluded.close_at, excluded.close_id) > (close_at, close_id)
                        THEN excluded.close_at ELSE close_at END,
        close_id = CASE WHEN (excluded.close_at, excluded.close_id) > (close_at, close_id)
                        THEN excluded.close_id ELSE close_id END,
        ticks = ticks + 1;
END;

CREATE TRIGGER IF NOT EXISTS historical_ticks_candles AFTER INSERT ON historical_ticks
BEGIN
    INSERT INTO candle_merges VALUES (NEW.pair, NEW.price, NEW.timestamp, NEW.id);
END;

-- Ticks stored before this migration have no candles yet: those with ids
-- below `until_id` are merged from `next_id` on, in bounded batches, when
-- the store is migrated (`serve`, `tickstream migrate`).
CREATE TABLE IF NOT EXISTS candles_backfill (
    next_id INTEGER NOT NULL,
    until_id INTEGER NOT NULL
);
INSERT INTO candles_backfill (next_id, until_id)
    SELECT 0, coalesce(max(id), 0) + 1 FROM historical_ticks
    WHERE NOT EXISTS (SELECT 1 FROM candles_backfill);
