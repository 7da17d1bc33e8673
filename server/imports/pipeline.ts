// The import use-case: a delivered file → its properties mapped to the layer's registry schema →
// every feature checked in JavaScript as it is read (geometry type, required and typed attributes,
// class codes) and streamed ONCE into PostGIS with COPY, in parts (./stage.ts) → there, set-based,
// transformed to CGCS2000 (EPSG:4490) and checked with ST_IsValidDetail (optionally repaired with
// ST_MakeValid) → either ONE new revision of the layer, written from those staging tables part by
// part while the next parts are read and checked (stagedCommit), or a report of EVERY problem with
// where it is, and nothing written. The layer changes in one transaction or not at all: a refused
// file, a dry run or a killed process leaves it as it was.
//
// Memory stays bounded by streaming: features are read, checked and encoded as COPY text one by one
// and a part (at most 50,000 features) is held while the one before is in PostgreSQL, so a
// 300,000-parcel delivery is never held in memory as a whole (besides, only the first features'
// properties, for the preview, and the first 1,000 problems are kept).
//
//   const report = await importFile(knex, layer, '/tmp/upload-1', { name: '土地用途区.zip', createdBy: 'anonymous' });
//   report.ok ? report.revision : report.problems
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import iconv from 'iconv-lite';
import type { Knex } from 'knex';
import type { Attribute, Layer } from '../layers/registry';
import type { CommitMeta, CommitResult } from '../revisions/commit';
import { EwkbWriter, GeometryEncodingError } from './ewkb';
import { openImport } from './index';
import { importMessages as m } from './messages';
import { ImportStage, type CheckedRow, type StageRow } from './stage';
import type { DetectedCrs, DetectedEncoding, ImportFeature, ImportFormat, ProblemCode } from './types';

/** Problem codes of the checks against the layer, besides the readers' (ProblemCode). */
export type CheckCode =
  | 'code_unmapped' // no property holds the class code (reported once)
  | 'attribute_unmapped' // a required attribute is in no property (reported once)
  | 'code_missing'
  | 'code_unknown'
  | 'attribute_missing'
  | 'attribute_type'
  | 'geometry_type'
  | 'geometry_empty'
  | 'geometry_invalid'
  | 'geometry_unreadable';

/** Notes that do not refuse the file. */
export type WarningCode = 'properties_ignored' | 'code_guessed' | 'crs' | ProblemCode;

/** One problem of an import: the readers' ImportProblem plus the feature's id and a place. */
export interface Problem {
  code: ProblemCode | CheckCode;
  message: string;
  /** 0-based index of the feature in the file (the order the reader yields them). */
  feature?: number;
  /** The feature's own id, else the value of its key attribute (the layer's first required text attribute). */
  id?: string | number;
  file?: string;
  line?: number;
  /** Where (EPSG:4490 [lon, lat] in degrees): the point ST_IsValidDetail names. */
  location?: [number, number];
  hint?: string;
}

export interface Warning {
  code: WarningCode;
  message: string;
  file?: string;
  feature?: number;
  hint?: string;
}

/** What ST_MakeValid changed on one feature (with `repair`). */
export interface Repair {
  feature: number;
  id?: string | number;
  /** ST_IsValidDetail's reason and location before the repair. */
  reason: string;
  location?: [number, number];
  typeBefore: string;
  typeAfter: string;
  verticesBefore: number;
  verticesAfter: number;
  /** Ellipsoidal area (m², GRS80) before and after; null for lines and points. */
  area_before_m2: number | null;
  area_after_m2: number | null;
}

export interface ImportReport {
  /** True when the file has no problem (and, unless a dry run, the revision was written). */
  ok: boolean;
  dryRun: boolean;
  layer: string;
  source: { name: string; bytes: number; sha256: string };
  format: ImportFormat;
  crs: DetectedCrs;
  encoding: DetectedEncoding;
  /** Which property of the file became the class code and each attribute (null: none). */
  mapping: { code: string | null; attributes: Record<string, string | null>; ignored: string[] };
  featureCount: number;
  /** Every problem found, counted; `problems` lists the first MAX_PROBLEMS in file order. */
  problemCount: number;
  problemCounts: Record<string, number>;
  problems: Problem[];
  warnings: Warning[];
  repaired: Repair[];
  repairedCount: number;
  /** The first ≤ 200 features in EPSG:4490 (after repair), properties as they would be stored, feature id = index (features with problems too, to show where). */
  preview?: FeatureCollection;
  /** The revision written (absent for a dry run or a refused file). */
  revision?: CommitResult;
  elapsed_ms: number;
}

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
  /** Who imports (user name; 'anonymous' until accounts exist). */
  createdBy: string;
  /** Why, for the history (default: "import of <file name>"). */
  reason?: string;
  /** Include the preview (default true). */
  preview?: boolean;
  /** Features per part staged, checked and applied at a time (default 50,000; 1–1,000,000). */
  batchSize?: number;
}

