-- Accounts and credentials in the audit trail (tables accounts and credentials, migrations
-- 20261129000002_accounts.ts and 20261130000002_accounts_audit.ts). Deferred constraint triggers,
-- like those of audit.sql: an entry is written at the commit of the change, and a rolled-back
-- change leaves none. Who made a change on someone's behalf is audit_actor (audit.sql): the
-- transaction-local setting onemap.actor that server/accounts/admin.ts and cli.ts set.
--
-- Applied on every start after the knex migrations (server/platform/db.ts, applyDatabaseCode):
-- this file is the current definition; it must stay idempotent. CREATE OR REPLACE TRIGGER does
-- not take constraint triggers, so those are dropped and created again.

-- Account management (admin actions are audited):
--   account.created           a new account (display name, department, roles, active, demo);
--   account.updated           display name, department, roles, active or name changed (each from → to);
--   account.password_changed  a new password (never the hash, old or new).
CREATE OR REPLACE FUNCTION audit_account() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changes jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM audit_append(audit_actor('system'), 'account.created', NEW.name,
      jsonb_build_object('display_name', NEW.display_name, 'department', NEW.department, 'roles', to_jsonb(NEW.roles), 'active', NEW.active, 'demo', NEW.demo));
    RETURN NULL;
  END IF;
  -- The audited fields that differ, each as {from, to} (as JSON: roles an array, active a boolean).
  SELECT jsonb_object_agg(f, jsonb_build_object('from', to_jsonb(OLD) -> f, 'to', to_jsonb(NEW) -> f)) INTO changes
    FROM unnest(ARRAY['display_name', 'department', 'roles', 'active', 'name']) AS f
   WHERE to_jsonb(OLD) -> f IS DISTINCT FROM to_jsonb(NEW) -> f;
  IF changes IS NOT NULL THEN
    PERFORM audit_append(audit_actor('system'), 'account.updated', NEW.name, jsonb_build_object('changes', changes));
  END IF;
  IF OLD.password_hash IS DISTINCT FROM NEW.password_hash THEN
    PERFORM audit_append(audit_actor('system'), 'account.password_changed', NEW.name, '{}'::jsonb);
  END IF;
  RETURN NULL;
END $$;

-- Sessions and API tokens, under their owner: auth.login / auth.token.issued when made,
-- auth.logout / auth.token.revoked when the owner revokes them. Revoked by someone else (an admin
-- revoking, resetting a password, deactivating): auth.session.revoked / auth.token.revoked under
-- that someone, with the owner in the details, so it does not look like the owner's own logout.
CREATE OR REPLACE FUNCTION audit_credential() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  who text := (SELECT name FROM accounts WHERE id = NEW.account_id);
  v_by text := audit_actor(who);
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM audit_append(who, CASE NEW.kind WHEN 'session' THEN 'auth.login' ELSE 'auth.token.issued' END, NEW.id::text,
      jsonb_strip_nulls(jsonb_build_object('label', NEW.label, 'expires_at', NEW.expires_at)));
  ELSIF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
    IF v_by = who THEN
      PERFORM audit_append(who, CASE NEW.kind WHEN 'session' THEN 'auth.logout' ELSE 'auth.token.revoked' END, NEW.id::text, '{}'::jsonb);
    ELSE
      PERFORM audit_append(v_by, CASE NEW.kind WHEN 'session' THEN 'auth.session.revoked' ELSE 'auth.token.revoked' END, NEW.id::text,
        jsonb_build_object('account', who));
    END IF;
  END IF;
  RETURN NULL;
END $$;

-- Both at the commit of the writing transaction (deferred), every row written.
DROP TRIGGER IF EXISTS accounts_audit ON accounts;
CREATE CONSTRAINT TRIGGER accounts_audit AFTER INSERT OR UPDATE ON accounts DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION audit_account();
DROP TRIGGER IF EXISTS credentials_audit ON credentials;
CREATE CONSTRAINT TRIGGER credentials_audit AFTER INSERT OR UPDATE ON credentials DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION audit_credential();
