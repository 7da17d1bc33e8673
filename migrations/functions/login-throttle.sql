-- Login throttling (tables login_throttle and login_known_addresses, migration
-- 20261205000001_login_throttle.ts; the policy and its keys: server/accounts/limiter.ts).
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent.

-- The delay (s) after the n-th failure of a key: none for the first free - 1, then 2 s doubling
-- (2, 4, 8 …) up to cap_s. The exponent is bounded so that the power cannot overflow.
CREATE OR REPLACE FUNCTION login_throttle_delay_s(n integer, free integer, cap_s integer) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN n < free THEN 0 ELSE least(cap_s, power(2, least(n - free + 1, 30))::integer) END
$$;

-- Counts one failure of a key, atomically whichever instance counts it: a row forgotten already
-- (forget_at passed, not purged yet) starts again at 1. Returns whether the row is new (the
-- caller then applies the cap) and the delay it now has.
CREATE OR REPLACE FUNCTION login_throttle_fail(k bytea, free integer, cap_s integer, forget_s integer, OUT inserted boolean, OUT delay_s integer)
LANGUAGE sql AS $$
  INSERT INTO login_throttle AS t (key, failures, last_failure_at, blocked_until, forget_at)
  VALUES (k, 1, now(), now() + make_interval(secs => login_throttle_delay_s(1, free, cap_s)), now() + make_interval(secs => forget_s))
  ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN t.forget_at <= now() THEN 1 ELSE t.failures + 1 END,
    last_failure_at = now(),
    blocked_until = now() + make_interval(secs => login_throttle_delay_s(CASE WHEN t.forget_at <= now() THEN 1 ELSE t.failures + 1 END, free, cap_s)),
    forget_at = now() + make_interval(secs => forget_s)
  RETURNING (xmax = 0), login_throttle_delay_s(failures, free, cap_s)
$$;

-- Purges forgotten rows (a batch at a time: every write purges some), and, when the table holds more
-- than max_rows, the rows beyond the max_rows with the most failures, most recent first.
CREATE OR REPLACE FUNCTION login_throttle_purge(max_rows integer, check_cap boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  gone integer;
  over integer := 0;
BEGIN
  DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle WHERE forget_at <= now() ORDER BY forget_at LIMIT 1000);
  GET DIAGNOSTICS gone = ROW_COUNT;
  IF check_cap THEN
    DELETE FROM login_throttle WHERE key IN (
      SELECT key FROM login_throttle ORDER BY failures DESC, last_failure_at DESC OFFSET max_rows);
    GET DIAGNOSTICS over = ROW_COUNT;
  END IF;
  RETURN gone + over;
END
$$;
