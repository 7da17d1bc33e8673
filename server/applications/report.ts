// The printable compliance report of an application version (建设项目选址合规性审查报告): a map of
// the site over the plan classes around it with the overlaps the check found (SVG in EPSG:4547
// metres, so shapes and the scale bar are true), the verdict per plan, the classes the site
// touches, the rules it breaks, the sensitive zones, the departments and their opinions. It is
// built from what the check stored (areas, revisions), so it reads the same after the plans change;
// the plan classes drawn under the site are today's.
import { areaFigures } from '../layers/area';
import { esc, ha, mu, PRINT_CSS, svgMap } from '../reports/print';
import { layerTable } from '../platform/sql';
import { getApplication, getVersion } from './queries';
import { DECISIONS, OUTCOMES, VERDICTS, zhOf } from './vocabulary';
import type { Applications } from './workflow';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const verdictZh = (v: string) => zhOf(VERDICTS, v);

/** The report of a version (the current one by default), as one HTML page for print. */
export async function applicationReport(apps: Applications, id: number, version?: number): Promise<string> {
  const app = await getApplication(apps, id);
  const v = version === undefined || version === app.version ? app.current : await getVersion(apps, id, version);
  const check = v.check;
  const type = apps.types.byCode.get(v.project_type);

  // The map: the site, the overlaps found, and the classes of the layers those are on, around it.
  const { knex, registry } = apps;
  const { rows: frame } = await knex.raw<{ rows: { minx: number; miny: number; maxx: number; maxy: number; site: string; env: string }[] }>(
    `SELECT ST_XMin(e) AS minx, ST_YMin(e) AS miny, ST_XMax(e) AS maxx, ST_YMax(e) AS maxy, ST_AsSVG(g, 0, 2) AS site,
            encode(ST_AsEWKB(ST_Transform(ST_SetSRID(e::geometry, 4547), 4490)), 'hex') AS env
       FROM (SELECT g, ST_Expand(g::box2d, greatest(ST_XMax(g) - ST_XMin(g), ST_YMax(g) - ST_YMin(g), 200) * 0.6) AS e
               FROM (SELECT ST_Transform(site, 4547) AS g FROM application_versions WHERE application_id = ? AND version = ?) s) x`,
    [id, v.version],
  );
  const f = frame[0];
  const layerIds = [...new Set([...check.rules.filter((r) => !r.sliver).map((r) => r.layer), ...check.alerts.map((a) => a.layer)])];
  if (!layerIds.length) layerIds.push('landuse_plan');
  const shapes: { layer: string; code: string; path: string }[] = [];
  for (const lid of layerIds) {
    const layer = registry.byId.get(lid);
    if (!layer) continue;
    const { rows } = await knex.raw<{ rows: { code: string; path: string }[] }>(
      `SELECT code, ST_AsSVG(ST_Transform(ST_Intersection(geom, e.g), 4547), 0, 1) AS path
         FROM ${layerTable(lid)}, (SELECT ST_GeomFromEWKB(decode(?, 'hex')) AS g) e
        WHERE geom && e.g AND ST_Intersects(geom, e.g) LIMIT 2000`,
      [f.env],
    );
    shapes.push(...rows.map((r) => ({ layer: lid, ...r })));
  }
  const { rows: found } = await knex.raw<{ rows: { kind: string; ref: string; path: string }[] }>(
    'SELECT kind, ref, ST_AsSVG(ST_Transform(geom, 4547), 0, 2) AS path FROM application_findings WHERE application_id = ? AND version = ? ORDER BY kind, ref',
    [id, v.version],
  );
  const colour = (layer: string, code: string) => registry.byId.get(layer)?.classification.classes.find((c) => c.code === code)?.color ?? '#ccc';
  const svg = svgMap(f, { width: 680, height: 480, label: `${v.name}选址位置图` }, (stroke) => `<defs><pattern id="hatch" width="${stroke * 8}" height="${stroke * 8}" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="${stroke * 3}" height="${stroke * 8}" fill="#c0392b"/></pattern></defs>
  ${shapes.map((s) => `<path d="${s.path}" fill="${colour(s.layer, s.code)}" fill-opacity="0.55" stroke="#777" stroke-width="${stroke * 0.4}" fill-rule="evenodd"/>`).join('\n  ')}
  ${found.map((x) => `<path d="${x.path}" fill="url(#hatch)" stroke="#c0392b" stroke-width="${stroke * 0.8}" fill-rule="evenodd"><title>${esc(x.ref)}</title></path>`).join('\n  ')}
  <path d="${f.site}" fill="none" stroke="#1f3a93" stroke-width="${stroke * 2.2}" fill-rule="evenodd"/>`);
  const legendClasses = [...new Map(shapes.map((s) => [`${s.layer}/${s.code}`, s])).values()].slice(0, 12);

  const severityZh = (s: string) => registry.byId.get('conflicts')?.classification.classes.find((c) => c.code === s)?.zh ?? s;
  const site = areaFigures(v.site_area_m2);
  const requested = v.requested_area_m2;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>${esc(app.number)} 合规性审查报告</title>
<style>${PRINT_CSS}
  .verdict { font-weight: bold; }
  .conflicting { color: #b03a2e; } .needs_review { color: #b9770e; } .compliant { color: #1e8449; }
  dl { display: grid; grid-template-columns: 28mm 1fr 28mm 1fr; gap: 1mm 3mm; margin: 0 0 4mm; font-size: 9.5pt; }
  dt { color: #555; } dd { margin: 0; }
</style></head>
<body>
<h1>大同市建设项目选址合规性审查报告</h1>
<div class="sub">${esc(app.number)} · 第${v.version}版 · ${esc(zhOf(OUTCOMES, v.outcome))} · 审查于 ${esc(String(check.checked_at).slice(0, 16).replace('T', ' '))} UTC</div>
<dl>
  <dt>项目名称</dt><dd>${esc(v.name)}</dd><dt>项目类型</dt><dd>${esc(type?.zh ?? v.project_type)}</dd>
  <dt>建设单位</dt><dd>${esc(v.investor)}</dd><dt>受理</dt><dd>${esc(v.submitted_by)} · ${esc(v.submitted_at.slice(0, 10))}</dd>
  <dt>用地面积</dt><dd>${ha(site.area_m2 ?? 0)} 公顷（${mu(site.area_m2 ?? 0)} 亩）</dd><dt>申请面积</dt><dd>${requested ? `${ha(requested)} 公顷${Math.abs(requested - (site.area_m2 ?? 0)) > 0.05 * requested ? '（与图上面积相差超过5%）' : ''}` : '—'}</dd>
  <dt>综合结论</dt><dd class="verdict ${check.verdict}">${verdictZh(check.verdict)}</dd><dt>办理时限</dt><dd>${esc(v.deadline)}</dd>
</dl>
<figure>${svg}
<figcaption>图1 选址位置（CGCS2000 / 3度带高斯-克吕格 114°E，EPSG:4547）：蓝线为用地范围，红色斜线为冲突部分
<div class="legend">${legendClasses.map((s) => `<span><i style="background:${colour(s.layer, s.code)}"></i>${esc(registry.byId.get(s.layer)?.classification.classes.find((c) => c.code === s.code)?.zh ?? s.code)}</span>`).join('')}</div></figcaption></figure>

<h2>表1 违反的规则</h2>
${check.rules.length ? `<table><thead><tr><th>规则</th><th>严重程度</th><th>说明</th><th>面积（公顷）</th><th>面积（亩）</th><th>占用地比例</th><th>责任部门</th></tr></thead><tbody>
${check.rules.map((r) => `<tr><td>${esc(r.zh)}</td><td>${esc(severityZh(r.severity))}</td><td>${esc(r.summary_zh)}</td><td class="n">${ha(r.area_m2 ?? 0)}</td><td class="n">${mu(r.area_m2 ?? 0)}</td><td class="n">${pct(r.share)}</td><td>${r.departments.map((d) => esc(apps.deptZh(d))).join('、')}</td></tr>`).join('\n')}
</tbody></table>` : '<p>未违反任何冲突规则。</p>'}

<h2>表2 涉及的敏感区域</h2>
${check.alerts.length ? `<table><thead><tr><th>区域</th><th>面积（公顷）</th><th>占用地比例</th><th>主管部门</th></tr></thead><tbody>
${check.alerts.map((a) => `<tr><td>${esc(a.zh)}</td><td class="n">${ha(a.area_m2 ?? 0)}</td><td class="n">${pct(a.share)}</td><td>${esc(apps.deptZh(a.department))}</td></tr>`).join('\n')}
</tbody></table>` : '<p>不涉及采煤沉陷区、生态保护红线、饮用水水源保护区、自然保护区、禁止开发区域。</p>'}

<h2>表3 各规划符合性</h2>
<table><thead><tr><th>规划</th><th>图层（版本）</th><th>结论</th><th>涉及地类：面积（公顷）、比例</th><th>说明</th></tr></thead><tbody>
${check.plans.flatMap((p) => p.layers.map((l, i) => `<tr>${i === 0 ? `<td rowspan="${p.layers.length}">${esc(p.zh)}<br><span class="verdict ${p.verdict}">${verdictZh(p.verdict)}</span></td>` : ''}<td>${esc(l.zh)}${l.revision ? `（第${l.revision}版）` : ''}</td><td class="${l.verdict}">${verdictZh(l.verdict)}</td><td>${l.classes.length ? l.classes.map((c) => `${esc(c.zh)}：${ha(c.area_m2 ?? 0)}，${pct(c.share)}`).join('<br>') : '未覆盖'}</td><td>${l.notes.map(esc).join('<br>')}</td></tr>`)).join('\n')}
</tbody></table>

<h2>表4 并联审查部门与意见</h2>
<table><thead><tr><th>部门</th><th>列入原因</th><th>意见</th><th>条件 / 理由</th><th>签署</th></tr></thead><tbody>
${v.required.map((r) => `<tr><td>${esc(r.zh)}</td><td>${r.reasons.map(esc).join('<br>')}</td><td>${r.opinion ? esc(zhOf(DECISIONS, r.opinion.decision)) : r.overdue ? '<b class="conflicting">已超期</b>' : '待审查'}</td><td>${esc(r.opinion?.conditions ?? r.opinion?.reason ?? '')}</td><td>${r.opinion ? `${esc(r.opinion.author_name)}<br>${esc(r.opinion.signed_at.slice(0, 16).replace('T', ' '))}<br><small>签名 ${esc(r.opinion.signature.slice(0, 16))}…</small>` : ''}</td></tr>`).join('\n')}
</tbody></table>
<p style="font-size:9pt;color:#444">面积为CGCS2000椭球面积。审查所用规划版本：${Object.entries(check.revisions).filter(([, r]) => r !== null).map(([l, r]) => `${esc(registry.byId.get(l)?.title.zh ?? l)} 第${r}版`).join('、')}。</p>
</body></html>`;
}
