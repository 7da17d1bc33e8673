// /api/releases/{n}/archive: the 成果包 of a release. POST builds it (planning staff), GET downloads
// the zip (manifest first, then the PMTiles, the GeoPackage and the style, stored as they are),
// GET …/archive/{file} one of its files with HTTP ranges (a PMTiles reader fetches byte ranges).
// Readable by whoever may read the release. A GET before the archive exists starts building it
// and answers 409 archive_building.
import type { Request, Response } from 'express';
import { Zip, ZipPassThrough } from 'fflate';
import { z } from 'zod';
import { accountOf, ensureAllowed, guard } from '../accounts/authorize';
import { buildArchive as buildArchiveNeed } from '../accounts/needs';
import { param, Routes, type RoutesOptions } from '../platform/contract';
import { AppError, conflict, notFound } from '../platform/errors';
import { log } from '../platform/log';
import { type ArchiveOptions, type ArchiveParts, archiveFiles, buildArchive, readFile } from './archive';
import { releaseNumber, ReleaseSummary } from './schemas';
import { ReleaseStyle } from './style';
import type { Releases, StoredRelease } from './store';


const ArchiveFileSchema = z.object({ name: z.string(), contentType: z.string(), size: z.number(), sha256: z.string() });
const ArchiveAnswer = z
  .object({ release: z.number().int(), files: z.array(ArchiveFileSchema), built: z.boolean().describe('false: it was there already'), ms: z.number().nullable() })
  .meta({ id: 'ReleaseArchive' });

export interface ArchiveRouteOptions extends RoutesOptions {
  archive: Omit<ArchiveOptions, 'gdal'> & { gdal: ArchiveOptions['gdal'] };
  /** The tiles and style of a release (service.ts). */
  parts: (release: StoredRelease) => ArchiveParts;
}

