// `npm run bench:load` (issue 14, item 4): a mixed load held for 60 s (`--seconds N`) against the
// large data set, every kind of use at once, and afterwards the check that nothing the service
// accepted was lost. A benchmark, not a test: it prints a table, writes bench/out/load.json and
// exits non-zero when a goal is missed (a 5xx, a lost write, a broken audit chain; the p95 of the
// map reads at 100 ms or more), saying which.
//
//   1. a copy of the large data set: onemap_load, dropped and made again from onemap_bench as its
//      template (onemap_bench itself is never written; a connection to it stops the bench, since
//      PostgreSQL copies a template only when nobody else is connected);
//   2. on the copy: the demo accounts made ordinary (a random password nobody knows, no demo mark,
//      so that the service starts in production mode) and bearer tokens issued to them; a published
//      release (the newest, or one prepared and published when there is none);
//   3. the service as its own process on the copy (ONEMAP_DEMO=false, a free port), its log in
//      bench/out/load-server.log; every read path answered once first (2xx checked, caches warm);
//   4. for --seconds, all at once (each reading connection pauses between an answer and its next
//      request, as a person at a map does; `--capacity` drops the pauses to find the throughput
//      the machine holds, where the p95 goal does not apply):
//      - anonymous clients (wrk, bench/load.lua): the release's layer tiles and its OGC API items
//        (small boxes, 100 features at most);
//      - staff (wrk, a bearer token): working tiles, working OGC API items, identify, exports of
//        small layers (the export has no box: a whole small layer);
//      - writers from several accounts (fetch, one request at a time each, every answer recorded):
//        imports of a small GeoJSON file through the HTTP upload (ndrc.editor into econ_projects,
//        planning.editor into roads: the layer as it is with one name changed each time); ledger
//        actions (three reviewers, each on the cases of a rule of their department: coordinated,
//        commented, reopened, in turn); applications submitted by the window (300 m squares in
//        the central city) and each department's reviewer signing its opinion on the ones routed
//        to it (approve: an application approved by all joins approved_projects);
//   5. afterwards: every write the service accepted is in the database (the revision, the
//      application, the opinion, the case event) and in the audit trail, each layer and case ends
//      at the last accepted write, and the chain verifies (verifyChain).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import pg from 'pg';
import { type Account, issueCredential } from '../server/accounts/accounts';
import { asActor } from '../server/accounts/admin';
import { hashPassword } from '../server/accounts/passwords';
import { verifyChain } from '../server/audit/routes';
import { loadRules } from '../server/conflicts/rules';
import { loadRegistry } from '../server/layers/registry';
import { type Config, loadConfig, PROJECT_ROOT } from '../server/platform/config';
import { migrate, openDatabase } from '../server/platform/db';
import { startEmbeddedCluster } from '../server/platform/embedded-pg';
import { Releases } from '../server/releases/store';
import { type BenchService, CENTRES, startService, tileAddresses } from './service';

const { values: argv } = parseArgs({ options: { seconds: { type: 'string' }, keep: { type: 'boolean' }, capacity: { type: 'boolean' } } });
const SECONDS = Number(argv.seconds ?? process.env.BENCH_SECONDS ?? 60);
if (!Number.isInteger(SECONDS) || SECONDS < 5 || SECONDS > 3600) throw new Error(`--seconds: expected a whole number of seconds from 5 to 3600, got ${argv.seconds}`);
/** Keep onemap_load after the run (it is dropped at the end otherwise, and always at the next start). */
const KEEP = argv.keep ?? false;
/**
 * --capacity: the readers without their pauses (each connection asks again as soon as it is
 * answered): the throughput the machine holds, the latencies of a saturated service. The goals
 * of 0 5xx and 0 lost writes hold there too; the p95 of map reads is a goal of the held load only.
 */
const CAPACITY = argv.capacity ?? false;
const TEMPLATE = 'onemap_bench';
const DB = 'onemap_load';
const OUT = path.join(PROJECT_ROOT, 'bench', 'out');
/** The p95 every map read (tiles, items) must stay under, ms. */
const MAP_P95_MS = 100;
/** A writer's pause between two of its writes (ms): people, not a loop. */
const WRITE_PAUSE_MS = Number(process.env.BENCH_WRITE_PAUSE_MS ?? 250);

const log = (...a: unknown[]) => console.log('bench:', ...a);
const loadavg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

/** A refusal to run: the message says what to do; the bench exits 1. */
class Stop extends Error {}

// --- 1. the copy -------------------------------------------------------------------------------

/** A client of the maintenance database (postgres), on the embedded cluster (started if needed) or DATABASE_URL's server. */
async function maintenance(config: Config): Promise<{ client: pg.Client; stopCluster(): Promise<void> }> {
  if (config.DATABASE_URL) {
    const client = new pg.Client({ connectionString: Object.assign(new URL(config.DATABASE_URL), { pathname: '/postgres' }).toString() });
    await client.connect();
    return { client, stopCluster: async () => undefined };
  }
  const cluster = await startEmbeddedCluster({ dataDir: config.ONEMAP_DATA_DIR, port: config.ONEMAP_PG_PORT, binDir: config.ONEMAP_PG_BIN, database: 'postgres' });
  const client = new pg.Client(cluster.connection);
  await client.connect();
  return { client, stopCluster: () => cluster.stop() };
}

