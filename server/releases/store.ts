// Releases (成果版本) in the database: preparing one (pinning layers at revisions and copying what
// they pin), publishing it (four eyes; the previous one superseded), withdrawing it, and reading
// them as whoever asks may. Each step is one transaction, so a killed process leaves the old state
// or the new one, never half a release; each writes its audit entry in the same transaction.
import type { Knex } from 'knex';
import type { Account } from '../accounts/accounts';
import { ensureAllowed } from '../accounts/authorize';
import { prepareRelease, publishRelease, withdrawRelease } from '../accounts/needs';
import { OPEN_STATUSES } from '../conflicts/vocabulary';
import type { RuleSet } from '../conflicts/rules';
import type { Layer, Registry } from '../layers/registry';
import { AppError, badRequest, conflict, notFound } from '../platform/errors';
import type { ConflictSituation, Release } from './schemas';
import { ISSUING_DEPARTMENT, type ReleaseStatus } from './vocabulary';

export interface ReleaseRow {
  number: number;
  status: ReleaseStatus;
  title: string;
  notes: string;
  approval_number: string | null;
  review_number: string | null;
  department: string;
  prepared_by: string;
  prepared_at: Date;
  published_by: string | null;
  published_at: Date | null;
  superseded_by: number | null;
  superseded_at: Date | null;
  withdrawn_by: string | null;
  withdrawn_at: Date | null;
  withdrawn_reason: string | null;
  conflicts: ConflictSituation;
  registry: Layer[];
  content_sha256: string;
}

export interface ReleaseLayerRow {
  layer_id: string;
  position: number;
  revision: number;
  feature_count: number;
  area_m2: number | null;
  bbox: number[] | null;
}

/** A release as read from the database: its row and its pins, in registry order. */
export interface StoredRelease {
  row: ReleaseRow;
  layers: ReleaseLayerRow[];
  /** The pinned layers' registry entries as they were at preparation, by id. */
  registry: Map<string, Layer>;
  current: boolean;
}

export const unknownRelease = (n: number | string) => notFound('unknown_release', `release ${n} does not exist; see /api/releases`, { release: n });
const withdrawnRelease = (row: ReleaseRow) =>
  new AppError(410, 'release_withdrawn', `release ${row.number} was withdrawn on ${row.withdrawn_at!.toISOString().slice(0, 10)}: ${row.withdrawn_reason}`, { release: row.number, reason: row.withdrawn_reason });

/** Serializes the steps that number releases or change which one is current. */
const lockReleases = (trx: Knex.Transaction) => trx.raw(`SELECT pg_advisory_xact_lock(hashtext('onemap.releases'))`);

export interface PrepareRequest {
  title: string;
  notes?: string;
  approvalNumber?: string;
  reviewNumber?: string;
  layers?: { layerId: string; revision?: number }[];
}

export class Releases {
  constructor(
    readonly knex: Knex,
    readonly registry: Registry,
    readonly rules: RuleSet,
  ) {}

