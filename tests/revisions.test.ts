// Versioned revisions against real PostGIS: commits, history, reading old revisions, diffs,
// restores, atomicity (a refused feature, a dropped connection) and concurrent commits. Each test
// works on a layer of its own of one demo database, so no test depends on another's revisions.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { loadRegistry, type Layer } from '../server/layers/registry';
import { PROJECT_ROOT } from '../server/platform/config';
import { migrate } from '../server/platform/db';
import { AppError } from '../server/platform/errors';
import { layerTable } from '../server/platform/sql';
import { commitRevision, restoreRevision, type CommitMeta, type RevisionFeature } from '../server/revisions/commit';
import { diffRevisions } from '../server/revisions/diff';
import { as } from './helpers/auth';
import { useTestDatabase } from './helpers/db';
import { expectError, requestsAs } from './helpers/http';
import { useDemoCopy } from './helpers/setup';

const registry = loadRegistry();
const layerOf = (id: string): Layer => registry.byId.get(id)!;

const { knex, srv } = useDemoCopy();
/** The history is working data: reads are a staff account's (any role; anonymous: 401, below). */
const staff = requestsAs(() => as(knex, 'land.reviewer'));

// --- helpers: the live content of a layer, as features and as content hashes -------------------

/** The layer's current features as commit input (15 decimals: the same doubles come back). */
async function liveFeatures(layerId: string): Promise<RevisionFeature[]> {
  const { rows } = await knex.raw(
    `SELECT json_build_object('type', 'Feature', 'properties', to_jsonb(t) - '{fid,geom,updated_at,area_m2}'::text[],
       'geometry', ST_AsGeoJSON(t.geom, 15)::json) AS f FROM ${layerTable(layerId)} t ORDER BY t.fid`,
  );
  return rows.map((r: { f: RevisionFeature }) => r.f);
}

/** Sorted content hashes of the live table (what a layer holds, independent of fids). */
async function liveContent(layerId: string): Promise<string[]> {
  const { rows } = await knex.raw(
    `SELECT revision_feature_hash(t.code, to_jsonb(t) - '{fid,code,geom,updated_at,area_m2}'::text[], t.geom)::text AS h FROM ${layerTable(layerId)} t ORDER BY 1`,
  );
  return rows.map((r: { h: string }) => r.h);
}

/** Sorted content hashes of a revision in the snapshot store. */
async function revisionContent(layerId: string, revision: number): Promise<string[]> {
  const { rows } = await knex.raw(
    `SELECT hash::text AS h FROM revision_features WHERE layer_id = ? AND revision_from <= ? AND (revision_to IS NULL OR revision_to > ?) ORDER BY 1`,
    [layerId, revision, revision],
  );
  return rows.map((r: { h: string }) => r.h);
}

async function revisionRows(layerId: string) {
  const { rows } = await knex.raw('SELECT * FROM layer_revisions WHERE layer_id = ? ORDER BY revision', [layerId]);
  return rows;
}

async function dataVersion(layerId: string): Promise<number> {
  return Number((await knex('layer_versions').where('layer_id', layerId).first('version')).version);
}

/** Ellipsoidal area (m², GRS80) of a GeoJSON geometry in EPSG:4490, by PostGIS. */
async function areaOf(geometry: object): Promise<number> {
  const { rows } = await knex.raw('SELECT ST_Area(ST_SetSRID(ST_GeomFromGeoJSON(?), 4490)::geography, true) AS a', [JSON.stringify(geometry)]);
  return rows[0].a;
}

/** A square of side `deg` degrees with its south-west corner at lon, lat, as a MultiPolygon. */
const square = (lon: number, lat: number, deg = 0.002) => ({
  type: 'MultiPolygon',
  coordinates: [[[[lon, lat], [lon + deg, lat], [lon + deg, lat + deg], [lon, lat + deg], [lon, lat]]]],
});

const meta = (over: Partial<CommitMeta> = {}): CommitMeta => ({ kind: 'import', createdBy: 'test', reason: 'test delivery', ...over });

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * A delivery that differs from the layer's current content by exactly one feature removed (the
 * first), one changed (the second: same key, new geometry and attribute) and one added.
 */