/** Problems listed in the report; the rest are counted (problemCount, problemCounts). */
export const MAX_PROBLEMS = 1_000;
/** Repairs listed in the report; the rest are counted. */
export const MAX_REPAIRS = 1_000;
export const PREVIEW_FEATURES = 200;
/** Staged features whose properties are kept for the preview (some may turn out empty or unreadable). */
const PREVIEW_CANDIDATES = 2 * PREVIEW_FEATURES;

/** Property names that hold the class code when there is no `code` (compared case-insensitively). */
const CODE_ALIASES = ['code', 'class_code', 'classcode', '分类代码', '分类编码', '地类编码', '地类代码', 'dlbm', '用途代码', '用途编码', '用途', 'ytdm', '类别代码', '类型代码'];

/** Imports a delivered file into a layer as a new revision, or reports why not (see the top of this file). */
export async function importFile(knex: Knex, layer: Layer, filePath: string, opts: ImportFileOptions): Promise<ImportReport> {
  const started = performance.now();
  const name = opts.name ?? path.basename(filePath);
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= 1 && opts.batchSize <= 1_000_000)) {
    throw new Error(`batchSize should be an integer from 1 to 1000000, got ${opts.batchSize}`);
  }
  const { sha256, bytes } = await hashFile(filePath);
  const src = await openImport(filePath, { name, srid: opts.srid, encoding: opts.encoding });

  const problems = new ProblemList();
  const warnings: Warning[] = src.warnings.map((w) => ({ ...w }));
  for (const w of src.crs.warnings) warnings.push({ code: 'crs', message: w });
  const mapper = new PropertyMapper(layer, problems, warnings);
  const wantPreview = opts.preview !== false;
  const srid = src.crs.epsg;
  let featureCount = 0;
  let repaired: Repair[] = [];
  let repairedCount = 0;
  const preview: Feature[] = [];
  let revision: CommitResult | undefined;
  let stage: ImportStage | undefined;

  /** The report once everything is known. */
  const report = (): ImportReport => {
    const all = [...src.problems.map((p) => ({ ...p }) as Problem), ...problems.sorted()].sort((a, b) => (a.feature ?? -1) - (b.feature ?? -1));
    const problemCounts: Record<string, number> = { ...problems.byCode };
    for (const p of src.problems) problemCounts[p.code] = (problemCounts[p.code] ?? 0) + 1;
    const problemCount = problems.count + src.problems.length;
    return {
      ok: problemCount === 0,
      dryRun: !!opts.dryRun,
      layer: layer.id,
      source: { name, bytes, sha256 },
      format: src.format,
      crs: src.crs,
      encoding: src.encoding,
      mapping: mapper.summary(),
      featureCount,
      problemCount,
      problemCounts,
      problems: all.slice(0, MAX_PROBLEMS),
      warnings,
      repaired,
      repairedCount,
      ...(wantPreview ? { preview: { type: 'FeatureCollection', features: preview } } : {}),
      ...(revision ? { revision } : {}),
      elapsed_ms: Math.round(performance.now() - started),
    };
  };

  try {
    if (srid === null) {
      // No CRS (the reader reported why): the properties are still checked, nothing goes to PostGIS.
      for await (const f of src.features) {
        featureCount++;
        checkFeature(f, layer, mapper, problems);
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
        const meta: CommitMeta = {
          kind: 'import',
          createdBy: opts.createdBy,
          reason: opts.reason?.trim() || `import of ${name}`,
          sourceName: name.slice(0, 500),
          sourceSha256: sha256,
        };
        // Parts are applied to the layer while nothing is wrong so far (else the transaction is rolled back anyway).
        const fine = () => problems.count === 0 && src.problems.length === 0;
        stage = new ImportStage(trx, layer, { repair: !!opts.repair, commit: opts.dryRun ? null : meta, fine, db: knex, partFeatures: opts.batchSize });
        const files: string[] = [];
        const fileIndex = new Map<string, number>();
        /** Properties of the first staged features, for the preview (the geometries come from PostGIS). */
        const previewRows: { index: number; properties: Record<string, unknown> }[] = [];
        const ewkb = new EwkbWriter();

        async function* rows(): AsyncGenerator<StageRow> {
          for await (const f of src.features) {
            featureCount++;
            const c = checkFeature(f, layer, mapper, problems);
            if (!c.geometryOk) continue;
            let hex: string;
            try {
              hex = ewkb.hex(f.geometry as Geometry, srid!);
            } catch (err) {
              if (!(err instanceof GeometryEncodingError)) throw err;
              problems.add({ code: 'geometry_unreadable', feature: f.index, id: c.id, file: f.file, message: m.geometryUnreadable(f.index, err.message) });
              continue;
            }
            let file = fileIndex.get(f.file);
            if (file === undefined) {
              file = files.push(f.file) - 1;
              fileIndex.set(f.file, file);
            }
            if (wantPreview && previewRows.length < PREVIEW_CANDIDATES) previewRows.push({ index: f.index, properties: c.properties });
            yield { index: f.index, properties: c.properties, id: c.id, file, ewkb: hex };
          }
        }
        await stage.run(rows());
        const staged = stage;

        const checked = await staged.report(MAX_PROBLEMS);
        const idOf = (r: CheckedRow) => (r.ref === null ? undefined : r.ref_num ? Number(r.ref) : r.ref);
        const fileOf = (r: CheckedRow) => (r.file === null ? undefined : files[r.file]);
        for (const r of checked.problems) problems.add(geometryProblem(r, idOf(r), fileOf(r)));
        // The rest of the geometry problems are counted, not listed (the listed ones are the first by index).
        problems.countMore('geometry_empty', checked.counts.empty - checked.problems.filter((r) => r.status === 'empty').length);
        problems.countMore('geometry_invalid', checked.counts.invalid + checked.counts.repair_failed - checked.problems.filter((r) => r.status === 'invalid' || r.status === 'repair_failed').length);
        problems.countMore('geometry_unreadable', checked.counts.unreadable - checked.problems.filter((r) => r.status === 'unreadable').length);
        repairedCount = checked.counts.repaired;
        repaired = checked.repairs.map((r) => repairOf(r, idOf(r)));

        if (wantPreview) {
          const geojson = await staged.geojson(previewRows.map((r) => r.index));
          for (const r of previewRows) {
            const g = geojson.get(r.index);
            if (g === undefined) continue;
            preview.push({ type: 'Feature', properties: r.properties, geometry: JSON.parse(g) as Geometry, id: r.index });
            if (preview.length === PREVIEW_FEATURES) break;
          }
        }

        if (opts.dryRun || !fine()) throw ROLLBACK;
        revision = await staged.finish();
      })
      .catch((err: unknown) => {
        if (err !== ROLLBACK) throw err;
      });
    return report();
  } finally {
    // The staging tables of a committing import's helper session go once the transaction has ended.
    await stage?.close();
    await src.close();
  }
}

