// Thematic maps of a release (专题制图) printed by the service in headless Chromium: a view as PDF
// and a district atlas as PDF, read back with poppler (pdfinfo, pdftotext, pdftoppm): the text
// layer holds the title, the legend entries, the 审图号, the CRS and the release number; the atlas
// has one page per district, each naming its district; the map is drawn (not one colour). A PNG
// at 300 dpi is the paper's size in pixels. The refusals each with their code.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../server/conflicts/rules';
import { loadRegistry } from '../server/layers/registry';
import { planPrint, PrintBody, Printer, type PrintJob } from '../server/releases/print';
import { sheetLayout, sheetPixels } from '../server/releases/print-layout';
import { Releases } from '../server/releases/store';
import { as } from './helpers/auth';
import { prepareRelease, publishRelease, releaseCall } from './helpers/releases';
import { useDemoCopy } from './helpers/setup';

const { knex, srv } = useDemoCopy();
/** Where the prints and their page images are left to look at (kept after the run). */
const OUT = path.join(os.tmpdir(), 'onemap-print');
const REVIEW = '晋S(2015)001号';
let release: { number: number; title: string };

beforeAll(async () => {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  release = await publishRelease(srv.baseUrl, knex, { title: '大同市五规合一一张图（2015年版）' });
});

/** POSTs a print (anonymous unless `who`), the answer as bytes. */
async function print(number: number, body: object, who?: string) {
  const res = await fetch(`${srv.baseUrl}/api/releases/${number}/prints`, {
    method: 'POST',
    headers: who ? await as(knex, who, { 'Content-Type': 'application/json' }) : { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = Buffer.from(await res.arrayBuffer());
  const json = () => JSON.parse(data.toString('utf8'));
  return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), data, json };
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
const pdfInfo = (file: string) => Object.fromEntries(run('pdfinfo', [file]).split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
/** pdfinfo's page size in whole points (A4: 595 × 842). */
const pageSize = (info: Record<string, string>) => /^([\d.]+) x ([\d.]+) pts/.exec(info['Page size'])!.slice(1, 3).map((x) => Math.round(Number(x)));
/** The text of the PDF (or a page), in pdftotext's reading order (a legend's columns one after the other). */
const pdfText = (file: string, page?: number) => run('pdftotext', [...(page ? ['-f', String(page), '-l', String(page)] : []), file, '-']);

/** A page of the PDF as an 8-bit grey image (pdftoppm -gray), and as a PNG beside it to look at. */
function pageImage(file: string, page: number, dpi: number): { width: number; height: number; pixels: Buffer } {
  const base = file.replace(/\.pdf$/, `-p${page}`);
  run('pdftoppm', ['-f', String(page), '-l', String(page), '-r', String(dpi), '-png', '-singlefile', file, base]);
  const pgm = execFileSync('pdftoppm', ['-f', String(page), '-l', String(page), '-r', String(dpi), '-gray', '-singlefile', file], { maxBuffer: 64 << 20 });
  // P5\n<w> <h>\n255\n<bytes>
  const m = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString('latin1'))!;
  return { width: Number(m[1]), height: Number(m[2]), pixels: pgm.subarray(m[0].length) };
}

/** The grey values of a box of the page given in mm: how many distinct, and the share of the commonest. */
function greys(img: { width: number; pixels: Buffer }, dpi: number, box: { x: number; y: number; w: number; h: number }) {
  const px = (mm: number) => Math.round((mm / 25.4) * dpi);
  const counts = new Map<number, number>();
  let n = 0;
  for (let y = px(box.y) + 2; y < px(box.y + box.h) - 2; y++) {
    for (let x = px(box.x) + 2; x < px(box.x + box.w) - 2; x++) {
      const v = img.pixels[y * img.width + x];
      counts.set(v, (counts.get(v) ?? 0) + 1);
      n++;
    }
  }
  return { distinct: counts.size, commonest: Math.max(...counts.values()) / n };
}

/** A PNG's size (IHDR) and its RGB(A) pixels (8-bit, non-interlaced, as Chromium writes them). */
function readPng(png: Buffer): { width: number; height: number; channels: number; pixels: Buffer } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const [depth, colour, , , interlace] = png.subarray(24, 29);
  expect([depth, interlace]).toEqual([8, 0]);
  const channels = colour === 6 ? 4 : colour === 2 ? 3 : 0;
  expect(channels).toBeGreaterThan(0);
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      pixels[y * stride + x] = (line[x] + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** The classes of a layer whose features meet the box, by their Chinese names (the registry's). */
async function classesIn(number: number, layerId: string, bbox: number[]): Promise<string[]> {
  const { rows } = await knex.raw<{ rows: { code: string }[] }>(
    `SELECT DISTINCT code FROM release_features WHERE release = ? AND layer_id = ? AND ST_Intersects(geom, ST_MakeEnvelope(?, ?, ?, ?, 4490))`,
    [number, layerId, ...bbox],
  );
  const { rows: reg } = await knex.raw<{ rows: { registry: { id: string; classification: { classes: { code: string; zh: string }[] } }[] }[] }>('SELECT registry FROM releases WHERE number = ?', [number]);
  const classes = reg[0].registry.find((l) => l.id === layerId)!.classification.classes;
  return rows.map((r) => classes.find((c) => c.code === r.code)!.zh);
}

describe('a view of the current release as PDF', () => {
  const bbox = [113.15, 39.98, 113.45, 40.18]; // 大同 city
  const file = path.join(OUT, 'view-A4-landscape.pdf');
  let text = '';

  it('prints the box on one A4 landscape page, for anybody (the release is published)', async () => {
    const r = await print(release.number, { format: 'pdf', paper: 'A4', orientation: 'landscape', title: '大同市中心城区规划图', view: { bbox } });
    expect(r.status, r.status !== 200 ? r.data.toString() : '').toBe(200);
    expect(r.type).toBe('application/pdf');
    expect(r.disposition).toMatch(new RegExp(`^attachment; filename="?release-${release.number}-map-A4-landscape-150dpi\\.pdf"?$`));
    fs.writeFileSync(file, r.data);
    const info = pdfInfo(file);
    expect(info.Pages).toBe('1');
    expect(pageSize(info)).toEqual([842, 595]); // A4 landscape in points
    text = pdfText(file);
  });

  it('its text holds the title, the 审图号, the CRS, the release number and date, the department, the scale', async () => {
    for (const s of ['大同市中心城区规划图', `审图号：${REVIEW}`, 'CGCS2000', 'EPSG:4490', `成果第 ${release.number} 版`, '大同市规划局', '图 例', '打印日期']) {
      expect(text, s).toContain(s);
    }
    expect(text).toMatch(/比例尺 1:\d{1,3}(,\d{3})+/);
    expect(text).toMatch(/\d+(\.\d+)? km/);
    const { rows } = await knex.raw(`SELECT to_char(published_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS d FROM releases WHERE number = ?`, [release.number]);
    expect(text).toContain(`发布日期 ${rows[0].d}`);
  });

  it('its legend names the classes the visible layers show there, and leaves out the hidden layers', async () => {
    for (const layerId of ['landuse_plan', 'urban_plan', 'roads']) {
      const names = await classesIn(release.number, layerId, bbox);
      expect(names.length, layerId).toBeGreaterThan(0);
      for (const zh of names) expect(text.replace(/\s+/g, ''), `${layerId}: ${zh}`).toContain(zh.replace(/\s+/g, ''));
    }
    expect(text).toContain('土地用途区');
    expect(text).not.toContain('土地利用现状'); // landuse_status is hidden by default
  });

  it('the page renders: the map is drawn (many tones, not one colour), the Chinese text too', () => {
    const img = pageImage(file, 1, 100);
    const layout = sheetLayout('A4', 'landscape');
    const map = greys(img, 100, layout.map);
    expect(map.distinct).toBeGreaterThan(30);
    expect(map.commonest).toBeLessThan(0.85);
    const header = greys(img, 100, layout.header);
    expect(header.distinct).toBeGreaterThan(5); // the title is drawn (CJK glyphs)
  });
});

describe('a district atlas as PDF', () => {
  const file = path.join(OUT, 'atlas-A4-portrait.pdf');
  let districts: { name: string }[] = [];

  it('has one page per district of the release, each naming its district, in adcode order', async () => {
    ({ rows: districts } = await knex.raw(`SELECT attrs->>'name' AS name FROM release_features WHERE release = ? AND layer_id = 'districts' ORDER BY attrs->>'adcode', fid`, [release.number]));
    expect(districts.length).toBeGreaterThan(5);
    const r = await print(release.number, { format: 'pdf', paper: 'A4', orientation: 'portrait', atlas: 'districts' });
    expect(r.status, r.status !== 200 ? r.data.toString() : '').toBe(200);
    expect(r.disposition).toContain(`release-${release.number}-districts-A4-portrait-150dpi.pdf`);
    fs.writeFileSync(file, r.data);
    const info = pdfInfo(file);
    expect(Number(info.Pages)).toBe(districts.length);
    expect(pageSize(info)).toEqual([595, 842]);
    for (const [i, d] of districts.entries()) {
      const t = pdfText(file, i + 1);
      expect(t, `page ${i + 1}`).toContain(d.name);
      expect(t).toContain(`第 ${i + 1} / ${districts.length} 页`);
      expect(t).toContain(REVIEW);
      expect(t).toContain('EPSG:4490');
      expect(t).toContain('大同市五规合一一张图（2015年版）');
      expect(t).toContain('行政区划(2015)'); // the districts layer is in every page's legend
    }
  }, 400_000); // eleven maps, one after the other, on a CPU renderer

  it('every page has its map drawn', () => {
    const layout = sheetLayout('A4', 'portrait');
    for (const page of [1, Math.ceil(districts.length / 2), districts.length]) {
      const map = greys(pageImage(file, page, 72), 72, layout.map);
      expect(map.distinct, `page ${page}`).toBeGreaterThan(20);
      expect(map.commonest, `page ${page}`).toBeLessThan(0.9);
    }
  });
});

describe('PNG', () => {
  it('A4 landscape at 300 dpi is 3508 × 2480 pixels, its map drawn', async () => {
    const r = await print(release.number, { format: 'png', paper: 'A4', orientation: 'landscape', dpi: 300, view: { center: [113.3, 40.08], zoom: 10 } });
    expect(r.status, r.status !== 200 ? r.data.toString() : '').toBe(200);
    expect(r.type).toBe('image/png');
    fs.writeFileSync(path.join(OUT, 'view-A4-landscape-300dpi.png'), r.data);
    const png = readPng(r.data);
    expect([png.width, png.height]).toEqual([3508, 2480]);
    expect(sheetPixels(sheetLayout('A4', 'landscape'), 300)).toEqual({ width: 3508, height: 2480 });
    // The map box: many colours, no one of them the most of it.
    const m = sheetLayout('A4', 'landscape').map;
    const px = (mm: number) => Math.round((mm / 25.4) * 300);
    const counts = new Map<number, number>();
    let n = 0;
    for (let y = px(m.y) + 10; y < px(m.y + m.h) - 10; y += 3) {
      for (let x = px(m.x) + 10; x < px(m.x + m.w) - 10; x += 3) {
        const o = (y * png.width + x) * png.channels;
        const rgb = (png.pixels[o] << 16) | (png.pixels[o + 1] << 8) | png.pixels[o + 2];
        counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
        n++;
      }
    }
    expect(counts.size).toBeGreaterThan(50);
    expect(Math.max(...counts.values()) / n).toBeLessThan(0.85);
  });
});

describe('drafts and withdrawn releases', () => {
  let draft: number;
  beforeAll(async () => {
    draft = (await prepareRelease(srv.baseUrl, knex, { title: '大同市五规合一一张图（送审稿）', layers: [{ layerId: 'districts' }, { layerId: 'landuse_plan' }] })).number;
  });

  it('staff print a draft (the page loads its style and tiles as them), marked as a draft; anonymous visitors get 404', async () => {
    expect((await print(draft, { view: { bbox: [113.2, 39.9, 113.5, 40.2] } })).json().code).toBe('unknown_release');
    const r = await print(draft, { paper: 'A3', orientation: 'portrait', layers: ['landuse_plan'], view: { bbox: [113.2, 39.9, 113.5, 40.2] } }, 'planning.editor');
    expect(r.status, r.status !== 200 ? r.data.toString() : '').toBe(200);
    const file = path.join(OUT, 'draft-A3-portrait.pdf');
    fs.writeFileSync(file, r.data);
    expect(pageSize(pdfInfo(file))).toEqual([842, 1191]); // A3 portrait in points
    const text = pdfText(file);
    expect(text).toContain('草稿');
    expect(text).toContain('审图号：（未取得）');
    expect(text).toContain('编制日期');
    expect(text).not.toContain('行政区划(2015)'); // only the layer asked for
    const map = greys(pageImage(file, 1, 72), 72, sheetLayout('A3', 'portrait').map);
    expect(map.distinct).toBeGreaterThan(20);
  });

  it('a withdrawn release: 410 release_withdrawn for anonymous visitors', async () => {
    const w = await releaseCall(srv.baseUrl, knex, 'planning.reviewer', 'POST', `/api/releases/${draft}/withdraw`, { reason: '测试撤回' });
    expect(w.status).toBe(200);
    const r = await print(draft, {});
    expect([r.status, r.json().code]).toEqual([410, 'release_withdrawn']);
  });
});

describe('the printer', () => {
  const registry = loadRegistry();
  const job = async (body: object, styleUrl?: string): Promise<PrintJob> => {
    const r = await new Releases(knex, registry, loadRules(registry)).read(release.number, undefined);
    const plan = await planPrint(knex, registry, r, PrintBody.parse(body));
    return { ...plan, styleUrl: styleUrl ?? `/releases/${release.number}/style.json` };
  };

  it('a print past its time: 503 unavailable (and the printer goes on)', async () => {
    const printer = new Printer({ timeoutMs: 300 });
    try {
      const err = await printer.print(await job({}), { base: srv.baseUrl }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 503, code: 'unavailable' });
    } finally {
      await printer.close();
    }
  });

  it('a full queue: 503 busy at once; the print before it finishes', async () => {
    const printer = new Printer({ concurrency: 1, queue: 0 });
    try {
      const j = await job({ format: 'png', dpi: 150 });
      const first = printer.print(j, { base: srv.baseUrl });
      const second = await printer.print(j, { base: srv.baseUrl }).catch((e: unknown) => e);
      expect(second).toMatchObject({ status: 503, code: 'busy' });
      expect((await first).contentType).toBe('image/png');
    } finally {
      await printer.close();
    }
  });

  it('a page that fails: 500 print_failed with its message', async () => {
    const printer = new Printer();
    try {
      const err = await printer.print(await job({}, '/releases/9999/style.json'), { base: srv.baseUrl }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 500, code: 'print_failed' });
      expect((err as Error).message).toContain('HTTP 404');
    } finally {
      await printer.close();
    }
  });
});

describe('refusals', () => {
  it.each([
    ['a box with no width', { view: { bbox: [113.3, 40.0, 113.3, 40.1] } }, 400, 'empty_extent'],
    ['a box with no height', { view: { bbox: [113.2, 40.0, 113.3, 40.0] } }, 400, 'empty_extent'],
    ['a box outside Datong', { view: { bbox: [100, 20, 101, 21] } }, 400, 'empty_extent'],
    ['a centre outside Datong', { view: { center: [120, 30], zoom: 12 } }, 400, 'empty_extent'],
    ['a layer the release lacks', { layers: ['landuse_plan', 'no_such_layer'] }, 400, 'unknown_layer'],
    ['dpi out of range', { dpi: 600 }, 400, 'invalid_body'],
    ['an unknown paper', { paper: 'A0' }, 400, 'invalid_body'],
    ['a view and an atlas', { view: { bbox: [113.2, 40.0, 113.3, 40.1] }, atlas: 'districts' }, 400, 'invalid_body'],
    ['a box west of its east', { view: { bbox: [113.3, 40.0, 113.2, 40.1] } }, 400, 'invalid_body'],
  ])('%s (%j): %i %s', async (_what, body, status, code) => {
    const r = await print(release.number, body);
    expect([r.status, r.json().code], r.data.toString()).toEqual([status, code]);
    expect(r.json().message.length).toBeGreaterThan(10);
  });

  it('an unknown release: 404 unknown_release', async () => {
    const r = await print(9999, { format: 'pdf' });
    expect([r.status, r.json().code]).toEqual([404, 'unknown_release']);
  });
});
