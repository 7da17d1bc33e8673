// The audit trail: an append-only, hash-chained log of every write that matters — each layer
// revision (import, restore, edit, demo load), each ledger action (status change, comment), each
// conflict detection run. Each row's hash is sha256(previous row's hash ‖ the row's canonical text),
// so changing, removing or inserting a row anywhere breaks the chain from there on
// (GET /api/audit/verify finds where).
//
// Rows are written by triggers on the tables the writes go to, so no write path can skip them, and
// they are DEFERRED to the end of the writing transaction: the chain is extended at commit, under an
// advisory lock held only for those last moments, so ids (and the chain) follow commit order, a
// rolled-back write leaves no row, and a long import does not hold up anyone else's write.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE audit_log (
  id bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  object text NOT NULL,
  details jsonb NOT NULL,
  prev_hash text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
)`);
  await knex.raw('CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id');
  await knex.raw(`COMMENT ON TABLE audit_log IS 'append-only, hash-chained: hash = sha256(prev_hash || audit_canonical(row))'`);

  // The text a row's hash covers (jsonb text is canonical: keys sorted, no insignificant spaces).
  await knex.raw(`
CREATE FUNCTION audit_canonical(id bigint, at timestamptz, actor text, action text, object text, details jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT jsonb_build_array(id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, action, object, details)::text
$$`);
  await knex.raw(`
CREATE FUNCTION audit_hash(prev_hash text, canonical text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(prev_hash || canonical, 'UTF8')), 'hex')
$$`);

  // Appends one entry at the end of the chain (called at commit by the deferred triggers below).
  await knex.raw(`
CREATE FUNCTION audit_append(p_actor text, p_action text, p_object text, p_details jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_id bigint;
  v_at timestamptz := clock_timestamp();
  v_prev text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('onemap:audit'));
  SELECT hash INTO v_prev FROM audit_log ORDER BY id DESC LIMIT 1;
  v_prev := COALESCE(v_prev, repeat('0', 64));
  v_id := nextval('audit_log_id_seq');
  INSERT INTO audit_log (id, at, actor, action, object, details, prev_hash, hash)
  VALUES (v_id, v_at, COALESCE(NULLIF(p_actor, ''), 'anonymous'), p_action, p_object, COALESCE(p_details, '{}'), v_prev,
          audit_hash(v_prev, audit_canonical(v_id, v_at, COALESCE(NULLIF(p_actor, ''), 'anonymous'), p_action, p_object, COALESCE(p_details, '{}'))));
END $$`);

  // Append-only: no update or delete (a test that tampers has to switch this off explicitly).
  await knex.raw(`
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$`);
  await knex.raw('CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()');

  // Layer revisions: imports, restores, edits, demo loads.
  await knex.raw(`
CREATE FUNCTION audit_layer_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(COALESCE(NEW.created_by, NEW.kind), 'layer.revision', NEW.layer_id || '@' || NEW.revision,
    jsonb_strip_nulls(jsonb_build_object('kind', NEW.kind, 'reason', NEW.reason, 'source_name', NEW.source_name,
      'source_sha256', NEW.source_sha256, 'restored_from', NEW.restored_from, 'feature_count', NEW.feature_count, 'area_m2', NEW.area_m2)));
  RETURN NULL;
END $$`);
  await knex.raw(`CREATE CONSTRAINT TRIGGER layer_revisions_audit AFTER INSERT ON layer_revisions DEFERRABLE INITIALLY DEFERRED
                  FOR EACH ROW EXECUTE FUNCTION audit_layer_revision()`);

  // Ledger actions of people (the detection's own openings and closings are in its run's entry).
  await knex.raw(`
CREATE FUNCTION audit_case_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(NEW.actor, 'conflict.case.' || NEW.action, NEW.case_id::text,
    jsonb_strip_nulls(jsonb_build_object('event', NEW.id, 'from', NEW.from_status, 'to', NEW.to_status, 'decision', NEW.decision,
      'reason', NEW.reason, 'comment', NEW.comment, 'opinions', NULLIF(NEW.details, '{}'::jsonb))));
  RETURN NULL;
END $$`);
  await knex.raw(`CREATE CONSTRAINT TRIGGER conflict_case_events_audit AFTER INSERT ON conflict_case_events DEFERRABLE INITIALLY DEFERRED
                  FOR EACH ROW WHEN (NEW.action IN ('transition', 'comment')) EXECUTE FUNCTION audit_case_event()`);

  // Detection runs, when they end.
  await knex.raw(`
CREATE FUNCTION audit_conflict_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(NEW.requested_by, 'conflict.run.' || NEW.status, NEW.id::text,
    jsonb_strip_nulls(jsonb_build_object('mode', NEW.mode, 'layers', NEW.layers, 'totals', NEW.stats -> 'totals', 'error', NEW.error)));
  RETURN NULL;
END $$`);
  await knex.raw(`CREATE CONSTRAINT TRIGGER conflict_runs_audit AFTER UPDATE ON conflict_runs DEFERRABLE INITIALLY DEFERRED
                  FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status IN ('succeeded', 'failed')) EXECUTE FUNCTION audit_conflict_run()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS conflict_runs_audit ON conflict_runs');
  await knex.raw('DROP TRIGGER IF EXISTS conflict_case_events_audit ON conflict_case_events');
  await knex.raw('DROP TRIGGER IF EXISTS layer_revisions_audit ON layer_revisions');
  await knex.raw('DROP TABLE IF EXISTS audit_log');
  for (const f of ['audit_conflict_run()', 'audit_case_event()', 'audit_layer_revision()', 'audit_refuse_change()', 'audit_append(text, text, text, jsonb)', 'audit_hash(text, text)', 'audit_canonical(bigint, timestamptz, text, text, text, jsonb)']) {
    await knex.raw(`DROP FUNCTION IF EXISTS ${f}`);
  }
}