/** Drops onemap_load and makes it again from onemap_bench; refuses (Stop) when the template is missing or in use. */
async function makeCopy(c: pg.Client): Promise<number> {
  const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEMPLATE]);
  if (!rowCount) throw new Stop(`the large data set is missing (no database ${TEMPLATE}): run \`npm run demo:large\` first (about 12 minutes), then this benchmark again`);
  const users = async () =>
    (
      await c.query(
        `SELECT pid, usename, application_name, coalesce(client_addr::text, 'local') AS client, state, backend_start, left(query, 80) AS query
           FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() ORDER BY backend_start`,
        [TEMPLATE],
      )
    ).rows;
  const inUse = (rows: Awaited<ReturnType<typeof users>>) =>
    new Stop(
      `${TEMPLATE} has ${rows.length} other connection(s), and PostgreSQL copies a template only when nobody else is connected to it:\n` +
        rows.map((r) => `  pid ${r.pid} ${r.usename} ${r.application_name || '(no application name)'} from ${r.client}, ${r.state}, since ${new Date(r.backend_start).toISOString()}: ${r.query}`).join('\n') +
        `\nThey are someone else's (another benchmark or a psql): this bench does not end them. Run it again when they are gone.`,
    );
  const before = await users();
  if (before.length) throw inUse(before);
  await c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`); // ours: left by an earlier run
  const t = Date.now();
  try {
    await c.query(`CREATE DATABASE ${DB} TEMPLATE ${TEMPLATE}`);
  } catch (err) {
    // 55006: someone connected between the look and the copy.
    if ((err as { code?: string }).code === '55006') throw inUse(await users());
    throw err;
  }
  return Date.now() - t;
}

// --- 2. accounts, tokens, the release, what the writers write ----------------------------------

const READERS = { staff: 'land.editor', exports: 'env.editor' };
const IMPORTERS = [
  { account: 'ndrc.editor', layer: 'econ_projects', label: 'name' },
  { account: 'planning.editor', layer: 'roads', label: 'name' },
];
/** Each ledger writer works on the cases of one rule of its department (no two on the same case). */
const LEDGER = [
  { account: 'planning.reviewer', rule: 'urban_construction_on_basic_farmland' },
  { account: 'land.reviewer', rule: 'land_construction_on_urban_nonconstruction' },
  { account: 'env.reviewer', rule: 'urban_construction_in_redline' },
];
const WINDOW = 'window';
const REVIEWERS = ['ndrc', 'land', 'planning', 'env', 'industry', 'coal'].map((d) => `${d}.reviewer`);

async function accountsAndTokens(knex: Knex): Promise<Record<string, string>> {
  // A production start refuses demo accounts (their password is public): on this copy they get a
  // random password nobody knows and lose the mark, as an operator would make them ordinary.
  const hash = await hashPassword(randomBytes(24).toString('base64url'));
  await asActor(knex, 'bench.load', (trx) => trx('accounts').where('demo', true).update({ demo: false, password_hash: hash }));
  const names = [...new Set([...Object.values(READERS), ...IMPORTERS.map((i) => i.account), ...LEDGER.map((l) => l.account), WINDOW, ...REVIEWERS, 'planning.editor'])];
  const tokens: Record<string, string> = {};
  for (const name of names) {
    const row = await knex('accounts').where({ name }).first('id');
    if (!row) throw new Stop(`${TEMPLATE} has no account ${name}: make it again with \`npm run demo:large\``);
    tokens[name] = (await issueCredential(knex, row.id, 'token', { label: 'bench/load.ts', ttlMs: 6 * 3600_000 })).token;
  }
  return tokens;
}

/** The newest published release, or one prepared and published now (four eyes: planning's editor and reviewer). */
async function publishedRelease(knex: Knex): Promise<{ number: number; layers: string[]; made: boolean }> {
  let row = await knex('releases').where({ status: 'published' }).orderBy('number', 'desc').first('number');
  let made = false;
  if (!row) {
    const registry = loadRegistry();
    const releases = new Releases(knex, registry, loadRules(registry));
    const account = (name: string): Promise<Account> => knex('accounts').where({ name }).first('id', 'name', 'display_name', 'department', 'roles');
    log('no published release on the copy: preparing and publishing one (pins 714,789 features, ~40 s) …');
    const { number } = await releases.prepare(await account('planning.editor'), { title: '大同市五规合一一张图（压力测试）', notes: 'bench/load.ts', approvalNumber: '同政函〔2026〕1号' });
    await releases.publish(await account('planning.reviewer'), number, { reviewNumber: `晋S(2026)${String(number).padStart(3, '0')}号` });
    row = { number };
    made = true;
  }
  const layers = await knex('release_layers').where({ release: row.number }).orderBy('layer_id').pluck('layer_id');
  return { number: row.number, layers, made };
}

/** A layer's current content as a GeoJSON FeatureCollection, as a department would deliver it again. */
async function layerAsDelivery(knex: Knex, layer: string): Promise<{ type: 'FeatureCollection'; features: { type: 'Feature'; geometry: unknown; properties: Record<string, unknown> }[] }> {
  const registry = loadRegistry();
  if (!registry.byId.get(layer)) throw new Error(`unknown layer ${layer}`);
  const { rows } = await knex.raw(
    `SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 9)::json,
            'properties', to_jsonb(t) - 'geom' - 'fid' - 'area_m2' - 'updated_at') AS f
       FROM plan.${layer} t ORDER BY fid`,
  );
  return { type: 'FeatureCollection', features: rows.map((r: { f: never }) => r.f) };
}

