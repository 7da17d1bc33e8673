// Conflict detection in PostGIS: every rule of layers/conflict-rules.json overlaid in set-based SQL,
// one run in ONE transaction (readers see the previous results until it commits), runs serialised
// by an advisory lock so any number of service instances can ask for one.
//
// A piece is the intersection of one feature of side a with one feature of side b within one
// district. Its id is stable: md5(rule, content key of a, content key of b, district), where a
// content key is md5(class code, geometry on a 1 mm grid); the same conflict keeps its id (and so
// its ledger case) as long as both source features are unchanged, whatever their fids.
//
// How a rule is computed (the same path for a full and an incremental run; an incremental run
// only takes the features of a changed layer that are new — read from the write log the plan
// tables' triggers keep, conflict_dirty — and drops the pieces of those that left):
//   1. pairs: a && b, then ST_Intersection (polygons only, so touching edges make no piece), with
//      the measures of the result (parts, area, perimeter) in the same parallel statement;
//   2. districts: the 2015 districts made a partition (each minus those before it, cut into
//      ≤128-vertex parts, plus "outside" for what lies in none); a pair whose source feature lies
//      wholly in one district takes it without any overlay (conflict_sources.adcode), the others
//      are cut by district;
//   3. overlaps: two pieces of a rule can only overlap if their a features overlap (or are one)
//      and their b features overlap (or are one). Plans tile the land, so such feature pairs are
//      few; they are kept per layer (conflict_source_overlaps) and maintained by content. A later
//      piece (by id) loses what earlier pieces cover: areas are never counted twice;
//   4. slivers: each polygon of a piece smaller than the rule's min_area_m2 or thinner than its
//      min_thinness (4πA/P², ellipsoidal area, spherical perimeter) is dropped and counted;
//   5. ledger: new patch ids open a case (待协调), vanished ones close theirs as resolved by data
//      (with the layer revision that did it), ids that come back reopen theirs.
// A full run writes only the pieces whose result differs from what is stored, so re-running over
// unchanged data changes nothing; every step of an incremental run touches only the changed
// features, their overlap neighbours and the pieces made from them.
import type { Knex } from 'knex';
import type { Layer, Registry } from '../layers/registry';
import { log } from '../platform/log';
import { layerTable, quoteIdent } from '../platform/sql';
import type { Rule, RuleSet } from './rules';

export type RunMode = 'full' | 'incremental';

export interface RunRequest {
  mode: RunMode;
  requestedBy: string;
  /** Why the run happens (the layers whose change triggered it, or a user's action). */
  trigger?: Record<string, unknown>;
}

export interface RuleStats {
  patches: number;
  area_m2: number;
  sliver_parts: number;
  sliver_area_m2: number;
  opened: number;
  closed: number;
  reopened: number;
  recomputed: 'full' | 'incremental' | 'none';
}

export interface RunResult {
  id: number;
  mode: RunMode;
  status: 'succeeded' | 'failed' | 'skipped';
  duration_ms: number;
  /** Layers whose content changed since the previous run (all of them for a first run). */
  changedLayers: string[];
  rules: Record<string, RuleStats>;
  totals: { patches: number; area_m2: number; sliver_parts: number; sliver_area_m2: number; opened: number; closed: number; reopened: number };
  layers: Record<string, { revision: number; version: number }>;
}

/** A rule a run recomputes: whole, or around the changes; the layer revision that resolves what vanishes. */
interface Planned {
  rule: Rule;
  whole: boolean;
  by: { layer: string; revision: number } | null;
}

const LOCK_KEY = 'onemap:conflicts';
/**
 * A run's process holds the advisory lock (RUN_LOCKS, run id) on a connection of its own from just
 * after its row is written until it ends, and PostgreSQL lets go of it when that connection goes
 * (a killed process, a lost server). So a run still 'running' whose lock nobody holds is dead.
 */
export const RUN_LOCKS = 20_261_128;
/** (A run's row is written a moment before its lock is taken: younger rows count as alive.) */
const DEAD_RUN_GRACE = "interval '10 seconds'";
/** SQL condition on conflict_runs: a run left 'running' by a process that is gone. */
export const DEAD_RUN = `(conflict_runs.status = 'running' AND conflict_runs.finished_at IS NULL AND conflict_runs.started_at < now() - ${DEAD_RUN_GRACE}
  AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = ${RUN_LOCKS} AND l.objid = conflict_runs.id AND l.objsubid = 2 AND l.granted))`;
/** District partition parts are cut to at most this many vertices (fast CoveredBy and overlays). */
const DISTRICT_PART_VERTICES = 128;
export const OUTSIDE = '';
/** Up to this many rows in the write log, an incremental run's plans are index-driven nested loops. */
const SMALL_CHANGE = 20_000;

/** A rule's totals: patches (pieces with a geometry), their area, and the slivers dropped. */
interface Sums {
  patches: number;
  area_m2: number;
  sliver_parts: number;
  sliver_area_m2: number;
}
interface SumRow {
  rule_id: string;
  patches: string;
  area_m2: number | null;
  sliver_parts: string | null;
  sliver_area_m2: number | null;
}
/** Sums per rule of a set of pieces (`kept`: the piece has a geometry). */
const SUMS = (from: string, kept: string) =>
  `SELECT rule_id, count(*) FILTER (WHERE ${kept}) AS patches, sum(area_m2) AS area_m2, sum(sliver_parts) AS sliver_parts, sum(sliver_area_m2) AS sliver_area_m2
     FROM ${from} GROUP BY rule_id`;
const toSums = (r: SumRow | undefined): Sums => ({
  patches: Number(r?.patches ?? 0),
  area_m2: r?.area_m2 ?? 0,
  sliver_parts: Number(r?.sliver_parts ?? 0),
  sliver_area_m2: r?.sliver_area_m2 ?? 0,
});
const addSums = (into: Map<string, Sums>, rows: SumRow[]) => {
  for (const row of rows) {
    const a = into.get(row.rule_id) ?? toSums(undefined);
    const b = toSums(row);
    into.set(row.rule_id, { patches: a.patches + b.patches, area_m2: a.area_m2 + b.area_m2, sliver_parts: a.sliver_parts + b.sliver_parts, sliver_area_m2: a.sliver_area_m2 + b.sliver_area_m2 });
  }
};

/** Parts, ellipsoidal area (m²) and spherical perimeter (m) of a polygonal geometry expression. */
const MEASURES = (g: string) => `ST_NumGeometries(${g}) AS n, ST_Area(${g}::geography, true) AS a, ST_Perimeter(${g}::geography, false) AS per`;

/** What a stored piece is compared by in a full run: same id (sources, district) and same result. */
const SIGNATURE = (src: string, f: string) =>
  `md5(concat_ws('|', ${src}.a_fid, ${src}.b_fid, ${f}.area_m2, ${f}.sliver_area_m2, ${f}.parts, ${f}.sliver_parts, ${f}.trimmed))::uuid`;

/**
 * A source feature's content key: its class code and its geometry on a 1e-8° grid (about 1 mm).
 * The grid keeps the key, and so the ids of its conflicts and their ledger cases, through a
 * re-delivery that went through another program's export (last-digit noise in coordinates); its
 * origin is offset so that short binary fractions (quantised sources) do not sit on its boundaries,
 * and it is normalised (ST_Normalize) so that ring direction, start vertex and part order do not count.
 */
/**
 * The district that wholly contains a geometry, or NULL: first one of the small parts (fast), and
 * for what crosses a line between parts, the whole district its parts belong to.
 */
const coverSql = (g: string) =>
  `COALESCE((SELECT d.adcode FROM conflict_district_parts d WHERE d.geom && ${g} AND ST_CoveredBy(${g}, d.geom) LIMIT 1),
            (SELECT w.adcode FROM conflict_districts w
              WHERE w.adcode = (SELECT min(d.adcode) FROM conflict_district_parts d WHERE d.geom && ${g} AND ST_Intersects(d.geom, ${g}))
                AND ST_CoveredBy(${g}, w.geom)))`;

