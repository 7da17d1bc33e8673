// The HTML face of the OGC API (f=html, or a browser's Accept: text/html): readable pages for the
// landing page, the conformance classes, the collections, a collection (its extent on a small map of
// the city), its queryables, an items page (a table and a map, with paging) and one feature, in
// Chinese with an English switch (lang=en), each linking its JSON alternate. The pages are built from
// the same answers as the JSON (routes.ts); the maps are SVG drawn here from the GeoJSON, with
// presentation attributes only: no script, no inline style, no external font or tile, so that the
// service's Content-Security-Policy holds (the stylesheet is the viewer's /ogcapi.css, web/public).
import type { Request } from 'express';
import type { Layer, Named } from '../layers/registry';

export type Lang = 'zh' | 'en';

/** Whether a request asks for HTML: f=html, or no f and a browser's Accept (text/html before JSON). */
export function wantsHtml(req: Request, f: string | undefined): boolean {
  if (f !== undefined) return f === 'html';
  const accept = req.get('accept') ?? '';
  if (!/text\/html/i.test(accept)) return false;
  return req.accepts(['text/html', 'application/json', 'application/geo+json']) === 'text/html';
}

export const langOf = (raw: unknown): Lang => (raw === 'en' ? 'en' : 'zh');

const T = {
  zh: {
    home: '首页',
    conformance: '符合性类',
    collections: '图层集合',
    collection: '图层',
    items: '要素',
    feature: '要素',
    queryables: '可查询属性',
    api: 'API 定义（OpenAPI）',
    json: 'JSON',
    other: 'English',
    id: '标识',
    title: '名称',
    description: '说明',
    extent: '范围',
    crs: '坐标系',
    storage: '存储坐标系',
    matched: (m: number, r: number, o: number) => `共 ${m} 个要素，本页 ${r} 个（自第 ${o + 1} 个起）`,
    next: '下一页',
    prev: '上一页',
    property: '属性',
    value: '值',
    type: '类型',
    classes: '分类',
    code: '分类代码',
    area: '面积（平方米）',
    none: '无',
    department: '责任部门',
    period: '规划期',
    revision: '版本',
    mapOf: (what: string) => `${what}示意图`,
  },
  en: {
    home: 'Home',
    conformance: 'Conformance classes',
    collections: 'Collections',
    collection: 'Collection',
    items: 'Features',
    feature: 'Feature',
    queryables: 'Queryables',
    api: 'API definition (OpenAPI)',
    json: 'JSON',
    other: '中文',
    id: 'id',
    title: 'Title',
    description: 'Description',
    extent: 'Extent',
    crs: 'CRS',
    storage: 'Storage CRS',
    matched: (m: number, r: number, o: number) => `${m} features in all, ${r} on this page (from number ${o + 1})`,
    next: 'Next page',
    prev: 'Previous page',
    property: 'Property',
    value: 'Value',
    type: 'Type',
    classes: 'Classes',
    code: 'Class code',
    area: 'Area (m²)',
    none: 'none',
    department: 'Department',
    period: 'Period',
    revision: 'Revision',
    mapOf: (what: string) => `Map of ${what}`,
  },
};

const esc = (v: unknown) =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The same address with f=html (and lang), for links between pages. */
function htmlHref(href: string, lang: Lang): string {
  const u = new URL(href);
  u.searchParams.set('f', 'html');
  if (lang === 'en') u.searchParams.set('lang', 'en');
  else u.searchParams.delete('lang');
  return u.toString();
}

/** The same address as JSON (f=json, no lang). */
function jsonHref(href: string): string {
  const u = new URL(href);
  u.searchParams.set('f', 'json');
  u.searchParams.delete('lang');
  return u.toString();
}

/** The page's own address, as asked, absolute. */
const selfHref = (req: Request, base: string) => new URL(req.originalUrl, new URL(base).origin).toString();

interface Crumb {
  label: string;
  href?: string;
}