/** 300 m squares (EPSG:4547) on a 1 km grid around the central city, each inside one district. */
async function applicationSites(knex: Knex): Promise<{ x: number; y: number }[]> {
  const { rows } = await knex.raw(`
    WITH c AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(113.3, 40.08), 4490), 4547) AS p),
    grid AS (
      SELECT round(ST_X(c.p)) + i * 1000.0 AS x, round(ST_Y(c.p)) + j * 1000.0 AS y FROM c, generate_series(-12, 12) i, generate_series(-12, 12) j)
    SELECT x, y FROM grid
     WHERE EXISTS (SELECT 1 FROM plan.districts d WHERE ST_Covers(d.geom, ST_Transform(ST_MakeEnvelope(x, y, x + 300, y + 300, 4547), 4490)))
     ORDER BY x, y`);
  return rows.map((r: { x: string; y: string }) => ({ x: Number(r.x), y: Number(r.y) }));
}

// --- 3. the service ----------------------------------------------------------------------------

/** The service on the copy, in production mode; its output in bench/out/load-server.log. */
function startServer(): Promise<BenchService> {
  // BENCH_NODE_ARGS: extra node options for the service, e.g. "--cpu-prof --cpu-prof-dir=bench/out/prof" to see where its time goes.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return startService({ ONEMAP_DB_NAME: DB, ONEMAP_DEMO: 'false' }, { logFile: path.join(OUT, 'load-server.log'), nodeArgs });
}

// --- 4. the load -------------------------------------------------------------------------------

/** A seeded PRNG (mulberry32): the same paths every run. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Small boxes (≈ 400 m – 1.3 km) within 3 km of the centres, `n` of them. */
function boxes(n: number, seed: number) {
  const r = prng(seed);
  return Array.from({ length: n }, () => {
    const [, lon, lat] = CENTRES[Math.floor(r() * CENTRES.length)];
    const w = 0.005 + r() * 0.01;
    const x = lon + (r() - 0.5) * 0.07;
    const y = lat + (r() - 0.5) * 0.05;
    return [x, y, x + w, y + w * 0.75].map((v) => v.toFixed(5)).join(',');
  });
}

interface ReadKind {
  kind: string;
  who: string;
  connections: number;
  paths: string[];
  token?: string;
  /** A map read: its p95 is held to MAP_P95_MS. */
  map: boolean;
  /** Each connection's mean pause between an answer and its next request (ms; 0 with --capacity). */
  thinkMs: number;
}

interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  p50_us: number;
  p95_us: number;
  p99_us: number;
  max_us: number;
  statuses: Record<string, number>;
  socket_errors: Record<string, number>;
}

/** The wrk processes' CPU seconds, read while they run (a finished process is gone from /proc). */
const wrkCpu = new Map<number, number>();

