// Faults the service survives, with nothing lost (issue 14, item 3), against real PostgreSQL:
//   - PostgreSQL restarted, and stopped for seconds, under a steady stream of reads and writes to
//     the service (its own process, `npm start`'s server/main.ts, on a private cluster: the run's
//     shared cluster is never stopped): every answer meanwhile is 503 `unavailable` with
//     Retry-After (or a read served from memory), none a 500, none slower than a bound; the same
//     process answers again within a bound once PostgreSQL is back; every write is all there or
//     not there at all (an import's revision, features and audit entry; an application's version,
//     events, opinions and audit entries); the audit chain verifies; LISTEN is back too;
//   - the service killed (SIGKILL) in the middle of an import, of a conflict run and of an
//     application's approval, each at a well-defined moment (its transaction waiting at a lock the
//     test holds): every layer, run, case and application is as before or as after, the audit
//     chain verifies, and the next start cleans up what the killed process left;
//   - the statement timeout: a statement that outlasts ONEMAP_STATEMENT_TIMEOUT_MS answers 503
//     `query_timeout`, and the service goes on answering;
//   - the LISTEN connection dropped: caches still follow every change once it is back.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyChain } from '../server/audit/routes';
import { loadRules } from '../server/conflicts/rules';
import { loadDemoApplications } from '../server/demo/applications';
import { loadRegistry } from '../server/layers/registry';
import { connect } from '../server/platform/db';
import { findPgBin } from '../server/platform/embedded-pg';
import { commitRevision } from '../server/revisions/commit';
import { tileContaining } from '../server/tiles/mvt';
import { as } from './helpers/auth';
import { dumpTestDatabase, restoredTestDatabase } from './helpers/db';
import { holdLock, killWhenBlocked, onTestDatabase, startService, type ServiceChild } from './helpers/children';
import { privateCluster, type PrivateCluster } from './helpers/cluster';
import { getJson } from './helpers/http';
import { startTestServer, type TestServer } from './helpers/server';
import { findSites, squarePoints, type TestSite } from './helpers/sites';

const registry = loadRegistry();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-faults-'));
/** The demo with its applications, as pg_dump wrote it: copied into the file's database and into the private cluster. */
const DEMO_DUMP = path.join(scratch, 'demo.dump');
let db: Awaited<ReturnType<typeof restoredTestDatabase>>;
let knex: Knex;
let sites: { farmland: TestSite; clean: TestSite };