async function craftedChange(layerId: string, keyName: string, extra: Record<string, unknown>) {
  const before = await liveFeatures(layerId);
  const [removed, original, ...rest] = before;
  const changed: RevisionFeature = { ...original, properties: { ...original.properties, ...extra }, geometry: square(113.0, 40.5) };
  const added: RevisionFeature = {
    type: 'Feature',
    properties: { ...original.properties, ...extra, [keyName]: `新增-${layerId}` },
    geometry: square(113.2, 40.6, 0.003),
  };
  const after = [changed, ...rest, added];
  return { before, after, removed, original, changed, added };
}

// --- the tests ------------------------------------------------------------------------------------

describe('the snapshot of revision 1', () => {
  it('is captured from the demo loader’s content for every layer, feature for feature', async () => {
    for (const layer of registry.delivered) {
      const [r1] = await revisionRows(layer.id);
      expect(r1.kind, layer.id).toBe('demo');
      expect(r1.content_kept).toBe(true);
      expect(await revisionContent(layer.id, 1), layer.id).toEqual(await liveContent(layer.id));
      expect((await revisionContent(layer.id, 1)).length).toBe(r1.feature_count);
    }
  });
});

describe('the migration on a database that already holds revisions', () => {
  const dir = path.join(PROJECT_ROOT, 'migrations');
  const migrationSource: Knex.MigrationSource<string> = {
    getMigrations: async () => fs.readdirSync(dir).filter((f) => /^\d+_\w+\.ts$/.test(f)).sort(),
    getMigrationName: (name) => name,
    getMigration: (name) => import(pathToFileURL(path.join(dir, name)).href),
  };

  it('keeps the current content as the latest revision’s snapshot and marks older revisions as not kept', async () => {
    const own = await useTestDatabase();
    try {
      // Back to the schema before revisions were kept (later migrations go down first).
      const applied = async () => ((await own.knex.migrate.list({ migrationSource })) as [{ name: string }[], unknown])[0].map((m) => m.name ?? m);
      const later = (await applied()).filter((n) => String(n) >= '20261127000001_revisions.ts');
      for (let i = 0; i < later.length; i++) await own.knex.migrate.down({ migrationSource });
      await own.knex.raw(`INSERT INTO plan.econ_projects (code, name, start_year, geom) VALUES
        ('energy', '甲', 2016, ST_SetSRID(ST_MakePoint(113.3, 40.1), 4490)), ('energy', '乙', NULL, ST_SetSRID(ST_MakePoint(113.4, 40.1), 4490))`);
      await own.knex.raw(`INSERT INTO layer_revisions (layer_id, revision, reason, feature_count) VALUES ('econ_projects', 1, 'old', 1), ('econ_projects', 2, 'demo data', 2)`);
      expect(await migrate(own.knex)).toEqual(later.map(String));

      const { rows } = await own.knex.raw(`SELECT revision, kind, content_kept FROM layer_revisions WHERE layer_id = 'econ_projects' ORDER BY revision`);
      expect(rows).toEqual([{ revision: 1, kind: 'demo', content_kept: false }, { revision: 2, kind: 'demo', content_kept: true }]);
      const snap = await own.knex.raw(`SELECT revision_from, revision_to, attrs FROM revision_features WHERE layer_id = 'econ_projects' ORDER BY id`);
      expect(snap.rows).toEqual([
        { revision_from: 2, revision_to: null, attrs: { name: '甲', start_year: 2016, investment_cny_100m: null } },
        { revision_from: 2, revision_to: null, attrs: { name: '乙', start_year: null, investment_cny_100m: null } },
      ]);
      const layer = layerOf('econ_projects');
      await expect(restoreRevision(own.knex, layer, 1, { createdBy: 'test' })).rejects.toMatchObject({ status: 404, code: 'revision_content_not_kept' });
      const r3 = await commitRevision(own.knex, layer, [], meta({ reason: 'emptied' }));
      expect(r3).toMatchObject({ revision: 3, featureCount: 0, deleted: 2 });
      const back = await restoreRevision(own.knex, layer, 2, { createdBy: 'test' });
      expect(back).toMatchObject({ revision: 4, featureCount: 2, inserted: 2 });
    } finally {
      await own.close();
    }
  });
});

