// Thematic maps of a release (专题制图): a view, or one district per page (an atlas), printed to
// PDF or PNG in headless Chromium from the viewer's print page (web/print.html).
//
//   planPrint   checks the request against the release (its layers, its extent) and frames every
//               page: centre, zoom at a round scale, the legend of what the frame shows (classes
//               present, from the release's registry entries), the district's outline and mask.
//   Printer     one browser, launched on the first print and reused (closed when idle or when the
//               HTTP server closes), one browser context per job with the job handed to the page,
//               at most `concurrency` jobs at a time and `queue` waiting, each within `timeoutMs`
//               (503 past it); PDF by page.pdf, PNG by a screenshot per sheet at dpi/96 device
//               pixels per CSS pixel (an atlas as PNG: a zip of one PNG per page).
import type { Knex } from 'knex';
import type { Browser, BrowserContext } from 'playwright-core';
import { z } from 'zod';
import type { Layer, Registry } from '../layers/registry';
import { launchChromium } from '../platform/chromium';
import { AppError, badRequest } from '../platform/errors';
import { log } from '../platform/log';
import {
  type Bbox,
  fitView,
  type MapView,
  ORIENTATIONS,
  overlaps,
  PAPERS,
  PRINT_FORMATS,
  type PrintFormat,
  type SheetLayout,
  sheetLayout,
  sheetPixels,
  viewAt,
} from './print-layout';
import type { StoredRelease } from './store';
import { RELEASE_STATUS_ZH } from './vocabulary';

// --- the request ----------------------------------------------------------------------------------------------

const lon = z.number().min(-180).max(180);
const lat = z.number().min(-90).max(90);

/** POST /api/releases/{n}/prints. */
export const PrintBody = z
  .object({
    format: z.enum(PRINT_FORMATS).default('pdf').describe('pdf: one file, one page per sheet (text stays text); png: an image per sheet'),
    paper: z.enum(PAPERS).default('A4'),
    orientation: z.enum(ORIENTATIONS).default('landscape'),
    dpi: z.number().int().min(150).max(300).default(150).describe('resolution of the map image (and of a PNG)'),
    title: z.string().trim().min(1).max(100).optional().describe('default: the release’s title'),
    layers: z.array(z.string().min(1).max(64)).min(1).max(100).optional().describe('layer ids of the release to draw (default: those its style shows)'),
    view: z
      .union([
        z.object({ bbox: z.tuple([lon, lat, lon, lat]).describe('west, south, east, north (CRS84)') }).strict(),
        z.object({ center: z.tuple([lon, lat]).describe('lon, lat (CRS84)'), zoom: z.number().min(0).max(22).describe('MapLibre zoom (512 px tiles, 96 dpi paper)') }).strict(),
      ])
      .optional()
      .describe('what to print: a box (framed at the round scale that holds it) or a centre and zoom; default: the release’s whole extent'),
    atlas: z.literal('districts').optional().describe('one page per district of the release’s districts layer, each framed on its district'),
  })
  .strict()
  .refine((b) => !(b.view && b.atlas), { message: 'give view or atlas, not both', path: ['atlas'] })
  .refine((b) => !b.view || !('bbox' in b.view) || (b.view.bbox[0] <= b.view.bbox[2] && b.view.bbox[1] <= b.view.bbox[3]), {
    message: 'bbox must be west ≤ east and south ≤ north',
    path: ['view', 'bbox'],
  })
  .meta({ id: 'PrintRequest' });
export type PrintRequest = z.output<typeof PrintBody>;

// --- what the print page gets ---------------------------------------------------------------------------------

export interface LegendEntry {
  id: string;
  title: string;
  kind: Layer['style']['kind'];
  classes: { code: string; zh: string; color: string }[];
}

export interface PrintSheet {
  /** The sheet's own title line (an atlas: the district's name). */
  heading: string | null;
  view: MapView;
  legend: LegendEntry[];
  /** An atlas page's district: its outline and the mask over what lies outside it (GeoJSON geometries). */
  frame?: { outline: unknown; mask: unknown };
}

