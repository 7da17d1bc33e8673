// The accounts' contract: what /api/auth and /api/accounts take and answer, as zod schemas. The
// routes validate with them (accounts/routes.ts, accounts/admin-routes.ts), the OpenAPI document is
// generated from them, the CLI checks its arguments with the same bodies, and the viewer takes its
// types from them (`import type`). Times leave as ISO 8601 text, as JSON carries them.
import { z } from 'zod';
import { ROLES } from './needs';

/** An account name: 2–40 characters, a–z first, then a–z, 0–9, _ . - */
export const NAME_PATTERN = /^[a-z][a-z0-9_.-]{1,39}$/;

/** A point in time as the answers write it (Date.toJSON). */
const Timestamp = z.iso.datetime();

/** A role, from the one list (accounts/needs.ts). */
const RoleSchema = z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` });

/** Who an account is, as the API shows it (never its id or hash). */
export const Account = z
  .object({
    name: z.string(),
    display_name: z.string(),
    department: z.string().nullable().describe('layers/departments.json id; null only for an admin'),
    roles: z.array(RoleSchema),
  })
  .meta({ id: 'Account' });
export type Account = z.output<typeof Account>;

// --- /api/auth ---------------------------------------------------------------------------------

export const LoginBody = z.object({
  name: z.string({ error: 'expected the account name' }).min(1, 'expected the account name').max(40, 'an account name has at most 40 characters'),
  password: z.string({ error: 'expected the password' }).min(1, 'expected the password').max(200, 'a password has at most 200 characters'),
});

export const LoginAnswer = z.object({
  account: Account,
  csrf: z.string().describe('send it as X-CSRF-Token with every write made with the session cookie'),
  expires_at: Timestamp,
});
export type LoginAnswer = z.output<typeof LoginAnswer>;

/** GET /api/auth/me: the account behind the request, or `{ account: null }`. */
export const Me = z
  .object({
    account: Account.nullable(),
    via: z.enum(['session', 'token']).optional().describe('how the request was recognised'),
    csrf: z.string().optional().describe("the session's CSRF token (browser sessions only)"),
    expires_at: Timestamp.optional(),
  })
  .meta({ id: 'Me' });
export type Me = z.output<typeof Me>;

/** Days an API token lives: 1–365, 90 by default. */
export const TOKEN_DAYS = { default: 90, max: 365 } as const;

export const NewTokenBody = z.object({
  label: z
    .string({ error: 'expected what the token is for (1–100 characters)' })
    .max(100, 'expected what the token is for (1–100 characters)')
    .trim()
    .min(1, 'expected what the token is for (1–100 characters)'),
  // A number in text ("30") is taken too, as it always was.
  days: z.coerce
    .number({ error: `expected 1 to ${TOKEN_DAYS.max}` })
    .int(`expected 1 to ${TOKEN_DAYS.max}`)
    .min(1, `expected 1 to ${TOKEN_DAYS.max}`)
    .max(TOKEN_DAYS.max, `expected 1 to ${TOKEN_DAYS.max}`)
    .default(TOKEN_DAYS.default)
    .describe('days until it expires'),
});

export const NewToken = z.object({
  id: z.uuid(),
  token: z.string().describe('the secret, shown this once: send it as Authorization: Bearer <token>'),
  label: z.string(),
  expires_at: Timestamp,
});

export const TokenInfo = z
  .object({
    id: z.uuid(),
    label: z.string().nullable(),
    created_at: Timestamp,
    expires_at: Timestamp,
    revoked_at: Timestamp.nullable(),
    last_used_at: Timestamp.nullable().describe('at most a minute off'),
  })
  .meta({ id: 'Token' });

// --- /api/accounts -----------------------------------------------------------------------------

/** An account as the admin API shows it, with its current (not expired, not revoked) credentials. */
export const AccountView = Account.extend({
  active: z.boolean(),
  demo: z.boolean().describe('a demo account (its password is public)'),
  created_at: Timestamp,
  sessions: z.number().int(),
  tokens: z.number().int(),
}).meta({ id: 'AccountView' });
export type AccountView = z.output<typeof AccountView>;

/** An account after a password change or a revocation, with how many credentials were revoked. */
export const AccountRevoked = AccountView.extend({ revoked: z.number().int() });

const displayName = z
  .string({ error: 'expected a name to show of 1–100 characters' })
  .max(100, 'expected a name to show of 1–100 characters')
  .trim()
  .min(1, 'expected a name to show of 1–100 characters');

const roles = z
  .array(RoleSchema, { error: `expected a non-empty list of distinct roles from ${ROLES.join(', ')}` })
  .min(1, `expected a non-empty list of distinct roles from ${ROLES.join(', ')}`)
  .refine((r) => new Set(r).size === r.length, `expected a non-empty list of distinct roles from ${ROLES.join(', ')}`);

/** The password's shape; its strength is checked after (400 weak_password, passwords.ts). */
const password = z.string({ error: 'expected a password' }).describe('10 to 200 characters (else 400 weak_password)');

/** The bodies of account management; the departments come from the registry. */
export function accountBodies(departments: readonly string[]) {
  const department = z
    .enum(departments as [string, ...string[]], { error: `expected null or one of ${departments.join(', ')} (layers/departments.json)` })
    .nullable()
    .describe('null only for an admin');
  return {
    create: z
      .object({
        name: z.string({ error: 'expected an account name' }).regex(NAME_PATTERN, 'expected an account name of 2–40 characters: a–z first, then a–z, 0–9, _ . -'),
        display_name: displayName,
        department,
        roles,
        password,
      })
      .strict(),
    change: z.object({ display_name: displayName.optional(), department: department.optional(), roles: roles.optional(), active: z.boolean().optional() }).strict(),
    password: z.object({ password }).strict(),
  };
}
export type NewAccountBody = z.output<ReturnType<typeof accountBodies>['create']>;
export type AccountChanges = z.output<ReturnType<typeof accountBodies>['change']>;
