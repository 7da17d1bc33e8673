-- The audit trail (table audit_log, migration 20261129000001_audit.ts): an append-only,
-- hash-chained log of every write that matters. Each row's hash is
-- sha256(previous row's hash ‖ the row's canonical text), so changing, removing or inserting a row
-- anywhere breaks the chain from there on (GET /api/audit/verify, server/audit/, finds where).
-- Entries are written by triggers on the tables the writes go to, so no write path can skip them,
-- DEFERRED to the end of the writing transaction: the chain is extended at commit, under an
-- advisory lock held only for those last moments, so ids (and the chain) follow commit order, a
-- rolled-back write leaves no entry, and a long import does not hold up anyone else's write. The
-- table is append-only (append-only.sql).
-- Here: the chain itself, and the entries of layer revisions and of the conflict ledger and runs;
-- accounts.sql and applications.sql write theirs with audit_append.
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent. CREATE OR REPLACE TRIGGER does
-- not take constraint triggers, so those are dropped and created again.

-- The text a row's hash covers: jsonb text is canonical (keys sorted, no insignificant spaces) and
-- the time is written in UTC to the microsecond, so the verifier recomputes exactly these bytes.
CREATE OR REPLACE FUNCTION audit_canonical(id bigint, at timestamptz, actor text, action text, object text, details jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT jsonb_build_array(id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, action, object, details)::text
$$;

-- A row's hash: sha256 (hex) of the previous row's hash followed by the row's canonical text.
CREATE OR REPLACE FUNCTION audit_hash(prev_hash text, canonical text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(prev_hash || canonical, 'UTF8')), 'hex')
$$;

-- Whether this session holds the chain's advisory lock (hashtext('onemap:audit') as one bigint
-- key: pg_locks shows it as its high and low 32 bits, objsubid 1).
CREATE OR REPLACE FUNCTION audit_lock_held() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_locks
                  WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 1
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND ((classid::bigint << 32) | objid::bigint) = hashtext('onemap:audit')::bigint)
$$;

-- Appends one entry at the end of the chain; called at commit by the deferred triggers. The
-- advisory lock serialises appenders, so each reads the hash the previous one wrote: a READ
-- COMMITTED statement sees every commit before it. A REPEATABLE READ or SERIALIZABLE transaction
-- reads its one snapshot throughout, and an entry committed after that snapshot was taken would be
-- invisible to it: it would chain to the entry before and fork the chain. Such a transaction must
-- hold the lock from before its snapshot (server/audit/chain.ts, holdingTheChain); one that does
-- not is refused here rather than let fork the chain.
CREATE OR REPLACE FUNCTION audit_append(p_actor text, p_action text, p_object text, p_details jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  v_at timestamptz := clock_timestamp();
  v_prev text;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' AND NOT audit_lock_held() THEN
    RAISE EXCEPTION 'an audited write in a % transaction must hold the audit chain''s lock from before its snapshot (holdingTheChain), or it would fork the chain',
      current_setting('transaction_isolation') USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('onemap:audit'));
  SELECT hash INTO v_prev FROM audit_log ORDER BY id DESC LIMIT 1;
  v_prev := COALESCE(v_prev, repeat('0', 64));
  v_id := nextval('audit_log_id_seq');
  INSERT INTO audit_log (id, at, actor, action, object, details, prev_hash, hash)
  VALUES (v_id, v_at, COALESCE(NULLIF(p_actor, ''), 'anonymous'), p_action, p_object, COALESCE(p_details, '{}'), v_prev,
          audit_hash(v_prev, audit_canonical(v_id, v_at, COALESCE(NULLIF(p_actor, ''), 'anonymous'), p_action, p_object, COALESCE(p_details, '{}'))));
END $$;

-- Who did it, for changes made on someone's behalf (account management): the transaction-local
-- setting onemap.actor, which the writing code sets with set_config('onemap.actor', name, true)
-- (local to the transaction, so it never leaks to the next user of a pooled connection); unset or
-- empty (after an earlier transaction), the fallback (e.g. 'system' for the demo load).
CREATE OR REPLACE FUNCTION audit_actor(fallback text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT COALESCE(NULLIF(current_setting('onemap.actor', true), ''), fallback)
$$;

-- Layer revisions: imports, restores, edits, demo loads (layer.revision, object <layer>@<revision>).
CREATE OR REPLACE FUNCTION audit_layer_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(COALESCE(NEW.created_by, NEW.kind), 'layer.revision', NEW.layer_id || '@' || NEW.revision,
    jsonb_strip_nulls(jsonb_build_object('kind', NEW.kind, 'reason', NEW.reason, 'source_name', NEW.source_name,
      'source_sha256', NEW.source_sha256, 'restored_from', NEW.restored_from, 'feature_count', NEW.feature_count, 'area_m2', NEW.area_m2)));
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS layer_revisions_audit ON layer_revisions;
CREATE CONSTRAINT TRIGGER layer_revisions_audit AFTER INSERT ON layer_revisions DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION audit_layer_revision();

-- Ledger actions of people: status changes and comments (conflict.case.<action>). The detection's
-- own openings and closings are in its run's entry.
CREATE OR REPLACE FUNCTION audit_case_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(NEW.actor, 'conflict.case.' || NEW.action, NEW.case_id::text,
    jsonb_strip_nulls(jsonb_build_object('event', NEW.id, 'from', NEW.from_status, 'to', NEW.to_status, 'decision', NEW.decision,
      'reason', NEW.reason, 'comment', NEW.comment, 'opinions', NULLIF(NEW.details, '{}'::jsonb))));
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS conflict_case_events_audit ON conflict_case_events;
CREATE CONSTRAINT TRIGGER conflict_case_events_audit AFTER INSERT ON conflict_case_events DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (NEW.action IN ('transition', 'comment')) EXECUTE FUNCTION audit_case_event();

-- Detection runs, when they end (conflict.run.succeeded / conflict.run.failed, with their totals).
CREATE OR REPLACE FUNCTION audit_conflict_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(NEW.requested_by, 'conflict.run.' || NEW.status, NEW.id::text,
    jsonb_strip_nulls(jsonb_build_object('mode', NEW.mode, 'layers', NEW.layers, 'totals', NEW.stats -> 'totals', 'error', NEW.error)));
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS conflict_runs_audit ON conflict_runs;
CREATE CONSTRAINT TRIGGER conflict_runs_audit AFTER UPDATE ON conflict_runs DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status IN ('succeeded', 'failed')) EXECUTE FUNCTION audit_conflict_run();
