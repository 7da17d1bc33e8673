// Accounts (issue 5, first part: who you are). An account belongs to a department of
// layers/departments.json (or none, for an admin) and holds roles: window_clerk (submits
// applications), reviewer (writes its department's opinions), plan_editor (imports and edits the
// layers its department owns), admin. The anonymous public has no account.
//
// Passwords: scrypt (memory-hard), per-account salt, stored as scrypt$N$r$p$salt$hash.
// Credentials: one table for browser sessions (kind 'session': an httpOnly, SameSite cookie, with a
// CSRF token) and API tokens (kind 'token': Authorization: Bearer). Only sha256 of a credential is
// stored, so a copy of the database gives no one a way in; each has an expiry and can be revoked.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE accounts (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_.-]{1,39}$'),
  display_name text NOT NULL,
  department text,
  roles text[] NOT NULL CHECK (roles <@ ARRAY['window_clerk', 'reviewer', 'plan_editor', 'admin']::text[] AND cardinality(roles) > 0),
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  demo boolean NOT NULL DEFAULT false,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (department IS NOT NULL OR 'admin' = ANY (roles))
)`);
  await knex.raw(`COMMENT ON COLUMN accounts.demo IS 'created by the demo data set; a production start refuses to run while any exists'`);
  await knex.raw(`
CREATE TABLE credentials (
  id uuid PRIMARY KEY,
  account_id integer NOT NULL REFERENCES accounts (id),
  kind text NOT NULL CHECK (kind IN ('session', 'token')),
  token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  label text,
  csrf text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  last_used_at timestamptz,
  CHECK (kind = 'token' OR csrf IS NOT NULL)
)`);
  await knex.raw('CREATE INDEX credentials_account ON credentials (account_id)');

  // Logins, logouts, tokens given and revoked go to the audit trail (…_audit.ts), at commit.
  await knex.raw(`
CREATE FUNCTION audit_credential() RETURNS trigger LANGUAGE plpgsql AS $$
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
  await knex.raw(`CREATE CONSTRAINT TRIGGER credentials_audit AFTER INSERT OR UPDATE ON credentials DEFERRABLE INITIALLY DEFERRED
                  FOR EACH ROW EXECUTE FUNCTION audit_credential()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS credentials');
  await knex.raw('DROP FUNCTION IF EXISTS audit_credential()');
  await knex.raw('DROP TABLE IF EXISTS accounts');
}
