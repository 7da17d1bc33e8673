// The printable per-district report (差异图斑协调报告): a map (SVG drawn by PostGIS in the district's
// Gauss-Krüger plane, EPSG:4547, so shapes and the scale bar are true), the summary by rule and
// the case table, with lines for the district's and the city's opinions. Self-contained HTML: it
// prints (A4) or saves as one file to attach to a coordination meeting's minutes.
import type { Knex } from 'knex';
import { notFound } from '../platform/errors';
import { esc, ha, mu, PRINT_CSS, svgMap } from '../reports/print';
import type { ConflictEngine } from './detect';
import type { Ledger } from './ledger';
import { DECISIONS, RESOLVED, SEVERITIES, severityRank, STATUSES, type Status } from './vocabulary';

const MAP_W = 680;
const MAP_H = 520;

export async function districtReport(knex: Knex, ledger: Ledger, engine: ConflictEngine, adcode: string): Promise<string> {
  const district = await knex('plan.districts').where({ adcode }).orderBy('fid').first<{ name: string } | undefined>('name');
  if (!district) throw notFound('unknown_district', `no district has the division code ${adcode}`, { adcode });
  const severities = new Map((engine.registry.byId.get('conflicts')?.classification.classes ?? []).map((c) => [c.code, c]));
  const cases = await ledger.all({ adcode });
  // Gravest first, then largest: the numbers on the map follow the table.
  const open = cases
    .filter((c) => c.status !== RESOLVED)
    .sort((x, y) => severityRank(x.severity) - severityRank(y.severity) || (y.area_m2 ?? 0) - (x.area_m2 ?? 0));
  const run = await knex('conflict_runs').where({ status: 'succeeded' }).orderBy('id', 'desc').first<{ id: number; finished_at: Date; layers: Record<string, { revision: number }> } | undefined>();

  // The map: the district and its current patches in EPSG:4547 metres, y flipped by ST_AsSVG; the
  // gravest drawn last, on top.
  const { rows: frame } = await knex.raw<{ rows: { minx: number; miny: number; maxx: number; maxy: number; outline: string }[] }>(
    `SELECT ST_XMin(e) AS minx, ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy, ST_AsSVG(g, 0, 0) AS outline
       FROM (SELECT ST_Transform(ST_Union(geom), 4547) AS g, ST_Transform(ST_Union(geom), 4547)::box2d AS e FROM plan.districts WHERE adcode = ?) d`,
    [adcode],
  );
  const f = frame[0];
  const { rows: shapes } = await knex.raw<{ rows: { id: string; severity: string; path: string; cx: number; cy: number }[] }>(
    `SELECT p.id::text AS id, r.severity, ST_AsSVG(ST_Transform(p.geom, 4547), 0, 0) AS path,
            ST_X(ST_Transform(ST_PointOnSurface(p.geom), 4547)) AS cx, ST_Y(ST_Transform(ST_PointOnSurface(p.geom), 4547)) AS cy
       FROM conflict_pieces p JOIN conflict_rules r ON r.id = p.rule_id JOIN conflict_cases c ON c.id = p.id
      WHERE p.adcode = ? AND p.geom IS NOT NULL AND c.status <> ?
      ORDER BY array_position(?::text[], r.severity) DESC, p.area_m2 DESC`,
    [adcode, RESOLVED, [...SEVERITIES]],
  );
  const number = new Map<string, number>(open.map((c, i) => [c.id, i + 1]));
  const svg = svgMap(f, { width: MAP_W, height: MAP_H, label: `${district.name}差异图斑分布图` }, (stroke) => `<path d="${f.outline}" fill="#eef0e6" stroke="#555" stroke-width="${stroke * 1.5}" fill-rule="evenodd"/>
  ${shapes.map((s) => `<path d="${s.path}" fill="${severities.get(s.severity)?.color ?? '#d7191c'}" fill-opacity="0.85" stroke="#7f0000" stroke-width="${stroke * 0.6}" fill-rule="evenodd"><title>${esc(number.get(s.id) ?? '')}</title></path>`).join('\n  ')}
  ${shapes.filter((s) => number.has(s.id) && number.get(s.id)! <= 60).map((s) => `<text x="${s.cx}" y="${-s.cy}" font-size="${stroke * 11}" text-anchor="middle" fill="#000" stroke="#fff" stroke-width="${stroke * 2}" paint-order="stroke">${number.get(s.id)}</text>`).join('\n  ')}`);

  // Summary by rule (the cases not resolved by data: pending, coordinated, verified).
  const byRule = new Map<string, { zh: string; severity: string; n: number; area: number; by: Partial<Record<Status, number>> }>();
  for (const c of open) {
    const s = byRule.get(c.rule_id) ?? { zh: c.rule_zh, severity: c.severity, n: 0, area: 0, by: {} };
    s.n += 1;
    s.area += c.area_m2 ?? 0;
    s.by[c.status] = (s.by[c.status] ?? 0) + 1;
    byRule.set(c.rule_id, s);
  }
  const totalArea = [...byRule.values()].reduce((a, s) => a + s.area, 0);
  const statusZh = new Map<string, string>(STATUSES.map((s) => [s.code, s.zh]));
  const decisionZh = new Map<string, string>(DECISIONS.map((d) => [d.code, d.zh]));
  const resolved = cases.length - open.length;
  const revisions = run ? Object.entries(run.layers).filter(([id]) => id !== 'districts').map(([id, v]) => `${esc(engine.registry.byId.get(id)?.title.zh ?? id)} 第${v.revision}版`).join('、') : '';
  const now = new Date();

  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>${esc(district.name)}差异图斑协调报告</title>
<style>${PRINT_CSS}
  td:nth-child(6), td:nth-child(7) { white-space: nowrap; }
  .sign { display: grid; grid-template-columns: 1fr 1fr; gap: 8mm; margin-top: 8mm; }
  .sign div { border: 1px solid #888; min-height: 34mm; padding: 2mm; }
</style></head>
<body>
<h1>大同市“五规合一”差异图斑协调报告</h1>
<div class="sub">${esc(district.name)}（行政区划代码 ${esc(adcode)}）· 生成于 ${esc(now.toISOString().slice(0, 16).replace('T', ' '))} UTC${run ? ` · 检测批次 ${run.id}` : ''}</div>
<figure>${svg}
<figcaption>图1 ${esc(district.name)}差异图斑分布（CGCS2000 / 3度带高斯-克吕格 114°E，EPSG:4547；编号对应表2）
<div class="legend">${[...severities.values()].map((s) => `<span><i style="background:${s.color}"></i>${esc(s.zh)}</span>`).join('')}</div></figcaption></figure>

<h2>表1 按规则汇总（未消除的图斑）</h2>
<table><thead><tr><th>规则</th><th>严重程度</th><th>图斑数</th><th>面积（公顷）</th><th>面积（亩）</th><th>待协调</th><th>已协调</th><th>已核验</th></tr></thead><tbody>
${[...byRule.values()].map((s) => `<tr><td>${esc(s.zh)}</td><td>${esc(severities.get(s.severity)?.zh ?? s.severity)}</td><td class="n">${s.n}</td><td class="n">${ha(s.area)}</td><td class="n">${mu(s.area)}</td><td class="n">${s.by.pending ?? 0}</td><td class="n">${s.by.coordinated ?? 0}</td><td class="n">${s.by.verified ?? 0}</td></tr>`).join('\n')}
<tr><th>合计</th><th></th><th class="n">${open.length}</th><th class="n">${ha(totalArea)}</th><th class="n">${mu(totalArea)}</th><th></th><th></th><th></th></tr>
</tbody></table>
${resolved ? `<p>另有 ${resolved} 个图斑已因数据更新而消除（见台账）。</p>` : ''}

<h2>表2 差异图斑台账</h2>
<table><thead><tr><th>编号</th><th>规则</th><th>规划A地类</th><th>规划B地类</th><th>面积（公顷）</th><th>状态</th><th>协调方式</th><th>理由</th></tr></thead><tbody>
${open.map((c, i) => `<tr><td class="n">${i + 1}</td><td>${esc(c.rule_zh)}</td><td>${esc(c.a.layer_zh)}：${esc(c.a.class_zh ?? c.a.code)}</td><td>${esc(c.b.layer_zh)}：${esc(c.b.class_zh ?? c.b.code)}</td><td class="n">${ha(c.area_m2 ?? 0)}</td><td>${esc(statusZh.get(c.status) ?? c.status)}</td><td>${esc(c.decision ? decisionZh.get(c.decision) : '')}</td><td>${esc(c.reason ?? '')}</td></tr>`).join('\n')}
</tbody></table>
<p style="font-size:9pt;color:#444">面积为CGCS2000椭球面积；细碎图斑（小于规则的最小上图面积或细长度不足者）已剔除并计数。所用规划版本：${revisions}。</p>
<div class="sign"><div>区县意见：</div><div>市级意见：</div></div>
</body></html>`;
}