/** The job as the print page reads it (window.__printJob). */
export interface PrintJob {
  title: string;
  format: PrintFormat;
  dpi: number;
  layout: SheetLayout;
  release: { number: number; status: string; statusZh: string; reviewNumber: string | null; approvalNumber: string | null; date: string; dateLabel: string };
  department: string;
  printedAt: string;
  styleUrl: string;
  layers: string[];
  sheets: PrintSheet[];
}

/** A date as printed in China (UTC+8), YYYY-MM-DD. */
export const chinaDate = (d: Date) => new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 10);

/** The union of the release's layer boxes (null when it pins nothing with a geometry). */
export function releaseExtent(r: StoredRelease): Bbox | null {
  const boxes = r.layers.map((l) => l.bbox).filter((b): b is number[] => !!b && b.length === 4);
  if (!boxes.length) return null;
  return [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))];
}

const emptyExtent = (message: string, details?: object) => badRequest('empty_extent', message, details);

/**
 * Checks a print request against the release and frames its sheets. 400 unknown_layer for a layer
 * the release does not pin; 400 empty_extent for a box with no area or one that misses the release.
 */
export async function planPrint(knex: Knex, registry: Registry, r: StoredRelease, body: PrintRequest, printedAt = new Date()): Promise<Omit<PrintJob, 'styleUrl'>> {
  const n = r.row.number;
  const pinned = r.layers.map((l) => l.layer_id);
  const entry = (id: string) => r.registry.get(id) ?? registry.byId.get(id);
  body.layers?.forEach((id, i) => {
    if (!pinned.includes(id)) {
      throw badRequest('unknown_layer', `layer '${id}' is not in release ${n} (it pins ${pinned.join(', ')})`, { field: `layers.${i}`, layerId: id, layers: pinned });
    }
  });
  // Drawn in the release's own order; by default the layers its style shows.
  const layers = body.layers ? pinned.filter((id) => body.layers!.includes(id)) : pinned.filter((id) => entry(id)?.style.visible !== false);
  const layout = sheetLayout(body.paper, body.orientation);
  const extent = releaseExtent(r);
  if (!extent) throw emptyExtent(`release ${n} has no feature to print`);

  const sheets: Omit<PrintSheet, 'legend'>[] = [];
  if (body.atlas === 'districts') {
    if (!pinned.includes('districts')) throw badRequest('unknown_layer', `the atlas is framed on the districts layer, which release ${n} does not pin`, { field: 'atlas', layerId: 'districts' });
    const { rows } = await knex.raw<{ rows: { name: string | null; adcode: string | null; box: string; outline: string; mask: string }[] }>(
      `SELECT f.attrs->>'name' AS name, f.attrs->>'adcode' AS adcode,
              json_build_array(ST_XMin(e.b), ST_YMin(e.b), ST_XMax(e.b), ST_YMax(e.b))::text AS box,
              ST_AsGeoJSON(f.geom, 5) AS outline,
              ST_AsGeoJSON(ST_Difference(ST_Expand(e.b, greatest(ST_XMax(e.b) - ST_XMin(e.b), ST_YMax(e.b) - ST_YMin(e.b)) * 3 + 1), f.geom), 5) AS mask
       FROM release_features f, LATERAL (SELECT ST_Envelope(f.geom) AS b) e
       WHERE f.release = ? AND f.layer_id = 'districts' AND NOT ST_IsEmpty(f.geom)
       ORDER BY f.attrs->>'adcode', f.fid`,
      [n],
    );
    if (!rows.length) throw emptyExtent(`release ${n}'s districts layer has no district to print`);
    for (const d of rows) {
      sheets.push({
        heading: d.name ?? d.adcode ?? '',
        view: fitView(JSON.parse(d.box) as Bbox, layout.map, 0.03),
        frame: { outline: JSON.parse(d.outline), mask: JSON.parse(d.mask) },
      });
    }
  } else {
    const v = body.view;
    let view: MapView;
    if (!v) view = fitView(extent, layout.map);
    else if ('bbox' in v) {
      const b = v.bbox;
      if (b[0] === b[2] || b[1] === b[3]) throw emptyExtent(`the box [${b.join(', ')}] has no area`, { field: 'view.bbox' });
      if (!overlaps(b, extent)) throw emptyExtent(`the box [${b.join(', ')}] lies outside release ${n}'s extent [${extent.map((x) => x.toFixed(3)).join(', ')}]`, { field: 'view.bbox', extent });
      view = fitView(b, layout.map, 0);
    } else {
      view = viewAt(v.center, v.zoom, layout.map);
      if (!overlaps(view.bbox, extent)) throw emptyExtent(`the view around [${v.center.join(', ')}] lies outside release ${n}'s extent`, { field: 'view.center', extent });
    }
    sheets.push({ heading: null, view });
  }

  // The legend of each sheet: the chosen layers' classes that its frame shows.
  const withLegend: PrintSheet[] = [];
  for (const s of sheets) {
    const [w, so, e, no] = s.view.bbox;
    const { rows } = await knex.raw<{ rows: { layer_id: string; codes: (string | null)[] }[] }>(
      `SELECT layer_id, array_agg(DISTINCT code) AS codes FROM release_features
       WHERE release = ? AND layer_id = ANY (?::text[]) AND geom && ST_MakeEnvelope(?, ?, ?, ?, 4490) GROUP BY layer_id`,
      [n, layers, w, so, e, no],
    );
    const present = new Map(rows.map((x) => [x.layer_id, new Set(x.codes)]));
    const legend: LegendEntry[] = [];
    for (const id of layers) {
      const l = entry(id);
      const codes = present.get(id);
      if (!l || !codes) continue;
      const shown = l.classification.classes.filter((c) => codes.has(c.code));
      legend.push({ id, title: l.title.zh, kind: l.style.kind, classes: (shown.length ? shown : l.classification.classes).map((c) => ({ code: c.code, zh: c.zh, color: c.color })) });
    }
    withLegend.push({ ...s, legend });
  }

  const row = r.row;
  const published = row.published_at ?? null;
  const dept = registry.departments.find((d) => d.id === row.department)?.zh ?? row.department;
  return {
    title: body.title ?? row.title,
    format: body.format,
    dpi: body.dpi,
    layout,
    release: {
      number: n,
      status: row.status,
      statusZh: RELEASE_STATUS_ZH[row.status],
      reviewNumber: row.review_number,
      approvalNumber: row.approval_number,
      date: chinaDate(published ?? row.prepared_at),
      dateLabel: published ? '发布日期' : '编制日期',
    },
    department: dept.startsWith('市') ? `大同${dept}` : dept,
    printedAt: chinaDate(printedAt),
    layers,
    sheets: withLegend,
  };
}

