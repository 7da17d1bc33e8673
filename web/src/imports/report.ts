// The validation report of an import as the panel shows it: the format, the detected CRS and
// encoding and how they were found, the feature count, warnings, repaired geometries, and every
// problem in a scrollable table (feature index, id, code, message).
import { lang, t } from '../i18n/i18n';
import { formatNumber } from '../identify/area';
import type { StringKey } from '../i18n/strings';
import { h } from '../ui/dom';
import type { ImportReport, RepairNote, ReportProblem } from './api';
import { problemName } from './problem-codes';

const FORMAT_NAMES: Record<string, string> = {
  geojson: 'GeoJSON',
  geojsonseq: 'GeoJSON Text Sequences',
  shapefile: 'Shapefile',
  geopackage: 'GeoPackage',
  'csv-points': 'CSV (界址点 / boundary points)',
};

const METHOD_KEYS: Record<string, StringKey> = {
  explicit: 'methodExplicit',
  'prj-authority': 'methodPrjAuthority',
  'prj-parameters': 'methodPrjParameters',
  'gpkg-srs': 'methodGpkgSrs',
  'geojson-crs': 'methodGeojsonCrs',
  'geojson-default': 'methodGeojsonDefault',
  none: 'methodNone',
  cpg: 'methodCpg',
  detected: 'methodDetected',
  format: 'methodFormat',
};

/** How a CRS or encoding was found, in the interface language (the server's word when unknown). */
export function methodLabel(method: string): string {
  const key = METHOD_KEYS[method];
  return key ? t(key) : method;
}

const dash = (v: unknown): string => (v === undefined || v === null || v === '' ? '—' : String(v));

/** Text of a warning, which the server gives as a problem object (or a plain string). */
function warningText(w: ReportProblem | string): string {
  if (typeof w === 'string') return w;
  const where = [w.feature !== undefined ? `#${w.feature}` : null, w.file ?? null, w.line !== undefined ? `L${w.line}` : null].filter(Boolean).join(' ');
  return where ? `${where}: ${w.message}` : w.message;
}

/** One repaired geometry: what was wrong, and what ST_MakeValid made of it. */
function repairText(r: RepairNote | string, locale: string): string {
  if (typeof r === 'string') return r;
  const parts = [`#${r.feature}${r.id !== undefined ? ` (${String(r.id)})` : ''}: ${r.reason}`];
  if (r.typeBefore && r.typeAfter) parts.push(r.typeBefore === r.typeAfter ? r.typeAfter : `${r.typeBefore} → ${r.typeAfter}`);
  if (typeof r.area_before_m2 === 'number' && typeof r.area_after_m2 === 'number') {
    parts.push(`${formatNumber(r.area_before_m2, 1, locale)} → ${formatNumber(r.area_after_m2, 1, locale)} ${t('unitM2')}`);
  }
  return parts.join('; ');
}

/** Distinct texts, in order (the CRS warnings also come among the warnings). */
const distinct = (xs: string[]): string[] => [...new Set(xs)];

function location(p: ReportProblem): string | null {
  const parts: string[] = [];
  if (p.file) parts.push(p.file);
  if (p.line !== undefined) parts.push(`L${p.line}`);
  if (p.location !== undefined && p.location !== null) {
    const loc = p.location;
    if (Array.isArray(loc) && loc.every((n) => typeof n === 'number')) parts.push(`(${(loc as number[]).map((n) => Number(n.toFixed(7))).join(', ')})`);
    else if (loc && typeof loc === 'object' && 'coordinates' in loc) parts.push(`(${String((loc as { coordinates: unknown[] }).coordinates.map((n) => (typeof n === 'number' ? Number(n.toFixed(7)) : n)).join(', '))})`);
    else parts.push(typeof loc === 'string' ? loc : JSON.stringify(loc));
  }
  return parts.length ? parts.join(' ') : null;
}

function problemRow(p: ReportProblem): HTMLElement {
  const where = location(p);
  return h('tr', { 'data-testid': 'import-problem', 'data-code': p.code, 'data-feature': p.feature },
    h('td', { class: 'num' }, dash(p.feature)),
    h('td', {}, dash(p.id)),
    h('td', { class: 'import-code' }, problemName(p.code) ?? null, h('code', {}, p.code)),
    h('td', {}, p.message,
      where ? h('div', { class: 'import-where' }, where) : null,
      p.hint ? h('div', { class: 'import-hint' }, p.hint) : null));
}

