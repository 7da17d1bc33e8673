// The import use-case: a delivered file → its properties mapped to the layer's registry schema
// (mapping.ts) → every feature checked in JavaScript as it is read (geometry type, required and
// typed attributes, class codes) and streamed ONCE into PostGIS with COPY, in parts (stage.ts) →
// there, set-based, transformed to CGCS2000 (EPSG:4490) and checked with ST_IsValidDetail
// (optionally repaired with ST_MakeValid) → either ONE new revision of the layer, written part by
// part while the next parts are read and checked (stagedCommit), or a report of EVERY problem with
// where it is (report.ts), and nothing written. The layer changes in one transaction or not at all:
// a refused file, a dry run or a killed process leaves it as it was.
//
// Memory stays bounded by streaming: features are read, checked and encoded as COPY text one by one
// and a part (at most 50,000 features) is held while the one before is in PostgreSQL, so a
// 300,000-parcel delivery is never held in memory as a whole (besides, only the first features'
// properties, for the preview, and the first 1,000 problems are kept).
//
//   const report = await importFile(knex, layer, '/tmp/upload-1', { name: '土地用途区.zip', createdBy: 'anonymous' });
//   report.ok ? report.revision : report.problems
import path from 'node:path';
import type { Geometry } from 'geojson';
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import { sha256File } from '../platform/files';
import type { CommitMeta } from '../revisions/commit';
import type { CommitResult } from '../revisions/schemas';
import { EwkbWriter, GeometryEncodingError } from './ewkb';
import { openImport } from './index';
import { PropertyMapper, type Mapped } from './mapping';
import { importMessages as m } from './messages';
import { importReport, MAX_PROBLEMS, ProblemList } from './report';
import type { ImportReport, Repair, Warning } from './schemas';
import { ImportStage, type CheckedRow, type StageRow } from './stage';
import type { ImportFeature, ImportSource } from './types';

export interface ImportFileOptions {
  /** The file's original name (an upload's temporary file has none): picks the format, recorded in the revision. */
  name?: string;
  /** EPSG code of the source coordinates, overriding the file's .prj / crs. */
  srid?: number;
  /** Text encoding ('gbk', 'utf8', …), overriding .cpg and detection. */
  encoding?: string;
  /** Validate and report; write nothing. */
  dryRun?: boolean;
  /** Repair invalid geometries with ST_MakeValid (reported in `repaired`) instead of refusing them. */
  repair?: boolean;
  /** Who imports (the account's name). */
  createdBy: string;
  /** Why, for the history (default: "import of <file name>"). */
  reason?: string;
  /** Include the preview (default true). */
  preview?: boolean;
  /** Features per part staged, checked and applied at a time (default 50,000; 1–1,000,000). */
  batchSize?: number;
}

export const PREVIEW_FEATURES = 200;
/** Staged features whose properties are kept for the preview (some may turn out empty or unreadable). */
const PREVIEW_CANDIDATES = 2 * PREVIEW_FEATURES;

type PreviewFeature = NonNullable<ImportReport['preview']>['features'][number];

/** Imports a delivered file into a layer as a new revision, or reports why not (see the top of this file). */
export async function importFile(knex: Knex, layer: Layer, filePath: string, opts: ImportFileOptions): Promise<ImportReport> {
  const started = performance.now();
  const name = opts.name ?? path.basename(filePath);
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= 1 && opts.batchSize <= 1_000_000)) {
    throw new Error(`batchSize should be an integer from 1 to 1000000, got ${opts.batchSize}`);
  }
  const { sha256, size: bytes } = await sha256File(filePath);
  const src = await openImport(filePath, { name, srid: opts.srid, encoding: opts.encoding });

  const problems = new ProblemList();
  const warnings: Warning[] = src.warnings.map((w) => ({ ...w }));
  for (const w of src.crs.warnings) warnings.push({ code: 'crs', message: w });
  const checks = new FeatureChecks(layer, new PropertyMapper(layer, { problem: (p) => problems.add(p), warnings }), problems);
  const wantPreview = opts.preview !== false;
  let featureCount = 0;
  let checked: { repaired: Repair[]; repairedCount: number; preview: PreviewFeature[] } = { repaired: [], repairedCount: 0, preview: [] };
  let revision: CommitResult | undefined;
  let stage: ImportStage | undefined;

  /** The report once everything is known. */
  const report = (): ImportReport =>
    importReport(src, problems, {
      dryRun: !!opts.dryRun,
      layer: layer.id,
      source: { name, bytes, sha256 },
      format: src.format,
      crs: src.crs,
      encoding: src.encoding,
      mapping: checks.mapper.summary(),
      featureCount,
      warnings,
      repaired: checked.repaired,
      repairedCount: checked.repairedCount,
      ...(wantPreview ? { preview: { type: 'FeatureCollection', features: checked.preview } } : {}),
      ...(revision ? { revision } : {}),
      elapsed_ms: Math.round(performance.now() - started),
    });

  try {
    const srid = src.crs.epsg;
    if (srid === null) {
      // No CRS (the reader reported why): the properties are still checked, nothing goes to PostGIS.
      for await (const f of src.features) {
        featureCount++;
        checks.of(f);
      }
      return report();
    }

    // One transaction from the first staged row to the revision; anything but a written revision rolls it back.
    await knex
      .transaction(async (trx) => {
        // One unit of work: reading a 300,000-feature delivery takes longer than the per-request statement timeout.
        await trx.raw('SET LOCAL statement_timeout = 0');
        // ST_IsValid's NOTICE per invalid geometry would only flood the connection.
        await trx.raw('SET LOCAL client_min_messages = warning');
        const meta: CommitMeta = { kind: 'import', createdBy: opts.createdBy, reason: opts.reason?.trim() || `import of ${name}`, sourceName: name.slice(0, 500), sourceSha256: sha256 };
        // Parts are applied to the layer while nothing is wrong so far (else the transaction is rolled back anyway).
        const fine = () => problems.count === 0 && src.problems.length === 0;
        stage = new ImportStage(trx, layer, { repair: !!opts.repair, commit: opts.dryRun ? null : meta, fine, db: knex, partFeatures: opts.batchSize });

        const staging = new StagedRows(src, checks, srid, wantPreview ? PREVIEW_CANDIDATES : 0);
        await stage.run(staging.rows(() => featureCount++));
        checked = await findingsOf(stage, staging, problems, wantPreview);

        if (opts.dryRun || !fine()) throw ROLLBACK;
        revision = await stage.finish();
      })
      .catch((err: unknown) => {
        if (err !== ROLLBACK) throw err;
      });
    return report();
  } finally {
    // What a committing import's helper session staged goes once the transaction has ended.
    await stage?.close();
    await src.close();
  }
}