describe('commitRevision', () => {
  it('takes a re-delivery whose coordinates moved by far less than a millimetre as unchanged, and 1 cm as a change', async () => {
    const layer = layerOf('landuse_control');
    const before = await liveFeatures(layer.id);
    // What a round trip through another program leaves in the last digits (15 significant digits).
    const nudge = (g: unknown, d: number): unknown => (typeof g === 'number' ? g + d : Array.isArray(g) ? g.map((x) => nudge(x, d)) : g);
    const again = before.map((f) => ({ ...f, geometry: { ...f.geometry, coordinates: nudge((f.geometry as unknown as { coordinates: unknown }).coordinates, 3e-13) } }));
    const r = await commitRevision(knex, layer, again, meta({ reason: 're-delivered through another GIS' }));
    // A coordinate right at a grid line may still cross it: nearly all, not necessarily all.
    expect(r.unchanged).toBeGreaterThanOrEqual(before.length * 0.995);
    expect(r.inserted).toBe(r.deleted);
    // Rings written the other way round (as a Shapefile writes them) are the same polygons.
    const reversed = again.map((f) => ({
      ...f,
      geometry: { ...f.geometry, coordinates: ((f.geometry as unknown as { coordinates: number[][][][] }).coordinates).map((poly) => poly.map((ring) => [...ring].reverse())) },
    }));
    const r1 = await commitRevision(knex, layer, reversed, meta({ reason: 'rings reversed' }));
    expect(r1.unchanged).toBeGreaterThanOrEqual(before.length * 0.995);
    const moved = again.map((f, i) => (i === 0 ? { ...f, geometry: { ...f.geometry, coordinates: nudge((f.geometry as unknown as { coordinates: unknown }).coordinates, 1e-7) } } : f));
    const r2 = await commitRevision(knex, layer, moved, meta({ reason: 'one zone moved by about a centimetre' }));
    expect(r2).toMatchObject({ inserted: 1, deleted: 1 });
  });

  it('makes revision 2 with who, the source file and its SHA-256, the feature count and the total area in m²', async () => {
    const layer = layerOf('approved_projects');
    const { before, after, removed, original, changed, added } = await craftedChange(layer.id, 'name', { investor: '大同市测试公司' });
    const file = JSON.stringify({ type: 'FeatureCollection', features: after });
    const r1 = (await revisionRows(layer.id))[0];
    const result = await commitRevision(knex, layer, after, meta({ createdBy: '市政务服务中心 张三', sourceName: '已审批项目2016.geojson', sourceSha256: sha256(file) }));

    const expectedArea = r1.area_m2 - (await areaOf(removed.geometry)) - (await areaOf(original.geometry)) + (await areaOf(changed.geometry)) + (await areaOf(added.geometry));
    expect(result).toMatchObject({ layerId: layer.id, revision: 2, featureCount: before.length, inserted: 2, deleted: 2, unchanged: before.length - 2 });
    expect(result.area_m2).toBeCloseTo(expectedArea, 3);
    const [, r2] = await revisionRows(layer.id);
    expect(r2).toMatchObject({
      revision: 2,
      kind: 'import',
      created_by: '市政务服务中心 张三',
      source_name: '已审批项目2016.geojson',
      source_sha256: sha256(file),
      reason: 'test delivery',
      feature_count: before.length,
      content_kept: true,
      restored_from: null,
    });
    expect(r2.area_m2).toBeCloseTo(expectedArea, 3);
    expect(r2.created_at.getTime()).toBeGreaterThanOrEqual(r1.created_at.getTime());
  });

  it('replaces the live content with exactly the delivered features, keeping the fids of unchanged ones', async () => {
    const layer = layerOf('econ_zones');
    const { rows: fidsBefore } = await knex.raw(`SELECT fid FROM ${layerTable(layer.id)} ORDER BY fid`);
    const { after } = await craftedChange(layer.id, 'name', {});
    await commitRevision(knex, layer, after, meta());
    const expected = await knex.raw(
      `SELECT revision_feature_hash(f->'properties'->>'code', (f->'properties') - '{code}'::text[], ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4490)))::text AS h
       FROM jsonb_array_elements(?::jsonb) f ORDER BY 1`,
      [JSON.stringify(after)],
    );
    expect(await liveContent(layer.id)).toEqual(expected.rows.map((r: { h: string }) => r.h));
    const { rows: fidsAfter } = await knex.raw(`SELECT fid FROM ${layerTable(layer.id)} ORDER BY fid`);
    const kept = fidsAfter.filter((r: { fid: string }) => fidsBefore.some((b: { fid: string }) => b.fid === r.fid));
    expect(kept.length).toBe(after.length - 2);
  });

  it('records a revision for an identical re-delivery, writing no feature and diffing empty', async () => {
    const layer = layerOf('central_city');
    const same = await liveFeatures(layer.id);
    const result = await commitRevision(knex, layer, same, meta({ reason: 'the same file again' }));
    expect(result).toMatchObject({ revision: 2, inserted: 0, deleted: 0, unchanged: same.length });
    const diff = await diffRevisions(knex, layer, 1, 2, { limit: 10, offset: 0 });
    expect(diff.matched).toBe(0);
    expect(diff.summary.unchanged.count).toBe(same.length);
  });

  it('bumps the layer’s data version, so tiles and features follow at once', async () => {
    const layer = layerOf('eco_redline');
    const v0 = await dataVersion(layer.id);
    const tj0 = (await staff.getJson(`${srv.baseUrl}/tiles/${layer.id}.json`)).body;
    const features = await liveFeatures(layer.id);
    const result = await commitRevision(knex, layer, features.slice(1), meta());
    expect(result.dataVersion).toBeGreaterThan(v0);
    expect(await dataVersion(layer.id)).toBe(result.dataVersion);
    const items = await staff.getJson(`${srv.baseUrl}/ogcapi/collections/${layer.id}/items`);
    expect(items.body.numberMatched).toBe(features.length - 1);
    // The NOTIFY reaches the server asynchronously: the TileJSON points at the new version soon after.
    let tj = tj0;
    for (let i = 0; i < 50 && tj.tiles[0] === tj0.tiles[0]; i++) {
      await new Promise((r) => setTimeout(r, 50));
      tj = (await staff.getJson(`${srv.baseUrl}/tiles/${layer.id}.json`)).body;
    }
    expect(tj.tiles[0]).toBe(tj0.tiles[0].replace(/v=\d+$/, `v=${result.dataVersion}`));
  });

  it('refuses an invalid SHA-256 or an empty user before touching the database', async () => {
    const layer = layerOf('rivers');
    await expect(commitRevision(knex, layer, [], meta({ sourceSha256: 'ABC' }))).rejects.toMatchObject({ status: 400, code: 'invalid_revision' });
    await expect(commitRevision(knex, layer, [], meta({ createdBy: ' ' }))).rejects.toMatchObject({ status: 400, code: 'invalid_revision' });
    expect((await revisionRows(layer.id)).length).toBe(1);
  });
});

