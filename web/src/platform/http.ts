// One way to call the server's JSON API, turning its error body { code, message, details? } into ApiError,
// and the session's CSRF token that every write (POST/PUT/PATCH/DELETE) carries when someone is
// logged in (web/src/auth/session.ts sets it), so that the write counts as the account's. A write
// the server answers with 401 unauthenticated (no account, or the session ended) is announced to
// onUnauthenticated's listeners: the login (web/src/auth/) checks the session and opens its dialog.
// (A read refused so is only its caller's business: no dialog pops up while a panel loads.)

let csrfToken: string | undefined;

/** Sets the logged-in session's CSRF token (undefined: anonymous, writes carry no token). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token || undefined;
}

/** The header a write sends: X-CSRF-Token when logged in, nothing when anonymous. */
export function csrfHeader(): Record<string, string> {
  return csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
}

const unauthenticatedListeners = new Set<(e: ApiError) => void>();

/** Calls fn whenever the server answers a write 401 unauthenticated; returns the unsubscribe. */
export function onUnauthenticated(fn: (e: ApiError) => void): () => void {
  unauthenticatedListeners.add(fn);
  return () => unauthenticatedListeners.delete(fn);
}

/** The ApiError of an error answer (JSON body { code, message, details }); a write's 401 unauthenticated is announced. */
export function apiError(status: number, statusText: string, body: unknown, method = 'GET'): ApiError {
  const b = (body ?? {}) as { code?: string; message?: string; details?: unknown };
  const e = new ApiError(status, b.code ?? 'http_error', b.message ?? `${status} ${statusText}`, b.details);
  if (status === 401 && e.code === 'unauthenticated' && method !== 'GET') for (const fn of unauthenticatedListeners) fn(e);
  return e;
}

/** An error answer of the API (4xx/5xx with a JSON body), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Fetches url and parses its JSON body; a network failure or an error answer becomes ApiError. */
async function requestJson<T>(url: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', (err as Error).message);
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) throw apiError(res.status, res.statusText, body, init.method);
  return body as T;
}

/**
 * GETs url and parses its JSON body; throws ApiError on any failure. `cache: 'no-store'` for live
 * data whose ETag does not follow every change (a conflict case's history).
 */
export function getJson<T>(url: string, signal?: AbortSignal, cache?: RequestCache): Promise<T> {
  return requestJson<T>(url, { headers: { Accept: 'application/json' }, signal, ...(cache ? { cache } : {}) });
}

/** POSTs JSON (with the session's CSRF token when logged in) and parses the JSON answer; throws ApiError. */
export function postJson<T>(url: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  return requestJson<T>(url, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...csrfHeader(), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
