// Reads on a real streaming replica (ONEMAP_READ_DATABASE_URL): a primary of the test's own with the
// demo data, a hot standby made from it by pg_basebackup -R, and two service instances on the pair.
// A write through one instance is read through the other at once (its LISTEN is the primary's), a
// replica that lags (replay paused) never serves a tile or a page under the new data version nor
// a client's own write, yet keeps serving what it is current for; a replica that goes away takes no
// reads; a server that is not a standby takes none.
import { gunzipSync } from 'node:zlib';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader as Pbf } from 'pbf';
import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitRevision } from '../server/revisions/commit';
import { loadDemo } from '../server/demo/load';
import { loadRegistry } from '../server/layers/registry';
import { migrate, openDatabase, type Database } from '../server/platform/db';
import { formatLsn, parseLsn, ReadRouter } from '../server/platform/replicas';
import { layerTable } from '../server/platform/sql';
import { tileContaining } from '../server/tiles/mvt';
import { as } from './helpers/auth';
import { publishRelease } from './helpers/releases';
import { privateCluster, type PrivateCluster } from './helpers/cluster';
import { testConfig } from './helpers/db';
import { startTestServer, type TestServer } from './helpers/server';

const registry = loadRegistry();
const LAYER = 'pv_sites';
let primary: PrivateCluster;
let replica: PrivateCluster;
let db: Database;
let knex: Knex;
let a: TestServer;
let b: TestServer;
let standby: pg.Client;

/** A client of the standby that survives its going away (the test stops it). */
async function standbyClient(): Promise<pg.Client> {
  const c = await replica.client();
  c.on('error', () => undefined);
  return c;
}

/** The service's own count of reads each replica served (/healthz). */
async function replicaReads(srv: TestServer): Promise<number> {
  const h = await (await fetch(`${srv.baseUrl}/healthz`)).json();
  return h.replicas.reduce((n: number, r: { reads: number }) => n + r.reads, 0);
}

/** Transactions the standby itself has committed in the database (PostgreSQL's count, not the service's). */
async function standbyTransactions(): Promise<number> {
  const { rows } = await standby.query("SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = 'onemap'");
  return Number(rows[0].n);
}

/** Features of the layer in a tile (decoded). */
async function tileFeatures(srv: TestServer, z: number, x: number, y: number, headers: Record<string, string>): Promise<number> {
  const r = await fetch(`${srv.baseUrl}/tiles/${LAYER}/${z}/${x}/${y}.mvt`, { headers: { ...headers, 'Accept-Encoding': 'identity' } });
  expect(r.status).toBe(200);
  const buf = Buffer.from(await r.arrayBuffer());
  const tile = new VectorTile(new Pbf(buf[0] === 0x1f ? gunzipSync(buf) : buf));
  return tile.layers[LAYER]?.length ?? 0;
}

async function itemsMatched(srv: TestServer, headers: Record<string, string>): Promise<number> {
  const r = await fetch(`${srv.baseUrl}/ogcapi/collections/${LAYER}/items?limit=1`, { headers });
  expect(r.status).toBe(200);
  return (await r.json()).numberMatched;
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tileVersion = async (srv: TestServer, headers: Record<string, string>) =>
  (await (await fetch(`${srv.baseUrl}/tiles/${LAYER}.json`, { headers })).json()).version as string;

beforeAll(async () => {
  primary = await privateCluster();
  db = await openDatabase(testConfig({ DATABASE_URL: primary.url() }));
  knex = db.knex;
  await migrate(knex);
  await loadDemo(knex, { scale: 'demo' });
  // Revision 2 of the PV sites without its first site: the write under test restores revision 1.
  const layer = registry.layers.find((l) => l.id === LAYER)!;
  const { rows } = await knex.raw(
    `SELECT json_build_object('type', 'Feature', 'properties', to_jsonb(t) - '{fid,geom,updated_at,area_m2}'::text[], 'geometry', ST_AsGeoJSON(t.geom, 15)::json) AS f
       FROM ${layerTable(LAYER)} t ORDER BY t.fid`,
  );
  await commitRevision(knex, layer, rows.slice(1).map((r: { f: unknown }) => r.f), { kind: 'import', createdBy: 'test', reason: 'replica test' });
  replica = await primary.streamingReplica();
  await replica.caughtUp(primary);
  standby = await standbyClient();
  const env = { DATABASE_URL: primary.url(), ONEMAP_READ_DATABASE_URL: replica.url() };
  [a, b] = await Promise.all([startTestServer('onemap', env), startTestServer('onemap', env)]);
}, 240_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await standby?.end();
  await db?.close();
  await replica?.destroy();
  await primary?.destroy();
});

