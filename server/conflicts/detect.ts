// Conflict detection in PostGIS: every rule of layers/conflict-rules.json overlaid in set-based SQL,
// one run in ONE transaction (readers see the previous results until it commits), runs serialised
// by an advisory lock so any number of service instances can ask for one.
//
// A piece is the intersection of one feature of side a with one feature of side b within one
// district. Its id is stable: md5(rule, content key of a, content key of b, district), where a
// content key is md5(class code, geometry bytes); the same conflict keeps its id (and so its
// ledger case) as long as both source features are unchanged, whatever their fids.
//
// How a rule is computed (the same path for a full and an incremental run; an incremental run
// only takes the features of a changed layer that are new, and drops the pieces of those that left):
//   1. pairs: a && b, ST_Intersects, then a itself when a is covered by b (b when b is covered by
//      a), otherwise ST_Intersection — polygons only, so touching edges make no piece;
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
import type { Knex } from 'knex';
import type { Layer, Registry } from '../layers/registry';
import { log } from '../platform/log';
import { layerTable } from '../platform/sql';
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

const LOCK_KEY = 'onemap:conflicts';
/** District partition parts are cut to at most this many vertices (fast CoveredBy and overlays). */
const DISTRICT_PART_VERTICES = 128;
export const OUTSIDE = '';