describe('atomicity', () => {
  /** Everything a failed commit must leave as it was. */
  async function state(layerId: string) {
    const { rows } = await knex.raw('SELECT count(*)::int AS n FROM revision_features WHERE layer_id = ?', [layerId]);
    return { content: await liveContent(layerId), revisions: await revisionRows(layerId), version: await dataVersion(layerId), snapshotRows: rows[0].n };
  }

  const bowtie = { type: 'MultiPolygon', coordinates: [[[[113.1, 40.1], [113.2, 40.2], [113.2, 40.1], [113.1, 40.2], [113.1, 40.1]]]] };

  it.each([
    ['a self-intersecting geometry', 'pv_sites', (f: RevisionFeature) => ({ ...f, geometry: bowtie })],
    ['a missing required attribute', 'subsidence', (f: RevisionFeature) => ({ ...f, properties: { ...f.properties, mine: null } })],
    ['a class code of null', 'industrial_parks', (f: RevisionFeature) => ({ ...f, properties: { ...f.properties, code: null as unknown as string } })],
  ])('a commit refused at its last feature (%s) leaves count, content, revision and version as they were', async (_what, layerId, spoil) => {
    const layer = layerOf(layerId);
    const before = await state(layerId);
    const features = await liveFeatures(layerId);
    // New content for every feature but the last, which is spoilt; batches of 3 are staged one by one first.
    const delivered = [...features.slice(0, -1).map((f, i) => ({ ...f, geometry: square(112.8 + i * 0.01, 39.6, 0.001) })), spoil(features.at(-1)!)];
    const err = await commitRevision(knex, layer, delivered, meta(), { batchSize: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 422, code: 'features_rejected' });
    expect(await state(layerId)).toEqual(before);
  });

  it('a connection lost in the middle of a commit (the process killed) leaves the layer as it was', async () => {
    const layer = layerOf('water_source');
    const before = await state(layer.id);
    const features = await liveFeatures(layer.id);
    async function* delivery() {
      for (let i = 0; i < features.length; i++) {
        if (i === 6) {
          // Two batches are staged; the committing session now waits for input, idle in its transaction: kill it.
          await knex.raw("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()");
        }
        yield { ...features[i], geometry: square(113 + i * 0.01, 40, 0.001) };
      }
    }
    await expect(commitRevision(knex, layer, delivery(), meta(), { batchSize: 3 })).rejects.toThrow();
    expect(await state(layer.id)).toEqual(before);
  });
});

