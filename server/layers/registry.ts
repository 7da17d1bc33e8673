// The layer registry: layers/registry/*.json (one entry per layer), layers/groups.json and
// layers/departments.json, validated at load with every problem reported by file and key path.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../platform/config';

const name = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'lower-case identifier (a-z, 0-9, _)');
const text = z.object({ zh: z.string().min(1), en: z.string().min(1) });
const colour = z.string().regex(/^#[0-9a-f]{6}$/i, 'colour as #rrggbb');

export const attributeTypes = ['text', 'integer', 'number', 'date', 'boolean'] as const;
export type AttributeType = (typeof attributeTypes)[number];

const attributeSchema = z
  .object({ name, type: z.enum(attributeTypes), zh: z.string().min(1), en: z.string().min(1), required: z.boolean().optional() })
  .strict();

const classSchema = z
  .object({
    code: z.string().min(1).max(20),
    zh: z.string().min(1),
    en: z.string().min(1),
    color: colour,
    // Facts about a class that conflict rules and checks select on.
    construction: z.boolean().optional(),
    unstable: z.boolean().optional(),
  })
  .strict();

export const geometryTypes = ['MultiPolygon', 'MultiLineString', 'Point'] as const;
export type GeometryType = (typeof geometryTypes)[number];

/** One registry entry (layers/registry/<id>.json). */
export const layerSchema = z
  .object({
    id: name,
    group: name,
    // A layer the service computes itself (a view over its own tables) rather than one a
    // department delivers: served like the others, never imported, revised or restored.
    derived: z.enum(['conflicts']).optional(),
    title: text.strict(),
    department: name,
    period: z.object({ from: z.number().int().min(1949).max(2100), to: z.number().int().min(1949).max(2100) }).strict(),
    standard: z.string().min(1),
    geometry: z.enum(geometryTypes),
    attributes: z.array(attributeSchema),
    // The date attribute the OGC API's datetime parameter selects on (e.g. a PV plant's grid connection).
    temporal: name.optional(),
    classification: z.object({ standard: z.string().min(1), classes: z.array(classSchema).min(1) }).strict(),
    style: z
      .object({
        kind: z.enum(['fill', 'outline', 'line', 'circle']),
        opacity: z.number().min(0).max(1).optional(),
        minzoom: z.number().min(0).max(22).optional(),
        labelAttribute: name.optional(),
        // Labels up to this zoom only (a district's name repeats on every tile its polygon spans).
        labelMaxzoom: z.number().min(0).max(24).optional(),
        outline: colour.optional(),
        dash: z.boolean().optional(),
        visible: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();

export type Attribute = z.infer<typeof attributeSchema>;
export type LayerClass = z.infer<typeof classSchema>;
export type Layer = z.infer<typeof layerSchema>;
export type Named = z.infer<typeof namedSchema>;

export interface Registry {
  layers: Layer[];
  /** The layers departments deliver (imported, revised, loaded by the demo): all but the derived ones. */
  delivered: Layer[];
  groups: Named[];
  departments: Named[];
  byId: Map<string, Layer>;
}

/** Columns every layer table has besides its attributes (the registry may not reuse these names). */
export const RESERVED_COLUMNS = ['fid', 'code', 'geom', 'area_m2', 'updated_at'];

/** A plan group or a department: an id with its names (layers/groups.json, layers/departments.json). */
export const namedSchema = z.object({ id: name, zh: z.string().min(1), en: z.string().min(1) }).strict();
const namedList = z.array(namedSchema).min(1);

/** Loads and validates the registry; throws one error naming every problem. */
export function loadRegistry(dir = path.join(PROJECT_ROOT, 'layers')): Registry {
  const problems: string[] = [];
  const readJson = (file: string): unknown => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`${path.relative(dir, file)}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const parse = <T>(schema: z.ZodType<T>, value: unknown, where: string): T | undefined => {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    for (const i of r.error.issues) problems.push(`${where}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    return undefined;
  };

  const groups = parse(namedList, readJson(path.join(dir, 'groups.json')), 'groups.json') ?? [];
  const departments = parse(namedList, readJson(path.join(dir, 'departments.json')), 'departments.json') ?? [];
  const files = fs.readdirSync(path.join(dir, 'registry')).filter((f) => f.endsWith('.json')).sort();
  const layers: Layer[] = [];
  for (const f of files) {
    const where = `registry/${f}`;
    const layer = parse(layerSchema, readJson(path.join(dir, 'registry', f)), where);
    if (!layer) continue;
    if (`${layer.id}.json` !== f) problems.push(`${where}: id '${layer.id}' must match the file name`);
    if (!groups.some((g) => g.id === layer.group)) problems.push(`${where}: group: '${layer.group}' is not in groups.json`);
    if (!departments.some((d) => d.id === layer.department)) problems.push(`${where}: department: '${layer.department}' is not in departments.json`);
    if (layer.period.from > layer.period.to) problems.push(`${where}: period: from ${layer.period.from} is after to ${layer.period.to}`);
    const seen = new Set<string>();
    layer.attributes.forEach((a, i) => {
      if (RESERVED_COLUMNS.includes(a.name)) problems.push(`${where}: attributes.${i}.name: '${a.name}' is reserved`);
      if (seen.has(a.name)) problems.push(`${where}: attributes.${i}.name: '${a.name}' appears twice`);
      seen.add(a.name);
    });
    const codes = new Set<string>();
    layer.classification.classes.forEach((c, i) => {
      if (codes.has(c.code)) problems.push(`${where}: classification.classes.${i}.code: '${c.code}' appears twice`);
      codes.add(c.code);
    });
    if (layer.temporal && layer.attributes.find((a) => a.name === layer.temporal)?.type !== 'date') {
      problems.push(`${where}: temporal: '${layer.temporal}' is not a date attribute of the layer`);
    }
    if (layer.style.labelAttribute && !seen.has(layer.style.labelAttribute)) {
      problems.push(`${where}: style.labelAttribute: '${layer.style.labelAttribute}' is not an attribute of the layer`);
    }
    layers.push(layer);
  }
  const order = new Map(groups.map((g, i) => [g.id, i]));
  layers.sort((a, b) => (order.get(a.group) ?? 99) - (order.get(b.group) ?? 99) || a.id.localeCompare(b.id));
  if (problems.length) throw new Error(`layer registry is invalid:\n  ${problems.join('\n  ')}`);
  return { layers, delivered: layers.filter((l) => !l.derived), groups, departments, byId: new Map(layers.map((l) => [l.id, l])) };
}

/** PostgreSQL column type of a registry attribute type. */
export const sqlType: Record<AttributeType, string> = {
  text: 'text',
  integer: 'integer',
  number: 'double precision',
  date: 'date',
  boolean: 'boolean',
};

/** PostGIS geometry column type of a registry geometry type, in CGCS2000 (EPSG:4490). */
export const geometryColumnType = (g: GeometryType) => `geometry(${g},4490)`;