/** The file name of a print: release-3-districts-A4-landscape.pdf. */
export function printFileName(job: Omit<PrintJob, 'styleUrl'>, atlas: boolean): string {
  const ext = job.format === 'pdf' ? 'pdf' : job.sheets.length > 1 ? 'zip' : 'png';
  return `release-${job.release.number}-${atlas ? 'districts' : 'map'}-${job.layout.paper}-${job.layout.orientation}-${job.dpi}dpi.${ext}`;
}

// --- rendering ------------------------------------------------------------------------------------------------

export interface PrintedFile {
  data: Buffer;
  contentType: string;
  ms: number;
}

export interface PrinterOptions {
  /** Jobs rendered at the same time (each a browser context with its own WebGL). */
  concurrency?: number;
  /** Jobs waiting for a turn; one more answers 503 busy. */
  queue?: number;
  /** The most a job may take, waiting included, for one sheet; each further sheet adds `perSheetMs`. */
  timeoutMs?: number;
  perSheetMs?: number;
  /** The browser closes after this long without a job. */
  idleMs?: number;
}

/** Where the print page is and who it loads the release's style and tiles as. */
export interface PrintTarget {
  /** http://127.0.0.1:<port> of this service. */
  base: string;
  /** The requester's Authorization header (staff printing a draft). */
  authorization?: string;
  /** The requester's cookies (a browser session printing a draft). */
  cookies?: { name: string; value: string }[];
  /** ONEMAP_PUBLIC_URL: links the style carries to it are fetched from `base` instead. */
  publicUrl?: string;
}