describe('history', () => {
  it('lists every revision, oldest first, with kind, who, source and the current one marked', async () => {
    const layer = layerOf('pv_sites');
    const features = await liveFeatures(layer.id);
    await commitRevision(knex, layer, features.slice(2), meta({ createdBy: '市发改委 李四', sourceName: '光伏.zip', sourceSha256: sha256('光伏') }));
    const { status, body } = await staff.getJson(`${srv.baseUrl}/api/layers/${layer.id}/revisions`);
    expect(status).toBe(200);
    expect(body.current).toBe(2);
    expect(body.revisions.map((r: { revision: number }) => r.revision)).toEqual([1, 2]);
    expect(body.revisions[0]).toMatchObject({ kind: 'demo', reason: 'demo data (seed 2015)', featureCount: features.length, current: false, contentKept: true });
    expect(body.revisions[1]).toMatchObject({ kind: 'import', createdBy: '市发改委 李四', sourceName: '光伏.zip', sourceSha256: sha256('光伏'), featureCount: features.length - 2, current: true });
    expect(body.revisions[1].area_m2).toBeGreaterThan(0);
    const one = await staff.getJson(`${srv.baseUrl}/api/layers/${layer.id}/revisions/2`);
    expect(one.body).toMatchObject({ layerId: layer.id, revision: 2, kind: 'import' });
  });

  it('reads revision 1 after revision 2 with its old content, paged', async () => {
    const layer = layerOf('roads');
    const old = await liveFeatures(layer.id);
    await commitRevision(knex, layer, old.slice(0, 5).map((f) => ({ ...f, properties: { ...f.properties, ref: 'X1' } })), meta());
    const r1 = await staff.getJson(`${srv.baseUrl}/api/layers/${layer.id}/revisions/1/features?limit=1000`);
    expect(r1.status).toBe(200);
    expect(r1.headers.get('content-type')).toContain('application/geo+json');
    expect(r1.body).toMatchObject({ type: 'FeatureCollection', layerId: layer.id, revision: 1, numberMatched: old.length, numberReturned: old.length });
    const key = (f: { properties: Record<string, unknown> }) => JSON.stringify([f.properties.code, f.properties.name, f.properties.ref]);
    expect(r1.body.features.map(key).sort()).toEqual(old.map(key).sort());
    const r2 = await staff.getJson(`${srv.baseUrl}/api/layers/${layer.id}/revisions/2/features?limit=2&offset=4`);
    expect(r2.body).toMatchObject({ numberMatched: 5, numberReturned: 1 });
    expect(r2.body.features[0].properties.ref).toBe('X1');
    expect(r2.body.features[0].geometry.type).toBe('MultiLineString');
  });
});