export function archiveRoutes(releases: Releases, opts: ArchiveRouteOptions): Routes {
  const routes = new Routes('/api/releases/{number}/archive', ['Releases'], opts);
  const ofRelease = z.object({ number: releaseNumber().describe('release number') });
  /** Builds in this process (one at a time per release); another process's build is seen by its advisory lock. */
  const building = new Map<number, Promise<unknown>>();

  const build = (release: StoredRelease) => {
    const n = release.row.number;
    let job = building.get(n);
    if (!job) {
      job = (async () => {
        const conn = await releases.knex.client.acquireConnection();
        try {
          const { rows } = await conn.query('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`onemap.archive.${n}`]);
          if (!rows[0].ok) throw conflict('archive_building', `the archive of release ${n} is being built by another process; try again in a minute`, { release: n });
          try {
            if ((await archiveFiles(releases.knex, n)).length) return null;
            return await buildArchive(releases.knex, release, opts.parts(release), opts.archive);
          } finally {
            await conn.query('SELECT pg_advisory_unlock(hashtext($1))', [`onemap.archive.${n}`]);
          }
        } finally {
          await releases.knex.client.releaseConnection(conn);
        }
      })().finally(() => building.delete(n));
      building.set(n, job);
    }
    return job as Promise<Awaited<ReturnType<typeof buildArchive>> | null>;
  };

  routes.route(
    {
      method: 'post',
      path: '/',
      summary: 'Builds the archive (成果包) of a release: PMTiles, GeoPackage, style, manifest',
      description: 'Once per release: a second call answers the stored files. Planning staff or an admin.',
      access: guard.need(buildArchiveNeed),
      params: ofRelease,
      responses: { 201: { description: 'built now', schema: ArchiveAnswer }, 200: { description: 'already built', schema: ArchiveAnswer } },
      errors: [404, 409, 410],
    },
    async ({ res, params, account }) => {
      ensureAllowed(account, buildArchiveNeed);
      const release = await releases.read(params.number, account);
      const stored = await archiveFiles(releases.knex, params.number);
      if (stored.length) return { release: params.number, files: stored.map(({ data: _d, ...f }) => f), built: false, ms: null };
      const built = await build(release);
      res.status(built ? 201 : 200);
      const files = built ? [...built.files].sort((a, b) => a.name.localeCompare(b.name)) : (await archiveFiles(releases.knex, params.number)).map(({ data: _d, ...f }) => f);
      return { release: params.number, files, built: !!built, ms: built?.ms ?? null };
    },
  );

  /** The stored files, or a build started and 409. */
  const filesOf = async (req: Request, res: Response, n: number) => {
    const release = await releases.read(n, accountOf(res));
    const files = await archiveFiles(releases.knex, n);
    if (files.length) return { release, files };
    build(release).catch((err) => {
      if (!(err instanceof AppError)) log.error({ err, release: n }, 'release archive: build failed');
    });
    res.set('Retry-After', '60');
    throw conflict('archive_building', `the archive of release ${n} is being built; try again in a minute (${req.originalUrl})`, { release: n });
  };

  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'Downloads the archive (成果包) of a release as one zip',
      access: guard.public,
      params: ofRelease,
      responses: { 200: { description: 'the zip: manifest.json, release-<n>.pmtiles, release-<n>.gpkg, style.json', type: 'application/zip', headers: { 'Content-Disposition': 'attachment; filename=release-<n>.zip' } } },
      errors: [404, 409, 410],
    },
    async ({ req, res, params }) => {
      const { release, files } = await filesOf(req, res, params.number);
      res.writeHead(200, {
        'Content-Type': 'application/zip',
        'Content-Disposition': `attachment; filename="datong-onemap-release-${params.number}.zip"`,
        'Cache-Control': 'public, max-age=31536000, immutable',
      });
      const mtime = release.row.published_at ?? release.row.prepared_at;
      const zip = new Zip((err, chunk, final) => {
        if (err) return res.destroy(err);
        res.write(chunk);
        if (final) res.end();
      });
      // The manifest first: a reader sees what the zip holds before the large files.
      const ordered = [...files].sort((a, b) => (a.name === 'manifest.json' ? -1 : b.name === 'manifest.json' ? 1 : a.name.localeCompare(b.name)));
      for (const f of ordered) {
        const entry = new ZipPassThrough(f.name);
        entry.mtime = mtime;
        zip.add(entry);
        let last: Buffer | undefined;
        for await (const chunk of readFile(releases.knex, f)) {
          if (last) entry.push(last);
          last = chunk;
          if (res.destroyed) return;
        }
        entry.push(last ?? new Uint8Array(0), true);
      }
      zip.end();
    },
  );

  /** Sends one stored file of the archive, whole or the byte range asked for. */
  const sendFile = async (req: Request, res: Response, number: number, name: string) => {
    const params = { number, file: name };
    const { files } = await filesOf(req, res, params.number);
    const f = files.find((x) => x.name === params.file);
    if (!f) throw notFound('not_found', `the archive of release ${params.number} has no file '${params.file}'; it has ${files.map((x) => x.name).join(', ')}`, { file: params.file });
    const headers: Record<string, string | number> = {
      'Content-Type': f.contentType,
      'Accept-Ranges': 'bytes',
      ETag: `"${f.sha256}"`,
      'Cache-Control': 'public, max-age=31536000, immutable',
      'Content-Disposition': `${f.name.endsWith('.json') ? 'inline' : 'attachment'}; filename="${f.name}"`,
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (req.headers.range && !range) throw new AppError(416, 'range_not_satisfiable', `Range '${req.headers.range}' is not one range of bytes (bytes=a-b)`, { header: 'Range' });
    const start = range ? Number(range[1]) : 0;
    const end = range ? Math.min(f.size - 1, range[2] ? Number(range[2]) : f.size - 1) : f.size - 1;
    if (range && (start >= f.size || end < start)) {
      res.set('Content-Range', `bytes */${f.size}`);
      throw new AppError(416, 'range_not_satisfiable', `Range '${req.headers.range}' is outside the file's ${f.size} bytes`, { header: 'Range' });
    }
    res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': end - start + 1, ...(range ? { 'Content-Range': `bytes ${start}-${end}/${f.size}` } : {}) });
    if (req.method === 'HEAD') return void res.end();
    if (!range) {
      for await (const chunk of readFile(releases.knex, f)) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      return void res.end();
    }
    const { rows } = await releases.knex.raw<{ rows: { b: Buffer }[] }>('SELECT lo_get(?::oid, ?, ?) AS b', [f.data, start, end - start + 1]);
    res.end(rows[0].b);
  };

  // The JSON files of the archive, each with its schema; then any file by name (with ranges).
  const ManifestSchema = z
    .object({ release: ReleaseSummary, contentSha256: z.string(), layers: z.array(z.object({ layerId: z.string(), revision: z.number().int(), featureCount: z.number().int() }).loose()), files: z.array(ArchiveFileSchema) })
    .loose()
    .meta({ id: 'ReleaseManifest' });
  for (const [name, schema, what] of [['manifest.json', ManifestSchema, 'the manifest: the release, its pins with counts and areas, and the SHA-256 and size of every other file'], ['style.json', ReleaseStyle, 'the style of the archive (its source pmtiles://release-<n>.pmtiles)']] as const) {
    routes.route(
      {
        method: 'get',
        path: `/${name}`,
        summary: `The archive's ${name}`,
        access: guard.public,
        params: ofRelease,
        responses: { 200: { description: what, schema } },
        errors: [404, 409, 410, 416],
      },
      ({ req, res, params }) => sendFile(req, res, params.number, name),
    );
  }

  routes.route(
    {
      method: 'get',
      path: '/:file',
      summary: 'One file of the archive by name (the PMTiles for a map reading it over HTTP ranges, the GeoPackage)',
      access: guard.public,
      params: ofRelease.extend({ file: param.text(100).describe('a file name of the manifest') }),
      responses: {
        200: { description: 'the file', type: 'application/vnd.pmtiles', alternatives: ['application/geopackage+sqlite3'], headers: { 'Accept-Ranges': 'bytes', ETag: 'its SHA-256' } },
        206: { description: 'the byte range asked for (Range: bytes=a-b)', type: 'application/vnd.pmtiles', alternatives: ['application/geopackage+sqlite3'] },
      },
      errors: [404, 409, 410, 416],
    },
    ({ req, res, params }) => sendFile(req, res, params.number, params.file),
  );

  return routes;
}