/** Thrown inside the import's transaction to roll it back (a dry run, a refused file): not an error. */
const ROLLBACK = Symbol('rollback');

/** A geometry problem PostGIS found, as the report lists it. */
function geometryProblem(r: CheckedRow, id: string | number | undefined, file: string | undefined): Problem {
  const where = { feature: r.i, id, file };
  const location: [number, number] | undefined = r.lon !== null && r.lat !== null ? [r.lon, r.lat] : undefined;
  const reason = r.reason ?? 'invalid';
  switch (r.status) {
    case 'empty':
      return { code: 'geometry_empty', message: m.geometryEmpty(r.i), ...where };
    case 'unreadable':
      return { code: 'geometry_unreadable', message: m.geometryUnreadable(r.i, r.message ?? ''), ...where };
    case 'repair_failed':
      return { code: 'geometry_invalid', message: m.repairFailed(r.i, reason), location, ...where };
    default:
      return { code: 'geometry_invalid', message: m.geometryInvalid(r.i, reason, r.lon, r.lat), location, hint: m.repairHint, ...where };
  }
}

/** A repair PostGIS made, as the report lists it. */
function repairOf(r: CheckedRow, id: string | number | undefined): Repair {
  const location: [number, number] | undefined = r.lon !== null && r.lat !== null ? [r.lon, r.lat] : undefined;
  return {
    feature: r.i,
    ...(id !== undefined ? { id } : {}),
    reason: r.reason ?? 'invalid',
    ...(location ? { location } : {}),
    typeBefore: r.type_before!,
    typeAfter: r.type_after!,
    verticesBefore: r.vertices_before!,
    verticesAfter: r.vertices_after!,
    area_before_m2: r.area_before_m2,
    area_after_m2: r.area_after_m2,
  };
}

