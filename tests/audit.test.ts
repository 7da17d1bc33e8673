// The audit trail against real PostgreSQL: every revision, ledger action and detection run leaves
// one entry, written at commit (a rolled-back write leaves none), chained by sha256; the log refuses
// changes; and a row changed, removed or slipped in behind its back is found by the verification.
import type { Knex } from 'knex';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { holdingTheChain } from '../server/audit/chain';
import { verifyChain } from '../server/audit/routes';
import { loadRegistry } from '../server/layers/registry';
import { commitRevision } from '../server/revisions/commit';
import { as } from './helpers/auth';
import { getJson } from './helpers/http';
import { useDemoCopy } from './helpers/setup';

const { knex, srv } = useDemoCopy();
const registry = loadRegistry();

/** Runs fn with the append-only guard off, as someone with direct database access could. */
async function behindItsBack(fn: (trx: Knex.Transaction) => Promise<unknown>) {
  await knex.transaction(async (trx) => {
    await trx.raw('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await fn(trx);
    await trx.raw('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
  });
}

describe('the audit trail', () => {
  it('has an entry for every revision the demo load made and for its detection run, chained', async () => {
    const rows = await knex('audit_log').orderBy('id');
    const revisions = rows.filter((r) => r.action === 'layer.revision');
    expect(revisions.map((r) => r.object).sort()).toEqual(registry.delivered.map((l) => `${l.id}@1`).sort());
    expect(rows.some((r) => r.action === 'conflict.run.succeeded')).toBe(true);
    // The chain, recomputed here with Node's own sha256 (independent of the SQL that wrote it).
    let prev = '0'.repeat(64);
    for (const r of rows) {
      expect(r.prev_hash).toBe(prev);
      // The canonical text of the stored row (microsecond time, jsonb text), hashed here by Node.
      const canonical = (await knex.raw('SELECT audit_canonical(id, at, actor, action, object, details) AS c FROM audit_log WHERE id = ?', [r.id])).rows[0].c;
      expect(r.hash).toBe(createHash('sha256').update(prev + canonical, 'utf8').digest('hex'));
      prev = r.hash;
    }
    expect(await verifyChain(knex)).toMatchObject({ ok: true, entries: rows.length, head: { hash: prev } });
  });

  it('records an import and a ledger action with who did them, at commit, and nothing for a rolled-back write', async () => {
    const before = Number((await knex('audit_log').count('* as n'))[0].n);
    const layer = registry.byId.get('approved_projects')!;
    const { rows } = await knex.raw(
      `SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 15)::json, 'properties', to_jsonb(t) - '{fid,geom,updated_at,area_m2}'::text[]) AS f
         FROM plan.approved_projects t ORDER BY fid`,
    );
    const rev = await commitRevision(knex, layer, rows.slice(1).map((r: { f: unknown }) => r.f as never), { kind: 'import', createdBy: '市政务服务中心 王五', reason: '撤销一个项目', sourceName: '已审批项目.geojson' });
    // A write that fails half-way leaves no entry.
    await expect(
      knex.transaction(async (trx) => {
        await trx.raw(`INSERT INTO layer_revisions (layer_id, revision, reason, feature_count) VALUES ('approved_projects', 99, 'never', 0)`);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const c = (await getJson(`${srv.baseUrl}/api/conflicts/cases?rule=urban_construction_on_basic_farmland&limit=1`, { headers: await as(knex, 'planning.reviewer') })).body.cases[0];
    const t = await getJson(`${srv.baseUrl}/api/conflicts/cases/${c.id}/transitions`, {
      method: 'POST',
      headers: await as(knex, 'planning.reviewer', { 'Content-Type': 'application/json', 'If-Match': `"${c.version}"` }),
      body: JSON.stringify({ to: 'coordinated', decision: 'adjust_both', reason: '两规同步调整' }),
    });
    expect(t.status).toBe(200);
    const { body } = await getJson(`${srv.baseUrl}/api/audit?limit=10`, { headers: await as(knex, 'admin') });
    const mine = body.entries.filter((e: any) => e.id > before);
    expect(mine.map((e: any) => e.action)).toEqual(expect.arrayContaining(['layer.revision', 'conflict.case.transition']));
    expect(mine.find((e: any) => e.action === 'layer.revision')).toMatchObject({ actor: '市政务服务中心 王五', object: `approved_projects@${rev.revision}`, details: { kind: 'import', source_name: '已审批项目.geojson' } });
    expect(mine.find((e: any) => e.action === 'conflict.case.transition')).toMatchObject({ actor: 'planning.reviewer', object: c.id, details: { from: 'pending', to: 'coordinated', decision: 'adjust_both' } });
    expect(mine.some((e: any) => e.object === 'approved_projects@99')).toBe(false);
    const doc = (await getJson(`${srv.baseUrl}/api/openapi.json`)).body;
    expect(doc.paths['/api/audit']).toBeDefined();
    expect(doc.paths['/api/audit/verify']).toBeDefined();
    expect((await getJson(`${srv.baseUrl}/api/audit/verify`, { headers: await as(knex, 'admin') })).body).toMatchObject({ ok: true });
  });

  it('is read by admins only: the entries name people', async () => {
    for (const path of ['/api/audit', '/api/audit/verify']) {
      const anonymous = await getJson(`${srv.baseUrl}${path}`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe('unauthenticated');
      expect(anonymous.body.message).toMatch(/POST \/api\/auth\/login/);
      const reviewer = await getJson(`${srv.baseUrl}${path}`, { headers: await as(knex, 'planning.reviewer') });
      expect(reviewer.status).toBe(403);
      expect(reviewer.body.message).toMatch(/needs an admin; you are planning\.reviewer/);
    }
  });

  it('records account management: created, changed, password set, credentials revoked by an admin (never a hash)', async () => {
    const admin = await as(knex, 'admin', { 'Content-Type': 'application/json' });
    const before = Number((await knex('audit_log').max('id as m').first())!.m);
    const send = (method: string, path: string, body?: unknown) => getJson(`${srv.baseUrl}/api/accounts${path}`, { method, headers: admin, body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await send('POST', '', { name: 'coal.chief', display_name: '煤管局 赵六', department: 'coal', roles: ['reviewer'], password: 'first-password-1' })).status).toBe(201);
    expect((await send('PATCH', '/coal.chief', { roles: ['reviewer', 'plan_editor'] })).status).toBe(200);
    const login = await fetch(`${srv.baseUrl}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'coal.chief', password: 'first-password-1' }) });
    expect(login.status).toBe(200);
    expect((await send('POST', '/coal.chief/password', { password: 'second-password-2' })).body.revoked).toBe(1);
    const entries = await knex('audit_log').where('id', '>', before).orderBy('id');
    expect(entries.map((e) => [e.actor, e.action, e.object])).toEqual([
      ['admin', 'account.created', 'coal.chief'],
      ['admin', 'account.updated', 'coal.chief'],
      ['coal.chief', 'auth.login', expect.any(String)],
      ['admin', 'account.password_changed', 'coal.chief'],
      ['admin', 'auth.session.revoked', expect.any(String)],
    ]);
    expect(entries[1].details).toEqual({ changes: { roles: { from: ['reviewer'], to: ['reviewer', 'plan_editor'] } } });
    expect(entries[4].details).toEqual({ account: 'coal.chief' });
    expect(JSON.stringify(entries)).not.toMatch(/scrypt|password-/);
    expect(await verifyChain(knex)).toMatchObject({ ok: true });
  });

  it('refuses an audited write in a repeatable-read transaction that does not hold the chain, rather than fork it', async () => {
    const before = await verifyChain(knex);
    const trx = await knex.transaction({ isolationLevel: 'repeatable read' });
    try {
      await trx.raw('SELECT count(*) FROM audit_log'); // its snapshot, taken now
      await knex.raw("SELECT audit_append('test', 'test.meanwhile', 'audit.test', '{}'::jsonb)"); // committed after it
      await expect(trx.raw("SELECT audit_append('test', 'test.stale', 'audit.test', '{}'::jsonb)")).rejects.toMatchObject({ code: '55000' });
    } finally {
      await trx.rollback().catch(() => undefined);
    }
    expect(await verifyChain(knex)).toMatchObject({ ok: true, entries: before.entries + 1 });
  });

  it('chains a repeatable-read write at the true end when it holds the chain: a write committed meanwhile waits for it', async () => {
    const before = await verifyChain(knex);
    let meanwhile: Promise<unknown> | undefined;
    await holdingTheChain(knex, async (trx) => {
      await trx.raw('SELECT count(*) FROM audit_log'); // its snapshot
      meanwhile = knex.raw("SELECT audit_append('test', 'test.meanwhile', 'audit.test', '{}'::jsonb)");
      await new Promise((r) => setTimeout(r, 300));
      await trx.raw("SELECT audit_append('test', 'test.snapshot', 'audit.test', '{}'::jsonb)");
    });
    await meanwhile;
    const last = await knex('audit_log').where('id', '>', before.head!.id).orderBy('id').pluck('action');
    expect(last).toEqual(['test.snapshot', 'test.meanwhile']);
    expect(await verifyChain(knex)).toMatchObject({ ok: true, entries: before.entries + 2 });
  });

  it('refuses to change or delete an entry', async () => {
    await expect(knex.raw(`UPDATE audit_log SET actor = 'nobody' WHERE id = (SELECT min(id) FROM audit_log)`)).rejects.toThrow(/append-only/);
    await expect(knex.raw('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
  });

  it('finds a row changed (even re-hashed to cover it) or removed behind its back', async () => {
    const ids = (await knex('audit_log').orderBy('id').pluck('id')).map(Number);
    const victim = ids[Math.floor(ids.length / 2)];
    // Changed: the row's own hash no longer matches its content.
    await behindItsBack((trx) => trx.raw(`UPDATE audit_log SET actor = 'someone else' WHERE id = ?`, [victim]));
    const admin = await as(knex, 'admin');
    let v = (await getJson(`${srv.baseUrl}/api/audit/verify`, { headers: admin })).body;
    expect(v).toMatchObject({ ok: false, brokenAt: { id: victim, problem: 'content_changed' } });
    // Changed and re-hashed to cover it up: the next row no longer links to it.
    await behindItsBack((trx) =>
      trx.raw(`UPDATE audit_log SET hash = audit_hash(prev_hash, audit_canonical(id, at, actor, action, object, details)) WHERE id = ?`, [victim]),
    );
    v = (await getJson(`${srv.baseUrl}/api/audit/verify`, { headers: admin })).body;
    expect(v).toMatchObject({ ok: false, brokenAt: { id: ids[ids.indexOf(victim) + 1], problem: 'chain_broken' } });
    // Removed: the row after the gap links to a hash that is not there.
    const row = await knex('audit_log').where({ id: ids[1] }).first();
    await behindItsBack((trx) => trx.raw('DELETE FROM audit_log WHERE id = ?', [ids[1]]));
    v = await verifyChain(knex);
    expect(v.ok).toBe(false);
    expect(v.brokenAt!.id).toBe(ids[2]);
    expect(row).toBeDefined();
  });
});
