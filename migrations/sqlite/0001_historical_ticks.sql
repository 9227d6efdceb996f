-- The embedded store (SQLite), used when DATABASE_URL is unset: the same
-- table as PostgreSQL's, with prices kept exact as their canonical decimal
-- text (never REAL), and the same unique key on a tick's natural identity.
-- The server writes prices in one canonical form (no leading or trailing
-- zeros), so equal prices are equal text.

CREATE TABLE IF NOT EXISTS historical_ticks (
    id INTEGER PRIMARY KEY,
    pair TEXT NOT NULL CHECK (length(pair) BETWEEN 1 AND 20),
    price TEXT NOT NULL CHECK (
        price GLOB '[0-9]*' AND price NOT GLOB '*[^0-9.]*' AND price NOT GLOB '*.*.*'
        AND length(price) <= 21 AND trim(price, '0.') <> ''
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