// --- checks in JavaScript: properties and geometry type -------------------------------------------

interface Checked {
  feature: ImportFeature;
  id?: string | number;
  /** Properties as stored: `code` and the registry attributes, typed. */
  properties: Record<string, unknown>;
  /** The geometry has the layer's type and goes to PostGIS. */
  geometryOk: boolean;
}

/** Geometry types each layer type accepts (a single part is promoted to the layer's multi type). */
const ACCEPTED: Record<Layer['geometry'], string[]> = {
  MultiPolygon: ['Polygon', 'MultiPolygon'],
  MultiLineString: ['LineString', 'MultiLineString'],
  Point: ['Point'],
};

function checkFeature(f: ImportFeature, layer: Layer, mapper: PropertyMapper, problems: ProblemList): Checked {
  const { properties, id } = mapper.map(f);
  let geometryOk = false;
  if (f.geometry) {
    if (!ACCEPTED[layer.geometry].includes(f.geometry.type)) {
      problems.add({ code: 'geometry_type', feature: f.index, id, file: f.file, message: m.geometryType(f.index, f.geometry.type, layer) });
    } else geometryOk = true;
  } // no geometry: the reader reports geometry_missing
  return { feature: f, id, properties, geometryOk };
}

/**
 * Problems counted by code, of which the first MAX_PROBLEMS by feature index are kept (problems
 * without a feature index first; equal indexes in the order they were found), whatever order they
 * arrive in: the checks in JavaScript report as the file is read, PostGIS's checks after it.
 */
class ProblemList {
  private kept: { p: Problem; key: number; seq: number }[] = [];
  private seq = 0;
  /** Index in `kept` of the entry that goes first when a smaller one arrives (the largest key, then the latest). */
  private worst = -1;
  count = 0;
  byCode: Record<string, number> = {};

  add(p: Problem) {
    this.count++;
    this.byCode[p.code] = (this.byCode[p.code] ?? 0) + 1;
    const entry = { p: Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Problem, key: p.feature ?? -1, seq: this.seq++ };
    if (this.kept.length < MAX_PROBLEMS) {
      this.kept.push(entry);
      if (this.worst < 0 || !before(entry, this.kept[this.worst])) this.worst = this.kept.length - 1;
      return;
    }
    if (!before(entry, this.kept[this.worst])) return;
    this.kept[this.worst] = entry;
    this.worst = 0;
    for (let k = 1; k < this.kept.length; k++) if (before(this.kept[this.worst], this.kept[k])) this.worst = k;
  }

  /** Problems found and counted elsewhere, not listed. */
  countMore(code: CheckCode, n: number) {
    if (n <= 0) return;
    this.count += n;
    this.byCode[code] = (this.byCode[code] ?? 0) + n;
  }

  /** The kept problems by feature index. */
  sorted(): Problem[] {
    return [...this.kept].sort((a, b) => a.key - b.key || a.seq - b.seq).map((e) => e.p);
  }
}

const before = (a: { key: number; seq: number }, b: { key: number; seq: number }) => a.key < b.key || (a.key === b.key && a.seq < b.seq);

interface KeyMapping {
  code: string | null;
  /** attribute name → source property */
  attributes: Map<string, string>;
  ignored: string[];
}

/**
 * Maps a file's property names to the layer's: the class code from `code` (any case) or a known
 * alias (用途, 地类编码, DLBM, …) or, failing those, the one property whose first value is a class
 * code; each attribute by its exact name, then case-insensitively, then by its Chinese title, then
 * by the 10-byte truncated dBase form of either (GBK or UTF-8), in that order of precedence across
 * all attributes. Computed once per distinct set of property names; what is unmapped is reported once.
 */
class PropertyMapper {
  private cache = new Map<string, KeyMapping>();
  private first: KeyMapping | null = null;
  private reported = new Set<string>();
  private readonly codes: Map<string, string>;
  private readonly keyAttribute: Attribute | undefined;