beforeAll(async () => {
  // A copy of the run's demo database (seconds; loading the demo takes 20 s and more), with the demo applications.
  const shared = path.join(scratch, 'shared-demo.dump');
  await dumpTestDatabase(inject('demoDatabase'), shared);
  db = await restoredTestDatabase(shared);
  knex = db.knex;
  await loadDemoApplications(knex, registry, loadRules(registry));
  await dumpTestDatabase(db.name, DEMO_DUMP);
  sites = await findSites(knex);
});
afterAll(async () => {
  await db?.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

// --- what the tests send ------------------------------------------------------------------------------

/** A delivery of three rivers near the city centre, every name carrying `marker`, as GeoJSON. */
function riversFile(marker: string): Blob {
  const features = [0, 1, 2].map((k) => ({
    type: 'Feature',
    properties: { code: 'tributary', name: `${marker}-${k}` },
    geometry: { type: 'LineString', coordinates: [[113.25 + k * 0.01, 40.05], [113.26 + k * 0.01, 40.08], [113.27 + k * 0.01, 40.1]] },
  }));
  return new Blob([JSON.stringify({ type: 'FeatureCollection', features })], { type: 'application/geo+json' });
}

/** The form of an import of riversFile(marker), with `marker` as its reason. */
function importForm(marker: string): FormData {
  const form = new FormData();
  form.append('reason', marker);
  form.append('file', riversFile(marker), `${marker}.geojson`);
  return form;
}

/** A new application on the clean demo site, by name. */
const applicationBody = (name: string) =>
  JSON.stringify({ name, project_type: 'energy', investor: '大同光伏新能源有限公司', requested_area_m2: 90_000, site: { source: 'points', srid: 4547, points: squarePoints(sites.clean) } });

const json = { 'Content-Type': 'application/json' };
const [TILE_X, TILE_Y] = tileContaining(113.26, 40.08, 12);

/** A layer's revision content: the names of its features (by the snapshot store), its row, its audit entry. */
async function revisionsMarked(k: Knex, layerId: string, prefix: string) {
  const { rows } = await k.raw<{ rows: { revision: number; reason: string; feature_count: number; names: string[]; audited: number }[] }>(
    `SELECT r.revision, r.reason, r.feature_count,
            (SELECT array_agg(f.attrs->>'name' ORDER BY f.attrs->>'name') FROM revision_features f
              WHERE f.layer_id = r.layer_id AND f.revision_from <= r.revision AND (f.revision_to IS NULL OR f.revision_to > r.revision)) AS names,
            (SELECT count(*)::int FROM audit_log a WHERE a.action = 'layer.revision' AND a.object = r.layer_id || '@' || r.revision) AS audited
       FROM layer_revisions r WHERE r.layer_id = ? AND r.reason LIKE ? ORDER BY r.revision`,
    [layerId, `${prefix}%`],
  );
  return rows;
}

/** Every event of the applications named with `prefix`, with how many audit entries name it (exactly one each when nothing is lost). */
async function applicationEvents(k: Knex, prefix: string) {
  const { rows } = await k.raw<{ rows: { application_id: number; name: string; kind: string; event: number; audited: number }[] }>(
    `SELECT e.application_id, v.name, e.kind, e.id AS event,
            (SELECT count(*)::int FROM audit_log a WHERE a.action = 'application.' || e.kind AND (a.details->>'event')::bigint = e.id) AS audited
       FROM application_events e JOIN application_versions v ON v.application_id = e.application_id AND v.version = 1
      WHERE v.name LIKE ? ORDER BY e.id`,
    [`${prefix}%`],
  );
  return rows;
}

// --- 1. PostgreSQL restarted and stopped under load -----------------------------------------------------

/** One request of the stream and how it ended. */
interface Outcome {
  kind: string;
  /** What the request wrote, when it is a write (an import's reason, an application's name, a comment). */
  marker?: string;
  started: number;
  ended: number;
  /** 0: no HTTP answer (a network error, or the client's time bound ran out). */
  status: number;
  code?: string;
  retryAfter?: string | null;
  body?: any;
  error?: string;
}

/** No request may take longer than this, outage or not (ms). */
const ANSWER_BOUND_MS = 8_000;
/** After PostgreSQL is back, the same service answers again within this (ms). */
const RECOVERY_BOUND_MS = 5_000;
/** A change made elsewhere reaches the service's caches within this (ms). */
const NOTIFY_BOUND_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL restarted, and stopped for seconds, while requests are in flight', () => {
  let cluster: PrivateCluster;
  let pk: Knex;
  let svc: ServiceChild;
  let base: string;
  let caseId: number;
  const outcomes: Outcome[] = [];
  const marks: Record<string, number> = {};
  const recovery: Record<string, number> = {};
  const headers: Record<string, Record<string, string>> = {};

  beforeAll(async () => {
    // The file's demo copy, restored into a cluster of the test's own (the run's shared one is never stopped).
    cluster = await privateCluster();
    await promisify(execFile)(path.join(findPgBin(), 'pg_restore'), ['--host', cluster.host, '--port', String(cluster.port), '--username', 'postgres', '--dbname', 'onemap', '--no-owner', '--single-transaction', DEMO_DUMP]);
    pk = connect(cluster.url(), 0);
    for (const d of registry.departments.filter((x) => x.id !== 'service')) headers[`${d.id}.reviewer`] = await as(pk, `${d.id}.reviewer`);
    for (const name of ['planning.editor', 'window']) headers[name] = await as(pk, name);
    caseId = (await pk('conflict_cases').orderBy('id').first('id')).id;
    // npm start's process, on the private cluster (demo mode: the copy's demo accounts are accepted; the database is not empty, so nothing is loaded).
    svc = startService({ DATABASE_URL: cluster.url(), ONEMAP_DEMO: 'true', ONEMAP_CHECK_RESPONSES: 'true' });
    base = await svc.url();
  });

  afterAll(async () => {
    await svc?.kill();
    await pk?.destroy();
    await cluster?.destroy();
  });

  /** One request, bounded by ANSWER_BOUND_MS; its outcome recorded. */
  async function call(kind: string, url: string, init: RequestInit = {}, marker?: string): Promise<Outcome> {
    const o: Outcome = { kind, marker, started: Date.now(), ended: 0, status: 0 };
    outcomes.push(o);
    try {
      const res = await fetch(`${base}${url}`, { ...init, signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
      const text = await res.text();
      o.status = res.status;
      o.retryAfter = res.headers.get('retry-after');
      if ((res.headers.get('content-type') ?? '').includes('json')) {
        o.body = JSON.parse(text);
        o.code = o.body?.code;
      }
    } catch (err) {
      o.error = String((err as Error).message ?? err);
    } finally {
      o.ended = Date.now();
    }
    return o;
  }

  /** The stream: readers and writers, one request after the other each, until the returned function stops them. */
  function stream(): () => Promise<void> {
    let stopped = false;
    const n = { imports: 0, apps: 0, comments: 0 };
    const loop = (fn: () => Promise<unknown>) =>
      (async () => {
        while (!stopped) {
          await fn();
          await sleep(20);
        }
      })();
    const staff = headers['planning.reviewer'];
    const workers = [
      loop(() => call('tile', `/tiles/rivers/12/${TILE_X}/${TILE_Y}.mvt`, { headers: staff })),
      loop(() => call('items', '/ogcapi/collections/rivers/items?limit=20', { headers: staff })),
      loop(() => call('cases', '/api/conflicts/cases?limit=5', { headers: staff })),
      loop(() => call('health', '/healthz')),
      loop(() => {
        const marker = `fault import ${++n.imports}`;
        return call('import', '/api/layers/rivers/imports', { method: 'POST', body: importForm(marker), headers: headers['planning.editor'] }, marker);
      }),
      loop(async () => {
        // A new application, then each department it needs signs: the last one approves it.
        const name = `故障测试项目 ${++n.apps}`;
        const sub = await call('submit', '/api/applications', { method: 'POST', body: applicationBody(name), headers: { ...json, ...headers.window } }, name);
        if (sub.status !== 201) return;
        for (const r of sub.body.current.required as { department: string }[]) {
          const body = JSON.stringify({ version: 1, decision: 'approve' });
          await call('opinion', `/api/applications/${sub.body.id}/opinions`, { method: 'POST', body, headers: { ...json, ...headers[`${r.department}.reviewer`] } }, `${name}/${r.department}`);
        }
      }),
      loop(() => {
        const text = `故障测试评论 ${++n.comments}`;
        return call('comment', `/api/conflicts/cases/${caseId}/comments`, { method: 'POST', body: JSON.stringify({ text }), headers: { ...json, ...staff } }, text);
      }),
    ];
    return async () => {
      stopped = true;
      await Promise.all(workers);
    };
  }

  /** Waits until the health check answers 200; how long that took (ms), or Infinity beyond three times the bound. */
  async function recovered(): Promise<number> {
    const from = Date.now();
    while (Date.now() - from < 3 * RECOVERY_BOUND_MS) {
      const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(ANSWER_BOUND_MS) }).catch(() => undefined);
      if (r?.status === 200) return Date.now() - from;
      await sleep(50);
    }
    return Infinity;
  }

  it('runs the stream through a restart and through 3 s stopped: the same process answers again within the bound', async () => {
    const pid = svc.process.pid;
    const stop = stream();
    await sleep(2_000);
    marks.restart = Date.now();
    await cluster.restart(); // pg_ctl restart -m fast: every connection is terminated (57P01)
    marks.restarted = Date.now();
    recovery.restart = await recovered();
    await sleep(1_500);
    marks.stop = Date.now();
    await cluster.stop();
    marks.stopped = Date.now();
    await sleep(3_000);
    marks.start = Date.now();
    await cluster.start();
    marks.started = Date.now();
    recovery.stop = await recovered();
    marks.recovered = Date.now();
    await sleep(2_000);
    await stop();
    expect(recovery.restart).toBeLessThan(RECOVERY_BOUND_MS);
    expect(recovery.stop).toBeLessThan(RECOVERY_BOUND_MS);
    expect(svc.process.exitCode).toBeNull();
    expect(svc.process.pid).toBe(pid);
    // Every kind was asked before, during and after the outage.
    for (const kind of ['tile', 'items', 'cases', 'health', 'import', 'submit', 'comment']) {
      expect(outcomes.filter((o) => o.kind === kind && o.started > marks.stopped && o.ended < marks.start).length, kind).toBeGreaterThan(0);
      expect(outcomes.filter((o) => o.kind === kind && o.started > marks.recovered + 500 && o.status >= 200 && o.status < 300).length, kind).toBeGreaterThan(0);
    }
  });

  it('answered every request within the bound, with a 2xx or a 503 unavailable with Retry-After: never a 500, never a dropped connection', () => {
    const slowest = Math.max(...outcomes.map((o) => o.ended - o.started));
    expect(slowest).toBeLessThan(ANSWER_BOUND_MS);
    const failed = outcomes.filter((o) => o.status < 200 || o.status >= 300);
    expect(failed.length).toBeGreaterThan(10);
    const seen = failed.map((o) =>
      o.kind === 'health'
        ? { kind: o.kind, status: o.status, database: o.body?.database }
        : { kind: o.kind, status: o.status, code: o.code, retryAfter: o.retryAfter, message: typeof o.body?.message === 'string', error: o.error },
    );
    const expected = failed.map((o) =>
      o.kind === 'health' ? { kind: o.kind, status: 503, database: 'unreachable' } : { kind: o.kind, status: 503, code: 'unavailable', retryAfter: '2', message: true, error: undefined },
    );
    expect(seen).toEqual(expected);
  });

  it('answered 503 while PostgreSQL was stopped, but for tiles it held in memory, and 2xx once it was back', () => {
    const down = outcomes.filter((o) => o.started > marks.stopped && o.ended < marks.start);
    for (const o of down) {
      if (o.kind === 'tile' && o.status === 200) continue;
      expect(`${o.kind} ${o.status}`).toBe(`${o.kind} 503`);
    }
    const after = outcomes.filter((o) => o.started > marks.recovered + 500);
    expect(after.length).toBeGreaterThan(10);
    expect(after.filter((o) => o.status < 200 || o.status >= 300).map((o) => `${o.kind} ${o.status} ${o.code}`)).toEqual([]);
  });

  it('wrote every import all or nothing: its revision with its three features and its audit entry, and every accepted one is there', async () => {
    const revisions = await revisionsMarked(pk, 'rivers', 'fault import ');
    const byMarker = new Map(revisions.map((r) => [r.reason, r]));
    expect(byMarker.size).toBe(revisions.length); // one revision per import at most
    for (const r of revisions) expect(r).toEqual({ ...r, feature_count: 3, names: [0, 1, 2].map((k) => `${r.reason}-${k}`), audited: 1 });
    const imports = outcomes.filter((o) => o.kind === 'import');
    for (const o of imports.filter((x) => x.status === 201)) expect(byMarker.get(o.marker!)?.revision, o.marker).toBe(o.body.revision.revision);
    // Refused imports mostly left nothing (one whose commit landed as PostgreSQL went down may be there, whole).
    expect(imports.filter((o) => o.status === 503 && !byMarker.has(o.marker!)).length).toBeGreaterThan(0);
  });

  it('wrote every application, opinion and approval all or nothing, each event with its one audit entry', async () => {
    const events = await applicationEvents(pk, '故障测试项目');
    expect(events.filter((e) => e.audited !== 1)).toEqual([]);
    const { rows: apps } = await pk.raw<{ rows: { id: number; name: string; number: string; status: string; opinions: string[]; events: string[]; published: number }[] }>(
      `SELECT a.id, v.name, a.number, a.status,
              (SELECT coalesce(array_agg(o.department ORDER BY o.department), '{}') FROM application_opinions o WHERE o.application_id = a.id) AS opinions,
              (SELECT coalesce(array_agg(e.kind || coalesce('/' || e.department, '') ORDER BY e.id), '{}') FROM application_events e WHERE e.application_id = a.id) AS events,
              (SELECT count(*)::int FROM plan.approved_projects p WHERE p.approval_no = a.number) AS published
         FROM applications a JOIN application_versions v ON v.application_id = a.id AND v.version = 1 WHERE v.name LIKE '故障测试项目%' ORDER BY a.id`,
    );
    expect(apps.length).toBeGreaterThan(0);
    for (const a of apps) {
      // Submitted, then one event per signed opinion, then (all signed) approved and published on the map.
      const expected = ['submitted', ...a.opinions.map((d) => `opinion/${d}`)];
      if (a.status === 'approved') expected.push('approved');
      expect(a.events.slice().sort(), a.name).toEqual(expected.sort());
      expect(a.published, a.name).toBe(a.status === 'approved' ? 1 : 0);
    }
    const byName = new Map(apps.map((a) => [a.name, a]));
    for (const o of outcomes.filter((x) => x.kind === 'submit' && x.status === 201)) expect(byName.has(o.marker!), o.marker).toBe(true);
    for (const o of outcomes.filter((x) => x.kind === 'opinion' && x.status === 201)) {
      const [name, department] = o.marker!.split('/');
      expect(byName.get(name)?.opinions, o.marker).toContain(department);
    }
    expect(apps.some((a) => a.status === 'approved')).toBe(true);
  });

  it('wrote every ledger comment all or nothing, and the audit chain verifies', async () => {
    const { rows } = await pk.raw<{ rows: { comment: string; audited: number }[] }>(
      `SELECT e.comment, (SELECT count(*)::int FROM audit_log a WHERE a.action = 'conflict.case.comment' AND (a.details->>'event')::bigint = e.id) AS audited
         FROM conflict_case_events e WHERE e.case_id = ? AND e.comment LIKE '故障测试评论%'`,
      [caseId],
    );
    expect(rows.filter((r) => r.audited !== 1)).toEqual([]);
    const comments = new Map(rows.map((r) => [r.comment, r]));
    expect(comments.size).toBe(rows.length);
    for (const o of outcomes.filter((x) => x.kind === 'comment' && x.status === 201)) expect(comments.has(o.marker!), o.marker).toBe(true);
    const chain = await verifyChain(pk);
    expect(chain.ok, JSON.stringify(chain)).toBe(true);
  });

  it('listens again after the outage: a change made by another process reaches its tiles within the bound', async () => {
    const tileEtag = async () => (await fetch(`${base}/tiles/rivers/12/${TILE_X}/${TILE_Y}.mvt`, { headers: headers['planning.reviewer'] })).headers.get('etag');
    const before = await tileEtag();
    await commitRevision(pk, registry.byId.get('rivers')!, [{ properties: { code: 'main', name: '故障之后' }, geometry: { type: 'LineString', coordinates: [[113.255, 40.06], [113.265, 40.09]] } }], { kind: 'edit', createdBy: 'faults test', reason: 'after the outage' });
    const version = (await pk('layer_versions').where({ layer_id: 'rivers' }).first('version')).version;
    expect(before).not.toBe(`W/"rivers-${version}"`);
    await expect.poll(tileEtag, { timeout: NOTIFY_BOUND_MS, interval: 100 }).toBe(`W/"rivers-${version}"`);
  });
});

