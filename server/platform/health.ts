// /healthz: whether the database answers, and the PostGIS version, for load balancers and
// monitoring: 200 when it does, 503 when it does not (logged as a warning).
import { z } from 'zod';
import { guard } from '../accounts/authorize';
import { Routes, type RoutesOptions } from './contract';
import type { Database } from './db';
import { log } from './log';

export const Health = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    database: z.enum(['reachable', 'unreachable']),
    postgis: z.string().optional().describe('the PostGIS library version, when reachable'),
    replicas: z
      .array(
        z.object({
          name: z.string().describe('its URL, password hidden'),
          up: z.boolean().describe('answering as a streaming standby at the last poll (else its reads go to the primary)'),
          replayed: z.string().optional().describe('its WAL replay position'),
          lagBytes: z.number().int().optional().describe('WAL bytes the primary has written that it had not replayed'),
          reads: z.number().int().describe('reads it has served since start'),
        }),
      )
      .optional()
      .describe('the read replicas of ONEMAP_READ_DATABASE_URL, when set'),
  })
  .meta({ id: 'Health' });

/** Mounted at /healthz. */
export function healthRoutes(db: Database, opts: RoutesOptions): Routes {
  return new Routes('/healthz', ['Operations'], opts).route(
    {
      method: 'get',
      path: '/',
      summary: 'Database reachability and the PostGIS version',
      access: guard.public,
      responses: {
        200: { description: 'the database answers', schema: Health },
        503: { description: 'the database does not answer', schema: Health },
      },
    },
    async ({ res }) => {
      try {
        await db.knex.raw('SELECT 1');
        return { status: 'ok', database: 'reachable', postgis: db.postgisVersion, ...(db.reads.enabled && { replicas: db.reads.status() }) };
      } catch (err) {
        log.warn({ err }, 'health check: database unreachable');
        res.status(503);
        return { status: 'unavailable', database: 'unreachable' };
      }
    },
  );
}