  constructor(
    private readonly layer: Layer,
    private readonly problems: ProblemList,
    private readonly warnings: Warning[],
  ) {
    this.codes = new Map(layer.classification.classes.map((c) => [c.code, c.code]));
    this.keyAttribute = layer.attributes.find((a) => a.required && a.type === 'text');
  }

  map(f: ImportFeature): { properties: Record<string, unknown>; id?: string | number } {
    const keys = Object.keys(f.properties);
    const sig = keys.join('\u0000');
    let km = this.cache.get(sig);
    if (!km) {
      km = this.mappingOf(keys, f);
      if (this.cache.size < 1000) this.cache.set(sig, km);
    }
    const keyValue = this.keyAttribute && km.attributes.get(this.keyAttribute.name);
    const rawKey = keyValue ? f.properties[keyValue] : undefined;
    const id = f.id ?? (rawKey === undefined || rawKey === null || rawKey === '' ? undefined : String(rawKey));
    const where = { feature: f.index, id, file: f.file };

    const out: Record<string, unknown> = {};
    // The class code.
    const rawCode = km.code ? f.properties[km.code] : undefined;
    const code = this.classCode(rawCode);
    // A feature without a property the file's first features have (GeoJSON): missing in this feature.
    if (km.code || this.first?.code) {
      if (rawCode === undefined || rawCode === null || String(rawCode).trim() === '') this.problems.add({ code: 'code_missing', ...where, message: m.codeMissing(f.index) });
      else if (code === undefined) this.problems.add({ code: 'code_unknown', ...where, message: m.codeUnknown(f.index, String(rawCode), this.layer) });
    }
    out.code = code ?? (rawCode === undefined || rawCode === null ? null : String(rawCode));
    // The attributes.
    for (const a of this.layer.attributes) {
      const key = km.attributes.get(a.name);
      const raw = key === undefined ? undefined : f.properties[key];
      const v = convert(a, raw);
      if (!v.ok) {
        this.problems.add({ code: 'attribute_type', ...where, message: m.attributeType(f.index, a.name, key!, v.expected, raw) });
        out[a.name] = null;
        continue;
      }
      out[a.name] = v.value;
      // A required attribute in no property of the file is reported once (mappingOf), not per feature.
      if (v.value === null && a.required && (key !== undefined || this.first?.attributes.has(a.name))) this.problems.add({ code: 'attribute_missing', ...where, message: m.attributeMissing(f.index, a.name, a.zh, key) });
    }
    return { properties: out, id };
  }

  /** The registry code of a value: exact, else a number equal to exactly one numeric code ('10' → '010'). */
  private classCode(raw: unknown): string | undefined {
    if (raw === undefined || raw === null) return undefined;
    const s = String(raw).trim();
    const exact = this.codes.get(s);
    if (exact) return exact;
    if (/^\d+(\.0*)?$/.test(s)) {
      const same = [...this.codes.keys()].filter((c) => /^\d+$/.test(c) && Number(c) === Number(s));
      if (same.length === 1) return same[0];
    }
    return undefined;
  }

  private mappingOf(keys: string[], f: ImportFeature): KeyMapping {
    const used = new Set<string>();
    const lower = (s: string) => s.toLowerCase();
    const take = (pred: (k: string) => boolean) => {
      const k = keys.find((x) => !used.has(x) && pred(x));
      if (k !== undefined) used.add(k);
      return k;
    };
    let code = take((k) => k === 'code') ?? take((k) => lower(k) === 'code') ?? null;

    const attributes = new Map<string, string>();
    const rounds: ((a: Attribute) => (k: string) => boolean)[] = [
      (a) => (k) => k === a.name,
      (a) => (k) => lower(k) === lower(a.name),
      (a) => (k) => k.trim() === a.zh,
      (a) => (k) => dbfForms(a).includes(lower(k)),
    ];
    for (const round of rounds) {
      for (const a of this.layer.attributes) {
        if (attributes.has(a.name)) continue;
        const k = take(round(a));
        if (k !== undefined) attributes.set(a.name, k);
      }
    }
    if (code === null) {
      for (const alias of CODE_ALIASES) {
        code = take((k) => lower(k.trim()) === alias) ?? null;
        if (code !== null) break;
      }
    }
    if (code === null) {
      // The one remaining property whose value is a class code of the layer.
      const candidates = keys.filter((k) => !used.has(k) && this.classCode(f.properties[k]) !== undefined && typeof f.properties[k] === 'string');
      if (candidates.length === 1) {
        code = candidates[0];
        used.add(code);
        this.warnOnce(`guess:${code}`, { code: 'code_guessed', message: m.codeGuessed(code) });
      }
    }
    const km: KeyMapping = { code, attributes, ignored: keys.filter((k) => !used.has(k)) };

    // Unmapped in the file's first set of property names: reported once; later sets only lack values.
    if (code === null && !this.first) this.reportOnce('code', { code: 'code_unmapped', message: m.codeUnmapped(this.layer, keys), file: f.file, hint: 'name the column "code" or state it in the file' });
    for (const a of this.layer.attributes) {
      if (a.required && !attributes.has(a.name) && !this.first) {
        this.reportOnce(`attr:${a.name}`, { code: 'attribute_unmapped', message: m.attributeUnmapped(a.name, a.zh, keys), file: f.file, hint: `name the column '${a.name}' or '${a.zh}'` });
      }
    }
    if (km.ignored.length) this.warnOnce(`ignored:${km.ignored.join('\u0000')}`, { code: 'properties_ignored', message: m.propertiesIgnored(km.ignored), file: f.file });
    this.first ??= km;
    return km;
  }

