// What the service knows about each layer at run time: the registry entry plus its data
// (current revision, feature count, extent), read from the database and cached per data version.
import type { Knex } from 'knex';
import { layerTable } from '../platform/sql';
import type { Layer, Registry } from './registry';
import type { LayerVersions } from './versions';

export interface LayerData {
  revision: number;
  version: number;
  featureCount: number;
  /** [minLon, minLat, maxLon, maxLat] in CGCS2000 degrees, null when empty. */
  extent: [number, number, number, number] | null;
}

export class Catalog {
  private cache = new Map<string, { version: number; data: LayerData }>();

  constructor(
    readonly registry: Registry,
    private readonly knex: Knex,
    readonly versions: LayerVersions,
  ) {}

  layer(id: string): Layer | undefined {
    return this.registry.byId.get(id);
  }

  /** Revision, count and extent of a layer, recomputed only after its data changed. */
  async data(layer: Layer): Promise<LayerData> {
    const version = this.versions.get(layer.id);
    const hit = this.cache.get(layer.id);
    if (hit && hit.version === version) return hit.data;
    const [stats, rev] = await Promise.all([
      this.knex.raw<{ rows: { n: string; xmin: number | null; ymin: number; xmax: number; ymax: number }[] }>(
        `SELECT n, ST_XMin(e) AS xmin, ST_YMin(e) AS ymin, ST_XMax(e) AS xmax, ST_YMax(e) AS ymax
           FROM (SELECT count(*) AS n, ST_Extent(geom) AS e FROM ${layerTable(layer.id)}) s`,
      ),
      // A derived layer's revision is the detection run its content comes from.
      layer.derived === 'conflicts'
        ? this.knex('conflict_runs').where('status', 'succeeded').max<{ max: number | null }>('id as max').first()
        : this.knex('layer_revisions').where('layer_id', layer.id).max<{ max: number | null }>('revision as max').first(),
    ]);
    const s = stats.rows[0];
    const data: LayerData = {
      revision: rev?.max ?? 0,
      version,
      featureCount: Number(s?.n ?? 0),
      extent: s && s.xmin !== null ? [s.xmin, s.ymin, s.xmax, s.ymax] : null,
    };
    this.cache.set(layer.id, { version, data });
    return data;
  }
}