/** The report as an element; `committable` says whether the panel allows the commit. */
export function renderReport(report: ImportReport, committable: boolean): HTMLElement {
  const locale = lang() === 'zh' ? 'zh-CN' : 'en';
  const warnings = distinct([...(report.crs.warnings ?? []), ...report.warnings.map(warningText)]);
  const problems = report.problems;
  const problemCount = Math.max(report.problemCount ?? 0, problems.length);
  const repairedCount = Math.max(report.repairedCount ?? 0, report.repaired.length);
  const mapping = report.mapping;
  const mapped = mapping
    ? [mapping.code ? `code ← ${mapping.code}` : null,
      ...Object.entries(mapping.attributes).map(([name, key]) => (key ? `${name} ← ${key}` : `${name} ✕`))].filter(Boolean).join(', ')
    : '';
  const crs = report.crs.epsg !== null && report.crs.epsg !== undefined
    ? `${report.crs.name} (EPSG:${report.crs.epsg})`
    : dash(report.crs.name);
  return h('section', { class: 'import-report', 'data-testid': 'import-report', 'data-ok': String(committable) },
    h('h3', {}, t('importReport')),
    h('p', { class: `import-verdict ${committable ? 'ok' : 'bad'}`, 'data-testid': 'import-verdict' },
      committable ? `✓ ${t('importOk')}` : `✕ ${t('importRejected')}`),
    h('dl', { class: 'import-summary' },
      h('dt', {}, t('importFormat')), h('dd', { 'data-testid': 'import-format' }, FORMAT_NAMES[report.format] ?? dash(report.format)),
      h('dt', {}, t('importCrs')), h('dd', { 'data-testid': 'import-crs' }, crs,
        h('span', { class: 'import-method' }, `${t('importDetectedBy')}: ${methodLabel(report.crs.method)}`)),
      h('dt', {}, t('importEncodingLabel')), h('dd', { 'data-testid': 'import-encoding' }, dash(report.encoding.name),
        h('span', { class: 'import-method' }, `${t('importDetectedBy')}: ${methodLabel(report.encoding.method)}`)),
      h('dt', {}, t('importFeatureCount')), h('dd', { 'data-testid': 'import-feature-count' }, String(report.featureCount)),
      mapped ? h('dt', {}, t('importMapping')) : null, mapped ? h('dd', { class: 'import-mapping', 'data-testid': 'import-mapping' }, mapped) : null),
    warnings.length
      ? h('div', { class: 'import-notes warn', 'data-testid': 'import-warnings' },
        h('h4', {}, `${t('importWarnings')} (${warnings.length})`),
        h('ul', {}, ...warnings.map((w) => h('li', {}, w))))
      : null,
    report.repaired.length
      ? h('div', { class: 'import-notes', 'data-testid': 'import-repaired' },
        h('h4', {}, `${t('importRepaired')} (${repairedCount})`),
        h('ul', {}, ...report.repaired.map((r) => h('li', {}, repairText(r, locale)))))
      : null,
    problems.length
      ? h('div', { class: 'import-problems' },
        h('h4', { 'data-testid': 'import-problem-count' }, `${t('importProblems')}: ${problemCount} ${t('importProblemCount')}`,
          problemCount > problems.length ? h('span', { class: 'import-method' }, `${t('importProblemsListed')} ${problems.length}`) : null),
        h('div', { class: 'import-table-wrap' },
          h('table', { class: 'import-table', 'data-testid': 'import-problems' },
            h('thead', {}, h('tr', {},
              h('th', { title: t('importColFeatureTitle') }, t('importColFeature')), h('th', {}, t('importColId')),
              h('th', {}, t('importColCode')), h('th', {}, t('importColMessage')))),
            h('tbody', {}, ...problems.map(problemRow)))))
      : null,
    report.preview && report.preview.features.length ? h('p', { class: 'import-note' }, t('importPreviewNote')) : null);
}
