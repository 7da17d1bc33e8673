// Login throttling shared by every instance (issue 14): failed logins counted in PostgreSQL, not in
// a process, by address, by account name and by name and address together, each with a delay that
// doubles after a number of free failures up to a cap (server/accounts/limiter.ts; the upsert is
// login_throttle_fail in migrations/functions/login-throttle.sql). Keys are sha256 digests (32
// bytes): a name typed into the form (sometimes a password) is not kept in clear, and every row has
// the same small size. Rows are forgotten a while after their last failure and purged on write,
// and the table is capped (ONEMAP_LOGIN_THROTTLE_MAX_ROWS), so refusals of random names cannot
// grow it without bound.
//
// login_known_addresses: the addresses an account logged in from (digests too). The account-wide
// delay, which failures from anywhere raise, does not hold those up: a stranger cannot keep the
// owner out of their own account from their usual place. Written only on a successful login.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE login_throttle (
  key bytea PRIMARY KEY CHECK (octet_length(key) = 32),
  failures integer NOT NULL CHECK (failures > 0),
  last_failure_at timestamptz NOT NULL,
  blocked_until timestamptz NOT NULL,
  forget_at timestamptz NOT NULL
)`);
  await knex.raw(`COMMENT ON TABLE login_throttle IS 'failed logins by sha256(kind, address and/or name): count, next allowed try, when forgotten'`);
  await knex.raw('CREATE INDEX login_throttle_forget ON login_throttle (forget_at)');
  // The cap keeps the rows with the most failures, most recent first: a flood of one-off names goes first.
  await knex.raw('CREATE INDEX login_throttle_rank ON login_throttle (failures, last_failure_at)');
  await knex.raw(`
CREATE TABLE login_known_addresses (
  account_id integer NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  address_key bytea NOT NULL CHECK (octet_length(address_key) = 32),
  last_success_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, address_key)
)`);
  await knex.raw(`COMMENT ON TABLE login_known_addresses IS 'addresses (sha256) an account logged in from lately: not held up by failures of its name elsewhere'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS login_known_addresses');
  await knex.raw('DROP TABLE IF EXISTS login_throttle');
}