function runWrk(url: string, k: ReadKind, seed: number): Promise<WrkResult> {
  const list = path.join(OUT, `load-paths-${k.kind}.txt`);
  fs.writeFileSync(list, k.paths.join('\n') + '\n');
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${k.connections}`, `-d${SECONDS}s`, '--timeout', '30s', '-s', path.join(PROJECT_ROOT, 'bench', 'load.lua'), url], {
      env: { ...process.env, LOAD_PATHS: list, LOAD_TOKEN: k.token ?? '', LOAD_SEED: String(seed), LOAD_THINK_MS: String(CAPACITY ? 0 : k.thinkMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const pid = child.pid!;
    const tick = setInterval(() => {
      const c = cpuOf(pid);
      if (Number.isFinite(c)) wrkCpu.set(pid, c);
    }, 500);
    child.once('exit', () => clearInterval(tick));
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`wrk (${k.kind}) exited ${code}: ${err}${out}`));
      resolve(JSON.parse(last));
    });
  });
}

/** Every path once, 4 at a time: each must answer 2xx (the caches are warm afterwards). */
async function warm(url: string, k: ReadKind) {
  const bad: string[] = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (i < k.paths.length) {
        const p = k.paths[i++];
        const res = await fetch(url + p, { headers: { 'accept-encoding': 'gzip', ...(k.token ? { authorization: `Bearer ${k.token}` } : {}) } });
        await res.arrayBuffer();
        if (res.status >= 300) bad.push(`${res.status} ${p}`);
      }
    }),
  );
  if (bad.length) throw new Error(`${k.kind}: ${bad.length} of ${k.paths.length} paths did not answer 2xx before the load, e.g.\n  ${bad.slice(0, 5).join('\n  ')}`);
}

/** One write as the service answered it. */
interface Write {
  kind: 'import' | 'application' | 'opinion' | 'ledger_transition' | 'ledger_comment';
  account: string;
  status: number;
  ms: number;
  /** What the accepted write returned, to be found afterwards. */
  ref?: Record<string, string | number>;
  code?: string;
}

class Writers {
  readonly writes: Write[] = [];
  constructor(
    private readonly url: string,
    private readonly tokens: Record<string, string>,
    private readonly until: number,
  ) {}

  private async call(account: string, method: string, p: string, body?: unknown, form?: FormData) {
    const t = performance.now();
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url + p, {
        method,
        headers: { authorization: `Bearer ${this.tokens[account]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: form ?? (body !== undefined ? JSON.stringify(body) : undefined),
      });
      text = await res.text();
    } catch (err) {
      // No answer (the connection failed or closed under the request): status 0, reported with its cause.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      log(`no answer to ${method} ${p} for ${account}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
      return { status: 0, json: { code: `no answer (${cause?.code ?? 'fetch failed'})` }, ms: performance.now() - t };
    }
    const ms = performance.now() - t;
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, ms };
  }

  private record(w: Write) {
    this.writes.push(w);
    if (w.status >= 500) log(`5xx: ${w.kind} by ${w.account}: ${w.status} ${w.code ?? ''}`);
  }

  private async loop(step: () => Promise<boolean | void>) {
    while (Date.now() < this.until) {
      if ((await step()) === false) return;
      await new Promise((r) => setTimeout(r, WRITE_PAUSE_MS));
    }
  }

  /** Imports of the layer as it is, one feature's label changed each time (a real change: a revision). */
  importer(account: string, layer: string, label: string, delivery: Awaited<ReturnType<typeof layerAsDelivery>>) {
    let n = 0;
    const original = String(delivery.features[0].properties[label]);
    return this.loop(async () => {
      n++;
      const f = structuredClone(delivery);
      f.features[0].properties[label] = `${original}（第${n}次报送）`;
      const form = new FormData();
      form.append('file', new Blob([JSON.stringify(f)], { type: 'application/geo+json' }), `${layer}-${n}.geojson`);
      form.append('reason', `压力测试第${n}次报送`);
      const r = await this.call(account, 'POST', `/api/layers/${layer}/imports`, undefined, form);
      this.record({ kind: 'import', account, status: r.status, ms: r.ms, code: r.json?.code, ref: r.status === 201 ? { layer, revision: r.json.revision.revision, label: f.features[0].properties[label] as string } : undefined });
    });
  }

  /** Ledger actions on the cases of one rule: coordinated, a comment, reopened, in turn, case after case. */
  ledger(account: string, cases: { id: string; version: number }[]) {
    let i = 0;
    const steps = ['coordinate', 'comment', 'reopen'] as const;
    let s = 0;
    return this.loop(async () => {
      const c = cases[i % cases.length];
      const step = steps[s % steps.length];
      if (step === 'comment') {
        const r = await this.call(account, 'POST', `/api/conflicts/cases/${c.id}/comments`, { text: `压力测试意见 ${i + 1}：请区县核实后报送` });
        this.record({ kind: 'ledger_comment', account, status: r.status, ms: r.ms, code: r.json?.code, ref: r.status === 201 ? { case: c.id, event: r.json.id } : undefined });
      } else {
        const body =
          step === 'coordinate'
            ? { to: 'coordinated', version: c.version, decision: 'follow_a', reason: '以城市总体规划为准（压力测试）', district_opinion: '同意', effective_date: '2026-12-31' }
            : { to: 'pending', version: c.version, reason: '重新核实（压力测试）' };
        const r = await this.call(account, 'POST', `/api/conflicts/cases/${c.id}/transitions`, body);
        let ref;
        if (r.status === 200) {
          c.version = r.json.version;
          const last = r.json.events.filter((e: { action: string }) => e.action === 'transition').sort((a: { id: number }, b: { id: number }) => b.id - a.id)[0];
          ref = { case: c.id, event: last.id, to: body.to, version: r.json.version };
        }
        this.record({ kind: 'ledger_transition', account, status: r.status, ms: r.ms, code: r.json?.code, ref });
      }
      s++;
      if (step === 'reopen') i++;
    });
  }

  /** The window submits applications; each required department's queue gets the new one. */
  window(sites: { x: number; y: number }[], queues: Map<string, { id: number; version: number }[]>) {
    let n = 0;
    return this.loop(async () => {
      const s = sites[n % sites.length];
      n++;
      const points = [
        { order: 1, x: s.y, y: s.x },
        { order: 2, x: s.y, y: s.x + 300 },
        { order: 3, x: s.y + 300, y: s.x + 300 },
        { order: 4, x: s.y + 300, y: s.x },
      ];
      const r = await this.call(WINDOW, 'POST', '/api/applications', {
        name: `压力测试项目 ${n}`,
        project_type: n % 3 === 0 ? 'industrial' : n % 3 === 1 ? 'residential' : 'energy',
        investor: '大同市压力测试有限公司',
        requested_area_m2: 90_000,
        site: { source: 'points', srid: 4547, points },
      });
      if (r.status === 201) {
        for (const d of r.json.current.required as { department: string }[]) queues.get(d.department)?.push({ id: r.json.id, version: r.json.version });
      }
      this.record({ kind: 'application', account: WINDOW, status: r.status, ms: r.ms, code: r.json?.code, ref: r.status === 201 ? { id: r.json.id, number: r.json.number } : undefined });
    });
  }

  /** A department's reviewer signs (approve) the applications routed to it, oldest first. */
  reviewer(account: string, queue: { id: number; version: number }[]) {
    return this.loop(async () => {
      const next = queue.shift();
      if (!next) return; // nothing routed to this department yet
      const r = await this.call(account, 'POST', `/api/applications/${next.id}/opinions`, { version: next.version, decision: 'approve' });
      this.record({ kind: 'opinion', account, status: r.status, ms: r.ms, code: r.json?.code, ref: r.status === 201 ? { application: next.id, opinion: r.json.opinion.id } : undefined });
    });
  }
}

// --- 5. the writes check -----------------------------------------------------------------------

interface Lost {
  kind: string;
  ref: unknown;
  missing: 'database' | 'audit trail' | 'final state';
}