/** Thrown inside the import's transaction to roll it back (a dry run, a refused file): not an error. */
const ROLLBACK = Symbol('rollback');

/** Geometry types each layer type accepts (a single part is promoted to the layer's multi type). */
const ACCEPTED: Record<Layer['geometry'], string[]> = {
  MultiPolygon: ['Polygon', 'MultiPolygon'],
  MultiLineString: ['LineString', 'MultiLineString'],
  Point: ['Point'],
};

/** The checks in JavaScript, per feature as it is read: its properties (mapping.ts) and its geometry type. */
class FeatureChecks {
  constructor(
    private readonly layer: Layer,
    readonly mapper: PropertyMapper,
    readonly problems: ProblemList,
  ) {}

  /** The feature's properties as stored, and whether its geometry goes to PostGIS (it has the layer's type). */
  of(f: ImportFeature): Mapped & { geometryOk: boolean } {
    const mapped = this.mapper.map(f);
    // (No geometry: the reader reports geometry_missing.)
    const geometryOk = !!f.geometry && ACCEPTED[this.layer.geometry].includes(f.geometry.type);
    if (f.geometry && !geometryOk) {
      this.problems.add({ code: 'geometry_type', feature: f.index, id: mapped.id, file: f.file, message: m.geometryType(f.index, f.geometry.type, this.layer) });
    }
    return { ...mapped, geometryOk };
  }
}

/**
 * The delivery's features as the stage takes them (checked, the geometry as hex EWKB in the source
 * CRS, the file as an index into `files`), and the properties of the first ones for the preview.
 */
class StagedRows {
  readonly files: string[] = [];
  private readonly fileIndex = new Map<string, number>();
  /** Properties of the first staged features, for the preview (the geometries come from PostGIS). */
  readonly preview: { index: number; properties: Record<string, unknown> }[] = [];

  constructor(
    private readonly src: ImportSource,
    private readonly checks: FeatureChecks,
    private readonly srid: number,
    private readonly previewCandidates: number,
  ) {}

  /** Reads the file once; `counted` is called for every feature read. */
  async *rows(counted: () => void): AsyncGenerator<StageRow> {
    const ewkb = new EwkbWriter();
    for await (const f of this.src.features) {
      counted();
      const c = this.checks.of(f);
      if (!c.geometryOk) continue;
      let hex: string;
      try {
        hex = ewkb.hex(f.geometry as Geometry, this.srid);
      } catch (err) {
        if (!(err instanceof GeometryEncodingError)) throw err;
        this.checks.problems.add({ code: 'geometry_unreadable', feature: f.index, id: c.id, file: f.file, message: m.geometryUnreadable(f.index, err.message) });
        continue;
      }
      if (this.preview.length < this.previewCandidates) this.preview.push({ index: f.index, properties: c.properties });
      yield { index: f.index, properties: c.properties, id: c.id, file: this.fileOf(f.file), ewkb: hex };
    }
  }

  /** How the report names a feature PostGIS found something about: its id, its file. */
  readonly idOf = (r: CheckedRow) => (r.ref === null ? undefined : r.ref_num ? Number(r.ref) : r.ref);
  readonly nameOf = (r: CheckedRow) => (r.file === null ? undefined : this.files[r.file]);

  private fileOf(file: string): number {
    let k = this.fileIndex.get(file);
    if (k === undefined) {
      k = this.files.push(file) - 1;
      this.fileIndex.set(file, k);
    }
    return k;
  }
}

/** What PostGIS found (geometry problems into `problems`, the repairs) and the preview's features with their checked geometries. */
async function findingsOf(stage: ImportStage, staged: StagedRows, problems: ProblemList, wantPreview: boolean) {
  const result = await stage.report(MAX_PROBLEMS);
  const repaired = problems.addChecked(result, { idOf: staged.idOf, fileOf: staged.nameOf });
  const preview: PreviewFeature[] = [];
  if (wantPreview) {
    const geojson = await stage.geojson(staged.preview.map((r) => r.index));
    for (const r of staged.preview) {
      const g = geojson.get(r.index);
      if (g === undefined) continue;
      preview.push({ type: 'Feature', properties: r.properties, geometry: JSON.parse(g) as PreviewFeature['geometry'], id: r.index });
      if (preview.length === PREVIEW_FEATURES) break;
    }
  }
  return { repaired, repairedCount: result.counts.repaired, preview };
}

