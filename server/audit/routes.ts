// /api/audit: the hash-chained audit trail (migrations/…_audit.ts) — the entries, newest first, and
// the verification of the whole chain (every row's hash recomputed and linked to the one before).
// Admins only: the entries name people.
import { Router } from 'express';
import type { Knex } from 'knex';
import { requireAdmin } from '../accounts/authorize';
import { intParam, onlyParams, single } from '../platform/params';

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

export function auditRouter(knex: Knex, opts: { defaultLimit: number; maxLimit: number }): Router {
  const r = Router();

  // The entries name people: admins only (401 / 403 otherwise).
  r.use((_req, res, next) => {
    requireAdmin(res, 'reading the audit trail');
    next();
  });

  r.get('/', async (req, res) => {
    onlyParams(req.query, ['limit', 'offset', 'action', 'actor']);
    const limit = intParam(req.query, 'limit', 1, opts.maxLimit, opts.defaultLimit)!;
    const offset = intParam(req.query, 'offset', 0, 1_000_000_000, 0)!;
    const q = knex('audit_log').orderBy('id', 'desc').limit(limit).offset(offset);
    const action = single(req.query, 'action');
    if (action !== undefined) q.where('action', 'like', `${action.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const actor = single(req.query, 'actor');
    if (actor !== undefined) q.where('actor', actor);
    const entries = (await q).map((e: Record<string, unknown>) => ({ ...e, id: Number(e.id) }));
    res.json({ entries, limit, offset });
  });

  r.get('/verify', async (req, res) => {
    onlyParams(req.query, []);
    res.set('Cache-Control', 'no-store').json(await verifyChain(knex));
  });

  return r;
}