async function checkWrites(knex: Knex, writes: Write[]): Promise<{ accepted: number; lost: Lost[]; perKind: Record<string, number> }> {
  const lost: Lost[] = [];
  const perKind: Record<string, number> = {};
  const one = async (sql: string, bindings: unknown[]) => ((await knex.raw(sql, bindings as never)).rows.length as number) > 0;
  const accepted = writes.filter((w) => w.ref);
  for (const w of accepted) {
    perKind[w.kind] = (perKind[w.kind] ?? 0) + 1;
    const r = w.ref!;
    let db: boolean;
    let audit: boolean;
    switch (w.kind) {
      case 'import':
        db = await one('SELECT 1 FROM layer_revisions WHERE layer_id = ? AND revision = ? AND created_by = ?', [r.layer, r.revision, w.account]);
        audit = await one("SELECT 1 FROM audit_log WHERE action = 'layer.revision' AND object = ? AND actor = ?", [`${r.layer}@${r.revision}`, w.account]);
        break;
      case 'application':
        db = await one('SELECT 1 FROM applications WHERE id = ? AND number = ? AND submitted_by = ?', [r.id, r.number, w.account]);
        audit = await one("SELECT 1 FROM audit_log WHERE action = 'application.submitted' AND object = ? AND actor = ?", [`${r.number}v1`, w.account]);
        break;
      case 'opinion':
        db = await one('SELECT 1 FROM application_opinions WHERE id = ? AND application_id = ? AND author = ?', [r.opinion, r.application, w.account]);
        audit = await one("SELECT 1 FROM audit_log WHERE action = 'application.opinion' AND details ->> 'opinion' = ? AND actor = ?", [String(r.opinion), w.account]);
        break;
      case 'ledger_transition':
        db = await one("SELECT 1 FROM conflict_case_events WHERE id = ? AND case_id = ? AND action = 'transition' AND to_status = ? AND actor = ?", [r.event, r.case, r.to, w.account]);
        audit = await one("SELECT 1 FROM audit_log WHERE action = 'conflict.case.transition' AND object = ? AND details ->> 'event' = ? AND actor = ?", [r.case, String(r.event), w.account]);
        break;
      case 'ledger_comment':
        db = await one("SELECT 1 FROM conflict_case_events WHERE id = ? AND case_id = ? AND action = 'comment' AND actor = ?", [r.event, r.case, w.account]);
        audit = await one("SELECT 1 FROM audit_log WHERE action = 'conflict.case.comment' AND object = ? AND details ->> 'event' = ? AND actor = ?", [r.case, String(r.event), w.account]);
        break;
    }
    if (!db) lost.push({ kind: w.kind, ref: r, missing: 'database' });
    if (!audit) lost.push({ kind: w.kind, ref: r, missing: 'audit trail' });
  }
  // Each layer ends at its last accepted import, with that import's label; each case at its last accepted version.
  for (const { layer, label } of IMPORTERS) {
    const mine = accepted.filter((w) => w.kind === 'import' && w.ref!.layer === layer);
    if (!mine.length) continue;
    const last = mine.reduce((a, b) => (Number(b.ref!.revision) > Number(a.ref!.revision) ? b : a));
    const current = await one('SELECT 1 FROM layer_revisions WHERE layer_id = ? GROUP BY layer_id HAVING max(revision) = ?', [layer, last.ref!.revision]);
    const content = await one(`SELECT 1 FROM plan.${layer} WHERE ${label} = ?`, [last.ref!.label]);
    if (!current || !content) lost.push({ kind: 'import', ref: last.ref, missing: 'final state' });
  }
  const lastVersion = new Map<string, number>();
  for (const w of accepted) if (w.kind === 'ledger_transition') lastVersion.set(String(w.ref!.case), Math.max(lastVersion.get(String(w.ref!.case)) ?? 0, Number(w.ref!.version)));
  for (const [id, version] of lastVersion) {
    if (!(await one('SELECT 1 FROM conflict_cases WHERE id = ? AND version = ?', [id, version]))) lost.push({ kind: 'ledger_transition', ref: { case: id, version }, missing: 'final state' });
  }
  return { accepted: accepted.length, lost, perKind };
}

// --- figures -----------------------------------------------------------------------------------

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0);
const round = (x: number, d = 1) => Number(x.toFixed(d));

interface KindFigures {
  kind: string;
  who: string;
  client: string;
  requests: number;
  rps: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  non2xx: Record<string, number>;
  errors5xx: number;
  socketErrors: number;
  map: boolean;
}

function readFigures(k: ReadKind, r: WrkResult): KindFigures {
  const non2xx = Object.fromEntries(Object.entries(r.statuses).filter(([s]) => !s.startsWith('2')));
  return {
    kind: k.kind,
    who: k.who,
    client: `wrk -c${k.connections}${!CAPACITY && k.thinkMs ? `, pause ${k.thinkMs} ms` : ''}`,
    requests: r.requests,
    rps: round(r.requests / (r.duration_us / 1e6)),
    p50_ms: round(r.p50_us / 1000),
    p95_ms: round(r.p95_us / 1000),
    p99_ms: round(r.p99_us / 1000),
    max_ms: round(r.max_us / 1000),
    non2xx,
    errors5xx: Object.entries(r.statuses).reduce((a, [s, n]) => a + (s.startsWith('5') ? n : 0), 0),
    socketErrors: Object.values(r.socket_errors).reduce((a, b) => a + b, 0),
    map: k.map,
  };
}

function writeFigures(kind: string, who: string, ws: Write[], seconds: number): KindFigures {
  const ms = ws.map((w) => w.ms).sort((a, b) => a - b);
  const non2xx: Record<string, number> = {};
  for (const w of ws) if (w.status >= 300 || w.status === 0) non2xx[`${w.status}${w.code ? ` ${w.code}` : ''}`] = (non2xx[`${w.status}${w.code ? ` ${w.code}` : ''}`] ?? 0) + 1;
  return {
    kind,
    who,
    client: 'fetch, 1 at a time each',
    requests: ws.length,
    rps: round(ws.length / seconds, 2),
    p50_ms: round(pct(ms, 50)),
    p95_ms: round(pct(ms, 95)),
    p99_ms: round(pct(ms, 99)),
    max_ms: round(ms.at(-1) ?? 0),
    non2xx,
    errors5xx: ws.filter((w) => w.status >= 500).length,
    socketErrors: ws.filter((w) => w.status === 0).length,
    map: false,
  };
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuOf(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return NaN;
  }
}

