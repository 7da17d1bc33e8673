-- Append-only tables: rows that are evidence are never changed or removed. The audit trail
-- (audit_log, audit.sql) would otherwise lose what its hash chain proves, and a signed opinion of
-- the joint review (application_opinions, applications.sql) must stay as its department signed it
-- (a correction is a new opinion that names the one it corrects). One trigger function refuses
-- UPDATE, DELETE and TRUNCATE with each table's own message; a test that tampers has to switch the
-- trigger off explicitly (ALTER TABLE … DISABLE TRIGGER).
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent.

-- Refuses the statement with the message given as the trigger's argument (SQLSTATE 42501,
-- insufficient_privilege: nobody may, whatever their rights on the table).
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('audit_log is append-only');
CREATE OR REPLACE TRIGGER application_opinions_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON application_opinions
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a signed opinion cannot be changed or removed; record a correction instead');

-- The one-table functions these triggers called before (migrations 20261129000001_audit.ts and
-- 20261130000001_applications.ts create them; nothing calls them once the triggers above are on).
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS application_opinion_immutable();
