// Who a request is from: the middleware `identify` recognises a bearer token (scripts) or the
// browser session cookie on every request. A session cookie on a write without the matching
// X-CSRF-Token header is not taken (the request is anonymous), so another site cannot act as the
// user. A credential that is not recognised (unknown, expired, revoked, malformed) leaves the
// request anonymous and says why in res.locals.authProblem, for the 401's message (authorize.ts).
import { parseCookie } from 'cookie';
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import { recognise } from './accounts';

export const SESSION_COOKIE = 'onemap_session';
/** Methods that change nothing: a session cookie counts for them without the CSRF token. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Who the request is from (res.locals.account / res.locals.credential), or nobody. */
export function identify(knex: Knex): RequestHandler {
  return async (req, res, next) => {
    try {
      const auth = req.get('Authorization');
      if (auth?.startsWith('Bearer ')) {
        const r = await recognise(knex, auth.slice(7).trim());
        if (r && r.credential.kind === 'token') Object.assign(res.locals, r);
        else res.locals.authProblem = 'credential';
      } else {
        // The cookie package leaves a value with a malformed percent-escape (%zz) as it came,
        // which no session matches: an invalid credential, not a failure.
        const token = parseCookie(req.get('Cookie') ?? '')[SESSION_COOKIE];
        if (token) {
          const r = await recognise(knex, token);
          if (!r || r.credential.kind !== 'session') res.locals.authProblem = 'credential';
          else if (SAFE.has(req.method) || req.get('X-CSRF-Token') === r.credential.csrf) Object.assign(res.locals, r);
          else res.locals.authProblem = 'csrf';
        }
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
