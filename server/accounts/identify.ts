// Who a request is from: the middleware `identify` recognises a bearer token (scripts) or the
// browser session cookie on every request. A session cookie on a write without the matching
// X-CSRF-Token header is not taken (the request is anonymous), so another site cannot act as the
// user. A credential that is not recognised (unknown, expired, revoked, malformed) leaves the
// request anonymous and says why in res.locals.authProblem, for the 401's message (authorize.ts).
//
// Reads of the data (GET, HEAD) take what the database said about a credential within the last few
// seconds (CREDENTIAL_CACHE_MS, at most CREDENTIAL_CACHE_SIZE credentials): a map pans through
// hundreds of tiles a second, each of which needs an account, and the lookup would otherwise be a
// query per tile. Writes, and everything under /api/auth and /api/accounts (who am I, the tokens,
// account management), always ask the database. A write there (logout, a revoked token, a
// deactivated account, new roles, a new password) empties the cache as it finishes, so a
// revocation made through this service holds at once; one made elsewhere (the accounts CLI, SQL)
// holds for reads of the data within CREDENTIAL_CACHE_MS. An expired credential is never taken
// from the cache.
import { parseCookie } from 'cookie';
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { recognise } from './accounts';

export const SESSION_COOKIE = 'onemap_session';
/** Methods that change nothing: a session cookie counts for them without the CSRF token. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** How long a read may rely on what the database said about a credential. */
export const CREDENTIAL_CACHE_MS = 5_000;
const CREDENTIAL_CACHE_SIZE = 5_000;
/** Credentials and accounts: never answered from the cache, and a write here empties it. */
const ACCOUNT_PATHS = /^\/api\/(auth|accounts)(\/|$)/;

type Recognised = NonNullable<Awaited<ReturnType<typeof recognise>>>;

/** Who the request is from (res.locals.account / res.locals.credential), or nobody. */
export function identify(knex: Knex): RequestHandler {
  // false: the database knew no such credential (an unknown, revoked or expired one).
  const recent = new LRUCache<string, Recognised | false>({ max: CREDENTIAL_CACHE_SIZE, ttl: CREDENTIAL_CACHE_MS });
  // Bumped when the cache is emptied: a lookup that started before is not cached after.
  let generation = 0;
  const lookUp = async (token: string, cached: boolean): Promise<Recognised | null> => {
    if (cached) {
      const hit = recent.get(token);
      if (hit !== undefined) return hit && hit.credential.expires_at.getTime() > Date.now() ? hit : null;
    }
    const started = generation;
    const r = await recognise(knex, token);
    if (started === generation) recent.set(token, r ?? false);
    return r;
  };
  return async (req, res, next) => {
    try {
      const safe = SAFE.has(req.method);
      const accounts = ACCOUNT_PATHS.test(req.path);
      if (!safe && accounts) {
        res.on('finish', () => {
          generation++;
          recent.clear();
        });
      }
      const cached = safe && !accounts;
      const auth = req.get('Authorization');
      if (auth?.startsWith('Bearer ')) {
        const r = await lookUp(auth.slice(7).trim(), cached);
        if (r && r.credential.kind === 'token') Object.assign(res.locals, r);
        else res.locals.authProblem = 'credential';
      } else {
        // The cookie package leaves a value with a malformed percent-escape (%zz) as it came,
        // which no session matches: an invalid credential, not a failure.
        const token = parseCookie(req.get('Cookie') ?? '')[SESSION_COOKIE];
        if (token) {
          const r = await lookUp(token, cached);
          if (!r || r.credential.kind !== 'session') res.locals.authProblem = 'credential';
          else if (safe || req.get('X-CSRF-Token') === r.credential.csrf) Object.assign(res.locals, r);
          else res.locals.authProblem = 'csrf';
        }
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