describe('diff', () => {
  it('lists one feature added, one removed and one changed, with counts and areas in m²', async () => {
    const layer = layerOf('landuse_plan');
    const { after, removed, original, changed, added } = await craftedChange(layer.id, 'zone_no', {});
    await commitRevision(knex, layer, after, meta());
    const { status, body } = await staff.getJson(`${srv.baseUrl}/api/layers/${layer.id}/revisions/2/diff`);
    expect(status).toBe(200);
    const s = body.summary;
    expect(s).toMatchObject({ from: 1, to: 2, key: 'zone_no', added: { count: 1 }, removed: { count: 1 }, changed: { count: 1 }, unchanged: { count: after.length - 2 } });
    expect(s.added.area_m2).toBeCloseTo(await areaOf(added.geometry), 1);
    expect(s.removed.area_m2).toBeCloseTo(await areaOf(removed.geometry), 1);
    expect(s.changed.area_before_m2).toBeCloseTo(await areaOf(original.geometry), 1);
    expect(s.changed.area_after_m2).toBeCloseTo(await areaOf(changed.geometry), 1);
    expect(s.area_change_m2).toBeCloseTo(s.added.area_m2 - s.removed.area_m2 + s.changed.area_after_m2 - s.changed.area_before_m2, 1);
    expect(body.numberMatched).toBe(3);
    const byChange = Object.fromEntries(body.features.map((f: { properties: { _change: string } }) => [f.properties._change, f]));
    expect(Object.keys(byChange).sort()).toEqual(['added', 'changed', 'removed']);
    expect(byChange.removed.properties.zone_no).toBe(removed.properties.zone_no);
    expect(byChange.added.properties.zone_no).toBe(added.properties.zone_no);
    expect(byChange.changed.properties.zone_no).toBe(original.properties.zone_no);
    expect(byChange.changed.before.geometry.type).toBe('MultiPolygon');
    expect(byChange.changed.before.properties.area_m2).toBeCloseTo(await areaOf(original.geometry), 1);
  });

  it('pairs an attribute-only change by its unchanged geometry when the key itself changed', async () => {
    const layer = layerOf('urban_plan');
    const features = await liveFeatures(layer.id);
    const renumbered = features.map((f, i) => (i === 3 ? { ...f, properties: { ...f.properties, block_no: 'NEW-0003', far: 9.9 } } : f));
    await commitRevision(knex, layer, renumbered, meta());
    const diff = await diffRevisions(knex, layer, 1, 2, { limit: 10, offset: 0 });
    expect(diff.summary).toMatchObject({ added: { count: 0 }, removed: { count: 0 }, changed: { count: 1 } });
    expect(diff.summary.changed.area_before_m2).toBeCloseTo(diff.summary.changed.area_after_m2!, 3);
  });
});