  private reportOnce(key: string, p: Problem) {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.problems.add(p);
  }

  private warnOnce(key: string, w: Warning) {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.warnings.push(w);
  }

  summary(): ImportReport['mapping'] {
    const km = this.first;
    return {
      code: km?.code ?? null,
      attributes: Object.fromEntries(this.layer.attributes.map((a) => [a.name, km?.attributes.get(a.name) ?? null])),
      ignored: km?.ignored ?? [],
    };
  }
}

/** The names a dBase file (10-byte field names) may carry for an attribute, lower-case. */
function dbfForms(a: Attribute): string[] {
  const forms = [truncateBytes(a.name, 'utf-8'), truncateBytes(a.zh, 'gb18030'), truncateBytes(a.zh, 'utf-8')];
  return [...new Set(forms.filter((f) => f.length > 0).map((f) => f.toLowerCase()))];
}

/** The longest prefix of whole characters of `s` that fits 10 bytes in `encoding`. */
function truncateBytes(s: string, encoding: string, max = 10): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    n += encoding === 'utf-8' ? Buffer.byteLength(ch) : iconv.encode(ch, encoding).length;
    if (n > max) break;
    out += ch;
  }
  return out;
}

type Converted = { ok: true; value: unknown } | { ok: false; expected: string };

const INT32 = 2_147_483_647;
const TRUE = new Set(['true', 't', '1', 'y', 'yes', '是']);
const FALSE = new Set(['false', 'f', '0', 'n', 'no', '否']);

/** A property value as the attribute's type (null for absent or blank), or what was expected. */
export function convert(a: Attribute, raw: unknown): Converted {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return { ok: true, value: null };
  const s = typeof raw === 'string' ? raw.trim() : raw;
  switch (a.type) {
    case 'text':
      return typeof raw === 'object' ? { ok: false, expected: 'text' } : { ok: true, value: String(raw) };
    case 'integer': {
      const n = typeof s === 'number' ? s : typeof s === 'string' && /^[+-]?\d+(\.0*)?$/.test(s) ? Number(s) : NaN;
      return Number.isInteger(n) && Math.abs(n) <= INT32 ? { ok: true, value: n } : { ok: false, expected: `an integer from ${-INT32} to ${INT32}` };
    }
    case 'number': {
      const n = typeof s === 'number' ? s : typeof s === 'string' ? Number(s) : NaN;
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, expected: 'a number' };
    }
    case 'date': {
      const d = typeof s === 'string' ? /^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$/.exec(s) : null;
      if (d) {
        const [y, mo, da] = [Number(d[1]), Number(d[2]), Number(d[3])];
        const t = new Date(Date.UTC(y, mo - 1, da));
        if (t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === da) return { ok: true, value: t.toISOString().slice(0, 10) };
      }
      return { ok: false, expected: 'a date YYYY-MM-DD' };
    }
    case 'boolean': {
      if (typeof s === 'boolean') return { ok: true, value: s };
      const k = String(s).toLowerCase();
      if (TRUE.has(k)) return { ok: true, value: true };
      if (FALSE.has(k)) return { ok: true, value: false };
      return { ok: false, expected: 'true/false (1/0, 是/否)' };
    }
  }
}

// --- the file's hash -------------------------------------------------------------------------------------

async function hashFile(filePath: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of fs.createReadStream(filePath)) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}
