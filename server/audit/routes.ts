// /api/audit: the hash-chained audit trail (migrations/…_audit.ts) — the entries, newest first, and
// the verification of the whole chain (every row's hash recomputed and linked to the one before).
// Admins only: the entries name people.
import type { Knex } from 'knex';
import { z } from 'zod';
import { guard } from '../accounts/authorize';
import { paging, param, Routes, type RoutesOptions } from '../platform/contract';

export interface ChainCheck {
  ok: boolean;
  entries: number;
  /** The last entry: anchor it elsewhere (a signed minute, a print) to notice a cut-off tail too. */
  head: { id: number; hash: string } | null;
  /** The first entry whose hash is not what its content gives, or that does not link to the one before. */
  brokenAt?: { id: number; problem: 'content_changed' | 'chain_broken'; expected: string; found: string };
}

/** Recomputes every hash in id order; reports the first row that does not hold. */
export async function verifyChain(knex: Knex): Promise<ChainCheck> {
  const { rows } = await knex.raw<{ rows: { id: string; prev_hash: string; hash: string; expected_prev: string | null; recomputed: string; n: string }[] }>(`
    WITH c AS (
      SELECT id, prev_hash, hash,
             COALESCE(lag(hash) OVER (ORDER BY id), repeat('0', 64)) AS expected_prev,
             audit_hash(prev_hash, audit_canonical(id, at, actor, action, object, details)) AS recomputed
        FROM audit_log)
    SELECT c.*, (SELECT count(*) FROM audit_log) AS n FROM c
     WHERE c.prev_hash <> c.expected_prev OR c.hash <> c.recomputed
     ORDER BY id LIMIT 1`);
  const { rows: head } = await knex.raw<{ rows: { id: string; hash: string; n: string }[] }>(
    'SELECT id, hash, (SELECT count(*) FROM audit_log) AS n FROM audit_log ORDER BY id DESC LIMIT 1',
  );
  const entries = Number(head[0]?.n ?? 0);
  const result: ChainCheck = { ok: rows.length === 0, entries, head: head[0] ? { id: Number(head[0].id), hash: head[0].hash } : null };
  if (rows[0]) {
    const r = rows[0];
    result.brokenAt =
      r.hash !== r.recomputed
        ? { id: Number(r.id), problem: 'content_changed', expected: r.recomputed, found: r.hash }
        : { id: Number(r.id), problem: 'chain_broken', expected: r.expected_prev!, found: r.prev_hash };
  }
  return result;
}

/** One audit entry: who did what to which object, chained by hashes. */
export const AuditEntry = z
  .object({
    id: z.number().int(),
    at: z.union([z.string(), z.date()]).describe('when (ISO 8601)'),
    actor: z.string().nullable().describe('the account name, or null for the service itself'),
    action: z.string().describe("what was done ('revision.commit', 'account.create', …)"),
    object: z.string().nullable().describe('what it was done to'),
    details: z.unknown(),
    prev_hash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditEntry' });

export const ChainCheckSchema = z
  .object({
    ok: z.boolean(),
    entries: z.number().int(),
    head: z.object({ id: z.number().int(), hash: z.string() }).nullable(),
    brokenAt: z.object({ id: z.number().int(), problem: z.enum(['content_changed', 'chain_broken']), expected: z.string(), found: z.string() }).optional(),
  })
  .meta({ id: 'ChainCheck' });

export function auditRoutes(knex: Knex, opts: { defaultLimit: number; maxLimit: number } & RoutesOptions): Routes {
  const routes = new Routes('/api/audit', ['Audit'], opts);
  // The entries name people: admins only (401 / 403 otherwise).
  const access = guard.admin('reading the audit trail');

  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'The audit trail, newest first',
      access,
      query: z.object({
        ...paging(opts.defaultLimit, opts.maxLimit),
        action: param.text(200).optional().describe("entries whose action starts with this ('revision.', 'account.create')"),
        actor: param.text(200).optional().describe('entries of this account'),
      }),
      responses: { 200: { description: 'entries', schema: z.object({ entries: z.array(AuditEntry), limit: z.number().int(), offset: z.number().int() }) } },
    },
    async ({ query }) => {
      const q = knex('audit_log').orderBy('id', 'desc').limit(query.limit).offset(query.offset);
      if (query.action !== undefined) q.where('action', 'like', `${query.action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      if (query.actor !== undefined) q.where('actor', query.actor);
      const entries = (await q).map((e: Record<string, unknown>) => ({ ...e, id: Number(e.id) }));
      return { entries, limit: query.limit, offset: query.offset };
    },
  );

  routes.route(
    {
      method: 'get',
      path: '/verify',
      summary: 'Verifies the whole chain: every hash recomputed and linked to the one before',
      access,
      responses: { 200: { description: 'the check, with the head to anchor elsewhere and the first broken entry', schema: ChainCheckSchema } },
    },
    async ({ res }) => {
      res.set('Cache-Control', 'no-store');
      return verifyChain(knex);
    },
  );

  return routes;
}
