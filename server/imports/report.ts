// The report of an import: every problem counted by code and the first 1,000 by feature index
// listed (whether JavaScript found them as the file was read or PostGIS after it), the geometry
// problems and repairs PostGIS found in the words of the report, and the report itself.
import type { CheckedRow, CheckResult } from './stage';
import { importMessages as m } from './messages';
import type { ImportProblemCode } from './vocabulary';
import type { ImportReport, Problem, Repair } from './schemas';
import type { ImportProblem, ImportSource } from './types';

/** Problems listed in the report, and repairs; the rest are counted (problemCount, problemCounts, repairedCount). */
export const MAX_PROBLEMS = 1_000;

/**
 * Problems counted by code, of which the first MAX_PROBLEMS by feature index are kept (problems
 * without a feature index first; equal indexes in the order they were found), whatever order they
 * arrive in: the checks in JavaScript report as the file is read, PostGIS's checks after it.
 */
export class ProblemList {
  private kept: { p: Problem; key: number; seq: number }[] = [];
  private seq = 0;
  /** Index in `kept` of the entry that goes first when a smaller one arrives (the largest key, then the latest). */
  private worst = -1;
  count = 0;
  byCode: Partial<Record<ImportProblemCode, number>> = {};

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
  countMore(code: ImportProblemCode, n: number) {
    if (n <= 0) return;
    this.count += n;
    this.byCode[code] = (this.byCode[code] ?? 0) + n;
  }

  /** The kept problems by feature index. */
  sorted(): Problem[] {
    return [...this.kept].sort((a, b) => a.key - b.key || a.seq - b.seq).map((e) => e.p);
  }

  /**
   * PostGIS's findings (CheckResult): the listed geometry problems, the rest counted, and the
   * repairs as the report lists them. `idOf` and `fileOf` name each feature as the report does.
   */
  addChecked(checked: CheckResult, names: { idOf: (r: CheckedRow) => string | number | undefined; fileOf: (r: CheckedRow) => string | undefined }): Repair[] {
    for (const r of checked.problems) this.add(geometryProblem(r, names.idOf(r), names.fileOf(r)));
    const listed = (...statuses: CheckedRow['status'][]) => checked.problems.filter((r) => statuses.includes(r.status)).length;
    this.countMore('geometry_empty', checked.counts.empty - listed('empty'));
    this.countMore('geometry_invalid', checked.counts.invalid + checked.counts.repair_failed - listed('invalid', 'repair_failed'));
    this.countMore('geometry_unreadable', checked.counts.unreadable - listed('unreadable'));
    return checked.repairs.map((r) => repairOf(r, names.idOf(r)));
  }
}

const before = (a: { key: number; seq: number }, b: { key: number; seq: number }) => a.key < b.key || (a.key === b.key && a.seq < b.seq);

/** A geometry problem PostGIS found, as the report lists it. */
function geometryProblem(r: CheckedRow, id: string | number | undefined, file: string | undefined): Problem {
  const where = { feature: r.i, id, file };
  const location = locationOf(r);
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
  const location = locationOf(r);
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

/** The point ST_IsValidDetail names, EPSG:4490 [lon, lat]. */
const locationOf = (r: CheckedRow): [number, number] | undefined => (r.lon !== null && r.lat !== null ? [r.lon, r.lat] : undefined);

/** What the report says besides its problems, once everything is known. */
export type ReportParts = Omit<ImportReport, 'ok' | 'problemCount' | 'problemCounts' | 'problems'>;

/** The report: the readers' problems and the checks' together, by feature index, counted by code. */
export function importReport(source: Pick<ImportSource, 'problems'>, problems: ProblemList, parts: ReportParts): ImportReport {
  const readers: Problem[] = source.problems.map((p: ImportProblem) => ({ ...p }));
  const all = [...readers, ...problems.sorted()].sort((a, b) => (a.feature ?? -1) - (b.feature ?? -1));
  const problemCounts = { ...problems.byCode };
  for (const p of source.problems) problemCounts[p.code] = (problemCounts[p.code] ?? 0) + 1;
  const problemCount = problems.count + source.problems.length;
  const { layer, dryRun, source: file, format, crs, encoding, mapping, featureCount, ...rest } = parts;
  return { ok: problemCount === 0, dryRun, layer, source: file, format, crs, encoding, mapping, featureCount, problemCount, problemCounts, problems: all.slice(0, MAX_PROBLEMS), ...rest };
}