/** Busy and total CPU seconds of the whole machine, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const [, ...v] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = v.map(Number);
  const idle = n[3] + n[4];
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

/**
 * What the copy's client backends do while the load runs, sampled from pg_stat_activity every
 * 250 ms: how many are not idle, and on what they wait ('cpu': active with no wait event). The
 * service's pool holds at most 16 connections, so 16 busy means requests queue for one.
 */
function activitySampler(knex: Knex) {
  const counts = new Map<string, number>();
  let samples = 0;
  let busy = 0;
  let maxBusy = 0;
  let connections = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // A failed sample (the run ending under it) ends the sampling, never the bench.
      const result = await knex
        .raw<{ rows: { state: string; w: string; n: number }[] }>(
        `SELECT coalesce(state, '?') AS state, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w, count(*)::int AS n
           FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          GROUP BY 1, 2`,
        )
        .catch(() => undefined);
      if (!result) break;
      const { rows } = result;
      samples++;
      let b = 0;
      for (const r of rows) {
        connections += r.n;
        if (r.state === 'idle') continue;
        b += r.n;
        counts.set(`${r.state} ${r.w}`, (counts.get(`${r.state} ${r.w}`) ?? 0) + r.n);
      }
      busy += b;
      maxBusy = Math.max(maxBusy, b);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const n = Math.max(1, samples);
      return {
        samples,
        meanConnections: round(connections / n, 1),
        meanBusy: round(busy / n, 2),
        maxBusy,
        busyBy: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, c]) => [k, round(c / n, 2)])),
      };
    },
  };
}

// --- the run -----------------------------------------------------------------------------------