const contentKey = (t: string) => `md5(convert_to(${t}.code, 'UTF8') || ST_AsEWKB(ST_Normalize(ST_SnapToGrid(${t}.geom, 3.14159265e-9, 2.71828183e-9, 1e-8, 1e-8))))::uuid`;

export class ConflictEngine {
  constructor(
    private readonly knex: Knex,
    readonly registry: Registry,
    readonly rules: RuleSet,
  ) {}

  private get districts(): Layer {
    const d = this.registry.byId.get('districts');
    if (!d) throw new Error("conflict detection needs the 'districts' layer in the registry");
    return d;
  }

  /** True once a run has succeeded (incremental catch-up needs a base). */
  async hasBase(): Promise<boolean> {
    const r = await this.knex('conflict_state').first('layer_id');
    return r !== undefined;
  }

  async run(req: RunRequest): Promise<RunResult> {
    const started = process.hrtime.bigint();
    const [{ id }] = await this.knex('conflict_runs')
      .insert({ mode: req.mode, status: 'running', trigger: JSON.stringify(req.trigger ?? {}), requested_by: req.requestedBy, rules: this.rules.rules.map((r) => r.id) })
      .returning<{ id: number }[]>('id');
    const alive = await this.holdRunLock(id);
    try {
      // The write-log triggers first, in a short transaction of their own: creating a trigger locks
      // its table against writes, which must not last as long as a run.
      const fresh = await this.knex.transaction(async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [LOCK_KEY]);
        return this.ensureLogging(trx, this.rules.layers.map((l) => l.id));
      });
      const result = await this.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL statement_timeout = 0');
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [LOCK_KEY]);
        // Runs left 'running' by a process that died (see RUN_LOCKS).
        await trx.raw(`UPDATE conflict_runs SET status = 'failed', error = 'interrupted', finished_at = now() WHERE id <> ? AND ${DEAD_RUN}`, [id]);
        return this.work(trx, id, req, fresh);
      });
      result.duration_ms = Number(process.hrtime.bigint() - started) / 1e6;
      await this.knex('conflict_runs').where({ id }).update({ duration_ms: result.duration_ms });
      log.info({ run: id, mode: result.mode, status: result.status, ms: Math.round(result.duration_ms), changed: result.changedLayers, totals: result.totals }, 'conflicts: run finished');
      return result;
    } catch (err) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      await this.knex('conflict_runs')
        .where({ id })
        .update({ status: 'failed', error: (String((err as Error).message ?? err).split(' - ').pop() ?? '').slice(0, 2000), finished_at: this.knex.fn.now(), duration_ms: ms })
        .catch(() => undefined);
      log.error({ err, run: id }, 'conflicts: run failed');
      throw err;
    } finally {
      await alive();
    }
  }

  /** Takes the run's liveness lock (RUN_LOCKS) on a pooled connection kept for the run; returns what lets both go. */
  private async holdRunLock(id: number): Promise<() => Promise<void>> {
    type Conn = { query(sql: string, values: unknown[]): Promise<unknown> };
    const client = this.knex.client as { acquireConnection(): Promise<Conn>; releaseConnection(c: Conn): Promise<unknown> };
    const conn = await client.acquireConnection();
    try {
      await conn.query('SELECT pg_advisory_lock($1, $2)', [RUN_LOCKS, id]);
    } catch (err) {
      await client.releaseConnection(conn);
      throw err;
    }
    return async () => {
      try {
        await conn.query('SELECT pg_advisory_unlock($1, $2)', [RUN_LOCKS, id]);
      } catch (err) {
        log.warn({ err, run: id }, 'conflicts: could not release the run lock');
      } finally {
        await client.releaseConnection(conn);
      }
    };
  }

  private async work(trx: Knex.Transaction, runId: number, req: RunRequest, freshlyLogged: Set<string>): Promise<RunResult> {
    const rules = this.rules.rules;
    const sourceLayers = this.rules.layers;
    const tracked = [...sourceLayers.map((l) => l.id), this.districts.id];

    // Where the layers stand now, and where they stood at the last run.
    const { rows: now } = await trx.raw<{ rows: { layer_id: string; version: string; revision: number | null; logged: boolean }[] }>(
      `SELECT l.id AS layer_id, COALESCE(v.version, 0) AS version,
              (SELECT max(revision) FROM layer_revisions r WHERE r.layer_id = l.id) AS revision,
              EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = l.id || '_dirty_ins') AS logged
         FROM unnest(?::text[]) AS l(id) LEFT JOIN layer_versions v ON v.layer_id = l.id`,
      [tracked],
    );
    const layers = Object.fromEntries(now.map((r) => [r.layer_id, { version: Number(r.version), revision: r.revision ?? 0 }]));
    // Layers whose writes were logged since the last run (not those whose triggers were only just put on).
    const logged = new Set(now.filter((r) => r.logged && !freshlyLogged.has(r.layer_id)).map((r) => r.layer_id));
    const state = new Map((await trx('conflict_state').select<{ layer_id: string; version: string }[]>('layer_id', 'version')).map((r) => [r.layer_id, Number(r.version)]));
    // The write log as this run sees it; exactly these rows are consumed at the end. A layer with
    // rows in it is changed whatever its version said a moment ago (a write may commit in between).
    await trx.raw('CREATE TEMP TABLE cf_dirty ON COMMIT DROP AS SELECT id, layer_id, fid, op FROM conflict_dirty');
    await trx.raw('CREATE INDEX ON cf_dirty (layer_id, fid)');
    const { rows: dirtyRows } = await trx.raw<{ rows: { layer_id: string; n: string }[] }>('SELECT layer_id, count(*) AS n FROM cf_dirty GROUP BY layer_id');
    const dirtyLayers = new Set(dirtyRows.map((r) => r.layer_id));
    const loggedRows = dirtyRows.reduce((n, r) => n + Number(r.n), 0);
    const changed = tracked.filter((id) => state.get(id) !== layers[id].version || dirtyLayers.has(id));

    // The rules as applied last time: a new or changed definition is recomputed in full.
    const { rows: applied } = await trx.raw<{ rows: { id: string; definition_hash: string; applied_run: number | null }[] }>(
      'SELECT id, definition_hash, applied_run FROM conflict_rules',
    );
    const appliedHash = new Map(applied.filter((r) => r.applied_run !== null).map((r) => [r.id, r.definition_hash]));
    await this.syncRules(trx);

    const noBase = state.size === 0;
    const districtsChanged = noBase || changed.includes(this.districts.id);
    const full = req.mode === 'full' || districtsChanged;
    const mode: RunMode = full ? 'full' : 'incremental';
    await trx('conflict_runs').where({ id: runId }).update({ mode, layers: JSON.stringify(layers) });

    if (districtsChanged || !(await trx('conflict_district_parts').first('part'))) await this.buildDistricts(trx);

    await trx.raw('CREATE TEMP TABLE cf_changed (layer_id text, fid bigint, change text, key uuid) ON COMMIT DROP');
    await trx.raw('CREATE TEMP TABLE cf_partner (layer_id text, fid bigint) ON COMMIT DROP');
    const { rows: truncated } = await trx.raw<{ rows: { layer_id: string }[] }>(`SELECT DISTINCT layer_id FROM cf_dirty WHERE op = 'T'`);
    for (const l of sourceLayers) {
      if (!full && !changed.includes(l.id)) continue;
      // Compared whole (content keys) when the log cannot say what changed — a full run (it is the
      // way back to a known state, whatever happened), the first run, a layer new to the rules, a
      // truncated layer, a table without the logging triggers — otherwise from the log.
      const compare = full || !state.has(l.id) || !logged.has(l.id) || truncated.some((t) => t.layer_id === l.id);
      await this.syncSources(trx, l, compare);
    }
    if (!noBase && districtsChanged) await this.recoverSources(trx);
    await trx.raw('CREATE INDEX ON cf_changed (layer_id, change, fid)');
    await trx.raw('CREATE INDEX ON cf_partner (layer_id, fid)');
    await trx.raw('ANALYZE cf_changed');
    await trx.raw('ANALYZE cf_partner');

    await trx.raw('CREATE TEMP TABLE cf_old (id uuid PRIMARY KEY, geom geometry, area_m2 double precision, a_fid bigint, b_fid bigint) ON COMMIT DROP');
    await trx.raw('CREATE TEMP TABLE cf_touched (rule_id text, id uuid, PRIMARY KEY (rule_id, id)) ON COMMIT DROP');
    const ledger: Record<string, { opened: number; closed: number; reopened: number; recomputed: RuleStats['recomputed'] }> = {};
    const work: Planned[] = [];
    for (const rule of rules) {
      const whole = full || appliedHash.get(rule.id) !== rule.hash;
      const touched = changed.includes(rule.a.layer.id) || changed.includes(rule.b.layer.id);
      if (!whole && !touched) {
        ledger[rule.id] = { opened: 0, closed: 0, reopened: 0, recomputed: 'none' };
        continue;
      }
      // The layer whose new content resolved a vanished patch (a's if both changed).
      const by = changed.includes(rule.a.layer.id) ? rule.a.layer.id : changed.includes(rule.b.layer.id) ? rule.b.layer.id : null;
      work.push({ rule, whole, by: by ? { layer: by, revision: layers[by].revision } : null });
    }
    let moved: { before: Map<string, Sums>; after: Map<string, Sums> } | null = null;
    if (work.length) {
      moved = await this.computeRules(trx, work, runId, loggedRows <= SMALL_CHANGE);
      Object.assign(ledger, await this.syncLedger(trx, work, runId));
    }
    await this.retireRules(trx, runId);
    await trx.raw('DELETE FROM conflict_dirty WHERE id = ANY(ARRAY(SELECT id FROM cf_dirty))');

    // The results now reflect these layer versions.
    await trx('conflict_state')
      .insert(tracked.map((id) => ({ layer_id: id, version: layers[id].version, revision: layers[id].revision, run_id: runId })))
      .onConflict('layer_id')
      .merge();
    await trx('conflict_rules').whereIn('id', rules.map((r) => r.id)).update({ applied_run: runId });

    // The totals per rule. A run that recomputed rules only around the changes takes the previous
    // run's and what its changes removed and added (reading every piece costs 15-30 ms on the
    // large data set); any other run, or one without such a base, sums the pieces.
    let current: Map<string, Sums> | null = null;
    if (!full && moved && work.every((w) => !w.whole)) {
      const prev = (await trx.raw<{ rows: { rules: Record<string, Partial<Sums>> | null }[] }>(
        `SELECT stats->'rules' AS rules FROM conflict_runs WHERE status = 'succeeded' AND id <> ? ORDER BY id DESC LIMIT 1`,
        [runId],
      )).rows[0]?.rules;
      const known = (r: Partial<Sums> | undefined): r is Sums =>
        r !== undefined && [r.patches, r.area_m2, r.sliver_parts, r.sliver_area_m2].every((v) => typeof v === 'number');
      if (prev && rules.every((rule) => known(prev[rule.id]))) {
        const { before, after } = moved;
        current = new Map(
          rules.map((rule) => {
            const p = prev[rule.id] as Sums;
            const b = before.get(rule.id) ?? toSums(undefined);
            const a = after.get(rule.id) ?? toSums(undefined);
            return [rule.id, {
              patches: p.patches + a.patches - b.patches,
              area_m2: p.area_m2 + a.area_m2 - b.area_m2,
              sliver_parts: p.sliver_parts + a.sliver_parts - b.sliver_parts,
              sliver_area_m2: p.sliver_area_m2 + a.sliver_area_m2 - b.sliver_area_m2,
            }];
          }),
        );
      }
    }
    if (!current) {
      const { rows: sums } = await trx.raw<{ rows: SumRow[] }>(SUMS('conflict_pieces', 'geom IS NOT NULL'));
      current = new Map(sums.map((r) => [r.rule_id, toSums(r)]));
    }
    const stats: Record<string, RuleStats> = {};
    for (const rule of rules) stats[rule.id] = { ...(current.get(rule.id) ?? toSums(undefined)), ...ledger[rule.id] };
    const sum = (k: keyof RuleStats) => Object.values(stats).reduce((s, r) => s + (r[k] as number), 0);
    const totals = {
      patches: sum('patches'),
      area_m2: sum('area_m2'),
      sliver_parts: sum('sliver_parts'),
      sliver_area_m2: sum('sliver_area_m2'),
      opened: sum('opened'),
      closed: sum('closed'),
      reopened: sum('reopened'),
    };
    // The published layer changed (tile caches, ETags): announced last, see conflicts_bump.
    if (full || (await trx.raw('SELECT EXISTS (SELECT 1 FROM cf_touched) AS t')).rows[0].t) await trx.raw('SELECT conflicts_bump()');
    await trx('conflict_runs')
      .where({ id: runId })
      .update({ status: 'succeeded', finished_at: trx.fn.now(), stats: JSON.stringify({ changedLayers: changed, totals, rules: stats }) });
    return { id: runId, mode, status: 'succeeded', duration_ms: 0, changedLayers: changed, rules: stats, totals, layers };
  }

  /** conflict_rules mirrors the rules file (what the published view, the ledger and the write log read). */
  private async syncRules(trx: Knex.Transaction) {
    const rows = this.rules.rules.map((r) => ({
      id: r.id,
      zh: r.zh,
      en: r.en,
      kind: r.kind,
      severity: r.severity,
      departments: r.departments,
      a_layer: r.a.layer.id,
      a_codes: r.a.codes,
      b_layer: r.b.layer.id,
      b_codes: r.b.codes,
      min_area_m2: r.min_area_m2,
      min_thinness: r.min_thinness,
      definition_hash: r.hash,
      active: true,
    }));
    await trx('conflict_rules').insert(rows).onConflict('id').merge(Object.keys(rows[0]).filter((k) => k !== 'id'));
  }

  /**
   * The write-log triggers (see conflict_dirty in the migration) on exactly the plan tables the
   * rules read: put on where missing, taken off where no rule reads the layer any more. Returns
   * the layers whose triggers were just put on (their earlier writes were not logged).
   */
  private async ensureLogging(trx: Knex.Transaction, layerIds: string[]): Promise<Set<string>> {
    const fresh = new Set<string>();
    const { rows } = await trx.raw<{ rows: { table_name: string; logged: boolean }[] }>(
      `SELECT c.relname AS table_name, EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = c.relname || '_dirty_ins') AS logged
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'plan' AND c.relkind = 'r'`,
    );
    const events = [
      ['ins', 'INSERT', 'REFERENCING NEW TABLE AS new_rows'],
      ['upd', 'UPDATE', 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'],
      ['del', 'DELETE', 'REFERENCING OLD TABLE AS old_rows'],
      ['trunc', 'TRUNCATE', ''],
    ];
    for (const { table_name: t, logged } of rows) {
      const wanted = layerIds.includes(t);
      if (wanted === logged) continue;
      for (const [suffix, event, referencing] of events) {
        const name = quoteIdent(`${t}_dirty_${suffix}`);
        if (wanted) await trx.raw(`CREATE TRIGGER ${name} AFTER ${event} ON ${layerTable(t)} ${referencing} FOR EACH STATEMENT EXECUTE FUNCTION conflict_dirty_log()`);
        else await trx.raw(`DROP TRIGGER IF EXISTS ${name} ON ${layerTable(t)}`);
      }
      if (wanted) fresh.add(t);
    }
    return fresh;
  }

  /** Rules no longer in the file: their patches go, their open cases close. */
  private async retireRules(trx: Knex.Transaction, runId: number) {
    const ids = this.rules.rules.map((r) => r.id);
    const { rows } = await trx.raw<{ rows: { id: string }[] }>('SELECT id FROM conflict_rules WHERE active AND NOT (id = ANY(?))', [ids]);
    for (const { id } of rows) {
      await trx.raw(
        `WITH d AS (DELETE FROM conflict_pieces WHERE rule_id = ? RETURNING id, geom, area_m2, a_fid, b_fid),
              o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM d WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING)
         INSERT INTO cf_touched SELECT ?, id FROM d ON CONFLICT DO NOTHING`,
        [id, id],
      );
      await this.closeVanished(trx, runId, [id], [], 'the rule was removed from layers/conflict-rules.json');
      // Forgotten as applied: if the rule comes back, it is recomputed whole.
      await trx('conflict_rules').where({ id }).update({ active: false, applied_run: null });
    }
  }

  /** The districts as a partition (conflict_districts), and in ≤128-vertex parts (conflict_district_parts). */
  private async buildDistricts(trx: Knex.Transaction) {
    const t = layerTable(this.districts.id);
    await trx.raw('TRUNCATE conflict_districts, conflict_district_parts RESTART IDENTITY');
    await trx.raw(`
      INSERT INTO conflict_districts (adcode, name, geom)
      WITH d AS (SELECT adcode, min(name) AS name, ST_Multi(ST_Union(geom)) AS geom, row_number() OVER (ORDER BY adcode) AS n FROM ${t} GROUP BY adcode)
      SELECT adcode, name, g FROM (
        SELECT d.adcode, d.name,
               ST_Multi(conflict_subtract(d.geom, ARRAY(SELECT e.geom FROM d e WHERE e.n < d.n AND e.geom && d.geom ORDER BY e.n))) AS g
          FROM d) p
       WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)`);
    await trx.raw(`
      INSERT INTO conflict_district_parts (adcode, name, geom)
      SELECT adcode, name, geom
        FROM (SELECT adcode, name, ST_Subdivide(geom, ${DISTRICT_PART_VERTICES}) AS geom FROM conflict_districts) s
       WHERE ST_GeometryType(geom) = 'ST_Polygon'
       ORDER BY adcode`);
    await trx.raw('ANALYZE conflict_districts');
    await trx.raw('ANALYZE conflict_district_parts');
  }

  /**
   * Brings conflict_sources of one layer up to its content and records what changed in
   * cf_changed ('gone' / 'new' fids) and their overlap partners in cf_partner. From the write log
   * (the fids written since the last run), or by comparing every feature's content key.
   */
  private async syncSources(trx: Knex.Transaction, layer: Layer, compare: boolean) {
    const t = layerTable(layer.id);
    const cover = (g: string) => coverSql(g);
    if (compare) {
      await trx.raw(`CREATE TEMP TABLE cf_cur ON COMMIT DROP AS SELECT t.fid, ${contentKey('t')} AS key FROM ${t} t`);
      await trx.raw('CREATE UNIQUE INDEX ON cf_cur (fid)');
      await trx.raw(
        `WITH g AS (
           DELETE FROM conflict_sources s WHERE s.layer_id = ?
              AND NOT EXISTS (SELECT 1 FROM cf_cur c WHERE c.fid = s.fid AND c.key = s.key)
           RETURNING s.fid, s.key)
         INSERT INTO cf_changed SELECT ?, fid, 'gone', key FROM g`,
        [layer.id, layer.id],
      );
      await trx.raw(
        `WITH n AS (
           INSERT INTO conflict_sources (layer_id, fid, key, adcode)
           SELECT ?, c.fid, c.key, ${cover('t.geom')}
             FROM cf_cur c JOIN ${t} t ON t.fid = c.fid
            WHERE NOT EXISTS (SELECT 1 FROM conflict_sources s WHERE s.layer_id = ? AND s.fid = c.fid)
           RETURNING fid)
         INSERT INTO cf_changed SELECT ?, fid, 'new' FROM n`,
        [layer.id, layer.id, layer.id],
      );
      await trx.raw('DROP TABLE cf_cur');
    } else {
      // Every fid written since the last run leaves and, if it is still there, comes back with
      // its current content (an unchanged content key gives the same piece ids again).
      await trx.raw(
        `WITH g AS (
           DELETE FROM conflict_sources s WHERE s.layer_id = ?
              AND s.fid IN (SELECT fid FROM cf_dirty WHERE layer_id = ? AND fid IS NOT NULL)
           RETURNING s.fid, s.key)
         INSERT INTO cf_changed SELECT ?, fid, 'gone', key FROM g`,
        [layer.id, layer.id, layer.id],
      );
      await trx.raw(
        `WITH n AS (
           INSERT INTO conflict_sources (layer_id, fid, key, adcode)
           SELECT ?, t.fid, ${contentKey('t')}, ${cover('t.geom')}
             FROM ${t} t WHERE t.fid IN (SELECT DISTINCT fid FROM cf_dirty WHERE layer_id = ? AND fid IS NOT NULL)
           RETURNING fid)
         INSERT INTO cf_changed SELECT ?, fid, 'new' FROM n`,
        [layer.id, layer.id, layer.id],
      );
    }
    // A feature identical to one that left (same content key) made the same pieces, which were kept
    // once, under the one that left: its pairs are computed again.
    await trx.raw(
      `INSERT INTO cf_changed
       SELECT ?, s.fid, 'new', s.key FROM conflict_sources s
        WHERE s.layer_id = ? AND s.key IN (SELECT key FROM cf_changed WHERE layer_id = ? AND change = 'gone')
          AND s.fid NOT IN (SELECT fid FROM cf_changed WHERE layer_id = ? AND change = 'new')`,
      [layer.id, layer.id, layer.id, layer.id],
    );
    // Overlap pairs: the partners of features that left are remembered (their pieces may have been
    // trimmed by the ones that left), then the pairs of new features are found.
    await trx.raw(
      `INSERT INTO cf_partner
       SELECT o.layer_id, o.fid2 FROM conflict_source_overlaps o JOIN cf_changed c ON c.layer_id = o.layer_id AND c.fid = o.fid1 AND c.change = 'gone' WHERE o.layer_id = ?
       UNION ALL
       SELECT o.layer_id, o.fid1 FROM conflict_source_overlaps o JOIN cf_changed c ON c.layer_id = o.layer_id AND c.fid = o.fid2 AND c.change = 'gone' WHERE o.layer_id = ?`,
      [layer.id, layer.id],
    );
    await trx.raw(
      `DELETE FROM conflict_source_overlaps o WHERE o.layer_id = ?
          AND (o.fid1 IN (SELECT fid FROM cf_changed WHERE layer_id = ? AND change = 'gone')
            OR o.fid2 IN (SELECT fid FROM cf_changed WHERE layer_id = ? AND change = 'gone'))`,
      [layer.id, layer.id, layer.id],
    );
    // Interiors that overlap (DE-9IM 2********): touching neighbours are not overlaps. ST_Relate
    // can fail on nearly coincident edges; then the overlay decides (robust, slower).
    const pairs = (predicate: string) =>
      `INSERT INTO conflict_source_overlaps (layer_id, fid1, fid2)
       SELECT ?, LEAST(n.fid, t.fid), GREATEST(n.fid, t.fid)
         FROM cf_changed c JOIN ${t} n ON n.fid = c.fid
         JOIN ${t} t ON t.geom && n.geom AND t.fid <> n.fid
        WHERE c.layer_id = ? AND c.change = 'new' AND ${predicate}
       ON CONFLICT DO NOTHING`;
    try {
      await trx.transaction((sp) => sp.raw(pairs(`ST_Relate(n.geom, t.geom, '2********')`), [layer.id, layer.id]));
    } catch (err) {
      log.warn({ layer: layer.id, err: (err as Error).message.split(' - ').pop() }, 'conflicts: ST_Relate failed; finding overlaps by overlay');
      await trx.raw(pairs('ST_Area(ST_Intersection(n.geom, t.geom)) > 0'), [layer.id, layer.id]);
    }
    await trx.raw(
      `INSERT INTO cf_partner
       SELECT o.layer_id, o.fid2 FROM conflict_source_overlaps o JOIN cf_changed c ON c.layer_id = o.layer_id AND c.fid = o.fid1 AND c.change = 'new' WHERE o.layer_id = ?
       UNION ALL
       SELECT o.layer_id, o.fid1 FROM conflict_source_overlaps o JOIN cf_changed c ON c.layer_id = o.layer_id AND c.fid = o.fid2 AND c.change = 'new' WHERE o.layer_id = ?`,
      [layer.id, layer.id],
    );
  }

  /** After the districts changed: every source's district cover is recomputed. */
  private async recoverSources(trx: Knex.Transaction) {
    for (const l of this.rules.layers) {
      await trx.raw(
        `UPDATE conflict_sources s SET adcode = ${coverSql('t.geom')}
           FROM ${layerTable(l.id)} t WHERE s.layer_id = ? AND t.fid = s.fid`,
        [l.id],
      );
    }
  }

  /**
   * Steps 1–4 of the top comment, for all the rules of a run at once: one overlay statement per
   * rule (each runs in parallel), then every later step as one statement over all of them (the
   * rule's parameters come from the temporary table cf_rules). A rule recomputed whole has every
   * pair computed and its stored pieces change only where the result differs (a full run over
   * unchanged data writes nothing); an incremental one loses the pieces of features that left,
   * gains those of new features, and the pieces around them (overlap neighbours) are trimmed again.
   */
  private async computeRules(trx: Knex.Transaction, work: Planned[], runId: number, small: boolean) {
    // What the pieces of incremental rules that this run deletes or rewrites held before, and what
    // the rewritten ones hold after (the run's totals follow from the previous run's).
    const before = new Map<string, Sums>();
    const after = new Map<string, Sums>();
    await trx.raw(`CREATE TEMP TABLE cf_rules (rule_id text PRIMARY KEY, a_layer text, b_layer text, min_area double precision, min_thin double precision, whole boolean,
                                               resolved_layer text, resolved_revision integer) ON COMMIT DROP`);
    await trx('cf_rules').insert(
      work.map((w) => ({
        rule_id: w.rule.id,
        a_layer: w.rule.a.layer.id,
        b_layer: w.rule.b.layer.id,
        min_area: w.rule.min_area_m2,
        min_thin: w.rule.min_thinness,
        whole: w.whole,
        resolved_layer: w.by?.layer ?? null,
        resolved_revision: w.by?.revision ?? null,
      })),
    );
    await trx.raw('ANALYZE cf_rules');
    const incremental = work.some((w) => !w.whole);
    // An incremental run's statements are small: starting parallel workers would cost more than they
    // save. For a small change set every statement is driven from a few hundred or thousand rows
    // into the indexes of the stored tables; the planner, misled by temporary tables it knows little
    // about, would otherwise hash whole stored tables (each join ~10-30 ms on the large data set).
    if (!work.some((w) => w.whole)) {
      await trx.raw('SET LOCAL max_parallel_workers_per_gather = 0');
      if (small) {
        await trx.raw('SET LOCAL enable_hashjoin = off');
        await trx.raw('SET LOCAL enable_mergejoin = off');
      }
    }

    if (incremental) {
      // Pieces of features that left go (their geometry is kept for the ledger).
      const { rows } = await trx.raw<{ rows: SumRow[] }>(
        `WITH ids AS (
           SELECT p.id FROM cf_rules r JOIN cf_changed c ON c.layer_id = r.a_layer AND c.change = 'gone'
             JOIN conflict_pieces p ON p.rule_id = r.rule_id AND p.a_fid = c.fid WHERE NOT r.whole
           UNION
           SELECT p.id FROM cf_rules r JOIN cf_changed c ON c.layer_id = r.b_layer AND c.change = 'gone'
             JOIN conflict_pieces p ON p.rule_id = r.rule_id AND p.b_fid = c.fid WHERE NOT r.whole),
         d AS (DELETE FROM conflict_pieces p WHERE p.id IN (SELECT id FROM ids)
               RETURNING p.rule_id, p.id, p.geom, p.area_m2, p.a_fid, p.b_fid, p.sliver_parts, p.sliver_area_m2),
         o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM d WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING),
         t AS (INSERT INTO cf_touched SELECT rule_id, id FROM d ON CONFLICT DO NOTHING)
         ${SUMS('d', 'geom IS NOT NULL')}`,
      );
      addSums(before, rows);
    }

    // 1. pairs, one statement per rule: every pair (whole) or those with a new feature on either
    //    side. No ST_Intersects first: the overlay itself says whether they meet (an empty result),
    //    for half the cost. The measures of each overlay (parts, ellipsoidal area, perimeter) are
    //    taken in the same call (conflict_overlay, see the migration), in parallel workers. A pair
    //    whose a or b lies wholly in one district gets its id here; the others are cut below.
    const parts: string[] = [];
    const temps: string[] = [];
    const around: string[] = [];
    const bindings: Knex.RawBinding[] = [];
    for (const [i, w] of work.entries()) {
      const { rule } = w;
      const A = rule.a.layer.id;
      const B = rule.b.layer.id;
      const pairSql = (scope: string) => `
        SELECT ?::text AS rule_id,
               CASE WHEN COALESCE(sa.adcode, sb.adcode) IS NOT NULL
                    THEN md5(concat_ws('|', ?::text, sa.key, sb.key, COALESCE(sa.adcode, sb.adcode)))::uuid END AS id,
               COALESCE(sa.adcode, sb.adcode) AS adcode,
               a.fid AS a_fid, a.code AS a_code, sa.key AS a_key, b.fid AS b_fid, b.code AS b_code, sb.key AS b_key, i.g, i.n, i.area AS a, i.per
          FROM ${layerTable(A)} a JOIN ${layerTable(B)} b ON a.geom && b.geom
          JOIN conflict_sources sa ON sa.layer_id = ? AND sa.fid = a.fid
          JOIN conflict_sources sb ON sb.layer_id = ? AND sb.fid = b.fid
          CROSS JOIN LATERAL conflict_overlay(a.geom, b.geom) i
         WHERE a.code = ANY(?) AND b.code = ANY(?) AND ${scope}`;
      if (w.whole) {
        const t = `cf_p${i}`;
        await trx.raw(`CREATE TEMP TABLE ${t} ON COMMIT DROP AS ${pairSql('true')}`, [rule.id, rule.id, A, B, rule.a.codes, rule.b.codes]);
        temps.push(t);
        parts.push(`SELECT * FROM ${t} WHERE n > 0`);
      } else {
        // Around the changes the statements are small: those of all incremental rules go as one.
        const isNew = (side: 'a' | 'b') => `${side}.fid IN (SELECT fid FROM cf_changed WHERE layer_id = ? AND change = 'new')`;
        around.push(`${pairSql(isNew('a'))} UNION ALL ${pairSql(`${isNew('b')} AND NOT ${isNew('a')}`)}`);
        bindings.push(rule.id, rule.id, A, B, rule.a.codes, rule.b.codes, A, rule.id, rule.id, A, B, rule.a.codes, rule.b.codes, B, A);
      }
    }
    if (around.length) parts.push(`SELECT * FROM (${around.join(' UNION ALL ')}) x WHERE n > 0`);
    await trx.raw(`CREATE TEMP TABLE cf_p ON COMMIT DROP AS ${parts.join(' UNION ALL ')}`, bindings);
    if (temps.length) await trx.raw(`DROP TABLE ${temps.join(', ')}`);

    // 2. districts: the pairs in no single district are cut by district, and what lies in none
    //    (beyond the city's edge, or in a gap between two districts) is kept as "outside".
    await trx.raw(
      `INSERT INTO cf_p
       SELECT x.rule_id, md5(concat_ws('|', x.rule_id, x.a_key, x.b_key, x.adcode))::uuid, x.adcode, x.a_fid, x.a_code, x.a_key, x.b_fid, x.b_code, x.b_key, x.g, ${MEASURES('x.g')}
         FROM (
           SELECT p.rule_id, p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, d.adcode,
                  ST_Multi(ST_CollectionExtract(ST_Union(CASE WHEN ST_CoveredBy(p.g, d.geom) THEN p.g ELSE ST_Intersection(p.g, d.geom) END), 3)) AS g
             FROM cf_p p JOIN conflict_district_parts d ON d.geom && p.g AND ST_Intersects(d.geom, p.g)
            WHERE p.adcode IS NULL
            GROUP BY p.rule_id, p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, d.adcode
           UNION ALL
           SELECT p.rule_id, p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, '${OUTSIDE}',
                  ST_Multi(conflict_subtract(p.g, ARRAY(SELECT d.geom FROM conflict_district_parts d WHERE d.geom && p.g ORDER BY d.part)))
             FROM cf_p p WHERE p.adcode IS NULL) x
        WHERE x.g IS NOT NULL AND NOT ST_IsEmpty(x.g)`,
    );
    await trx.raw('DELETE FROM cf_p WHERE adcode IS NULL');
    // Identical sources make identical ids: the first stays (the other would be trimmed to nothing).
    await trx.raw(
      `DELETE FROM cf_p p USING (SELECT id, min(ctid) AS keep FROM cf_p GROUP BY id HAVING count(*) > 1) d
        WHERE p.id = d.id AND p.ctid <> d.keep`,
    );
    await trx.raw('CREATE UNIQUE INDEX ON cf_p (id)');
    await trx.raw('CREATE INDEX ON cf_p (rule_id, b_fid)');
    await trx.raw('CREATE INDEX ON cf_p (rule_id, a_fid)');
    await trx.raw('ANALYZE cf_p (rule_id, id, adcode, a_fid, b_fid)'); // not the geometry: its statistics are costly and unused

    // 3. overlaps. Candidate pairs of pieces: same a and overlapping b's, overlapping a's and the
    //    same b, or both overlapping; the later piece (by id) loses what the earlier one covers.
    //    Rules recomputed whole look for them among their new pieces (cf_p); incremental ones
    //    among the stored pieces, to which the new ones are added first, around the changes.
    await trx.raw(
      `WITH i AS (
         INSERT INTO conflict_pieces (id, rule_id, adcode, a_layer, a_fid, a_key, a_code, b_layer, b_fid, b_key, b_code, raw, run_id)
         SELECT n.id, n.rule_id, n.adcode, r.a_layer, n.a_fid, n.a_key, n.a_code, r.b_layer, n.b_fid, n.b_key, n.b_code, n.g, ?
           FROM cf_p n JOIN cf_rules r ON r.rule_id = n.rule_id AND NOT r.whole
         ON CONFLICT (id) DO NOTHING RETURNING rule_id, id)
       INSERT INTO cf_touched SELECT rule_id, id FROM i ON CONFLICT DO NOTHING`,
      [runId],
    );
    // The pieces whose trimming is computed again (the seeds): all new ones (cf_p), and, in an
    // incremental rule, the stored pieces whose earlier overlapping pieces changed. A piece's
    // geometry is its raw overlay minus the raw overlays of the earlier pieces that overlap it, so
    // it changes only when one of those comes or goes. One that goes had trimmed it, so it is a
    // trimmed piece of a feature that overlapped (or was) a changed one; one that comes is a new
    // piece, and the stored pieces it is earlier than are added once the candidates are known.
    await trx.raw(
      `CREATE TEMP TABLE cf_seed ON COMMIT DROP AS
       SELECT n.rule_id, n.id, n.a_fid, n.b_fid, n.adcode, false AS trimmed FROM cf_p n
       ${incremental ? `UNION
       SELECT p.rule_id, p.id, p.a_fid, p.b_fid, p.adcode, p.trimmed FROM conflict_pieces p JOIN cf_rules r ON r.rule_id = p.rule_id AND NOT r.whole
        WHERE p.trimmed AND p.id NOT IN (SELECT id FROM cf_p)
          AND (EXISTS (SELECT 1 FROM cf_partner x WHERE x.layer_id = r.a_layer AND x.fid = p.a_fid)
            OR EXISTS (SELECT 1 FROM cf_changed x WHERE x.layer_id = r.a_layer AND x.change IN ('gone', 'new') AND x.fid = p.a_fid)
            OR EXISTS (SELECT 1 FROM cf_partner x WHERE x.layer_id = r.b_layer AND x.fid = p.b_fid)
            OR EXISTS (SELECT 1 FROM cf_changed x WHERE x.layer_id = r.b_layer AND x.change IN ('gone', 'new') AND x.fid = p.b_fid))` : ''}`,
    );
    await trx.raw('CREATE INDEX ON cf_seed (id)');
    // Whole rules: driven from the (few) overlap pairs, among the new pieces.
    const aOverlap = (p: string, q: string) =>
      `(${q}.a_fid = ${p}.a_fid OR EXISTS (SELECT 1 FROM conflict_source_overlaps oa WHERE oa.layer_id = r.a_layer AND oa.fid1 = LEAST(${p}.a_fid, ${q}.a_fid) AND oa.fid2 = GREATEST(${p}.a_fid, ${q}.a_fid)))`;
    const wholePairs = `
      SELECT r.rule_id, p.id AS x, q.id AS y FROM cf_rules r
        JOIN conflict_source_overlaps ob ON ob.layer_id = r.b_layer
        JOIN cf_p p ON p.rule_id = r.rule_id AND p.b_fid = ob.fid1
        JOIN cf_p q ON q.rule_id = r.rule_id AND q.b_fid = ob.fid2 AND q.adcode = p.adcode
       WHERE r.whole AND ${aOverlap('p', 'q')}
      UNION
      SELECT r.rule_id, p.id, q.id FROM cf_rules r
        JOIN conflict_source_overlaps oa ON oa.layer_id = r.a_layer
        JOIN cf_p p ON p.rule_id = r.rule_id AND p.a_fid = oa.fid1
        JOIN cf_p q ON q.rule_id = r.rule_id AND q.a_fid = oa.fid2 AND q.adcode = p.adcode AND q.b_fid = p.b_fid
       WHERE r.whole`;
    // Incremental rules: driven from the seeds, among the stored pieces (the new ones included):
    // per seed, the features overlapping its b (or a) feature, then their pieces, by index.
    const overlapping = (layer: string, fid: string) => `
      SELECT o.fid2 AS f FROM conflict_source_overlaps o WHERE o.layer_id = ${layer} AND o.fid1 = ${fid}
      UNION ALL
      SELECT o.fid1 FROM conflict_source_overlaps o WHERE o.layer_id = ${layer} AND o.fid2 = ${fid}`;
    const seedPairs = `
      SELECT s.rule_id, s.id AS x, q.id AS y FROM cf_seed s JOIN cf_rules r ON r.rule_id = s.rule_id AND NOT r.whole
       CROSS JOIN LATERAL (${overlapping('r.b_layer', 's.b_fid')}) ob
       CROSS JOIN LATERAL (SELECT q.id, q.a_fid FROM conflict_pieces q WHERE q.rule_id = s.rule_id AND q.b_fid = ob.f AND q.adcode = s.adcode) q
       WHERE ${aOverlap('s', 'q')}
      UNION
      SELECT s.rule_id, s.id, q.id FROM cf_seed s JOIN cf_rules r ON r.rule_id = s.rule_id AND NOT r.whole
       CROSS JOIN LATERAL (${overlapping('r.a_layer', 's.a_fid')}) oa
       CROSS JOIN LATERAL (SELECT q.id FROM conflict_pieces q WHERE q.rule_id = s.rule_id AND q.a_fid = oa.f AND q.adcode = s.adcode AND q.b_fid = s.b_fid) q`;
    const anyWhole = work.some((w) => w.whole);
    if (incremental) {
      // Stored pieces that a new piece comes before and overlaps the features of: their trimming
      // changes, so they are seeds too (with all their candidates, found below).
      await trx.raw(
        `INSERT INTO cf_seed
         SELECT DISTINCT p.rule_id, p.id, p.a_fid, p.b_fid, p.adcode, p.trimmed
           FROM (${seedPairs.replaceAll('FROM cf_seed s', 'FROM (SELECT * FROM cf_seed WHERE id IN (SELECT id FROM cf_p)) s')}) c
           JOIN conflict_pieces p ON p.id = c.y
          WHERE c.y > c.x AND c.y NOT IN (SELECT id FROM cf_seed)`,
      );
      await trx.raw('ANALYZE cf_seed');
    }
    await trx.raw(
      `CREATE TEMP TABLE cf_cand ON COMMIT DROP AS
       WITH pairs AS (${[anyWhole ? wholePairs : '', incremental ? seedPairs : ''].filter(Boolean).join(' UNION ')})
       SELECT DISTINCT rule_id, GREATEST(x, y) AS later, LEAST(x, y) AS earlier FROM pairs`,
    );
    await trx.raw('ANALYZE cf_cand');
    // The pieces the overlaps concern, with their geometry from the new table or the stored one.
    await trx.raw(
      `CREATE TEMP TABLE cf_raw ON COMMIT DROP AS
       WITH ids AS (SELECT later AS id FROM cf_cand UNION SELECT earlier FROM cf_cand UNION SELECT id FROM cf_seed WHERE trimmed)
       SELECT n.rule_id, n.id, n.a_fid, n.b_fid, n.g AS raw FROM ids JOIN cf_p n ON n.id = ids.id
       UNION ALL
       SELECT p.rule_id, p.id, p.a_fid, p.b_fid, p.raw FROM ids JOIN conflict_pieces p ON p.id = ids.id WHERE ids.id NOT IN (SELECT id FROM cf_p)`,
    );
    await trx.raw('CREATE UNIQUE INDEX ON cf_raw (id)');
    // Overlaps are where overlays leave their rare invalid output (an edge shared by two parts);
    // the pieces that take part are made valid first. Whether two pieces overlap is asked of the
    // overlay (robust, snapping when it must), not of ST_Relate, which can fail on nearly
    // coincident edges ("side location conflict"), as pieces cut from neighbouring features have.
    await trx.raw(`
      CREATE TEMP TABLE cf_valid ON COMMIT DROP AS
      SELECT v.id, CASE WHEN ST_IsValid(v.raw) THEN v.raw ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(v.raw), 3)) END AS g
        FROM cf_raw v WHERE v.id IN (SELECT later FROM cf_cand UNION SELECT earlier FROM cf_cand)`);
    await trx.raw('CREATE UNIQUE INDEX ON cf_valid (id)');
    // The pieces whose geometry changes here: those with an earlier candidate, and (incremental)
    // those trimmed before (what covered them may be gone); their measures are taken again.
    await trx.raw(
      `CREATE TEMP TABLE cf_trim ON COMMIT DROP AS
       SELECT rule_id, id, g, c_trimmed AS trimmed, ${MEASURES('g')} FROM (
         SELECT q.rule_id, q.id, CASE WHEN c.u IS NULL THEN q.raw ELSE ST_Multi(ST_CollectionExtract(ST_Difference(v.g, c.u), 3)) END AS g, c.u IS NOT NULL AS c_trimmed
           FROM cf_raw q
           LEFT JOIN cf_valid v ON v.id = q.id
           LEFT JOIN LATERAL (
             SELECT ST_Union(e.g) AS u FROM cf_cand c JOIN cf_valid e ON e.id = c.earlier
              WHERE c.later = q.id AND v.g IS NOT NULL AND e.g && v.g AND ST_Area(ST_Intersection(e.g, v.g)) > 0) c ON true
          WHERE q.id IN (SELECT later FROM cf_cand WHERE later IN (SELECT id FROM cf_seed) UNION SELECT id FROM cf_seed WHERE trimmed)) t`,
    );
    await trx.raw('CREATE UNIQUE INDEX ON cf_trim (id)');

    // 4. polygons and slivers, for the new pieces and the trimmed ones. A one-polygon piece is
    //    decided by its measures; a piece of several polygons is taken apart, each polygon alone.
    const thin = (a: string, per: string) => `4 * pi() * ${a} / NULLIF(${per} * ${per}, 0)`;
    const keep = (a: string, per: string) => `COALESCE(${a} >= r.min_area AND ${thin(a, per)} >= r.min_thin, false)`;
    await trx.raw(`
      CREATE TEMP TABLE cf_final ON COMMIT DROP AS
      WITH geo AS MATERIALIZED (
        SELECT COALESCE(n.rule_id, t.rule_id) AS rule_id, COALESCE(n.id, t.id) AS id, COALESCE(t.g, n.g) AS g, COALESCE(t.trimmed, false) AS trimmed,
               COALESCE(t.n, n.n) AS n, COALESCE(t.a, n.a) AS a, COALESCE(t.per, n.per) AS per
          FROM cf_p n FULL JOIN cf_trim t ON t.id = n.id)
      , fids AS (SELECT id, a_fid, b_fid FROM cf_p UNION ALL SELECT id, a_fid, b_fid FROM cf_raw WHERE id NOT IN (SELECT id FROM cf_p))
      , f AS (
      SELECT g1.id, g1.rule_id, g1.trimmed, CASE WHEN k THEN g END AS geom, CASE WHEN k THEN a ELSE 0 END AS area_m2, CASE WHEN k THEN 1 ELSE 0 END AS parts,
             CASE WHEN k THEN ${thin('a', 'per')} END AS thinness, CASE WHEN k THEN 0 ELSE 1 END AS sliver_parts, CASE WHEN k THEN 0 ELSE a END AS sliver_area_m2
        FROM (SELECT geo.*, ${keep('geo.a', 'geo.per')} AS k FROM geo JOIN cf_rules r ON r.rule_id = geo.rule_id WHERE geo.n = 1) g1
      UNION ALL
      SELECT id, rule_id, trimmed, ST_Multi(ST_Collect(pg) FILTER (WHERE k)), COALESCE(sum(pa) FILTER (WHERE k), 0), count(*) FILTER (WHERE k),
             min(${thin('pa', 'pper')}) FILTER (WHERE k), count(*) FILTER (WHERE NOT k), COALESCE(sum(pa) FILTER (WHERE NOT k), 0)
        FROM (SELECT m.*, ${keep('m.pa', 'm.pper')} AS k
                FROM (SELECT geo.id, geo.rule_id, geo.trimmed, d.geom AS pg, ST_Area(d.geom::geography, true) AS pa, ST_Perimeter(d.geom::geography, false) AS pper
                        FROM geo CROSS JOIN LATERAL ST_Dump(geo.g) d WHERE geo.n > 1) m JOIN cf_rules r ON r.rule_id = m.rule_id) k
       GROUP BY id, rule_id, trimmed
      UNION ALL
      SELECT id, rule_id, trimmed, NULL, 0, 0, NULL, 0, 0 FROM geo WHERE COALESCE(n, 0) = 0)
      SELECT f.*, ${SIGNATURE('x', 'f')} AS sig FROM f JOIN fids x ON x.id = f.id`);
    await trx.raw('CREATE UNIQUE INDEX ON cf_final (id)');

    // Whole rules: only what differs is written (a stored piece with the same id and signature stays).
    await trx.raw(
      `WITH d AS (
         DELETE FROM conflict_pieces p USING cf_rules r
          WHERE p.rule_id = r.rule_id AND r.whole
            AND NOT EXISTS (SELECT 1 FROM cf_final f WHERE f.id = p.id AND f.sig = p.hash)
         RETURNING p.rule_id, p.id, p.geom, p.area_m2, p.a_fid, p.b_fid),
       o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM d WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING)
       INSERT INTO cf_touched SELECT rule_id, id FROM d ON CONFLICT DO NOTHING`,
    );
    await trx.raw(
      `WITH i AS (
         INSERT INTO conflict_pieces (id, rule_id, adcode, a_layer, a_fid, a_key, a_code, b_layer, b_fid, b_key, b_code, raw, geom, area_m2, parts, thinness, sliver_parts, sliver_area_m2, trimmed, hash, run_id)
         SELECT n.id, n.rule_id, n.adcode, r.a_layer, n.a_fid, n.a_key, n.a_code, r.b_layer, n.b_fid, n.b_key, n.b_code, n.g, f.geom, f.area_m2, f.parts, f.thinness, f.sliver_parts, f.sliver_area_m2, f.trimmed, f.sig, ?
           FROM cf_final f JOIN cf_p n ON n.id = f.id JOIN cf_rules r ON r.rule_id = n.rule_id AND r.whole
          WHERE NOT EXISTS (SELECT 1 FROM conflict_pieces p WHERE p.id = f.id)
         RETURNING rule_id, id)
       INSERT INTO cf_touched SELECT rule_id, id FROM i ON CONFLICT DO NOTHING`,
      [runId],
    );
    if (incremental) {
      // Incremental rules: the new and re-trimmed pieces are updated in place (what they were is
      // kept for the ledger, and with what they are, for the totals).
      const { rows } = await trx.raw<{ rows: (SumRow & { k: 'before' | 'after' })[] }>(
        `WITH b AS (
           SELECT p.rule_id, p.id, p.geom, p.area_m2, p.a_fid, p.b_fid, p.sliver_parts, p.sliver_area_m2
             FROM cf_final f JOIN cf_rules r ON r.rule_id = f.rule_id AND NOT r.whole JOIN conflict_pieces p ON p.id = f.id),
         o AS (INSERT INTO cf_old SELECT id, geom, area_m2, a_fid, b_fid FROM b WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING),
         u AS (
           UPDATE conflict_pieces p
              SET geom = f.geom, area_m2 = f.area_m2, parts = f.parts, thinness = f.thinness, sliver_parts = f.sliver_parts,
                  sliver_area_m2 = f.sliver_area_m2, trimmed = f.trimmed, hash = f.sig, run_id = ?
             FROM cf_final f JOIN cf_rules r ON r.rule_id = f.rule_id AND NOT r.whole
            WHERE p.id = f.id
           RETURNING p.rule_id, p.id, p.geom IS NOT NULL AS kept, p.area_m2, p.sliver_parts, p.sliver_area_m2),
         t AS (INSERT INTO cf_touched SELECT rule_id, id FROM u ON CONFLICT DO NOTHING)
         SELECT 'before' AS k, x.* FROM (${SUMS('b', 'geom IS NOT NULL')}) x
         UNION ALL
         SELECT 'after', y.* FROM (${SUMS('u', 'kept')}) y`,
        [runId],
      );
      addSums(before, rows.filter((r) => r.k === 'before'));
      addSums(after, rows.filter((r) => r.k === 'after'));
    }
    await trx.raw('DROP TABLE cf_p, cf_seed, cf_cand, cf_raw, cf_valid, cf_trim, cf_final');
    return { before, after };
  }

  /**
   * Step 5: the ledger follows the patches: for a rule recomputed whole every case and patch of
   * the rule is checked (the ledger is made consistent, whatever happened to it), for an
   * incremental one only the pieces this run touched.
   */
  private async syncLedger(trx: Knex.Transaction, work: Planned[], runId: number) {
    const whole = work.filter((w) => w.whole).map((w) => w.rule.id);
    const incr = work.filter((w) => !w.whole).map((w) => w.rule.id);
    // The pieces in scope, as two driving sets (a rule's all, or the touched ones) — never an OR.
    const pieces = `SELECT p.* FROM conflict_pieces p WHERE p.rule_id = ANY(:whole)
                    UNION ALL
                    SELECT p.* FROM cf_touched t JOIN conflict_pieces p ON p.id = t.id WHERE t.rule_id = ANY(:incr)`;
    const closed = await this.closeVanished(trx, runId, whole, incr);
    const { rows: reopened } = await trx.raw<{ rows: { rule_id: string; n: string }[] }>(
      `WITH t AS (
         SELECT c.id, c.rule_id FROM (${pieces}) p JOIN conflict_cases c ON c.id = p.id
          WHERE c.status = 'resolved_by_data' AND p.geom IS NOT NULL),
       u AS (
         UPDATE conflict_cases c SET status = 'pending', decision = NULL, reason = NULL, district_opinion = NULL, city_opinion = NULL, effective_date = NULL, version = c.version + 1,
                resolved_run = NULL, resolved_layer = NULL, resolved_revision = NULL, last_run = :run, updated_at = now()
           FROM t WHERE c.id = t.id RETURNING c.id, c.rule_id),
       e AS (
         INSERT INTO conflict_case_events (case_id, actor, action, from_status, to_status, run_id, details)
         SELECT u.id, 'system', 'reappeared', 'resolved_by_data', 'pending', :run,
                jsonb_strip_nulls(jsonb_build_object('layer', r.resolved_layer, 'revision', r.resolved_revision))
           FROM u JOIN cf_rules r ON r.rule_id = u.rule_id)
       SELECT rule_id, count(*) AS n FROM u GROUP BY rule_id`,
      { whole, incr, run: runId },
    );
    const { rows: opened } = await trx.raw<{ rows: { rule_id: string; n: string }[] }>(
      `WITH n AS (
         INSERT INTO conflict_cases (id, rule_id, adcode, district, a_layer, a_code, b_layer, b_code, first_run, last_run)
         SELECT p.id, p.rule_id, p.adcode, (SELECT d.name FROM conflict_districts d WHERE d.adcode = p.adcode), p.a_layer, p.a_code, p.b_layer, p.b_code, :run, :run
           FROM (${pieces}) p
          WHERE p.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conflict_cases c WHERE c.id = p.id)
         RETURNING id, rule_id),
       e AS (INSERT INTO conflict_case_events (case_id, actor, action, to_status, run_id) SELECT id, 'system', 'detected', 'pending', :run FROM n)
       SELECT rule_id, count(*) AS n FROM n GROUP BY rule_id`,
      { whole, incr, run: runId },
    );
    const count = (rows: { rule_id: string; n: string }[], id: string) => Number(rows.find((r) => r.rule_id === id)?.n ?? 0);
    return Object.fromEntries(
      work.map((w) => [
        w.rule.id,
        { opened: count(opened, w.rule.id), closed: count(closed, w.rule.id), reopened: count(reopened, w.rule.id), recomputed: (w.whole ? 'full' : 'incremental') as RuleStats['recomputed'] },
      ]),
    );
  }

  /**
   * Open cases whose patch is gone close as resolved by data, with the layer revision that did it
   * (cf_rules): every open case of the rules recomputed whole, the touched ones of the others.
   * A retired rule (`note`) closes all its open cases, with no revision to point at.
   */
  private async closeVanished(trx: Knex.Transaction, runId: number, whole: string[], incr: string[], note?: string) {
    const resolvedBy = note
      ? 'NULL::text AS resolved_layer, NULL::integer AS resolved_revision'
      : '(SELECT r.resolved_layer FROM cf_rules r WHERE r.rule_id = c.rule_id) AS resolved_layer, (SELECT r.resolved_revision FROM cf_rules r WHERE r.rule_id = c.rule_id) AS resolved_revision';
    const gone = 'c.status <> \'resolved_by_data\' AND NOT EXISTS (SELECT 1 FROM conflict_pieces p WHERE p.id = c.id AND p.geom IS NOT NULL)';
    const { rows } = await trx.raw<{ rows: { rule_id: string; n: string }[] }>(
      `WITH t AS (
         SELECT c.id, c.rule_id, c.status, ${resolvedBy} FROM conflict_cases c WHERE c.rule_id = ANY(:whole) AND ${gone}
         UNION ALL
         SELECT c.id, c.rule_id, c.status, ${resolvedBy} FROM ${incr.length ? 'cf_touched x JOIN conflict_cases c ON c.id = x.id WHERE x.rule_id = ANY(:incr) AND' : 'conflict_cases c WHERE false AND'} ${gone}),
       u AS (
         UPDATE conflict_cases c
            SET status = 'resolved_by_data', version = c.version + 1, resolved_run = :run, resolved_layer = t.resolved_layer, resolved_revision = t.resolved_revision,
                last_geom = COALESCE((SELECT ST_Multi(o.geom) FROM cf_old o WHERE o.id = c.id), c.last_geom),
                last_area_m2 = COALESCE((SELECT o.area_m2 FROM cf_old o WHERE o.id = c.id), c.last_area_m2),
                last_a_fid = COALESCE((SELECT o.a_fid FROM cf_old o WHERE o.id = c.id), c.last_a_fid),
                last_b_fid = COALESCE((SELECT o.b_fid FROM cf_old o WHERE o.id = c.id), c.last_b_fid),
                updated_at = now()
           FROM t WHERE c.id = t.id RETURNING c.id, c.rule_id, t.status, t.resolved_layer, t.resolved_revision),
       e AS (
         INSERT INTO conflict_case_events (case_id, actor, action, from_status, to_status, run_id, details)
         SELECT id, 'system', 'resolved_by_data', status, 'resolved_by_data', :run,
                jsonb_strip_nulls(jsonb_build_object('layer', resolved_layer, 'revision', resolved_revision, 'note', :note::text)) FROM u)
       SELECT rule_id, count(*) AS n FROM u GROUP BY rule_id`,
      { whole, incr, run: runId, note: note ?? null },
    );
    return rows;
  }
}
