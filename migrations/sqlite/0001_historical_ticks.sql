-- The embedded store (SQLite), used when DATABASE_URL is unset: the same
-- table as PostgreSQL's, with the same unique key on a tick's natural
-- identity. SQLite has no exact decimal type, so a price is kept exact as
-- fixed-width decimal text, ten integer and ten fractional digits
-- (1.0823 is '0000000001.0823000000'): one text per value, and text order
-- is numeric order, so max() and min() are exact. Never REAL.

CREATE TABLE IF NOT EXISTS historical_ticks (
    id INTEGER PRIMARY KEY,
    pair TEXT NOT NULL CHECK (length(pair) BETWEEN 1 AND 20),
    price TEXT NOT NULL CHECK (
        length(price) = 21 AND substr(price, 11, 1) = '.'
        AND price NOT GLOB '*[^0-9.]*' AND price NOT GLOB '*.*.*'
        AND price > '0000000000.0000000000'
    ),
    timestamp INTEGER NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT historical_ticks_identity UNIQUE (pair, timestamp, price)
);

CREATE INDEX IF NOT EXISTS idx_historical_ticks_pair_timestamp
    ON historical_ticks (pair, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_historical_ticks_timestamp
    ON historical_ticks (timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_historical_ticks_pair
    ON historical_ticks (pair);