async function main(): Promise<number> {
  fs.mkdirSync(OUT, { recursive: true });
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const started = Date.now();
  const { client, stopCluster } = await maintenance(config);
  let copyMs: number;
  try {
    log(`copying ${TEMPLATE} to ${DB} (CREATE DATABASE … TEMPLATE) …`);
    copyMs = await makeCopy(client);
  } finally {
    await client.end();
  }
  log(`copied in ${(copyMs / 1000).toFixed(1)} s`);
  // The preparation's statements (a release's pinning) outlast the service's 20 s statement timeout.
  const db = await openDatabase(loadConfig({ ...process.env, LOG_LEVEL: 'warn', ONEMAP_STATEMENT_TIMEOUT_MS: '600000' }), { database: DB });
  const { knex } = db;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    await migrate(knex);
    const parcels = Number((await knex.raw('SELECT count(*) AS n FROM plan.landuse_status')).rows[0].n);
    if (parcels < 300_000) throw new Stop(`${TEMPLATE} holds ${parcels} land-use status parcels, not the large data set: run \`npm run demo:large\` first`);
    // (A new copy has no statistics yet: the planner's row estimates, which the copy keeps.)
    const features = Number((await knex.raw(`SELECT sum(reltuples)::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'plan' AND c.relkind = 'r'`)).rows[0].n);
    const tokens = await accountsAndTokens(knex);
    const release = await publishedRelease(knex);
    const deliveries = new Map<string, Awaited<ReturnType<typeof layerAsDelivery>>>();
    for (const i of IMPORTERS) deliveries.set(i.layer, await layerAsDelivery(knex, i.layer));
    const cases = new Map<string, { id: string; version: number }[]>();
    for (const l of LEDGER) cases.set(l.account, await knex('conflict_cases').where({ rule_id: l.rule, status: 'pending' }).orderBy('id').limit(500).select('id', 'version'));
    const sites = await applicationSites(knex);
    log(`release ${release.number}${release.made ? ' (made now)' : ''}: ${release.layers.length} layers; ${features} features in the working layers; ${sites.length} sites for applications`);

    server = await startServer();
    const url = server.url;
    const registry = loadRegistry();
    const shown = registry.delivered.filter((l) => l.style.visible !== false).map((l) => l.id);
    const releaseShown = shown.filter((id) => release.layers.includes(id));
    const versions = new Map<string, string>();
    for (const id of shown) {
      const tj = (await (await fetch(`${url}/tiles/${id}.json`, { headers: { authorization: `Bearer ${tokens[READERS.staff]}` } })).json()) as { tiles: string[] };
      versions.set(id, new URL(tj.tiles[0].replace(/\{[xyz]\}/g, '0')).searchParams.get('v') ?? '');
    }
    const addresses = tileAddresses();
    const itemLayers = ['landuse_status', 'landuse_plan', 'urban_plan', 'eco_redline', 'econ_zones', 'water_source'];
    const identifyPoints = boxes(300, 7).map((b) => b.split(',').slice(0, 2));
    const reads: ReadKind[] = [
      { kind: 'anon_tiles', who: 'anonymous', connections: 32, thinkMs: 50, map: true, paths: releaseShown.flatMap((id) => addresses.map((a) => `/releases/${release.number}/tiles/${id}/${a.z}/${a.x}/${a.y}.mvt`)) },
      { kind: 'anon_items', who: 'anonymous', connections: 16, thinkMs: 1000, map: true, paths: boxes(400, 1).map((b, i) => `/releases/${release.number}/ogcapi/collections/${itemLayers.filter((l) => release.layers.includes(l))[i % 6]}/items?bbox=${b}&limit=100`) },
      { kind: 'staff_tiles', who: READERS.staff, connections: 4, thinkMs: 50, map: true, token: tokens[READERS.staff], paths: shown.flatMap((id) => addresses.map((a) => `/tiles/${id}/${a.z}/${a.x}/${a.y}.mvt?v=${versions.get(id)}`)) },
      { kind: 'staff_items', who: READERS.staff, connections: 4, thinkMs: 1000, map: true, token: tokens[READERS.staff], paths: boxes(400, 2).map((b, i) => `/ogcapi/collections/${itemLayers[i % itemLayers.length]}/items?bbox=${b}&limit=100`) },
      { kind: 'identify', who: READERS.staff, connections: 2, thinkMs: 2000, map: false, token: tokens[READERS.staff], paths: identifyPoints.map(([lon, lat]) => `/api/identify?lon=${lon}&lat=${lat}&zoom=15`) },
      {
        kind: 'exports',
        who: READERS.exports,
        connections: 1,
        thinkMs: 2000,
        map: false,
        token: tokens[READERS.exports],
        paths: ['/api/layers/pv_sites/export?format=geojson', '/api/layers/industrial_parks/export?format=shapefile', '/api/layers/subsidence/export?format=gpkg', '/api/layers/econ_projects/export?format=shapefile&crs=EPSG:4547&encoding=gbk'],
      },
    ];
    log(`warming: every read path once (${reads.reduce((a, k) => a + k.paths.length, 0)} requests) …`);
    const tWarm = Date.now();
    for (const k of reads) await warm(url, k);
    const warmS = (Date.now() - tWarm) / 1000;
    log(`warm in ${warmS.toFixed(0)} s`);

    // Before the load: who else is on the machine (the load is reported beside the figures).
    const before = { uptime: execFileSync('uptime', { encoding: 'utf8' }).trim(), loadavg: loadavg() };
    log(`load before: ${before.uptime}`);
    const samples: number[][] = [];
    const sampler = setInterval(() => samples.push(loadavg()), 5000);
    const cpu0 = { server: cpuOf(server.pid), bench: process.cpuUsage(), machine: machineCpu(), t: Date.now() };
    const activity = activitySampler(knex);
    const until = Date.now() + SECONDS * 1000;
    const writers = new Writers(url, tokens, until);
    const queues = new Map(REVIEWERS.map((r) => [r.split('.')[0], [] as { id: number; version: number }[]]));
    log(`load${CAPACITY ? ' (capacity: no pauses)' : ''}: ${SECONDS} s, ${reads.map((k) => `${k.kind} ${k.connections}`).join(', ')} connections; writers: ${IMPORTERS.length} importers, ${LEDGER.length} ledger, the window, ${REVIEWERS.length} reviewers (pause ${WRITE_PAUSE_MS} ms) …`);
    let wrk: WrkResult[];
    try {
      [wrk] = await Promise.all([
        Promise.all(reads.map((k, i) => runWrk(url, k, 2015 + i))),
        ...IMPORTERS.map((i) => writers.importer(i.account, i.layer, i.label, deliveries.get(i.layer)!)),
        ...LEDGER.map((l) => writers.ledger(l.account, cases.get(l.account)!)),
        writers.window(sites, queues),
        ...REVIEWERS.map((r) => writers.reviewer(r, queues.get(r.split('.')[0])!)),
      ]);
    } finally {
      clearInterval(sampler);
    }
    const elapsed = (Date.now() - cpu0.t) / 1000;
    const cpu1 = { server: cpuOf(server.pid), bench: process.cpuUsage(cpu0.bench), machine: machineCpu() };
    const pgActivity = await activity.stop();
    const after = { uptime: execFileSync('uptime', { encoding: 'utf8' }).trim(), loadavg: loadavg() };
    log(`load after: ${after.uptime}`);

    const figures: KindFigures[] = reads.map((k, i) => readFigures(k, wrk[i]));
    const writeKinds: [Write['kind'], string][] = [
      ['import', IMPORTERS.map((i) => `${i.account} → ${i.layer}`).join(', ')],
      ['ledger_transition', LEDGER.map((l) => l.account).join(', ')],
      ['ledger_comment', LEDGER.map((l) => l.account).join(', ')],
      ['application', WINDOW],
      ['opinion', REVIEWERS.join(', ')],
    ];
    for (const [kind, who] of writeKinds) figures.push(writeFigures(kind, who, writers.writes.filter((w) => w.kind === kind), elapsed));

    const exitCode = await server.stop();
    server = undefined;
    const serverLog = fs.readFileSync(path.join(OUT, 'load-server.log'), 'utf8');
    const loggedErrors = serverLog.split('\n').filter((l) => /"level":(50|60)/.test(l)).length;

    log('checking the writes …');
    const check = await checkWrites(knex, writers.writes);
    const chain = await verifyChain(knex);
    const approved = Number((await knex.raw("SELECT count(*) AS n FROM applications WHERE status = 'approved'")).rows[0].n);

    const map = figures.filter((f) => f.map);
    const worstMap = map.reduce((a, b) => (b.p95_ms > a.p95_ms ? b : a));
    const total5xx = figures.reduce((a, f) => a + f.errors5xx, 0);
    const socketErrors = figures.reduce((a, f) => a + f.socketErrors, 0);
    const met = { no5xx: total5xx === 0, noLostWrites: check.lost.length === 0, chain: chain.ok, mapP95: CAPACITY || worstMap.p95_ms < MAP_P95_MS };
    const serverCpu = cpu1.server - cpu0.server;
    const machineBusy = cpu1.machine.busy - cpu0.machine.busy;
    const wrkCpuS = [...wrkCpu.values()].reduce((a, b) => a + b, 0);
    const benchCpuS = (cpu1.bench.user + cpu1.bench.system) / 1e6;
    const summary = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
      command: `nice -n ${os.getPriority()} npm run bench:load -- --seconds ${SECONDS}${CAPACITY ? ' --capacity' : ''}`,
      capacity: CAPACITY,
      seconds: SECONDS,
      elapsed_s: round(elapsed),
      copy_s: round(copyMs / 1000),
      warm_s: round(warmS),
      database: { template: TEMPLATE, copy: DB, features, release: release.number, releaseMade: release.made },
      writePauseMs: WRITE_PAUSE_MS,
      load: { before, after, samples, max1min: Math.max(...samples.map((s) => s[0]), after.loadavg[0]) },
      cpu: {
        machine_s: round(elapsed * os.cpus().length),
        machine_busy_s: round(machineBusy),
        machine_busy_share: round(machineBusy / (elapsed * os.cpus().length), 2),
        service_s: round(serverCpu),
        wrk_s: round(wrkCpuS),
        bench_writers_s: round(benchCpuS),
        rest_s: round(machineBusy - serverCpu - wrkCpuS - benchCpuS),
        rest_is: 'PostgreSQL (backends, parallel workers, background writers), ogr2ogr of the exports, and whatever else ran on the machine',
      },
      postgres: pgActivity,
      kinds: figures,
      writes: { recorded: writers.writes.length, accepted: check.accepted, acceptedPerKind: check.perKind, lost: check.lost, applicationsApproved: approved },
      audit: chain,
      server: { exitCode, loggedErrors },
      socketErrors,
      goals: { no5xx: true, noLostWrites: true, chainVerifies: true, mapReadsP95BelowMs: CAPACITY ? null : MAP_P95_MS },
      met,
      total_s: round((Date.now() - started) / 1000),
    };
    fs.writeFileSync(path.join(OUT, CAPACITY ? 'load-capacity.json' : 'load.json'), JSON.stringify(summary, null, 2));

    const st = (o: Record<string, number>) => Object.entries(o).map(([s, n]) => `${s}: ${n}`).join(', ') || '—';
    console.log(`
Mixed load, ${SECONDS} s on ${summary.machine}, ${DB} (a copy of ${TEMPLATE}: ${features} features; release ${release.number}); load average ${before.loadavg.join(' ')} before, ${after.loadavg.join(' ')} after (1-min max ${summary.load.max1min})
CPU over the run: ${summary.cpu.machine_busy_s} of ${summary.cpu.machine_s} core-seconds busy (${Math.round(summary.cpu.machine_busy_share * 100)} %): the service's process ${summary.cpu.service_s}, wrk ${summary.cpu.wrk_s}, the writers' client ${summary.cpu.bench_writers_s}, the rest (PostgreSQL, ogr2ogr, others) ${summary.cpu.rest_s}
PostgreSQL: ${pgActivity.meanConnections} connections, ${pgActivity.meanBusy} busy on average (max ${pgActivity.maxBusy}): ${Object.entries(pgActivity.busyBy).slice(0, 6).map(([k, n]) => `${k} ${n}`).join(', ')}

| kind | who | client | requests | req/s | p50 ms | p95 ms | p99 ms | non-2xx | 5xx |
|---|---|---|---|---|---|---|---|---|---|
${figures.map((f) => `| ${f.kind}${f.map ? ' (map)' : ''} | ${f.who} | ${f.client} | ${f.requests} | ${f.rps} | ${f.p50_ms} | ${f.p95_ms} | ${f.p99_ms} | ${st(f.non2xx)} | ${f.errors5xx} |`).join('\n')}

Writes: ${check.accepted} accepted (${st(check.perKind)}); lost: ${check.lost.length}${check.lost.length ? ` (${check.lost.slice(0, 5).map((l) => `${l.kind} ${JSON.stringify(l.ref)} not in the ${l.missing}`).join('; ')})` : ''}; applications approved by every department: ${approved}
Audit chain: ${chain.ok ? `verifies, ${chain.entries} entries` : `BROKEN at ${JSON.stringify(chain.brokenAt)}`}; socket errors: ${socketErrors}; errors in the service's log: ${loggedErrors}

Goals: 0 5xx ${met.no5xx ? 'met' : `NOT met (${total5xx})`}; 0 lost writes ${met.noLostWrites ? 'met' : `NOT met (${check.lost.length})`}; audit chain ${met.chain ? 'met' : 'NOT met'}; p95 of map reads < ${MAP_P95_MS} ms ${CAPACITY ? `not a goal of the capacity run (worst ${worstMap.kind} ${worstMap.p95_ms} ms)` : met.mapP95 ? `met (worst ${worstMap.kind} ${worstMap.p95_ms} ms)` : `NOT met (${map.filter((f) => f.p95_ms >= MAP_P95_MS).map((f) => `${f.kind} ${f.p95_ms} ms`).join(', ')})`}`);
    const missed = [
      !met.no5xx && `${total5xx} answers were 5xx`,
      !met.noLostWrites && `${check.lost.length} accepted writes were lost`,
      !met.chain && 'the audit chain does not verify',
      !met.mapP95 && `the p95 of map reads is not under ${MAP_P95_MS} ms`,
    ].filter(Boolean);
    if (missed.length) console.log(`\nbench: goals missed: ${missed.join('; ')}`);
    return missed.length ? 1 : 0;
  } finally {
    await server?.stop();
    await db.close();
    if (!KEEP) {
      const m = await maintenance(config);
      await m.client.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch((err) => log(`could not drop ${DB}: ${(err as Error).message}`));
      await m.client.end();
      await m.stopCluster();
    }
    await stopCluster();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  if (err instanceof Stop) {
    console.error(`bench: ${err.message}`);
    process.exitCode = 1;
  } else throw err;
}
