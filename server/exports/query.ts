// The SELECT that GDAL runs for an export (`ogr2ogr -sql`): one row per feature with the class
// code, the class's Chinese name, every registry attribute in registry order, area_m2 (polygons:
// ellipsoidal m², GRS80, as stored) and the geometry in EPSG:4490.
//
// ogr2ogr cannot bind parameters, so the statement goes to it as finished text. It is still built
// the project's one way: identifiers from the registry through quoteIdent/layerTable, every value
// (class codes and names, attribute names, the layer id, the revision number, which the route
// range-checked as an integer) as a `?` binding that knex renders as an escaped literal. No request
// string is part of it.
import type { Knex } from 'knex';
import type { Layer } from '../layers/registry';
import { sqlType } from '../layers/registry';
import { layerTable, quoteIdent } from '../platform/sql';
import { visibleAt } from '../revisions/history';

export interface ExportQueryOptions {
  /** null: the current content (plan.<layerId>); a number: that revision from revision_features. */
  revision: number | null;
  /** A release's copy of the layer (release_features) instead; revision is then null. */
  release?: number;
  /** Declared width of text columns (varchar(n)) or null for text. See FormatSpec.textWidth. */
  textWidth: number | null;
}

/** Column names of an export besides the registry attributes (the registry reserves code and area_m2). */
export const CLASS_NAME_COLUMN = 'class_zh';

/** The export statement for a layer, as SQL text with its values inlined as escaped literals. */
export function exportSql(knex: Knex, layer: Layer, opts: ExportQueryOptions): string {
  const { revision, release } = opts;
  if (revision !== null && !(Number.isSafeInteger(revision) && revision >= 1)) throw new Error(`revision should be a positive integer, got ${revision}`);
  if (release !== undefined && !(Number.isSafeInteger(release) && release >= 1 && revision === null)) throw new Error(`release should be a positive integer (with no revision), got ${release}`);
  const snapshot = revision !== null || release !== undefined;
  const text = (expr: string) => (opts.textWidth ? `${expr}::varchar(${Math.trunc(opts.textWidth)})` : `${expr}::text`);
  const bindings: Knex.Value[] = [];

  // Class code → its Chinese name, from the registry (NULL for a code the registry does not know).
  const classes = layer.classification.classes;
  const className = `CASE src.code ${classes.map(() => 'WHEN ? THEN ?').join(' ')} END`;
  bindings.push(...classes.flatMap((c) => [c.code, c.zh]));

  // Current content: the layer table's columns; a revision: the snapshot's jsonb attrs, typed back.
  const attribute = (name: string, type: keyof typeof sqlType) => {
    if (!snapshot) return type === 'text' ? text(`src.${quoteIdent(name)}`) : `src.${quoteIdent(name)}`;
    bindings.push(name);
    const value = `(src.attrs->>?)`;
    return type === 'text' ? text(value) : `${value}::${sqlType[type]}`;
  };
  const columns = [
    `${text('src.code')} AS ${quoteIdent('code')}`,
    `${text(className)} AS ${quoteIdent(CLASS_NAME_COLUMN)}`,
    ...layer.attributes.map((a) => `${attribute(a.name, a.type)} AS ${quoteIdent(a.name)}`),
    ...(layer.geometry === 'MultiPolygon' ? [`src.area_m2 AS ${quoteIdent('area_m2')}`] : []),
    // Typed geometry column: GDAL then knows the geometry type and the SRID of the result.
    `src.geom::geometry(${layer.geometry},4490) AS ${quoteIdent('geom')}`,
  ];

  // A revision's or a release's rows are filtered in a subquery that the planner cannot flatten
  // (OFFSET 0): GDAL wraps the whole query (e.g. WHERE geom IS NOT NULL), and a qual pushed down
  // beside layer_id could otherwise run the typed cast on another layer's rows (lines into MultiPolygon).
  const from =
    release !== undefined
      ? `FROM (SELECT * FROM release_features r WHERE r.release = ? AND r.layer_id = ? OFFSET 0) src ORDER BY src.fid`
      : revision === null
        ? `FROM ${layerTable(layer.id)} src ORDER BY src.fid`
        : `FROM (SELECT * FROM revision_features r WHERE r.layer_id = ? AND ${visibleAt('r')} OFFSET 0) src ORDER BY src.id`;
  if (release !== undefined) bindings.push(release, layer.id);
  else if (revision !== null) bindings.push(layer.id, revision, revision);

  return knex.raw(`SELECT ${columns.join(',\n  ')}\n${from}`, bindings).toQuery();
}