// --- 2. the service killed in the middle of a write ---------------------------------------------------

/** What a layer holds: its revisions, its rows, its data version. */
async function layerState(layerId: string) {
  const { rows } = await knex.raw(
    `SELECT (SELECT json_agg(revision ORDER BY revision) FROM layer_revisions WHERE layer_id = ?) AS revisions,
            (SELECT count(*)::int FROM ${layerTableOf(layerId)}) AS features,
            (SELECT version::int FROM layer_versions WHERE layer_id = ?) AS version`,
    [layerId, layerId],
  );
  return rows[0];
}
const layerTableOf = (id: string) => `plan.${registry.byId.get(id)!.id}`; // a registry id: [a-z_]+

/** What the killed process may have left: import runs, their staged rows, its temporary files. */
async function leftovers(pid: number) {
  const { rows } = await knex.raw(
    `SELECT (SELECT coalesce(json_agg(id ORDER BY id), '[]') FROM import_runs) AS runs,
            (SELECT count(*)::int FROM import_sources) AS sources, (SELECT count(*)::int FROM import_staging) AS staged`,
  );
  return { ...rows[0], files: fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(`onemap-work-${pid}-`)) };
}

describe('the service killed (SIGKILL) while it writes: as before or as after, and the next start cleans up', () => {
  /** The service of the moment: each test kills it and starts the next, whose start-up cleans up. */
  let svc: ServiceChild;
  let base: string;
  const next = async () => {
    svc = startService(onTestDatabase(db.name));
    base = await svc.url();
  };
  beforeAll(next);
  afterAll(() => svc?.kill());

  const post = async (url: string, who: string, body: BodyInit, headers: Record<string, string> = json) =>
    fetch(`${base}${url}`, { method: 'POST', body, headers: { ...headers, ...(await as(knex, who)) } });
  /** Starts a request the kill will cut: its answer never comes. */
  const cut = (request: Promise<Response>) => void request.catch(() => undefined);

  it('an import killed while it writes to the layer (after its COPY): the layer as before; the next start deletes its staged rows and its upload', async () => {
    const before = await layerState('rivers');
    const killed = svc;
    const token = await as(knex, 'planning.editor');
    const lock = await holdLock(knex, 'LOCK TABLE plan.rivers IN SHARE MODE');
    cut(fetch(`${base}/api/layers/rivers/imports`, { method: 'POST', body: importForm('killed import'), headers: token }));
    const { query } = await killWhenBlocked(knex, killed, lock);
    expect(query).toMatch(/LOCK TABLE "plan"\."rivers"/i);
    expect(await layerState('rivers')).toEqual(before);
    const left = await leftovers(killed.process.pid!);
    expect(left.runs.length).toBeGreaterThan(0);
    expect(left.sources + left.staged).toBeGreaterThan(0); // its first part, as read and as checked
    expect(left.files.filter((f: string) => f.includes('-upload-'))).toHaveLength(1);
    expect((await verifyChain(knex)).ok).toBe(true);

    await next();
    expect(await leftovers(killed.process.pid!)).toEqual({ runs: [], sources: 0, staged: 0, files: [] });
    expect(svc.output()).toContain('start-up: cleaned up after killed processes');
    const again = await post('/api/layers/rivers/imports', 'planning.editor', importForm('after the killed import'), {});
    expect(again.status).toBe(201);
  });

  it('an import killed inside its COMMIT (waiting for the audit chain): the revision is there whole, audited; the next start deletes its run', async () => {
    const killed = svc;
    const token = await as(knex, 'planning.editor');
    const lock = await holdLock(knex, `SELECT pg_advisory_xact_lock(hashtext('onemap:audit'))`);
    cut(fetch(`${base}/api/layers/rivers/imports`, { method: 'POST', body: importForm('import killed at commit'), headers: token }));
    const { query } = await killWhenBlocked(knex, killed, lock);
    expect(query).toMatch(/^COMMIT/i);
    // PostgreSQL finished the commit it had begun: as after, whole.
    const [rev] = await revisionsMarked(knex, 'rivers', 'import killed at commit');
    expect(rev).toMatchObject({ feature_count: 3, names: [0, 1, 2].map((k) => `import killed at commit-${k}`), audited: 1 });
    expect((await layerState('rivers')).features).toBe(3);
    expect((await verifyChain(knex)).ok).toBe(true);
    expect((await leftovers(killed.process.pid!)).runs.length).toBeGreaterThan(0); // its own clean-up never ran

    await next();
    expect(await leftovers(killed.process.pid!)).toEqual({ runs: [], sources: 0, staged: 0, files: [] });
  });

  it('a conflict run killed in its last statement: the cases and the conflicts layer as before; the next start records the run as failed, interrupted', async () => {
    const cases = async () => (await knex.raw(`SELECT count(*)::int AS n, md5(string_agg(id || status || version, ',' ORDER BY id)) AS h FROM conflict_cases`)).rows[0];
    const before = { cases: await cases(), layer: await layerState('conflicts'), runs: await knex('conflict_runs').orderBy('id').pluck('id') };
    const killed = svc;
    const token = await as(knex, 'planning.reviewer');
    // The run's last write (conflicts_bump: the conflicts layer's version) waits for this row; everything else is done by then.
    const lock = await holdLock(knex, `SELECT 1 FROM layer_versions WHERE layer_id = 'conflicts' FOR UPDATE`);
    cut(fetch(`${base}/api/conflicts/runs`, { method: 'POST', body: JSON.stringify({ mode: 'full' }), headers: { ...json, ...token } }));
    const { query } = await killWhenBlocked(knex, killed, lock);
    expect(query).toContain('conflicts_bump');
    expect(await cases()).toEqual(before.cases);
    expect(await layerState('conflicts')).toEqual(before.layer);
    const run = await knex('conflict_runs').whereNotIn('id', before.runs).first('id', 'status');
    expect(run.status).toBe('running'); // as the killed process left it (shown as interrupted: its lock is gone)

    await next();
    expect(await knex('conflict_runs').where({ id: run.id }).first('status', 'error')).toEqual({ status: 'failed', error: 'interrupted' });
    expect(await knex('audit_log').where({ action: 'conflict.run.failed', object: String(run.id) }).count({ n: '*' }).first()).toEqual({ n: '1' });
    expect((await verifyChain(knex)).ok).toBe(true);
    const again = await post('/api/conflicts/runs', 'planning.reviewer', JSON.stringify({ mode: 'incremental' }));
    expect(again.status).toBe(201);
  });

  it("an application's approval killed while it publishes the site: still under review with its opinions, nothing on the map; signed again after the restart, approved", async () => {
    const app = await knex('applications').where({ status: 'under_review' }).orderBy('id').first('id', 'number', 'current_version');
    const required = (await knex('application_versions').where({ application_id: app.id, version: app.current_version }).first('required')).required as { department: string }[];
    const departments = required.map((r) => r.department).sort();
    const sign = (department: string) => post(`/api/applications/${app.id}/opinions`, `${department}.reviewer`, JSON.stringify({ version: app.current_version, decision: 'approve' }));
    for (const d of departments.slice(1)) expect((await sign(d)).status).toBe(201);
    const state = async () => ({
      application: await knex('applications').where({ id: app.id }).first('status'),
      opinions: await knex('application_opinions').where({ application_id: app.id }).orderBy('department').pluck('department'),
      events: (await applicationEvents(knex, '')).filter((e) => e.application_id === app.id).map((e) => `${e.kind} ${e.audited}`),
      layer: await layerState('approved_projects'),
    });
    const before = await state();
    const killed = svc;
    const token = await as(knex, `${departments[0]}.reviewer`);
    const lock = await holdLock(knex, 'LOCK TABLE plan.approved_projects IN SHARE MODE');
    cut(fetch(`${base}/api/applications/${app.id}/opinions`, { method: 'POST', body: JSON.stringify({ version: app.current_version, decision: 'approve' }), headers: { ...json, ...token } }));
    await killWhenBlocked(knex, killed, lock);
    expect(await state()).toEqual(before);
    expect(before.application.status).toBe('under_review');
    expect((await verifyChain(knex)).ok).toBe(true);

    await next();
    const last = await sign(departments[0]);
    expect(last.status).toBe(201);
    expect((await last.json()).application.status).toBe('approved');
    expect(await knex('plan.approved_projects').where({ approval_no: app.number }).count({ n: '*' }).first()).toEqual({ n: '1' });
    expect((await verifyChain(knex)).ok).toBe(true);
  });
});

