// The viewer's session: who is logged in (GET /api/auth/me on load, POST /api/auth/login and
// logout), kept here with its CSRF token, which the shared HTTP helper puts on every write so that
// the write counts as the account's. Anonymous: no account, no token, requests as before. When the
// server answers a request 401 (the session expired or was revoked), the session is checked again.
import type { Account, LoginAnswer, Me } from '../../../server/accounts/schemas';
import { ApiError, getJson, onUnauthenticated, postJson, setCsrfToken } from '../platform/http';

/** An account as /api/auth answers it (its department null for an admin). */
export type { Account };

let current: Account | null = null;
const listeners = new Set<(account: Account | null) => void>();

/** The logged-in account, or null. */
export function currentAccount(): Account | null {
  return current;
}

/** Calls fn whenever the account changes (log in, log out, restored); returns the unsubscribe. */
export function onAccountChange(fn: (account: Account | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function set(account: Account | null, csrf: string | undefined): void {
  current = account;
  setCsrfToken(account ? csrf : undefined);
  for (const fn of listeners) fn(account);
}

// The server no longer takes the session the viewer holds (expired, revoked, logged out elsewhere): ask who we are.
onUnauthenticated(() => {
  if (current) void restoreSession();
});

/** Restores the session of the browser's cookie, if any (anonymous on any failure). */
export async function restoreSession(): Promise<Account | null> {
  try {
    const me = await getJson<Me>('/api/auth/me');
    // Only a browser session carries a CSRF token; without one a write would not count as the account's.
    if (me.account && me.via === 'session' && me.csrf) set(me.account, me.csrf);
    else set(null, undefined);
  } catch {
    set(null, undefined);
  }
  return current;
}

/** Logs in; throws ApiError with the server's code and message (401 invalid_credentials, 429 too_many_attempts …). */
export async function login(name: string, password: string): Promise<Account> {
  const r = await postJson<LoginAnswer>('/api/auth/login', { name, password });
  set(r.account, r.csrf);
  return r.account;
}

/**
 * Logs out. The browser is anonymous afterwards whatever the answer: a session that already
 * expired or was revoked (401) has ended anyway.
 */
export async function logout(): Promise<void> {
  try {
    await postJson('/api/auth/logout');
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) throw err;
  } finally {
    set(null, undefined);
  }
}