/** One page: breadcrumbs to the landing page, the language switch, the JSON alternate. */
function page(req: Request, base: string, lang: Lang, title: string, crumbs: Crumb[], body: string): string {
  const t = T[lang];
  const self = selfHref(req, base);
  const other = new URL(self);
  other.searchParams.set('f', 'html');
  if (lang === 'en') other.searchParams.delete('lang');
  else other.searchParams.set('lang', 'en');
  const trail = [{ label: t.home, href: htmlHref(base, lang) }, ...crumbs]
    .map((c, i, all) => (c.href && i < all.length - 1 ? `<a href="${esc(c.href)}">${esc(c.label)}</a>` : `<span>${esc(c.label)}</span>`))
    .join(' › ');
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ogcapi.css">
<link rel="alternate" type="application/json" href="${esc(jsonHref(self))}">
</head>
<body>
<header><nav class="trail">${trail}</nav><nav class="switch"><a href="${esc(other.toString())}" hreflang="${lang === 'zh' ? 'en' : 'zh'}">${esc(t.other)}</a> · <a href="${esc(jsonHref(self))}" type="application/json">${esc(t.json)}</a></nav></header>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

const table = (head: string[], rows: string[][]) =>
  `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

interface LinkLike {
  href: string;
  rel: string;
  type: string;
  title: string;
}

export function landingHtml(req: Request, base: string, lang: Lang, landing: { title: string; description: string; links: LinkLike[] }): string {
  const t = T[lang];
  const items = [
    { href: htmlHref(`${base}/collections`, lang), label: t.collections },
    { href: htmlHref(`${base}/conformance`, lang), label: t.conformance },
    ...landing.links.filter((l) => l.rel === 'service-desc').map((l) => ({ href: l.href, label: `${t.api}: ${l.type}` })),
  ];
  return page(req, base, lang, landing.title, [], `<p>${esc(landing.description)}</p><ul>${items.map((i) => `<li><a href="${esc(i.href)}">${esc(i.label)}</a></li>`).join('')}</ul>`);
}

export function conformanceHtml(req: Request, base: string, lang: Lang, classes: string[]): string {
  const t = T[lang];
  return page(req, base, lang, t.conformance, [{ label: t.conformance }], `<ul>${classes.map((c) => `<li><a href="${esc(c)}">${esc(c)}</a></li>`).join('')}</ul>`);
}

export interface CollectionLike {
  id: string;
  title: string;
  description: string;
  extent: { spatial: { bbox: number[][] } };
  crs: string[];
  storageCrs: string;
}

const layerTitle = (layer: Layer | undefined, c: CollectionLike, lang: Lang) => (layer ? layer.title[lang] : c.title);

export function collectionsHtml(req: Request, base: string, lang: Lang, collections: CollectionLike[], layers: (id: string) => Layer | undefined): string {
  const t = T[lang];
  const rows = collections.map((c) => {
    const href = `${base}/collections/${c.id}`;
    return [
      `<a href="${esc(htmlHref(href, lang))}">${esc(layerTitle(layers(c.id), c, lang))}</a>`,
      `<code>${esc(c.id)}</code>`,
      esc(c.description),
      `<a href="${esc(htmlHref(`${href}/items`, lang))}">${esc(t.items)}</a> · <a href="${esc(htmlHref(`${href}/queryables`, lang))}">${esc(t.queryables)}</a>`,
    ];
  });
  return page(req, base, lang, t.collections, [{ label: t.collections }], table([t.title, t.id, t.description, ''], rows));
}

export function collectionHtml(req: Request, base: string, lang: Lang, c: CollectionLike, layer: Layer, departments: Named[], city: object | null): string {
  const t = T[lang];
  const href = `${base}/collections/${c.id}`;
  const box = c.extent.spatial.bbox[0];
  const dept = departments.find((d) => d.id === layer.department);
  const facts = table(
    [t.property, t.value],
    [
      [t.id, `<code>${esc(c.id)}</code>`],
      [t.description, esc(c.description)],
      [t.department, esc(dept ? dept[lang] : layer.department)],
      [t.period, `${layer.period.from}–${layer.period.to}`],
      [t.extent, esc(box.map((v) => v.toFixed(4)).join(', '))],
      [t.storage, esc(c.storageCrs)],
      [t.crs, c.crs.map((x) => `<code>${esc(x)}</code>`).join('<br>')],
      [t.classes, layer.classification.classes.map((k) => `${swatch(k.color)}<code>${esc(k.code)}</code> ${esc(k[lang])}`).join('<br>')],
    ],
  );
  const extentShape = { type: 'Polygon', coordinates: [[[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]], [box[0], box[1]]]] };
  const map = svgMap([{ geometry: extentShape, fill: '#2f6fb0', stroke: '#2f6fb0', opacity: 0.2 }], t.mapOf(layer.title[lang]), city);
  const links = `<p><a href="${esc(htmlHref(`${href}/items`, lang))}">${esc(t.items)}</a> · <a href="${esc(htmlHref(`${href}/queryables`, lang))}">${esc(t.queryables)}</a></p>`;
  return page(req, base, lang, layer.title[lang], [{ label: t.collections, href: htmlHref(`${base}/collections`, lang) }, { label: layer.title[lang] }], `${links}<div class="split">${map}${facts}</div>`);
}

export function queryablesHtml(req: Request, base: string, lang: Lang, layer: Layer, q: { properties: Record<string, { title: string; type?: string; format?: string; enum?: string[] }> }): string {
  const t = T[lang];
  const rows = Object.entries(q.properties).map(([name, p]) => [`<code>${esc(name)}</code>`, esc(p.title), esc(p.format ?? p.type ?? ''), esc(p.enum?.join(', ') ?? '')]);
  return page(
    req,
    base,
    lang,
    `${layer.title[lang]}: ${t.queryables}`,
    [{ label: t.collections, href: htmlHref(`${base}/collections`, lang) }, { label: layer.title[lang], href: htmlHref(`${base}/collections/${layer.id}`, lang) }, { label: t.queryables }],
    table([t.property, t.title, t.type, t.classes], rows),
  );
}

interface FeatureLike {
  id: number;
  geometry: { type: string; coordinates: unknown } | null;
  properties: Record<string, unknown>;
}

/** The property columns of a layer, labelled in the page's language. */
function columns(layer: Layer, lang: Lang, present: Set<string>): { name: string; label: string }[] {
  const t = T[lang];
  return [
    { name: 'code', label: t.code },
    ...layer.attributes.map((a) => ({ name: a.name, label: a[lang] })),
    { name: 'area_m2', label: t.area },
  ].filter((c) => present.has(c.name));
}

const cell = (layer: Layer, lang: Lang, name: string, v: unknown) => {
  if (v === null || v === undefined) return '<span class="null">—</span>';
  if (name === 'code') {
    const k = layer.classification.classes.find((c) => c.code === v);
    return k ? `${swatch(k.color)}<code>${esc(v)}</code> ${esc(k[lang])}` : `<code>${esc(v)}</code>`;
  }
  if (typeof v === 'number') return `<span class="num">${esc(v.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en'))}</span>`;
  return esc(typeof v === 'object' ? JSON.stringify(v) : v);
};

export function itemsHtml(
  req: Request,
  base: string,
  lang: Lang,
  layer: Layer,
  pageJson: { numberMatched: number; numberReturned: number; links: LinkLike[]; features: FeatureLike[] },
  offset: number,
  city: object | null,
): string {
  const t = T[lang];
  const present = new Set(pageJson.features.flatMap((f) => Object.keys(f.properties)));
  const cols = columns(layer, lang, present);
  const href = `${base}/collections/${layer.id}`;
  const rows = pageJson.features.map((f) => [
    `<a href="${esc(htmlHref(`${href}/items/${f.id}`, lang))}">${f.id}</a>`,
    ...cols.map((c) => cell(layer, lang, c.name, f.properties[c.name])),
  ]);
  const paging = pageJson.links
    .filter((l) => l.rel === 'prev' || l.rel === 'next')
    .sort((a) => (a.rel === 'prev' ? -1 : 1))
    .map((l) => `<a rel="${l.rel}" href="${esc(htmlHref(l.href, lang))}">${esc(l.rel === 'next' ? t.next : t.prev)}</a>`)
    .join(' · ');
  const colour = (code: unknown) => layer.classification.classes.find((c) => c.code === code)?.color ?? '#2f6fb0';
  const map = svgMap(
    pageJson.features.filter((f) => f.geometry).map((f) => ({ geometry: f.geometry!, fill: layer.geometry === 'MultiLineString' ? 'none' : colour(f.properties.code), stroke: colour(f.properties.code), opacity: 0.6 })),
    t.mapOf(layer.title[lang]),
    city,
  );
  return page(
    req,
    base,
    lang,
    `${layer.title[lang]}: ${t.items}`,
    [{ label: t.collections, href: htmlHref(`${base}/collections`, lang) }, { label: layer.title[lang], href: htmlHref(href, lang) }, { label: t.items }],
    `<p>${esc(t.matched(pageJson.numberMatched, pageJson.numberReturned, offset))}</p>${paging ? `<p class="paging">${paging}</p>` : ''}${map}${table([t.id, ...cols.map((c) => esc(c.label))], rows)}${paging ? `<p class="paging">${paging}</p>` : ''}`,
  );
}

export function featureHtml(req: Request, base: string, lang: Lang, layer: Layer, f: FeatureLike, city: object | null): string {
  const t = T[lang];
  const present = new Set(Object.keys(f.properties));
  const cols = columns(layer, lang, present);
  const href = `${base}/collections/${layer.id}`;
  const colour = layer.classification.classes.find((c) => c.code === f.properties.code)?.color ?? '#2f6fb0';
  const map = f.geometry ? svgMap([{ geometry: f.geometry, fill: layer.geometry === 'MultiLineString' ? 'none' : colour, stroke: colour, opacity: 0.6 }], t.mapOf(`${layer.title[lang]} ${f.id}`), city) : '';
  return page(
    req,
    base,
    lang,
    `${layer.title[lang]} ${f.id}`,
    [
      { label: t.collections, href: htmlHref(`${base}/collections`, lang) },
      { label: layer.title[lang], href: htmlHref(href, lang) },
      { label: t.items, href: htmlHref(`${href}/items`, lang) },
      { label: String(f.id) },
    ],
    `<div class="split">${map}${table([t.property, t.value], cols.map((c) => [esc(c.label), cell(layer, lang, c.name, f.properties[c.name])]))}</div>`,
  );
}

const swatch = (colour: string) => `<svg class="swatch" width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${esc(colour)}"/></svg>`;

// --- the maps ------------------------------------------------------------------------------------

interface Shape {
  geometry: object;
  fill: string;
  stroke: string;
  opacity?: number;
}

const W = 560;
const H = 400;
const PAD = 8;

/**
 * An SVG map of GeoJSON geometries in longitude/latitude: an equirectangular projection scaled by
 * the cosine of the middle latitude (a small area's shapes as they are), fitted to the box.
 */
export function svgMap(shapes: Shape[], label: string, context?: object | null): string {
  const points: number[][] = [];
  const collect = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') points.push(c as number[]);
    else if (Array.isArray(c)) c.forEach(collect);
  };
  const coordsOf = (g: any): unknown => (g.type === 'GeometryCollection' ? g.geometries.map(coordsOf) : g.coordinates);
  for (const s of shapes) collect(coordsOf(s.geometry));
  if (!points.length) return `<figure class="map empty"><figcaption>${esc(label)}</figcaption></figure>`;
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of points) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  // A margin around the shapes (at least ~500 m), so that the district boundaries around them show.
  const margin = Math.max((x1 - x0) * 0.12, (y1 - y0) * 0.12, 0.005);
  [x0, y0, x1, y1] = [x0 - margin, y0 - margin, x1 + margin, y1 + margin];
  const k = Math.cos((((y0 + y1) / 2) * Math.PI) / 180);
  const w = Math.max((x1 - x0) * k, 1e-9);
  const h = Math.max(y1 - y0, 1e-9);
  const s = Math.min((W - 2 * PAD) / w, (H - 2 * PAD) / h);
  const ox = (W - w * s) / 2;
  const oy = (H - h * s) / 2;
  const px = (p: number[]) => `${(ox + (p[0] - x0) * k * s).toFixed(1)} ${(oy + (y1 - p[1]) * s).toFixed(1)}`;
  const ring = (r: number[][]) => `M${r.map(px).join('L')}Z`;
  const line = (l: number[][]) => `M${l.map(px).join('L')}`;
  const draw = (g: any, sh: Shape): string => {
    const paint = `fill="${esc(sh.fill)}" stroke="${esc(sh.stroke)}"${sh.opacity !== undefined && sh.fill !== 'none' ? ` fill-opacity="${sh.opacity}"` : ''}`;
    switch (g.type) {
      case 'Polygon':
        return `<path d="${g.coordinates.map(ring).join('')}" fill-rule="evenodd" ${paint} stroke-width="0.8"/>`;
      case 'MultiPolygon':
        return `<path d="${g.coordinates.map((p: number[][][]) => p.map(ring).join('')).join('')}" fill-rule="evenodd" ${paint} stroke-width="0.8"/>`;
      case 'LineString':
        return `<path d="${line(g.coordinates)}" fill="none" stroke="${esc(sh.stroke)}" stroke-width="1.5"/>`;
      case 'MultiLineString':
        return `<path d="${g.coordinates.map(line).join('')}" fill="none" stroke="${esc(sh.stroke)}" stroke-width="1.5"/>`;
      case 'Point':
        return circle(g.coordinates, sh);
      case 'MultiPoint':
        return g.coordinates.map((c: number[]) => circle(c, sh)).join('');
      case 'GeometryCollection':
        return g.geometries.map((x: object) => draw(x, sh)).join('');
      default:
        return '';
    }
  };
  const circle = (c: number[], sh: Shape) => {
    const [cx, cy] = px(c).split(' ');
    return `<circle cx="${cx}" cy="${cy}" r="4" fill="${esc(sh.stroke)}" stroke="#ffffff" stroke-width="1"/>`;
  };
  const around = context ? draw(context, { geometry: context, fill: 'none', stroke: '#9aa3a9' }) : '';
  return `<figure class="map"><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}"><rect width="${W}" height="${H}" fill="#f7f7f4"/>${around}${shapes.map((sh) => draw(sh.geometry, sh)).join('')}</svg><figcaption>${esc(label)} (${x0.toFixed(4)}, ${y0.toFixed(4)} – ${x1.toFixed(4)}, ${y1.toFixed(4)}, CRS84)</figcaption></figure>`;
}