describe('WAL positions', () => {
  it('read and print as PostgreSQL writes them, and compare as numbers', () => {
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(formatLsn(parseLsn('16/B374D848')!)).toBe('16/B374D848');
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('A/1')! > parseLsn('9/FFFFFFFF')!).toBe(true);
    for (const bad of ['', '16', '16/', '/1', 'x/1', '1/2/3', '123456789/0', ' 1 / 2']) expect(parseLsn(bad)).toBeUndefined();
  });
});

describe('reads on a streaming replica', () => {
  it('tiles, items, identify and the ledger are read from the standby (its own statistics say so)', async () => {
    const h = await as(knex, 'planning.reviewer');
    const before = { service: await replicaReads(b), standby: await standbyTransactions() };
    // Different tiles each time: no answer from the tile cache.
    for (let zoom = 8; zoom <= 12; zoom++) {
      const [x, y] = tileContaining(113.3, 40.08, zoom);
      await tileFeatures(b, zoom, x, y, h);
    }
    await itemsMatched(b, h);
    expect((await fetch(`${b.baseUrl}/api/identify?lon=113.3&lat=40.08&layers=landuse_plan,${LAYER}`, { headers: h })).status).toBe(200);
    expect((await fetch(`${b.baseUrl}/api/conflicts/cases?limit=5`, { headers: h })).status).toBe(200);
    const served = (await replicaReads(b)) - before.service;
    expect(served).toBeGreaterThanOrEqual(8);
    // The standby's own commit count rises by at least as many (each read is a transaction there;
    // its backends report their counts within PostgreSQL's idle interval, 10 s).
    await waitFor('the standby counts the reads', async () => (await standbyTransactions()) - before.standby >= served, 20_000);
    const health = await (await fetch(`${b.baseUrl}/healthz`)).json();
    expect(health.replicas).toEqual([expect.objectContaining({ up: true, replayed: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) })]);
    expect(health.replicas[0].name).not.toMatch(/password/);
  });

  it('a write through one instance is read through the other at once, never from a standby that has not replayed it', async () => {
    const editor = await as(knex, 'ndrc.editor');
    const reader = await as(knex, 'planning.reviewer');
    const [z, x, y] = [7, ...tileContaining(113.3, 40.08, 7)] as [number, number, number];
    const countBefore = await itemsMatched(b, reader);
    const tileBefore = await tileFeatures(b, z, x, y, reader);
    const versionBefore = await tileVersion(b, reader);

    // The standby stops replaying: from now on it lags behind every write.
    await standby.query('SELECT pg_wal_replay_pause()');
    try {
      const r = await fetch(`${a.baseUrl}/api/layers/${LAYER}/revisions/1/restore`, {
        method: 'POST',
        headers: { ...editor, 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: '只读副本测试' }),
      });
      expect(r.status).toBe(201);
      // The other instance hears of the new version from the primary's NOTIFY…
      await waitFor('instance B sees the new data version', async () => (await tileVersion(b, reader)) !== versionBefore);
      // …and reads the layer from the primary: the restored site is there, in the page and in the tile.
      const standbyBefore = await replicaReads(b);
      expect(await itemsMatched(b, reader)).toBe(countBefore + 1);
      expect(await tileFeatures(b, z, x, y, reader)).toBe(tileBefore + 1);
      expect(await replicaReads(b)).toBe(standbyBefore);
      // The standby really is behind: asked directly it still has the old content.
      const { rows } = await standby.query(`SELECT count(*)::int AS n FROM ${layerTable(LAYER)}`);
      expect(rows[0].n).toBe(countBefore);
      // A layer that did not change is still read from the lagging standby.
      const [lx, ly] = tileContaining(113.31, 40.09, 13);
      expect((await fetch(`${b.baseUrl}/tiles/landuse_plan/13/${lx}/${ly}.mvt`, { headers: reader })).status).toBe(200);
      expect(await replicaReads(b)).toBe(standbyBefore + 1);
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
    }
    // Caught up, the standby serves the layer again, with the new content.
    await replica.caughtUp(primary);
    await waitFor('the standby is polled past the write', async () => {
      const before = await replicaReads(b);
      expect(await itemsMatched(b, reader)).toBe(countBefore + 1);
      return (await replicaReads(b)) > before;
    });
  });

  it('a client reads its own write through the other instance while the standby lags (header and cookie); others read the standby', async () => {
    const writer = await as(knex, 'land.reviewer');
    const other = await as(knex, 'planning.reviewer');
    const id = String((await knex('conflict_cases').join('conflict_rules as r', 'r.id', 'conflict_cases.rule_id').whereRaw("'land' = ANY(r.departments)").first('conflict_cases.id')).id);
    await replica.caughtUp(primary);
    await standby.query('SELECT pg_wal_replay_pause()');
    try {
      const text = `副本一致性 ${Date.now()}`;
      const w = await fetch(`${b.baseUrl}/api/conflicts/cases/${id}/comments`, { method: 'POST', headers: { ...writer, 'Content-Type': 'application/json' }, body: JSON.stringify({ text }) });
      expect(w.status).toBe(201);
      const position = w.headers.get('Onemap-Wal-Position');
      expect(parseLsn(position)).toBeDefined();
      const cookie = w.headers.get('Set-Cookie')!;
      expect(cookie).toMatch(/^onemap_wal=[0-9A-F]+%2F[0-9A-F]+;.*HttpOnly/i);
      const has = async (headers: Record<string, string>) => {
        const r = await fetch(`${a.baseUrl}/api/conflicts/cases/${id}`, { headers });
        expect(r.status).toBe(200);
        return (await r.json()).events.some((e: { comment?: string }) => e.comment === text);
      };
      // Through the other instance, with the position the write answered: the primary's answer.
      expect(await has({ ...writer, 'Onemap-Wal-Position': position! })).toBe(true);
      expect(await has({ ...writer, Cookie: cookie.split(';')[0] })).toBe(true);
      // Through the instance it wrote to, which remembers the credential's last write, without either.
      const r = await fetch(`${b.baseUrl}/api/conflicts/cases/${id}`, { headers: writer });
      expect((await r.json()).events.some((e: { comment?: string }) => e.comment === text)).toBe(true);
      // Someone else, on the other instance, is served by the lagging standby: the comment is not there yet.
      const before = await replicaReads(a);
      expect(await has(other)).toBe(false);
      expect(await replicaReads(a)).toBe(before + 1);
      // A position that is not one is refused, naming the header; a cookie that is not one is ignored.
      const bad = await fetch(`${a.baseUrl}/api/conflicts/cases/${id}`, { headers: { ...other, 'Onemap-Wal-Position': 'yesterday' } });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'invalid_header', details: { header: 'Onemap-Wal-Position' } });
      expect((await fetch(`${a.baseUrl}/api/conflicts/cases/${id}`, { headers: { ...other, Cookie: 'onemap_wal=%zz' } })).status).toBe(200);
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
    }
  });

  it('the public reads a published release (tiles and items) from the standby once it has replayed the release', async () => {
    const n = (await publishRelease(a.baseUrl, knex, { title: '副本测试版' })).number;
    const pinned = Number((await knex('release_features').where({ release: n, layer_id: LAYER }).count('* as c'))[0].c);
    await waitFor('a release read is served by the standby', async () => {
      const before = await replicaReads(b);
      const r = await fetch(`${b.baseUrl}/releases/${n}/ogcapi/collections/${LAYER}/items?limit=1`);
      expect(r.status).toBe(200);
      expect((await r.json()).numberMatched).toBe(pinned);
      return (await replicaReads(b)) > before;
    });
    // Tiles too (each a new one: made, not taken from memory), with the pinned content.
    const before = await replicaReads(b);
    for (let zoom = 10; zoom <= 12; zoom++) {
      const [x, y] = tileContaining(113.3, 40.08, zoom);
      const r = await fetch(`${b.baseUrl}/releases/${n}/tiles/${zoom}/${x}/${y}.mvt`);
      expect([200, 204]).toContain(r.status);
    }
    expect(await replicaReads(b)).toBeGreaterThanOrEqual(before + 3);
  });

  it('a standby that goes away takes no reads: they go to the primary, and it takes them again once back', async () => {
    const h = await as(knex, 'planning.reviewer');
    await standby.end();
    await replica.stop();
    try {
      await waitFor('the stopped standby is marked down', async () => {
        const hh = await (await fetch(`${b.baseUrl}/healthz`)).json();
        return hh.replicas[0].up === false;
      });
      const before = await replicaReads(b);
      for (let zoom = 9; zoom <= 11; zoom++) {
        const [x, y] = tileContaining(113.32, 40.1, zoom);
        await tileFeatures(b, zoom, x, y, h);
      }
      expect(await itemsMatched(b, h)).toBeGreaterThan(0);
      expect(await replicaReads(b)).toBe(before);
    } finally {
      await replica.start();
      standby = await standbyClient();
    }
    await waitFor('the standby takes reads again', async () => (await (await fetch(`${b.baseUrl}/healthz`)).json()).replicas[0].up === true, 20_000);
  });

  it('a server that is not a standby takes no reads', async () => {
    const router = new ReadRouter(knex, [{ name: 'the primary itself', knex: db.knex }]);
    await router.start();
    expect(router.status()).toEqual([expect.objectContaining({ up: false })]);
    expect(router.pick(0n)).toBe(knex);
    expect(router.primaryReads).toBe(1);
    await router.stop();
  });
});