type PrintWindow = { __printJob?: PrintJob; __printReady?: boolean; __printError?: string; __printShow?: (i: number) => void };

const unavailable = (message: string, details?: object) => new AppError(503, 'unavailable', message, details);

export class Printer {
  private browser: Promise<Browser> | undefined;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private idle: NodeJS.Timeout | undefined;
  private readonly opts: Required<PrinterOptions>;

  constructor(opts: PrinterOptions = {}) {
    this.opts = { concurrency: 2, queue: 8, timeoutMs: 90_000, perSheetMs: 20_000, idleMs: 120_000, ...opts };
  }

  /** Renders a job; 503 when the queue is full or the job runs out of time, 500 print_failed when the page fails. */
  async print(job: PrintJob, target: PrintTarget): Promise<PrintedFile> {
    const started = Date.now();
    const budget = this.opts.timeoutMs + this.opts.perSheetMs * (job.sheets.length - 1);
    if (this.running >= this.opts.concurrency && this.waiting.length >= this.opts.queue) {
      throw new AppError(503, 'busy', `the printer is busy (${this.running} prints running, ${this.waiting.length} waiting); try again in a minute`);
    }
    let active: BrowserContext | undefined;
    let timedOut = false;
    const work = (async () => {
      await this.turn();
      let context: BrowserContext | undefined;
      try {
        if (timedOut) throw unavailable('the print timed out while it waited for its turn');
        context = active = await this.context(job, target);
        if (timedOut) throw unavailable('the print timed out');
        return await this.render(context, job, target);
      } catch (err) {
        if (err instanceof AppError || timedOut) throw err;
        // The browser's own failures (a crashed page, a lost connection) are the print's.
        throw new AppError(500, 'print_failed', `the print failed in the browser: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        await context?.close().catch(() => undefined);
        this.release();
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        // Closing the context makes whatever still waits on the page fail, and the turn pass on.
        void active?.close().catch(() => undefined);
        reject(unavailable(`the print did not finish within ${Math.round(budget / 1000)} s (${job.sheets.length} sheet${job.sheets.length > 1 ? 's' : ''}); try fewer sheets, a lower dpi or later`, { timeoutMs: budget }));
      }, budget);
    });
    work.catch(() => undefined);
    try {
      const data = await Promise.race([work, timeout]);
      return { data, contentType: job.format === 'pdf' ? 'application/pdf' : job.sheets.length > 1 ? 'application/zip' : 'image/png', ms: Date.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the browser (the HTTP server closed, or it stayed idle). */
  async close(): Promise<void> {
    clearTimeout(this.idle);
    const b = this.browser;
    this.browser = undefined;
    if (b) await (await b.catch(() => undefined))?.close().catch(() => undefined);
  }

  private async turn(): Promise<void> {
    clearTimeout(this.idle);
    if (this.running < this.opts.concurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the turn passes on; `running` stays
    else if (--this.running === 0) {
      this.idle = setTimeout(() => void this.close(), this.opts.idleMs);
      this.idle.unref();
    }
  }

  private async launched(): Promise<Browser> {
    if (this.browser) {
      const b = await this.browser.catch(() => undefined);
      if (b?.isConnected()) return b;
    }
    this.browser = launchChromium();
    const b = await this.browser;
    b.on('disconnected', () => {
      this.browser = undefined;
    });
    log.info({ version: b.version() }, 'print: browser launched');
    return b;
  }

  private async context(job: PrintJob, target: PrintTarget): Promise<BrowserContext> {
    const browser = await this.launched();
    const l = job.layout;
    const px = (mm: number) => Math.ceil((mm / 25.4) * 96);
    const context = await browser.newContext({
      viewport: { width: px(l.width), height: px(l.height) },
      deviceScaleFactor: job.format === 'png' ? job.dpi / 96 : 1,
      extraHTTPHeaders: target.authorization ? { Authorization: target.authorization } : {},
      serviceWorkers: 'block',
    });
    if (target.cookies?.length) await context.addCookies(target.cookies.map((c) => ({ ...c, url: target.base })));
    const publicUrl = target.publicUrl?.replace(/\/$/, '');
    if (publicUrl && publicUrl !== target.base) {
      // The style names the service by its public address; the page loads everything from here.
      await context.route(`${publicUrl}/**`, async (route) => {
        const response = await route.fetch({ url: target.base + route.request().url().slice(publicUrl.length) });
        await route.fulfill({ response });
      });
    }
    await context.addInitScript((j) => {
      (window as unknown as PrintWindow).__printJob = j;
    }, job);
    return context;
  }

  private async render(context: BrowserContext, job: PrintJob, target: PrintTarget): Promise<Buffer> {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    const url = `${target.base}/print.html?release=${job.release.number}`;
    const answer = await page.goto(url, { waitUntil: 'domcontentloaded' });
    if (!answer?.ok()) throw new AppError(500, 'print_failed', `the print page ${url} answered ${answer?.status() ?? 'nothing'}: is the viewer built (npm run build)?`);
    await page.waitForFunction(() => {
      const w = window as unknown as PrintWindow;
      return w.__printReady === true || typeof w.__printError === 'string';
    }, null, { timeout: 0, polling: 100 });
    const error = await page.evaluate(() => (window as unknown as PrintWindow).__printError);
    if (error !== undefined) throw new AppError(500, 'print_failed', `the print page failed: ${error}`, { problems: problems.slice(0, 10) });
    if (job.format === 'pdf') {
      return page.pdf({ preferCSSPageSize: true, printBackground: true });
    }
    // The sheet at exactly its size in pixels (A4 at 300 dpi: 3508 × 2480): Chrome's own capture
    // takes a clip in fractional CSS pixels (Playwright's rounds it to whole ones).
    const { width, height } = sheetPixels(job.layout, job.dpi);
    const scale = job.dpi / 96;
    const cdp = await context.newCDPSession(page);
    const pngs: Buffer[] = [];
    for (let i = 0; i < job.sheets.length; i++) {
      await page.evaluate((k) => (window as unknown as PrintWindow).__printShow!(k), i);
      const shot = await cdp.send('Page.captureScreenshot', { format: 'png', clip: { x: 0, y: 0, width: width / scale, height: height / scale, scale }, captureBeyondViewport: false });
      pngs.push(Buffer.from(shot.data, 'base64'));
    }
    if (pngs.length === 1) return pngs[0];
    const digits = String(pngs.length).length;
    return zipStored(pngs.map((data, i) => ({ name: `release-${job.release.number}-${String(i + 1).padStart(digits, '0')}-${safeName(job.sheets[i].heading ?? 'map')}.png`, data })));
  }
}

const safeName = (s: string) => s.replace(/[\\/:*?"<>|\s]+/g, '_').slice(0, 60) || 'map';

// --- a zip of stored (uncompressed) entries: PNGs are compressed already ------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip (APPNOTE 6.3, method 0, UTF-8 names) of the files. */
export function zipStored(files: { name: string; data: Buffer }[], when = new Date()): Buffer {
  const dosTime = (when.getHours() << 11) | (when.getMinutes() << 5) | (when.getSeconds() >> 1);
  const dosDate = ((when.getFullYear() - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const crc = crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(f.data.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(f.data.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, f.data);
    centrals.push(central, name);
    offset += local.length + name.length + f.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