// --- 3. the statement timeout ---------------------------------------------------------------------------

describe('the statement timeout (ONEMAP_STATEMENT_TIMEOUT_MS=250)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(db.name, { ONEMAP_STATEMENT_TIMEOUT_MS: '250' });
  });
  afterAll(() => srv?.close());

  it('answers a statement that outlasts it with 503 query_timeout, and goes on answering', async () => {
    const staff = await as(knex, 'planning.reviewer');
    const [x, y] = tileContaining(113.3, 40.08, 14);
    // Small requests (each a few ms on its own): what makes them slow is the lock below.
    const slow = ['/ogcapi/collections/landuse_status/items?limit=100', '/api/identify?lon=113.3&lat=40.08&zoom=14&layers=landuse_status', `/tiles/landuse_status/14/${x}/${y}.mvt`];
    // Every statement on the status parcels waits for this lock, longer than the timeout.
    const lock = await holdLock(knex, 'LOCK TABLE plan.landuse_status IN ACCESS EXCLUSIVE MODE');
    try {
      for (const url of slow) {
        const started = Date.now();
        const r = await getJson(`${srv.baseUrl}${url}`, { headers: staff });
        expect({ url, status: r.status, code: r.body?.code }).toEqual({ url, status: 503, code: 'query_timeout' });
        expect(r.body.message).toContain('statement timeout');
        expect(Date.now() - started).toBeLessThan(5_000);
      }
      // Meanwhile the rest answers.
      expect((await getJson(`${srv.baseUrl}/ogcapi/collections/rivers/items?limit=5`, { headers: staff })).status).toBe(200);
    } finally {
      await lock.release();
    }
    // Afterwards the same requests answer, and many at once (no connection of the pool left broken).
    for (const url of slow) expect((await fetch(`${srv.baseUrl}${url}`, { headers: staff })).status, url).toBe(200);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${srv.baseUrl}/ogcapi/collections/rivers/items?limit=5&offset=${i}`, { headers: staff }).then((r) => r.status)));
    expect(many).toEqual(many.map(() => 200));
  });
});

// --- 4. the LISTEN connection dropped -------------------------------------------------------------------

describe('the LISTEN connection dropped', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(db.name);
  });
  afterAll(() => srv?.close());

  const listeners = async () =>
    (await knex.raw(`SELECT pid FROM pg_stat_activity WHERE datname = ? AND query = 'LISTEN onemap_layer_changed'`, [db.name])).rows.map((r: { pid: number }) => r.pid);
  /** A change made by another process than the service (its own writes reload the versions themselves). */
  const changeRivers = async (name: string) => {
    await commitRevision(knex, registry.byId.get('rivers')!, [{ properties: { code: 'main', name }, geometry: { type: 'LineString', coordinates: [[113.255, 40.06], [113.265, 40.09]] } }], { kind: 'edit', createdBy: 'faults test', reason: name });
    return Number((await knex('layer_versions').where({ layer_id: 'rivers' }).first('version')).version);
  };

  it('reconnects; what changed while it was gone and what changes after reach the tile cache and the items', async () => {
    const staff = await as(knex, 'planning.reviewer');
    const tile = async () => {
      const r = await fetch(`${srv.baseUrl}/tiles/rivers/12/${TILE_X}/${TILE_Y}.mvt`, { headers: { ...staff, 'Accept-Encoding': 'identity' } });
      return { etag: r.headers.get('etag'), bytes: Buffer.from(await r.arrayBuffer()) };
    };
    const items = async () => (await getJson(`${srv.baseUrl}/ogcapi/collections/rivers/items?limit=50`, { headers: staff })).body.features.map((f: { properties: { name: string } }) => f.properties.name);
    await tile(); // cached
    const [pid] = await listeners();
    expect(pid).toBeDefined();
    await knex.raw('SELECT pg_terminate_backend(?)', [pid]);
    // Changed while nobody listens (the NOTIFY is lost): the reload after reconnecting picks it up.
    const v1 = await changeRivers('断线期间');
    await expect.poll(async () => (await tile()).etag, { timeout: NOTIFY_BOUND_MS, interval: 100 }).toBe(`W/"rivers-${v1}"`);
    expect((await tile()).bytes.includes(Buffer.from('断线期间'))).toBe(true); // rendered again, not the cached tile
    expect(await items()).toEqual(['断线期间']);
    const now = await listeners();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(pid);
    // Changed after: the NOTIFY arrives on the new connection.
    const v2 = await changeRivers('重连之后');
    await expect.poll(async () => (await tile()).etag, { timeout: NOTIFY_BOUND_MS, interval: 100 }).toBe(`W/"rivers-${v2}"`);
    expect((await tile()).bytes.includes(Buffer.from('重连之后'))).toBe(true);
  });
});