describe('restore', () => {
  it('brings revision 1’s content back as revision 3 (kind restore, the reason naming 1)', async () => {
    const layer = layerOf('nature_reserve');
    const content1 = await liveContent(layer.id);
    const { after } = await craftedChange(layer.id, 'name', {});
    await commitRevision(knex, layer, after, meta());
    expect(await liveContent(layer.id)).not.toEqual(content1);

    // Only the owning department's plan editor (市环保局) or an admin may: anonymous 401, another department's editor 403.
    const url = `${srv.baseUrl}/api/layers/${layer.id}/revisions/1/restore`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    const refused = await fetch(url, { method: 'POST', headers: await as(knex, 'land.editor') });
    expect(refused.status).toBe(403);
    expect((await refused.json()).message).toMatch(/plan_editor of the department env.*land\.editor/);
    expect((await revisionRows(layer.id)).length).toBe(2);

    const res = await fetch(url, { method: 'POST', headers: await as(knex, 'env.editor') });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ revision: 3, kind: 'restore', restoredFrom: 1, reason: 'restore of revision 1', createdBy: 'env.editor', current: true });
    expect((await revisionRows(layer.id))[2].created_by).toBe('env.editor');
    expect(await knex('audit_log').where({ action: 'layer.revision', object: `${layer.id}@3` }).first('actor')).toEqual({ actor: 'env.editor' });
    expect(await liveContent(layer.id)).toEqual(content1);
    expect(await revisionContent(layer.id, 3)).toEqual(content1);
    expect((await revisionRows(layer.id))[2].feature_count).toBe(content1.length);
    expect((await diffRevisions(knex, layer, 1, 3, { limit: 10, offset: 0 })).matched).toBe(0);
    // The layer list of the instance that restored shows revision 3 at once.
    const layers = (await staff.getJson(`${srv.baseUrl}/api/layers`)).body.layers;
    expect(layers.find((l: { id: string }) => l.id === layer.id).revision).toBe(3);
  });

  it('keeps the reason given with the restore', async () => {
    const layer = layerOf('districts');
    await commitRevision(knex, layer, (await liveFeatures(layer.id)).slice(1), meta());
    const r = await restoreRevision(knex, layer, 1, { createdBy: '市规划局 王五', reason: '误导入，恢复' });
    expect(r.revision).toBe(3);
    expect((await revisionRows(layer.id))[2]).toMatchObject({ kind: 'restore', created_by: '市规划局 王五', reason: '误导入，恢复', restored_from: 1 });
  });
});

describe('concurrent commits', () => {
  it('of one layer both land, one after the other, as revisions 2 and 3 with their own content', async () => {
    const layer = layerOf('econ_projects');
    const base = await liveFeatures(layer.id);
    const deliveryA = base.map((f) => ({ ...f, properties: { ...f.properties, name: `A-${f.properties.name}` } }));
    const deliveryB = base.slice(5).map((f) => ({ ...f, properties: { ...f.properties, name: `B-${f.properties.name}` } }));
    // Slow deliveries, so both are staging at the same time before either takes the lock.
    async function* slow(features: RevisionFeature[]) {
      for (const f of features) {
        await new Promise((r) => setTimeout(r, 5));
        yield f;
      }
    }
    const [a, b] = await Promise.all([
      commitRevision(knex, layer, slow(deliveryA), meta({ sourceName: 'a.geojson' }), { batchSize: 4 }),
      commitRevision(knex, layer, slow(deliveryB), meta({ sourceName: 'b.geojson' }), { batchSize: 4 }),
    ]);
    expect([a.revision, b.revision].sort()).toEqual([2, 3]);
    const rows = await revisionRows(layer.id);
    expect(rows.map((r: { revision: number }) => r.revision)).toEqual([1, 2, 3]);
    for (const [result, delivery, name] of [[a, deliveryA, 'a.geojson'], [b, deliveryB, 'b.geojson']] as const) {
      expect(rows[result.revision - 1]).toMatchObject({ source_name: name, feature_count: delivery.length });
      const names = (await knex.raw(`SELECT attrs->>'name' AS n FROM revision_features WHERE layer_id = ? AND revision_from <= ? AND (revision_to IS NULL OR revision_to > ?)`, [layer.id, result.revision, result.revision])).rows;
      expect(names.map((r: { n: string }) => r.n).sort()).toEqual(delivery.map((f) => f.properties.name).sort());
    }
    const last = a.revision === 3 ? deliveryA : deliveryB;
    const { rows: live } = await knex.raw(`SELECT name FROM ${layerTable(layer.id)}`);
    expect(live.map((r: { name: string }) => r.name).sort()).toEqual(last.map((f) => f.properties.name).sort());
  });
});

