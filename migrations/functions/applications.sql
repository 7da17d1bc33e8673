-- The joint review (联动审批; tables application_opinions and application_events, migration
-- 20261130000001_applications.ts): every event of an application's timeline goes to the audit
-- trail (audit.sql) at commit. A signed opinion is never changed (append-only.sql).
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent. CREATE OR REPLACE TRIGGER does
-- not take constraint triggers, so those are dropped and created again.

-- Each timeline event as application.<kind> on <number>v<version>, with the event's details, its
-- id and the department.
CREATE OR REPLACE FUNCTION audit_application_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(NEW.actor, 'application.' || NEW.kind, (SELECT number FROM applications WHERE id = NEW.application_id) || 'v' || NEW.version,
    jsonb_strip_nulls(NEW.detail || jsonb_build_object('event', NEW.id, 'department', NEW.department)));
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS application_events_audit ON application_events;
CREATE CONSTRAINT TRIGGER application_events_audit AFTER INSERT ON application_events DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION audit_application_event();
