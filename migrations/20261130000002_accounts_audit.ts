// Account management in the audit trail (issue 5, item 7: admin actions are audited). Deferred
// constraint triggers, like those of …_audit.ts, so an entry is written at the commit of the change
// and a rolled-back change leaves none:
//   account.created           a new account (name, display name, department, roles, active, demo);
//   account.updated           display name, department, roles or active changed (each from → to);
//   account.password_changed  a new password (never the hash, old or new);
// and credentials (…_accounts.ts already audits logins, logouts, tokens issued and revoked, by their
// owner): a session or token revoked by someone else (an admin revoking, resetting a password,
// deactivating) is now `auth.session.revoked` / `auth.token.revoked` under that someone, with the
// owner in the details, instead of looking like the owner's own logout.
//
// Who did it: the transaction-local setting `onemap.actor`, which the writing code sets before the
// change with `SELECT set_config('onemap.actor', <account name>, true)` (server/accounts/admin.ts,
// cli.ts); the triggers read it with current_setting('onemap.actor', true). `true` makes it local to
// the transaction, so it never leaks to the next user of a pooled connection; an unset (or, after an
// earlier transaction, empty) setting gives the actor `system` (e.g. the demo load).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE FUNCTION audit_actor(fallback text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT COALESCE(NULLIF(current_setting('onemap.actor', true), ''), fallback)
$$`);

  await knex.raw(`
CREATE FUNCTION audit_account() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changes jsonb := '{}'::jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM audit_append(audit_actor('system'), 'account.created', NEW.name,
      jsonb_build_object('display_name', NEW.display_name, 'department', NEW.department, 'roles', to_jsonb(NEW.roles), 'active', NEW.active, 'demo', NEW.demo));
    RETURN NULL;
  END IF;
  IF OLD.display_name IS DISTINCT FROM NEW.display_name THEN
    changes := changes || jsonb_build_object('display_name', jsonb_build_object('from', OLD.display_name, 'to', NEW.display_name));
  END IF;
  IF OLD.department IS DISTINCT FROM NEW.department THEN
    changes := changes || jsonb_build_object('department', jsonb_build_object('from', OLD.department, 'to', NEW.department));
  END IF;
  IF OLD.roles IS DISTINCT FROM NEW.roles THEN
    changes := changes || jsonb_build_object('roles', jsonb_build_object('from', to_jsonb(OLD.roles), 'to', to_jsonb(NEW.roles)));
  END IF;
  IF OLD.active IS DISTINCT FROM NEW.active THEN
    changes := changes || jsonb_build_object('active', jsonb_build_object('from', OLD.active, 'to', NEW.active));
  END IF;
  IF OLD.name IS DISTINCT FROM NEW.name THEN
    changes := changes || jsonb_build_object('name', jsonb_build_object('from', OLD.name, 'to', NEW.name));
  END IF;
  IF changes <> '{}'::jsonb THEN
    PERFORM audit_append(audit_actor('system'), 'account.updated', NEW.name, jsonb_build_object('changes', changes));
  END IF;
  IF OLD.password_hash IS DISTINCT FROM NEW.password_hash THEN
    PERFORM audit_append(audit_actor('system'), 'account.password_changed', NEW.name, '{}'::jsonb);
  END IF;
  RETURN NULL;
END $$`);
  await knex.raw(`CREATE CONSTRAINT TRIGGER accounts_audit AFTER INSERT OR UPDATE ON accounts DEFERRABLE INITIALLY DEFERRED
                  FOR EACH ROW EXECUTE FUNCTION audit_account()`);

  // Credentials: as in …_accounts.ts, plus revocations by someone other than the owner.
  await knex.raw(`
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
END $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS accounts_audit ON accounts');
  await knex.raw('DROP FUNCTION IF EXISTS audit_account()');
  // audit_credential as …_accounts.ts made it.
  await knex.raw(`
CREATE OR REPLACE FUNCTION audit_credential() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  who text := (SELECT name FROM accounts WHERE id = NEW.account_id);
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM audit_append(who, CASE NEW.kind WHEN 'session' THEN 'auth.login' ELSE 'auth.token.issued' END, NEW.id::text,
      jsonb_strip_nulls(jsonb_build_object('label', NEW.label, 'expires_at', NEW.expires_at)));
  ELSIF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
    PERFORM audit_append(who, CASE NEW.kind WHEN 'session' THEN 'auth.logout' ELSE 'auth.token.revoked' END, NEW.id::text, '{}'::jsonb);
  END IF;
  RETURN NULL;
END $$`);
  await knex.raw('DROP FUNCTION IF EXISTS audit_actor(text)');
}