describe('the 19,000-parcel land-use status layer', () => {
  it('commits a re-delivery with 1 % of the parcels changed and 100 removed in one revision', async () => {
    const layer = layerOf('landuse_status');
    const features = await liveFeatures(layer.id);
    expect(features.length).toBeGreaterThan(19_000);
    const delivery = features.slice(100).map((f, i) => (i % 100 === 0 ? { ...f, properties: { ...f.properties, owner: '大同市测试村委会' } } : f));
    const started = performance.now();
    const result = await commitRevision(knex, layer, delivery, meta({ sourceName: 'status.zip' }));
    const ms = performance.now() - started;
    console.log(`commit of ${delivery.length} status parcels (${result.inserted} inserted, ${result.deleted} deleted): ${ms.toFixed(0)} ms`);
    const changed = Math.ceil(delivery.length / 100);
    expect(result).toMatchObject({ revision: 2, featureCount: delivery.length, inserted: changed, deleted: changed + 100 });
    const diff = await diffRevisions(knex, layer, 1, 2, { limit: 0, offset: 0 });
    expect(diff.summary).toMatchObject({ added: { count: 0 }, removed: { count: 100 }, changed: { count: changed } });

    const t2 = performance.now();
    const full = await commitRevision(knex, layer, features.map((f) => ({ ...f, properties: { ...f.properties, owner: '整体替换' } })), meta({ sourceName: 'status-all.zip' }));
    console.log(`commit replacing all ${full.featureCount} status parcels: ${(performance.now() - t2).toFixed(0)} ms`);
    expect(full).toMatchObject({ revision: 3, inserted: features.length, unchanged: 0 });
  });
});

describe('HTTP errors', () => {
  // Status and code, and the paths under /api/layers that answer them.
  const refusals: [number, string, string[]][] = [
    [404, 'unknown_layer', ['/nope/revisions', '/nope/revisions/1/features']],
    [404, 'unknown_revision', ['/rivers/revisions/99', '/rivers/revisions/99/features', '/rivers/revisions/1/diff?from=42']],
    [400, 'invalid_parameter', ['/rivers/revisions/abc', '/rivers/revisions/0/features', '/rivers/revisions/99999999999/features']],
    [400, 'invalid_parameter', ['/rivers/revisions/1/features?limit=0', '/rivers/revisions/1/features?offset=-1', '/rivers/revisions/1/diff?from=x']],
    [400, 'unknown_parameter', ['/rivers/revisions/1/features?bbox=1,2,3,4']],
    [404, 'not_found', ['/rivers/revisions/1/nothing']],
  ];
  it.each(refusals.flatMap(([status, code, paths]) => paths.map((p) => [`/api/layers${p}`, status, code] as const)))('GET %s answers %i %s', async (path, status, code) => {
    await staff.expectError(`${srv.baseUrl}${path}`, status, code);
  });

  it.each(['/rivers/revisions', '/rivers/revisions/1', '/rivers/revisions/1/features', '/rivers/revisions/1/diff', '/nope/revisions'])('GET /api/layers%s without an account answers 401 unauthenticated (working data)', async (path) => {
    await expectError(`${srv.baseUrl}/api/layers${path}`, 401, 'unauthenticated');
  });

  it('refuses to restore an unknown revision (404) or a reason that is not text (400), writing nothing', async () => {
    const headers = await as(knex, 'planning.editor', { 'content-type': 'application/json' });
    const post = (path: string, body?: unknown) => fetch(`${srv.baseUrl}${path}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const unknown = await post('/api/layers/rivers/revisions/7/restore');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe('unknown_revision');
    const bad = await post('/api/layers/rivers/revisions/1/restore', { reason: 42 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).code).toBe('invalid_parameter');
    expect((await revisionRows('rivers')).length).toBe(1);
  });

  it('describes its endpoints in the OpenAPI document', async () => {
    const { body } = await staff.getJson(`${srv.baseUrl}/ogcapi/api`);
    for (const p of ['', '/{revision}', '/{revision}/features', '/{revision}/diff', '/{revision}/restore']) expect(body.paths[`/api/layers/{layerId}/revisions${p}`]).toBeDefined();
  });
});
