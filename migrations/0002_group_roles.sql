-- The roles become group roles: tickstream_reader and tickstream_writer hold
-- the grants and nobody logs in as them. Services and people log in as roles
-- of their own made members, e.g.
--   CREATE ROLE tickstream_app LOGIN PASSWORD '...' IN ROLE tickstream_writer;
-- Roles are cluster-wide: where another database's migration already made
-- them group roles nothing is altered, and a concurrent one is tolerated.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['tickstream_reader', 'tickstream_writer'] LOOP
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r AND rolcanlogin) THEN
                EXECUTE format('ALTER ROLE %I NOLOGIN', r);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r AND rolcanlogin) THEN
                RAISE;
            END IF;
        END;
    END LOOP;
END
$$;

-- `tickstream serve` as a writer reads back what it stores: today's ticks at
-- start-up and the candles of `/api/candles`, ordered by id where two ticks
-- share a millisecond. It may read those four columns (created_at stays
-- hidden); it still may not update or delete.
GRANT SELECT (id, pair, price, timestamp) ON historical_ticks TO tickstream_writer;

-- ...and checks that the schema is current before it writes.
GRANT SELECT ON _sqlx_migrations TO tickstream_writer;
