// A release's features where the OGC API and the tiles read them: release_features, the copy of the
// pinned content made when the release was prepared (store.ts). Its attributes are one jsonb
// (`attrs`, as revision_features stores them: dates as 'YYYY-MM-DD' text, numbers as numbers); here
// each becomes an SQL expression of the type the release's own registry entry gives it, so that
// properties, filters and tile attributes are typed as the working layer's columns are.
import type { AttributeType, Layer } from '../layers/registry';
import type { FeatureSource } from '../ogcapi/features';
import { quoteIdent } from '../platform/sql';
import type { TileSource } from '../tiles/mvt';
import type { StoredRelease } from './store';

const CAST: Record<AttributeType, string> = { text: '', integer: '::integer', number: '::float8', boolean: '::boolean', date: '::date' };

/** An identifier as an SQL string literal; registry names only (quoteIdent's check). */
const nameLiteral = (name: string) => `'${quoteIdent(name).slice(1, -1)}'`;

/** The SQL expression of an attribute of a release's layer (alias t), typed by the layer's registry entry. */
export function attributeSql(layer: Layer, name: string): string {
  if (name === 'code') return 't.code';
  const a = layer.attributes.find((x) => x.name === name);
  if (!a) throw new Error(`layer '${layer.id}' has no attribute '${name}'`);
  return `(t.attrs->>${nameLiteral(a.name)})${CAST[a.type]}`;
}

/** Where the OGC API reads a release's layer: its rows of release_features (the GiST index on release, layer_id, geom). */
export const releaseFeatureSource = (release: number, layer: Layer): FeatureSource => ({
  from: 'release_features t',
  where: { sql: 't.release = ? AND t.layer_id = ?', bindings: [release, layer.id] },
  column: (name) => attributeSql(layer, name),
});

/** Where a release tile reads a layer: the same rows, the release bound as :release. */
export const releaseTileSource = (layer: Layer): TileSource => ({
  from: 'release_features t',
  where: `t.release = :release AND t.layer_id = ${nameLiteral(layer.id)}`,
  column: (name) => attributeSql(layer, name),
});

/** The release's layers as its own registry snapshot describes them, in the release's order. */
export function pinnedLayers(r: StoredRelease): Layer[] {
  return r.layers.map((l) => r.registry.get(l.layer_id)).filter((l): l is Layer => l !== undefined);
}
