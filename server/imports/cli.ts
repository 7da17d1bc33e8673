// `npm run import -- <file> --layer <id> [--srid N] [--encoding gbk|utf8] [--dry-run] [--repair] [--json]`
// Imports a delivered file into a layer of the configured database (migrated first) as a new
// revision, printing the report as a table (or JSON with --json).
// Exit status: 0 imported (or a dry run without problems), 2 the file was refused, 1 any other error.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadRegistry } from '../layers/registry';
import { loadConfig } from '../platform/config';
import { migrate, openDatabase } from '../platform/db';
import { log } from '../platform/log';
import { importFile } from './pipeline';
import { ImportFields, type ImportReport } from './schemas';

const USAGE = 'usage: npm run import -- <file> --layer <id> [--srid N] [--encoding gbk|utf8] [--dry-run] [--repair] [--json] [--reason TEXT] [--user NAME]';

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    strict: true,
    options: {
      layer: { type: 'string' },
      srid: { type: 'string' },
      encoding: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      repair: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      reason: { type: 'string' },
      user: { type: 'string' },
    },
  });
} catch (err) {
  fail((err as Error).message);
}
const { values, positionals } = parsed;
if (positionals.length !== 1) fail(`expected one file, got ${positionals.length}`);
if (!values.layer) fail('--layer is required');
// The same checks as the upload's form fields.
const args = ImportFields.pick({ srid: true, encoding: true, reason: true }).safeParse({ srid: values.srid, encoding: values.encoding, reason: values.reason });
if (!args.success) fail(args.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}, got ${JSON.stringify(values[i.path[0] as 'srid'])}`).join('\n'));

// The report is the output; the service's info lines would only interleave with it (stdout).
if (!process.env.LOG_LEVEL) log.level = 'warn';

const registry = loadRegistry();
const layer = registry.byId.get(values.layer);
if (!layer) fail(`layer '${values.layer}' is not in the registry; known: ${registry.delivered.map((l) => l.id).join(', ')}`);
if (layer.derived) fail(`layer '${layer.id}' is computed by the service (read-only): it cannot be imported`);

const db = await openDatabase(loadConfig());
try {
  await migrate(db.knex);
  const report = await importFile(db.knex, layer, positionals[0], {
    ...args.data,
    dryRun: values['dry-run'],
    repair: values.repair,
    createdBy: values.user ?? os.userInfo().username,
    preview: values.json,
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : table(report));
  process.exitCode = report.ok ? 0 : 2;
} catch (err) {
  console.error(`import failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.close();
}

/** The report for people: what was read, the problems, warnings and repairs as rows, one summary line. */
function table(r: ImportReport): string {
  const out: string[] = [];
  const crs = r.crs.epsg ? `EPSG:${r.crs.epsg} ${r.crs.name} (${r.crs.method})` : 'unknown';
  out.push(`${r.source.name} → ${r.layer} (${layer!.title.zh})`);
  out.push(`  format ${r.format} · CRS ${crs} · encoding ${r.encoding.name} (${r.encoding.method}) · ${r.featureCount} features · SHA-256 ${r.source.sha256.slice(0, 16)}…`);
  const mapped = Object.entries(r.mapping.attributes).map(([a, k]) => `${a} ← ${k ?? '—'}`);
  out.push(`  mapping: code ← ${r.mapping.code ?? '—'}${mapped.length ? `, ${mapped.join(', ')}` : ''}`);
  const rows = (title: string, head: string[], body: string[][]) => {
    if (!body.length) return;
    out.push('', title);
    const w = head.map((h, i) => Math.max(width(h), ...body.map((b) => width(b[i]))));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, w[i]))).join('  ')}`;
    out.push(line(head), line(w.map((n, i) => '-'.repeat(i === w.length - 1 ? Math.min(n, 40) : n))), ...body.map(line));
  };
  const shown = r.problems.length < r.problemCount ? ` (first ${r.problems.length} of ${r.problemCount})` : '';
  rows(`problems${shown}:`, ['feature', 'id', 'code', 'message'], r.problems.map((p) => [p.feature === undefined ? '' : String(p.feature), p.id === undefined ? '' : String(p.id), p.code, p.hint ? `${p.message} — ${p.hint}` : p.message]));
  rows('warnings:', ['feature', 'code', 'message'], r.warnings.map((w) => [w.feature === undefined ? '' : String(w.feature), w.code, w.message]));
  rows(`repaired (${r.repairedCount}):`, ['feature', 'id', 'reason', 'type', 'vertices', 'area m²'], r.repaired.map((x) => [
    String(x.feature),
    x.id === undefined ? '' : String(x.id),
    x.reason + (x.location ? ` at ${x.location[0].toFixed(7)}, ${x.location[1].toFixed(7)}` : ''),
    `${x.typeBefore} → ${x.typeAfter}`,
    `${x.verticesBefore} → ${x.verticesAfter}`,
    x.area_before_m2 === null ? '' : `${fmt(x.area_before_m2)} → ${fmt(x.area_after_m2!)}`,
  ]));
  out.push('');
  const s = (r.elapsed_ms / 1000).toFixed(1);
  if (!r.ok) {
    const counts = Object.entries(r.problemCounts).map(([c, n]) => `${n} ${c}`).join(', ');
    out.push(`REFUSED: ${r.problemCount} problem${r.problemCount === 1 ? '' : 's'} (${counts}); nothing was written (${s} s)`);
  } else if (r.dryRun) out.push(`DRY RUN: ${r.featureCount} features, no problems${r.repairedCount ? `, ${r.repairedCount} repaired` : ''}; nothing was written (${s} s)`);
  else {
    const v = r.revision!;
    out.push(`IMPORTED: revision ${v.revision} of ${r.layer}: ${v.featureCount} features (${v.inserted} new, ${v.deleted} removed, ${v.unchanged} unchanged)${v.area_m2 === null ? '' : `, ${fmt(v.area_m2)} m²`}${r.repairedCount ? `, ${r.repairedCount} repaired` : ''} (${s} s)`);
  }
  return out.join('\n');
}

// Function declarations: the top-level code above runs before any const below would be initialised.
function fmt(n: number) {
  return Math.round(n).toLocaleString('en');
}
/** Display width: CJK characters take two columns in a terminal. */
function width(s: string) {
  return [...s].reduce((n, ch) => n + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1), 0);
}
function pad(s: string, w: number) {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}