  /** Prepares a draft: pins the layers, copies their content, records the conflict situation. */
  async prepare(account: Account, req: PrepareRequest): Promise<{ number: number; skipped: { layerId: string; reason: string }[] }> {
    ensureAllowed(account, prepareRelease);
    const asked = req.layers ?? this.registry.delivered.map((l) => ({ layerId: l.id, revision: undefined }));
    const seen = new Set<string>();
    asked.forEach((p, i) => {
      const layer = this.registry.byId.get(p.layerId);
      if (!layer) throw badRequest('unknown_layer', `layer '${p.layerId}' is not in the registry; see /api/layers`, { field: `layers.${i}.layerId`, layerId: p.layerId });
      if (layer.derived) throw badRequest('layer_not_released', `layer '${p.layerId}' is computed by the service: a release records the conflict situation as figures instead`, { field: `layers.${i}.layerId`, layerId: p.layerId });
      if (seen.has(p.layerId)) throw badRequest('invalid_body', `layer '${p.layerId}' is named twice`, { field: `layers.${i}.layerId` });
      seen.add(p.layerId);
    });
    return this.knex.transaction(async (trx) => {
      await lockReleases(trx);
      // The revisions: the given one (it must exist with its content) or the current one.
      const { rows: revisions } = await trx.raw<{ rows: { layer_id: string; revision: number; content_kept: boolean }[] }>(
        `SELECT layer_id, revision, content_kept FROM layer_revisions WHERE layer_id = ANY (?::text[]) ORDER BY layer_id, revision`,
        [asked.map((p) => p.layerId)],
      );
      const pins: { layer_id: string; revision: number; position: number }[] = [];
      const skipped: { layerId: string; reason: string }[] = [];
      for (const [i, p] of asked.entries()) {
        const of = revisions.filter((r) => r.layer_id === p.layerId);
        const r = p.revision === undefined ? of.at(-1) : of.find((x) => x.revision === p.revision);
        if (!r) {
          if (p.revision === undefined && !req.layers) {
            skipped.push({ layerId: p.layerId, reason: 'the layer has no revision yet' });
            continue;
          }
          throw notFound('unknown_revision', p.revision === undefined ? `layer '${p.layerId}' has no revision yet` : `layer '${p.layerId}' has no revision ${p.revision}`, { field: `layers.${i}`, layerId: p.layerId, revision: p.revision ?? null });
        }
        if (!r.content_kept) throw conflict('content_not_kept', `revision ${r.revision} of layer '${p.layerId}' was recorded before contents were kept: it cannot be released`, { field: `layers.${i}`, layerId: p.layerId, revision: r.revision });
        pins.push({ layer_id: p.layerId, revision: r.revision, position: this.registry.layers.findIndex((l) => l.id === p.layerId) });
      }
      if (!pins.length) throw badRequest('invalid_body', 'no layer to release: none of the layers has a revision yet', { field: 'layers' });
      pins.sort((a, b) => a.position - b.position);

      const { rows: next } = await trx.raw<{ rows: { n: number }[] }>('SELECT COALESCE(max(number), 0) + 1 AS n FROM releases');
      const number = next[0].n;
      const pinsJson = JSON.stringify(pins);
      // The content: the snapshot rows valid at each pinned revision, copied.
      await trx.raw(
        `INSERT INTO release_features (release, layer_id, fid, hash, code, attrs, geom, area_m2)
         SELECT ?, f.layer_id, f.id, f.hash, f.code, f.attrs, f.geom, f.area_m2
         FROM jsonb_to_recordset(?::jsonb) AS p(layer_id text, revision integer)
         JOIN revision_features f ON f.layer_id = p.layer_id AND f.revision_from <= p.revision AND (f.revision_to IS NULL OR f.revision_to > p.revision)`,
        [number, pinsJson],
      );
      await trx.raw(
        `INSERT INTO release_layers (release, layer_id, position, revision, feature_count, area_m2, bbox)
         SELECT ?, p.layer_id, p.position, p.revision, COALESCE(s.n, 0), s.area_m2,
                CASE WHEN s.box IS NULL THEN NULL ELSE ARRAY[ST_XMin(s.box), ST_YMin(s.box), ST_XMax(s.box), ST_YMax(s.box)] END
         FROM jsonb_to_recordset(?::jsonb) AS p(layer_id text, revision integer, position integer)
         LEFT JOIN (SELECT layer_id, count(*)::int AS n, sum(area_m2) AS area_m2, ST_Extent(geom) AS box
                    FROM release_features WHERE release = ? GROUP BY layer_id) s ON s.layer_id = p.layer_id`,
        [number, pinsJson, number],
      );
      // Fresh statistics: the new release's number is outside the histogram, and a plan that takes it
      // for a handful of rows compares two releases by nested seq scans (minutes instead of 0.2 s).
      await trx.raw('ANALYZE release_features, release_layers');
      const conflicts = await this.conflictSituation(trx, number);
      const registry = pins.map((p) => this.registry.byId.get(p.layer_id)!);
      await trx.raw(
        `INSERT INTO releases (number, title, notes, approval_number, review_number, department, prepared_by, conflicts, registry, content_sha256)
         SELECT ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb,
                encode(sha256(convert_to(
                  (SELECT string_agg(l.layer_id || '@' || l.revision, ',' ORDER BY l.position) FROM release_layers l WHERE l.release = ?) || ';' ||
                  COALESCE((SELECT string_agg(f.layer_id || ':' || f.hash, ',' ORDER BY f.layer_id, f.fid) FROM release_features f WHERE f.release = ?), ''),
                'UTF8')), 'hex')`,
        [number, req.title, req.notes ?? '', req.approvalNumber ?? null, req.reviewNumber ?? null, ISSUING_DEPARTMENT, account.name, JSON.stringify(conflicts), JSON.stringify(registry), number, number],
      );
      await audit(trx, account, 'release.prepared', number, { title: req.title, layers: pins.map((p) => [p.layer_id, p.revision]), skipped: skipped.map((s) => s.layerId) });
      return { number, skipped };
    });
  }