const contentKey = (t: string) => `md5(convert_to(${t}.code, 'UTF8') || ST_AsEWKB(${t}.geom))::uuid`;

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

  /**
   * Runs the rules. 'full' recomputes every rule; 'incremental' recomputes what changed since the
   * last run: rules whose definition changed in full, the others only for the features of
   * changed layers (a change of the districts, or no previous run, makes it full).
   */
  async run(req: RunRequest): Promise<RunResult> {
    const started = process.hrtime.bigint();
    const [{ id }] = await this.knex('conflict_runs')
      .insert({ mode: req.mode, status: 'running', trigger: JSON.stringify(req.trigger ?? {}), requested_by: req.requestedBy, rules: this.rules.rules.map((r) => r.id) })
      .returning<{ id: number }[]>('id');
    try {
      const result = await this.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL statement_timeout = 0');
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [LOCK_KEY]);
        // Runs that were running when their process died: nobody else holds the lock now.
        await trx.raw(`UPDATE conflict_runs SET status = 'failed', error = 'interrupted', finished_at = now() WHERE status = 'running' AND id < ? AND finished_at IS NULL`, [id]);
        return this.work(trx, id, req);
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
    }
  }

  private async work(trx: Knex.Transaction, runId: number, req: RunRequest): Promise<RunResult> {
    const rules = this.rules.rules;
    const sourceLayers = this.rules.layers;
    const tracked = [...sourceLayers.map((l) => l.id), this.districts.id];

    // Where the layers stand now, and where they stood at the last run.
    const { rows: now } = await trx.raw<{ rows: { layer_id: string; version: string; revision: number | null }[] }>(
      `SELECT l.id AS layer_id, COALESCE(v.version, 0) AS version,
              (SELECT max(revision) FROM layer_revisions r WHERE r.layer_id = l.id) AS revision
         FROM unnest(?::text[]) AS l(id) LEFT JOIN layer_versions v ON v.layer_id = l.id`,
      [tracked],
    );
    const layers = Object.fromEntries(now.map((r) => [r.layer_id, { version: Number(r.version), revision: r.revision ?? 0 }]));
    const state = new Map((await trx('conflict_state').select<{ layer_id: string; version: string }[]>('layer_id', 'version')).map((r) => [r.layer_id, Number(r.version)]));
    const changed = tracked.filter((id) => state.get(id) !== layers[id].version);

    // The rules as applied last time: a new or changed definition is recomputed in full.
    const { rows: applied } = await trx.raw<{ rows: { id: string; definition_hash: string; applied_run: number | null }[] }>(
      'SELECT id, definition_hash, applied_run FROM conflict_rules',
    );
    const appliedHash = new Map(applied.filter((r) => r.applied_run !== null).map((r) => [r.id, r.definition_hash]));
    await this.syncRules(trx);

    const noBase = state.size === 0;
    const full = req.mode === 'full' || noBase || changed.includes(this.districts.id);
    const mode: RunMode = full ? 'full' : 'incremental';
    if (mode !== req.mode) await trx('conflict_runs').where({ id: runId }).update({ mode });
    await trx('conflict_runs').where({ id: runId }).update({ layers: JSON.stringify(layers) });

    await this.buildDistricts(trx);

    // The source index of every layer that changed (or of all, the first time).
    await trx.raw('CREATE TEMP TABLE cf_changed (layer_id text, fid bigint, change text) ON COMMIT DROP');
    const resync = noBase ? sourceLayers : sourceLayers.filter((l) => changed.includes(l.id));
    for (const l of resync) await this.syncSources(trx, l);
    if (!noBase && changed.includes(this.districts.id)) await this.recoverSources(trx);
    await trx.raw('CREATE INDEX ON cf_changed (layer_id, change, fid)');
    await trx.raw('ANALYZE cf_changed');

    await trx.raw('CREATE TEMP TABLE cf_old (id uuid PRIMARY KEY, geom geometry, area_m2 double precision) ON COMMIT DROP');
    const stats: Record<string, RuleStats> = {};
    for (const rule of rules) {
      const whole = full || appliedHash.get(rule.id) !== rule.hash;
      const touched = changed.includes(rule.a.layer.id) || changed.includes(rule.b.layer.id);
      if (!whole && !touched) {
        stats[rule.id] = { ...(await this.ruleTotals(trx, rule.id)), opened: 0, closed: 0, reopened: 0, recomputed: 'none' };
        continue;
      }
      await this.computeRule(trx, rule, runId, whole);
      // The layer whose new content resolved a vanished patch (a's if both changed).
      const by = whole && mode === 'full' ? null : changed.includes(rule.a.layer.id) ? rule.a.layer.id : rule.b.layer.id;
      const ledger = await this.syncLedger(trx, rule, runId, by ? { layer: by, revision: layers[by].revision } : null);
      stats[rule.id] = { ...(await this.ruleTotals(trx, rule.id)), ...ledger, recomputed: whole ? 'full' : 'incremental' };
    }
    await this.retireRules(trx, runId);

    // The results now reflect these layer versions.
    for (const idv of tracked) {
      await trx.raw(
        `INSERT INTO conflict_state (layer_id, version, revision, run_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (layer_id) DO UPDATE SET version = EXCLUDED.version, revision = EXCLUDED.revision, run_id = EXCLUDED.run_id`,
        [idv, layers[idv].version, layers[idv].revision, runId],
      );
    }
    await trx('conflict_rules').whereIn('id', rules.map((r) => r.id)).update({ applied_run: runId });

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
    await trx('conflict_runs')
      .where({ id: runId })
      .update({ status: 'succeeded', finished_at: trx.fn.now(), stats: JSON.stringify({ changedLayers: changed, totals, rules: stats }) });
    return { id: runId, mode, status: 'succeeded', duration_ms: 0, changedLayers: changed, rules: stats, totals, layers };
  }

  /** conflict_rules mirrors the rules file (what the published view and the ledger read). */
  private async syncRules(trx: Knex.Transaction) {
    for (const r of this.rules.rules) {
      const row = {
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
      };
      await trx('conflict_rules').insert(row).onConflict('id').merge(Object.keys(row).filter((k) => k !== 'id'));
    }
  }

  /** Rules no longer in the file: their patches go, their open cases close. */
  private async retireRules(trx: Knex.Transaction, runId: number) {
    const ids = this.rules.rules.map((r) => r.id);
    const { rows } = await trx.raw<{ rows: { id: string }[] }>('SELECT id FROM conflict_rules WHERE active AND NOT (id = ANY(?))', [ids]);
    for (const { id } of rows) {
      await trx.raw(`INSERT INTO cf_old SELECT id, geom, area_m2 FROM conflict_pieces WHERE rule_id = ? AND geom IS NOT NULL ON CONFLICT (id) DO NOTHING`, [id]);
      await trx.raw('DELETE FROM conflict_pieces WHERE rule_id = ?', [id]);
      await this.closeVanished(trx, id, runId, null, 'the rule was removed from layers/conflict-rules.json');
      await trx('conflict_rules').where({ id }).update({ active: false });
    }
  }

  /** The districts as a partition, in ≤128-vertex parts (cf_districts: adcode, name, geom). */
  private async buildDistricts(trx: Knex.Transaction) {
    const t = layerTable(this.districts.id);
    await trx.raw(`
      CREATE TEMP TABLE cf_districts ON COMMIT DROP AS
      WITH d AS (SELECT adcode, name, geom, row_number() OVER (ORDER BY adcode, fid) AS n FROM ${t}),
      p AS (
        SELECT d.adcode, d.name,
               conflict_subtract(d.geom, ARRAY(SELECT e.geom FROM d e WHERE e.n < d.n AND e.geom && d.geom ORDER BY e.n)) AS g
          FROM d)
      SELECT adcode, name, row_number() OVER () AS part, geom
        FROM (SELECT adcode, name, ST_Subdivide(ST_CollectionExtract(g, 3), ${DISTRICT_PART_VERTICES}) AS geom FROM p WHERE NOT ST_IsEmpty(g)) s`);
    await trx.raw('CREATE INDEX ON cf_districts USING gist (geom)');
    await trx.raw('ANALYZE cf_districts');
  }

  /**
   * Brings conflict_sources of one layer up to its content: rows whose (fid, content key) is no
   * longer in the layer leave ('gone'), new ones arrive ('new') with the district that wholly
   * contains them; the overlap pairs follow.
   */
  private async syncSources(trx: Knex.Transaction, layer: Layer) {
    const t = layerTable(layer.id);
    await trx.raw(`CREATE TEMP TABLE cf_cur ON COMMIT DROP AS SELECT t.fid, ${contentKey('t')} AS key FROM ${t} t`);
    await trx.raw('CREATE UNIQUE INDEX ON cf_cur (fid)');
    await trx.raw(
      `WITH g AS (
         DELETE FROM conflict_sources s WHERE s.layer_id = ?
            AND NOT EXISTS (SELECT 1 FROM cf_cur c WHERE c.fid = s.fid AND c.key = s.key)
         RETURNING s.fid)
       INSERT INTO cf_changed SELECT ?, fid, 'gone' FROM g`,
      [layer.id, layer.id],
    );
    await trx.raw(
      `WITH n AS (
         INSERT INTO conflict_sources (layer_id, fid, key, adcode)
         SELECT ?, c.fid, c.key,
                (SELECT d.adcode FROM cf_districts d WHERE d.geom && t.geom AND ST_CoveredBy(t.geom, d.geom) LIMIT 1)
           FROM cf_cur c JOIN ${t} t ON t.fid = c.fid
          WHERE NOT EXISTS (SELECT 1 FROM conflict_sources s WHERE s.layer_id = ? AND s.fid = c.fid)
         RETURNING fid)
       INSERT INTO cf_changed SELECT ?, fid, 'new' FROM n`,
      [layer.id, layer.id, layer.id],
    );
    await trx.raw('DROP TABLE cf_cur');
    await trx.raw(
      `DELETE FROM conflict_source_overlaps o WHERE o.layer_id = ?
          AND EXISTS (SELECT 1 FROM cf_changed c WHERE c.layer_id = ? AND c.change = 'gone' AND c.fid IN (o.fid1, o.fid2))`,
      [layer.id, layer.id],
    );
    // Interiors that overlap (DE-9IM 2********): touching neighbours are not overlaps.
    await trx.raw(
      `INSERT INTO conflict_source_overlaps (layer_id, fid1, fid2)
       SELECT ?, LEAST(n.fid, t.fid), GREATEST(n.fid, t.fid)
         FROM cf_changed c JOIN ${t} n ON n.fid = c.fid
         JOIN ${t} t ON t.geom && n.geom AND t.fid <> n.fid
        WHERE c.layer_id = ? AND c.change = 'new' AND ST_Relate(n.geom, t.geom, '2********')
       ON CONFLICT DO NOTHING`,
      [layer.id, layer.id],
    );
  }

  /** After the districts changed: every source's district cover is recomputed. */
  private async recoverSources(trx: Knex.Transaction) {
    for (const l of this.rules.layers) {
      await trx.raw(
        `UPDATE conflict_sources s SET adcode = (SELECT d.adcode FROM cf_districts d WHERE d.geom && t.geom AND ST_CoveredBy(t.geom, d.geom) LIMIT 1)
           FROM ${layerTable(l.id)} t WHERE s.layer_id = ? AND t.fid = s.fid`,
        [l.id],
      );
    }
  }

  /** Steps 1–4 of the top comment for one rule: whole (every feature) or the changed features. */
  private async computeRule(trx: Knex.Transaction, rule: Rule, runId: number, whole: boolean) {
    const A = rule.a.layer.id;
    const B = rule.b.layer.id;
    const ta = layerTable(A);
    const tb = layerTable(B);

    // Pieces that go: all of the rule's (whole), or those of features that left.
    const goneWhere = whole
      ? 'p.rule_id = ?'
      : `p.rule_id = ? AND (p.a_fid IN (SELECT fid FROM cf_changed WHERE layer_id = ? AND change = 'gone')
                        OR p.b_fid IN (SELECT fid FROM cf_changed WHERE layer_id = ? AND change = 'gone'))`;
    const goneBind = whole ? [rule.id] : [rule.id, A, B];
    await trx.raw(
      `WITH d AS (DELETE FROM conflict_pieces p WHERE ${goneWhere} RETURNING p.id, p.geom, p.area_m2)
       INSERT INTO cf_old SELECT id, geom, area_m2 FROM d WHERE geom IS NOT NULL ON CONFLICT (id) DO NOTHING`,
      goneBind,
    );

    // 1. pairs. Scope: every pair (whole) or pairs with a new feature on either side.
    const pairSql = (scope: string) => `
      SELECT a.fid AS a_fid, a.code AS a_code, sa.key AS a_key, b.fid AS b_fid, b.code AS b_code, sb.key AS b_key,
             COALESCE(sa.adcode, sb.adcode) AS cover,
             CASE WHEN ST_CoveredBy(a.geom, b.geom) THEN a.geom
                  WHEN ST_CoveredBy(b.geom, a.geom) THEN b.geom
                  ELSE ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) END AS g
        FROM ${ta} a JOIN ${tb} b ON a.geom && b.geom
        JOIN conflict_sources sa ON sa.layer_id = ? AND sa.fid = a.fid
        JOIN conflict_sources sb ON sb.layer_id = ? AND sb.fid = b.fid
       WHERE a.code = ANY(?) AND b.code = ANY(?) AND ${scope} AND ST_Intersects(a.geom, b.geom)`;
    const bind = [A, B, rule.a.codes, rule.b.codes];
    if (whole) {
      await trx.raw(`CREATE TEMP TABLE cf_pairs ON COMMIT DROP AS ${pairSql('true')}`, bind);
    } else {
      const isNew = (side: 'a' | 'b') => `${side}.fid IN (SELECT fid FROM cf_changed WHERE layer_id = ? AND change = 'new')`;
      await trx.raw(
        `CREATE TEMP TABLE cf_pairs ON COMMIT DROP AS ${pairSql(isNew('a'))} UNION ALL ${pairSql(`${isNew('b')} AND NOT ${isNew('a')}`)}`,
        [A, B, rule.a.codes, rule.b.codes, A, A, B, rule.a.codes, rule.b.codes, B, A],
      );
    }
    await trx.raw('DELETE FROM cf_pairs WHERE ST_IsEmpty(g)');

    // 2. districts, then the pieces (geom and areas follow in 3–4); cf_todo collects new ones.
    await trx.raw('CREATE TEMP TABLE cf_todo (id uuid PRIMARY KEY) ON COMMIT DROP');
    const ins = (adcode: string, from: string) => `
      WITH i AS (
        INSERT INTO conflict_pieces (id, rule_id, adcode, a_layer, a_fid, a_key, a_code, b_layer, b_fid, b_key, b_code, raw, run_id)
        SELECT md5(concat_ws('|', ?::text, x.a_key, x.b_key, ${adcode}))::uuid, ?, ${adcode}, ?, x.a_fid, x.a_key, x.a_code, ?, x.b_fid, x.b_key, x.b_code, ST_Multi(x.g), ?
          FROM ${from}
        ON CONFLICT (id) DO NOTHING
        RETURNING id)
      INSERT INTO cf_todo SELECT id FROM i`;
    const pb = [rule.id, rule.id, A, B, runId];
    await trx.raw(ins('x.cover', '(SELECT * FROM cf_pairs WHERE cover IS NOT NULL) x'), pb);
    await trx.raw(`
      CREATE TEMP TABLE cf_cut ON COMMIT DROP AS
      SELECT p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, d.adcode,
             ST_CollectionExtract(ST_Union(CASE WHEN ST_CoveredBy(p.g, d.geom) THEN p.g ELSE ST_Intersection(p.g, d.geom) END), 3) AS g
        FROM cf_pairs p JOIN cf_districts d ON d.geom && p.g AND ST_Intersects(d.geom, p.g)
       WHERE p.cover IS NULL
       GROUP BY p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, d.adcode`);
    // What lies in no district (beyond the city's edge, or in a gap between two districts).
    await trx.raw(`
      INSERT INTO cf_cut
      SELECT p.a_fid, p.a_code, p.a_key, p.b_fid, p.b_code, p.b_key, '${OUTSIDE}',
             conflict_subtract(p.g, ARRAY(SELECT d.geom FROM cf_districts d WHERE d.geom && p.g ORDER BY d.adcode, d.part))
        FROM cf_pairs p
       WHERE p.cover IS NULL`);
    await trx.raw(ins('x.adcode', '(SELECT * FROM cf_cut WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)) x'), pb);
    await trx.raw('DROP TABLE cf_pairs, cf_cut');

    // 3. overlaps. Candidate pairs: same a and overlapping b's, overlapping a's and the same b, or
    //    both overlapping; the later piece (by id) of a pair whose interiors meet loses the common part.
    await trx.raw(
      `CREATE TEMP TABLE cf_cand ON COMMIT DROP AS
       WITH ob AS (SELECT fid1, fid2 FROM conflict_source_overlaps WHERE layer_id = ?),
            oa AS (SELECT fid1, fid2 FROM conflict_source_overlaps WHERE layer_id = ?),
       pairs AS (
         SELECT p.id AS x, q.id AS y FROM ob
           JOIN conflict_pieces p ON p.rule_id = ? AND p.b_fid = ob.fid1
           JOIN conflict_pieces q ON q.rule_id = p.rule_id AND q.b_fid = ob.fid2 AND q.adcode = p.adcode
                AND (q.a_fid = p.a_fid OR EXISTS (SELECT 1 FROM oa WHERE oa.fid1 = LEAST(p.a_fid, q.a_fid) AND oa.fid2 = GREATEST(p.a_fid, q.a_fid)))
         UNION
         SELECT p.id, q.id FROM oa
           JOIN conflict_pieces p ON p.rule_id = ? AND p.a_fid = oa.fid1
           JOIN conflict_pieces q ON q.rule_id = p.rule_id AND q.a_fid = oa.fid2 AND q.adcode = p.adcode AND q.b_fid = p.b_fid)
       SELECT GREATEST(x, y) AS later, LEAST(x, y) AS earlier FROM pairs`,
      [B, A, rule.id, rule.id],
    );
    // Pieces to (re)compute: the new ones, those with an earlier overlapping candidate, and those
    // that were trimmed before (their earlier piece may be gone).
    await trx.raw(
      `INSERT INTO cf_todo SELECT later FROM cf_cand UNION SELECT id FROM conflict_pieces WHERE rule_id = ? AND trimmed
       ON CONFLICT DO NOTHING`,
      [rule.id],
    );
    await trx.raw('ANALYZE cf_todo');
    // Overlaps are where overlays leave their rare invalid output (an edge shared by two parts);
    // the pieces that take part are made valid first. Whether two pieces overlap is asked of the
    // overlay (robust, snapping when it must), not of ST_Relate, which can fail on nearly
    // coincident edges ("side location conflict"), as pieces cut from neighbouring features have.
    await trx.raw(`
      CREATE TEMP TABLE cf_valid ON COMMIT DROP AS
      SELECT id, CASE WHEN ST_IsValid(raw) THEN raw ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(raw), 3)) END AS g
        FROM conflict_pieces WHERE id IN (SELECT later FROM cf_cand UNION SELECT earlier FROM cf_cand)`);
    await trx.raw('CREATE UNIQUE INDEX ON cf_valid (id)');
    await trx.raw(`
      CREATE TEMP TABLE cf_trim ON COMMIT DROP AS
      SELECT q.id, CASE WHEN c.u IS NULL THEN COALESCE(v.g, q.raw) ELSE ST_CollectionExtract(ST_Difference(v.g, c.u), 3) END AS g, c.u IS NOT NULL AS trimmed
        FROM cf_todo t JOIN conflict_pieces q ON q.id = t.id
        LEFT JOIN cf_valid v ON v.id = q.id
        LEFT JOIN LATERAL (
          SELECT ST_Union(e.g) AS u FROM cf_cand c JOIN cf_valid e ON e.id = c.earlier
           WHERE c.later = q.id AND v.g IS NOT NULL AND e.g && v.g AND ST_Area(ST_Intersection(e.g, v.g)) > 0) c ON true`);

    // 4. polygons and slivers.
    await trx.raw(`
      CREATE TEMP TABLE cf_parts ON COMMIT DROP AS
      SELECT t.id, d.geom AS g, ST_Area(d.geom::geography, true) AS a, ST_Perimeter(d.geom::geography, false) AS per
        FROM cf_trim t CROSS JOIN LATERAL ST_Dump(t.g) d`);
    await trx.raw(`INSERT INTO cf_old SELECT p.id, p.geom, p.area_m2 FROM conflict_pieces p JOIN cf_todo t ON t.id = p.id WHERE p.geom IS NOT NULL ON CONFLICT (id) DO NOTHING`);
    await trx.raw(
      `UPDATE conflict_pieces p
          SET geom = s.geom, area_m2 = COALESCE(s.area, 0), parts = COALESCE(s.parts, 0), thinness = s.thin,
              sliver_parts = COALESCE(s.sp, 0), sliver_area_m2 = COALESCE(s.sa, 0), trimmed = t.trimmed, run_id = ?
         FROM cf_trim t
         LEFT JOIN (
           SELECT id, ST_Multi(ST_Collect(g) FILTER (WHERE keep)) AS geom, sum(a) FILTER (WHERE keep) AS area,
                  count(*) FILTER (WHERE keep) AS parts, min(thin) FILTER (WHERE keep) AS thin,
                  count(*) FILTER (WHERE NOT keep) AS sp, sum(a) FILTER (WHERE NOT keep) AS sa
             FROM (SELECT id, g, a, thin, COALESCE(a >= ? AND thin >= ?, false) AS keep
                     FROM (SELECT id, g, a, 4 * pi() * a / NULLIF(per * per, 0) AS thin FROM cf_parts) m) k
            GROUP BY id) s ON s.id = t.id
        WHERE p.id = t.id`,
      [runId, rule.min_area_m2, rule.min_thinness],
    );
    await trx.raw('DROP TABLE cf_todo, cf_cand, cf_valid, cf_trim, cf_parts');
  }

  private async ruleTotals(trx: Knex.Transaction, ruleId: string) {
    const { rows } = await trx.raw<{ rows: { patches: string; area_m2: number | null; sliver_parts: string | null; sliver_area_m2: number | null }[] }>(
      `SELECT count(*) FILTER (WHERE geom IS NOT NULL) AS patches, sum(area_m2) AS area_m2, sum(sliver_parts) AS sliver_parts, sum(sliver_area_m2) AS sliver_area_m2
         FROM conflict_pieces WHERE rule_id = ?`,
      [ruleId],
    );
    const r = rows[0];
    return { patches: Number(r.patches), area_m2: r.area_m2 ?? 0, sliver_parts: Number(r.sliver_parts ?? 0), sliver_area_m2: r.sliver_area_m2 ?? 0 };
  }

  /** Step 5: the ledger follows the rule's patches. */
  private async syncLedger(trx: Knex.Transaction, rule: Rule, runId: number, by: { layer: string; revision: number } | null) {
    const closed = await this.closeVanished(trx, rule.id, runId, by);
    const reopened = await trx.raw(
      `WITH t AS (
         SELECT c.id FROM conflict_cases c JOIN conflict_pieces p ON p.id = c.id
          WHERE c.rule_id = ? AND c.status = 'resolved_by_data' AND p.geom IS NOT NULL FOR UPDATE OF c),
       u AS (
         UPDATE conflict_cases c SET status = 'pending', decision = NULL, reason = NULL, version = c.version + 1,
                resolved_run = NULL, resolved_layer = NULL, resolved_revision = NULL, last_run = ?, updated_at = now()
           FROM t WHERE c.id = t.id RETURNING c.id)
       INSERT INTO conflict_case_events (case_id, actor, action, from_status, to_status, run_id, details)
       SELECT id, 'system', 'reappeared', 'resolved_by_data', 'pending', ?, ?::jsonb FROM u`,
      [rule.id, runId, runId, JSON.stringify(by ?? {})],
    );
    const opened = await trx.raw(
      `WITH n AS (
         INSERT INTO conflict_cases (id, rule_id, adcode, district, a_layer, a_code, b_layer, b_code, first_run, last_run)
         SELECT p.id, p.rule_id, p.adcode, d.name, p.a_layer, p.a_code, p.b_layer, p.b_code, ?, ?
           FROM conflict_pieces p LEFT JOIN (SELECT DISTINCT adcode, name FROM cf_districts) d ON d.adcode = p.adcode
          WHERE p.rule_id = ? AND p.geom IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conflict_cases c WHERE c.id = p.id)
         RETURNING id)
       INSERT INTO conflict_case_events (case_id, actor, action, to_status, run_id)
       SELECT id, 'system', 'detected', 'pending', ? FROM n`,
      [runId, runId, rule.id, runId],
    );
    return { opened: opened.rowCount ?? 0, closed, reopened: reopened.rowCount ?? 0 };
  }

  /** Open cases of a rule whose patch is no longer there close as resolved by data. */
  private async closeVanished(trx: Knex.Transaction, ruleId: string, runId: number, by: { layer: string; revision: number } | null, note?: string) {
    const r = await trx.raw(
      `WITH t AS (
         SELECT c.id, c.status FROM conflict_cases c
          WHERE c.rule_id = ? AND c.status <> 'resolved_by_data'
            AND NOT EXISTS (SELECT 1 FROM conflict_pieces p WHERE p.id = c.id AND p.geom IS NOT NULL)
          FOR UPDATE OF c),
       u AS (
         UPDATE conflict_cases c
            SET status = 'resolved_by_data', version = c.version + 1, resolved_run = ?, resolved_layer = ?, resolved_revision = ?,
                last_geom = COALESCE((SELECT ST_Multi(o.geom) FROM cf_old o WHERE o.id = c.id), c.last_geom),
                last_area_m2 = COALESCE((SELECT o.area_m2 FROM cf_old o WHERE o.id = c.id), c.last_area_m2),
                updated_at = now()
           FROM t WHERE c.id = t.id RETURNING c.id, t.status)
       INSERT INTO conflict_case_events (case_id, actor, action, from_status, to_status, run_id, details)
       SELECT id, 'system', 'resolved_by_data', status, 'resolved_by_data', ?, ?::jsonb FROM u`,
      [ruleId, runId, by?.layer ?? null, by?.revision ?? null, runId, JSON.stringify({ ...(by ?? {}), ...(note ? { note } : {}) })],
    );
    return r.rowCount ?? 0;
  }
}
