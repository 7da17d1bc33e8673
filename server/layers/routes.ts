// /api/layers (the registry with each layer's data state) and /api/identify (what every
// requested layer has at a point, with areas in m², 公顷 and 亩).
import { Router } from 'express';
import type { Knex } from 'knex';
import type knexPostgis from 'knex-postgis';
import { badRequest, messages } from '../platform/errors';
import { numberParam, single } from '../platform/params';
import { LAYER_SCHEMA } from '../platform/sql';
import { areaFigures } from './area';
import type { Catalog } from './catalog';
import type { Layer } from './registry';

/** Identify search radius for points and lines: this many screen pixels at the given zoom. */
const IDENTIFY_PIXELS = 6;
const MAX_FEATURES_PER_LAYER = 20;

export function layersRouter(catalog: Catalog, knex: Knex, st: ReturnType<typeof knexPostgis>): Router {
  const r = Router();

  r.get('/layers', async (_req, res) => {
    const layers = await Promise.all(
      catalog.registry.layers.map(async (l) => {
        const d = await catalog.data(l);
        return { ...l, visible: l.style.visible !== false, revision: d.revision, version: d.version, featureCount: d.featureCount, extent: d.extent };
      }),
    );
    res.json({ groups: catalog.registry.groups, departments: catalog.registry.departments, layers });
  });

  r.get('/identify', async (req, res) => {
    const lon = numberParam(req.query, 'lon', -180, 180);
    const lat = numberParam(req.query, 'lat', -90, 90);
    if (lon === undefined || lat === undefined) throw badRequest('missing_parameter', 'lon and lat are required (CGCS2000 degrees)', { parameter: lon === undefined ? 'lon' : 'lat' });
    const zoom = numberParam(req.query, 'zoom', 0, 24) ?? 12;
    const ids = (single(req.query, 'layers') ?? catalog.registry.layers.map((l) => l.id).join(',')).split(',').filter(Boolean);
    const layers = ids.map((id) => {
      const l = catalog.layer(id);
      if (!l) throw badRequest('unknown_layer', messages.unknownLayer(id), { parameter: 'layers', value: id });
      return l;
    });
    // Ground distance of IDENTIFY_PIXELS at this zoom and latitude, converted to degrees of latitude.
    const metres = ((IDENTIFY_PIXELS * 40075016.686) / (512 * 2 ** zoom)) * Math.cos((lat * Math.PI) / 180);
    const radiusDeg = metres / 111320;
    const point = st.setSRID(st.makePoint(lon, lat), 4490);
    const results = await Promise.all(layers.map((l) => identifyLayer(knex, st, l, point, radiusDeg)));
    res.json({ lon, lat, features: results.flat() });
  });

  return r;
}

async function identifyLayer(knex: Knex, st: ReturnType<typeof knexPostgis>, layer: Layer, point: Knex.Raw, radiusDeg: number) {
  const cols = ['fid', 'code', ...layer.attributes.map((a) => a.name), ...(layer.geometry === 'MultiPolygon' ? ['area_m2'] : [])];
  const q = knex.withSchema(LAYER_SCHEMA).from(layer.id).select(cols).limit(MAX_FEATURES_PER_LAYER);
  if (layer.geometry === 'MultiPolygon') q.where(st.intersects('geom', point)).orderBy('area_m2', 'asc');
  else q.whereRaw('ST_DWithin(geom, ?, ?)', [point, radiusDeg]).orderByRaw('geom <-> ?', [point]);
  const rows: Record<string, unknown>[] = await q;
  const classes = new Map(layer.classification.classes.map((c) => [c.code, c]));
  return rows.map((row) => {
    const { fid, code, area_m2, ...properties } = row;
    const cls = classes.get(String(code));
    return {
      layer: layer.id,
      fid: Number(fid),
      code,
      class: cls ? { zh: cls.zh, en: cls.en, color: cls.color } : null,
      properties,
      ...areaFigures(typeof area_m2 === 'number' ? area_m2 : null),
    };
  });
}