  /** The open ledger cases now, as figures, and each case recorded with the release. */
  private async conflictSituation(trx: Knex.Transaction, number: number): Promise<ConflictSituation> {
    await trx.raw(
      `INSERT INTO release_conflicts (release, case_id, rule_id, adcode, area_m2)
       SELECT ?, c.id, c.rule_id, c.adcode, COALESCE(c.last_area_m2, 0) FROM conflict_cases c WHERE c.status = ANY (?::text[])`,
      [number, [...OPEN_STATUSES]],
    );
    const { rows } = await trx.raw<{ rows: { rule_id: string; adcode: string; district: string | null; open: number; area_m2: number }[] }>(
      `SELECT r.rule_id, r.adcode, max(c.district) AS district, count(*)::int AS open, sum(r.area_m2) AS area_m2
       FROM release_conflicts r JOIN conflict_cases c ON c.id = r.case_id WHERE r.release = ? GROUP BY r.rule_id, r.adcode ORDER BY r.rule_id, r.adcode`,
      [number],
    );
    const round = (x: number) => Math.round(x * 100) / 100;
    const group = <K extends string>(key: (r: (typeof rows)[number]) => K) => {
      const m = new Map<K, { open: number; area_m2: number; first: (typeof rows)[number] }>();
      for (const r of rows) {
        const g = m.get(key(r)) ?? { open: 0, area_m2: 0, first: r };
        g.open += r.open;
        g.area_m2 += r.area_m2;
        m.set(key(r), g);
      }
      return [...m.entries()];
    };
    const ruleZh = (id: string) => this.rules.rules.find((r) => r.id === id)?.zh ?? id;
    return {
      open: rows.reduce((s, r) => s + r.open, 0),
      area_m2: round(rows.reduce((s, r) => s + r.area_m2, 0)),
      byRule: group((r) => r.rule_id).map(([ruleId, g]) => ({ ruleId, zh: ruleZh(ruleId), open: g.open, area_m2: round(g.area_m2) })),
      byDistrict: group((r) => r.adcode).map(([adcode, g]) => ({ adcode, name: g.first.district ?? (adcode || '区外'), open: g.open, area_m2: round(g.area_m2) })),
      byRuleDistrict: rows.map((r) => ({ ruleId: r.rule_id, adcode: r.adcode, open: r.open, area_m2: round(r.area_m2) })),
    };
  }

  /** Publishes a draft: the 审图号 required, another account than the preparer's, the current one superseded. */
  async publish(account: Account, number: number, body: { reviewNumber?: string; approvalNumber?: string }): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await lockReleases(trx);
      const row = await lockedRow(trx, number);
      ensureAllowed(account, publishRelease({ number, preparedBy: row.prepared_by }));
      if (row.status !== 'draft') throw conflict('release_not_draft', `release ${number} is ${row.status}: only a draft is published (a correction is a new release)`, { release: number, status: row.status });
      const reviewNumber = body.reviewNumber ?? row.review_number;
      if (!reviewNumber) throw conflict('review_number_required', `release ${number} has no 审图号 (map review number): give reviewNumber; a map is shown publicly only with one`, { field: 'reviewNumber' });
      // The pins must still name revisions that exist (the content is the release's own, but what it says it is must hold).
      const { rows: missing } = await trx.raw<{ rows: { layer_id: string; revision: number }[] }>(
        `SELECT l.layer_id, l.revision FROM release_layers l
         WHERE l.release = ? AND NOT EXISTS (SELECT 1 FROM layer_revisions r WHERE r.layer_id = l.layer_id AND r.revision = l.revision)`,
        [number],
      );
      if (missing.length) {
        throw conflict('pinned_revision_missing', `release ${number} pins ${missing.map((m) => `revision ${m.revision} of '${m.layer_id}'`).join(', ')}, which no longer exist${missing.length === 1 ? 's' : ''}: prepare a new release`, { release: number, missing: missing.map((m) => ({ layerId: m.layer_id, revision: m.revision })) });
      }
      const { rows: previous } = await trx.raw<{ rows: { number: number }[] }>(
        `UPDATE releases SET status = 'superseded', superseded_by = ?, superseded_at = now() WHERE status = 'published' RETURNING number`,
        [number],
      );
      await trx.raw(
        `UPDATE releases SET status = 'published', review_number = ?, approval_number = COALESCE(?, approval_number), published_by = ?, published_at = now() WHERE number = ?`,
        [reviewNumber, body.approvalNumber ?? null, account.name, number],
      );
      for (const p of previous) await audit(trx, account, 'release.superseded', p.number, { by: number });
      await audit(trx, account, 'release.published', number, { reviewNumber, approvalNumber: body.approvalNumber ?? row.approval_number, supersedes: previous.map((p) => p.number) });
    });
  }

  /** Withdraws a release (draft or public) with a reason; it stays readable by staff. */
  async withdraw(account: Account, number: number, reason: string): Promise<void> {
    await this.knex.transaction(async (trx) => {
      await lockReleases(trx);
      const row = await lockedRow(trx, number);
      ensureAllowed(account, withdrawRelease({ number }));
      if (row.status === 'withdrawn') throw conflict('release_withdrawn_already', `release ${number} was already withdrawn on ${row.withdrawn_at!.toISOString().slice(0, 10)}`, { release: number });
      await trx.raw(`UPDATE releases SET status = 'withdrawn', withdrawn_by = ?, withdrawn_at = now(), withdrawn_reason = ? WHERE number = ?`, [account.name, reason, number]);
      await audit(trx, account, 'release.withdrawn', number, { reason, was: row.status });
    });
  }

  /** The release the public map shows, if any. */
  async currentNumber(knex: Knex = this.knex): Promise<number | null> {
    const { rows } = await knex.raw<{ rows: { number: number }[] }>(`SELECT number FROM releases WHERE status = 'published'`);
    return rows[0]?.number ?? null;
  }

  /**
   * A release as `who` may read it: staff read every one; without an account, a draft is unknown
   * (404) and a withdrawn one gone (410).
   */
  async read(number: number, who: Account | undefined): Promise<StoredRelease> {
    const { rows } = await this.knex.raw<{ rows: ReleaseRow[] }>('SELECT * FROM releases WHERE number = ?', [number]);
    const row = rows[0];
    if (!row || (!who && row.status === 'draft')) throw unknownRelease(number);
    if (!who && row.status === 'withdrawn') throw withdrawnRelease(row);
    const { rows: layers } = await this.knex.raw<{ rows: ReleaseLayerRow[] }>(
      'SELECT layer_id, position, revision, feature_count, area_m2, bbox FROM release_layers WHERE release = ? ORDER BY position',
      [number],
    );
    return { row, layers, registry: new Map(row.registry.map((l) => [l.id, l])), current: row.status === 'published' };
  }

  /** Every release `who` may see, newest first. */
  async list(who: Account | undefined): Promise<ReleaseRow[]> {
    const { rows } = await this.knex.raw<{ rows: ReleaseRow[] }>(
      `SELECT * FROM releases ${who ? '' : `WHERE status IN ('published', 'superseded')`} ORDER BY number DESC`,
    );
    return rows;
  }
}

