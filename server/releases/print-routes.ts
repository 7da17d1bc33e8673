// POST /api/releases/{n}/prints: a thematic map (专题制图) of a release, as PDF or PNG (print.ts).
// Public for a published or superseded release, as the release itself is; staff for a draft (the
// print page then loads the draft's style and tiles as the requester: the request's bearer token
// or session cookie go to the page's browser context, nowhere else).
import type { Server } from 'node:http';
import { parse as parseCookies } from 'cookie';
import { z } from 'zod';
import { accountOf, guard } from '../accounts/authorize';
import { SESSION_COOKIE } from '../accounts/identify';
import { Routes, type RoutesOptions } from '../platform/contract';
import { log } from '../platform/log';
import { planPrint, PrintBody, Printer, printFileName, type PrinterOptions } from './print';
import { releaseNumber } from './schemas';
import type { Releases } from './store';

export interface PrintRoutesOptions extends RoutesOptions {
  publicUrl?: string;
  printer?: PrinterOptions;
}

/** Mounted at /api/releases/{number}/prints (before /api/releases, whose router answers 404 for what it lacks). */
export function printRoutes(releases: Releases, opts: PrintRoutesOptions = {}): Routes {
  const routes = new Routes('/api/releases/{number}/prints', ['Releases'], opts);
  const printer = new Printer(opts.printer);
  const servers = new WeakSet<Server>();

  routes.route(
    {
      method: 'post',
      path: '/',
      summary: 'Prints a thematic map of the release (专题制图): its view, or one page per district (an atlas), as PDF or PNG',
      description:
        'Rendered in headless Chromium from the viewer’s print page (/print.html): title, the map of the chosen layers, the legend of the classes it shows (from the release’s registry entries), ' +
        'scale (at the centre latitude, a round 1:n for a box or an atlas page) and scale bar, north arrow, CRS (CGCS2000 / EPSG:4490, shown in Web Mercator), 审图号, release number and date, department and print date. ' +
        'PDF: one file, one page per sheet, text as text and the map as an image at `dpi`. PNG: the sheet at `dpi` (A4 landscape at 300 dpi: 3508 × 2480 px); an atlas as PNG is a zip of one PNG per district. ' +
        'Public for a published or superseded release; staff for a draft.',
      access: guard.public,
      params: z.object({ number: releaseNumber().describe('release number') }),
      body: PrintBody,
      responses: {
        200: {
          description: 'the printed map as an attachment named release-<n>-<map|districts>-<paper>-<orientation>-<dpi>dpi.<pdf|png|zip>',
          type: 'application/pdf',
          alternatives: ['image/png', 'application/zip'],
          headers: { 'Content-Disposition': 'attachment; filename=…', 'X-Print-Pages': 'sheets printed', 'X-Print-Ms': 'rendering time (ms)' },
        },
      },
      errors: [400, 404, 410, 500, 503],
    },
    async ({ req, res, params, body }) => {
      const release = await releases.read(params.number, accountOf(res));
      const plan = await planPrint(releases.knex, releases.registry, release, body);
      // The browser closes with the HTTP server (and by itself when idle).
      const server = (req.socket as { server?: Server }).server;
      if (server && !servers.has(server)) {
        servers.add(server);
        server.once('close', () => void printer.close());
      }
      const base = `http://127.0.0.1:${req.socket.localPort}`;
      const session = parseCookies(req.get('cookie') ?? '')[SESSION_COOKIE];
      const file = await printer.print(
        { ...plan, styleUrl: `/releases/${release.row.number}/style.json` },
        { base, authorization: req.get('authorization'), cookies: session ? [{ name: SESSION_COOKIE, value: session }] : [], publicUrl: opts.publicUrl },
      );
      log.info({ release: release.row.number, format: plan.format, sheets: plan.sheets.length, dpi: plan.dpi, bytes: file.data.length, ms: file.ms }, 'print: done');
      res.attachment(printFileName(plan, body.atlas === 'districts'));
      res.type(file.contentType).set({ 'X-Print-Pages': String(plan.sheets.length), 'X-Print-Ms': String(file.ms), 'Cache-Control': 'no-store' }).send(file.data);
    },
  );
  return routes;
}