async function lockedRow(trx: Knex.Transaction, number: number): Promise<ReleaseRow> {
  const { rows } = await trx.raw<{ rows: ReleaseRow[] }>('SELECT * FROM releases WHERE number = ? FOR UPDATE', [number]);
  if (!rows[0]) throw unknownRelease(number);
  return rows[0];
}

const audit = (trx: Knex.Transaction, account: Account, action: string, number: number, details: object) =>
  trx.raw('SELECT audit_append(?, ?, ?, ?::jsonb)', [account.name, action, `release ${number}`, JSON.stringify(details)]);

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The summary of a release row (lists). */
export function summaryOf(row: ReleaseRow) {
  return {
    number: row.number,
    status: row.status,
    title: row.title,
    approvalNumber: row.approval_number,
    reviewNumber: row.review_number,
    department: row.department,
    preparedBy: row.prepared_by,
    preparedAt: row.prepared_at.toISOString(),
    publishedBy: row.published_by,
    publishedAt: iso(row.published_at),
    supersededBy: row.superseded_by,
    supersededAt: iso(row.superseded_at),
    withdrawn: row.withdrawn_at ? { by: row.withdrawn_by!, at: row.withdrawn_at.toISOString(), reason: row.withdrawn_reason! } : null,
    current: row.status === 'published',
  };
}

/** The whole release (detail), with links to its standards services. */
export function releaseOf(r: StoredRelease, base: string): Release {
  const n = r.row.number;
  const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    ...summaryOf(r.row),
    notes: r.row.notes,
    layers: r.layers.map((l) => ({
      layerId: l.layer_id,
      title: r.registry.get(l.layer_id)?.title.zh ?? l.layer_id,
      group: r.registry.get(l.layer_id)?.group ?? '',
      revision: l.revision,
      featureCount: l.feature_count,
      area_m2: round(l.area_m2),
      bbox: l.bbox ? (l.bbox as [number, number, number, number]) : null,
    })),
    conflicts: r.row.conflicts,
    contentSha256: r.row.content_sha256,
    links: [
      { href: `${base}/api/releases/${n}`, rel: 'self', type: 'application/json', title: r.row.title },
      { href: `${base}/releases/${n}/ogcapi`, rel: 'service', type: 'application/json', title: 'OGC API – Features of this release' },
      { href: `${base}/releases/${n}/style.json`, rel: 'stylesheet', type: 'application/vnd.mapbox.style+json', title: 'MapLibre style' },
      { href: `${base}/releases/${n}/tiles.json`, rel: 'tiles', type: 'application/json', title: 'TileJSON (every layer)' },
      { href: `${base}/api/releases/${n}/archive`, rel: 'enclosure', type: 'application/zip', title: '成果包 (PMTiles, GeoPackage, style, manifest)' },
    ],
  };
}
