// Conflict rules as data: layers/conflict-rules.json, validated at load against the layer registry.
// Every problem is named by rule and key path (a rule naming a missing layer or class is refused),
// and each side's class selection is resolved to explicit codes here, once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Layer, LayerClass, Registry } from '../layers/registry';
import { PROJECT_ROOT } from '../platform/config';
import { KINDS, SEVERITIES, type Kind, type Severity } from './vocabulary';

const facts = z.object({ construction: z.boolean().optional(), unstable: z.boolean().optional() }).strict();
const sideSchema = z
  .object({
    layer: z.string().min(1),
    classes: z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]).optional(),
    facts: facts.optional(),
    except: z.array(z.string().min(1)).optional(),
    $comment: z.string().optional(),
  })
  .strict()
  .refine((s) => s.classes !== undefined || s.facts !== undefined, { message: "a side selects classes by 'classes' (codes or \"*\") and/or 'facts'" });

const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case identifier (a-z, 0-9, _)'),
    zh: z.string().min(1),
    en: z.string().min(1),
    kind: z.enum(KINDS),
    severity: z.enum(SEVERITIES),
    departments: z.array(z.string().min(1)).min(1),
    a: sideSchema,
    b: sideSchema,
    min_area_m2: z.number().min(0).optional(),
    min_thinness: z.number().min(0).max(1).optional(),
    $comment: z.string().optional(),
  })
  .strict();

const fileSchema = z
  .object({
    $comment: z.string().optional(),
    defaults: z.object({ min_area_m2: z.number().min(0), min_thinness: z.number().min(0).max(1) }).strict(),
    rules: z.array(z.unknown()).min(1),
  })
  .strict();

export interface RuleSide {
  layer: Layer;
  /** The class codes of the layer the side selects (never empty). */
  codes: string[];
}

export interface Rule {
  id: string;
  zh: string;
  en: string;
  kind: Kind;
  severity: Severity;
  departments: string[];
  a: RuleSide;
  b: RuleSide;
  min_area_m2: number;
  min_thinness: number;
  /** sha256 of the resolved definition: a changed hash means the rule's results are recomputed. */
  hash: string;
}

export interface RuleSet {
  rules: Rule[];
  byId: Map<string, Rule>;
  /** Every layer some rule reads. */
  layers: Layer[];
}

export const RULES_FILE = path.join(PROJECT_ROOT, 'layers', 'conflict-rules.json');

/** Loads and validates the rules; throws one error naming every problem. */
export function loadRules(registry: Registry, file = RULES_FILE): RuleSet {
  const problems: string[] = [];
  const where = path.basename(file);
  // The severities are named and coloured by the classes of the registry layer 'conflicts'.
  const classes = registry.byId.get('conflicts')?.classification.classes.map((c) => c.code) ?? [];
  if (classes.join() !== SEVERITIES.join()) {
    problems.push(`registry/conflicts.json: classification.classes: the codes must be the severities ${SEVERITIES.join(', ')} in that order, got ${classes.join(', ') || 'none'}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`conflict rules are invalid:\n  ${where}: ${(err as Error).message}`);
  }
  const top = fileSchema.safeParse(json);
  if (!top.success) {
    throw new Error(`conflict rules are invalid:\n  ${top.error.issues.map((i) => `${where}: ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n  ')}`);
  }
  const rules: Rule[] = [];
  const seen = new Set<string>();
  top.data.rules.forEach((raw, i) => {
    const r = ruleSchema.safeParse(raw);
    const label = `${where}: rules.${i}${r.success ? ` (${r.data.id})` : ''}`;
    if (!r.success) {
      for (const issue of r.error.issues) problems.push(`${label}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
      return;
    }
    const d = r.data;
    if (seen.has(d.id)) problems.push(`${label}: id '${d.id}' appears twice`);
    seen.add(d.id);
    d.departments.forEach((dep, j) => {
      if (!registry.departments.some((x) => x.id === dep)) problems.push(`${label}: departments.${j}: '${dep}' is not in departments.json`);
    });
    const side = (name: 'a' | 'b'): RuleSide | undefined => {
      const s = d[name];
      const layer = registry.byId.get(s.layer);
      if (!layer) {
        problems.push(`${label}: ${name}.layer: layer '${s.layer}' is not in the registry`);
        return undefined;
      }
      if (layer.derived) problems.push(`${label}: ${name}.layer: '${s.layer}' is computed by the service, not a plan layer`);
      if (layer.geometry !== 'MultiPolygon') problems.push(`${label}: ${name}.layer: '${s.layer}' has ${layer.geometry} geometry; rules overlay polygon layers`);
      const known = new Map(layer.classification.classes.map((c) => [c.code, c]));
      const unknown = (codes: string[], key: string) =>
        codes.forEach((c, j) => {
          if (!known.has(c)) problems.push(`${label}: ${name}.${key}.${j}: class '${c}' is not in layer '${layer.id}' (${[...known.keys()].join(', ')})`);
        });
      if (Array.isArray(s.classes)) unknown(s.classes, 'classes');
      if (s.except) unknown(s.except, 'except');
      const hasFacts = (c: LayerClass) =>
        Object.entries(s.facts ?? {}).every(([k, v]) => (c[k as 'construction' | 'unstable'] ?? false) === v);
      const codes = layer.classification.classes
        .filter((c) => s.classes === undefined || s.classes === '*' || s.classes.includes(c.code))
        .filter(hasFacts)
        .filter((c) => !s.except?.includes(c.code))
        .map((c) => c.code);
      if (!codes.length) problems.push(`${label}: ${name}: selects no class of layer '${layer.id}'`);
      return { layer, codes };
    };
    const a = side('a');
    const b = side('b');
    if (a && b && a.layer.id === b.layer.id) problems.push(`${label}: a and b are the same layer '${a.layer.id}'; a rule overlays two layers`);
    if (!a || !b) return;
    const minArea = d.min_area_m2 ?? top.data.defaults.min_area_m2;
    const minThin = d.min_thinness ?? top.data.defaults.min_thinness;
    const definition = JSON.stringify([d.id, d.a.layer, a.codes, d.b.layer, b.codes, minArea, minThin]);
    rules.push({
      id: d.id,
      zh: d.zh,
      en: d.en,
      kind: d.kind,
      severity: d.severity,
      departments: d.departments,
      a,
      b,
      min_area_m2: minArea,
      min_thinness: minThin,
      hash: crypto.createHash('sha256').update(definition).digest('hex'),
    });
  });
  if (problems.length) throw new Error(`conflict rules are invalid:\n  ${problems.join('\n  ')}`);
  const layers = [...new Map(rules.flatMap((r) => [r.a.layer, r.b.layer]).map((l) => [l.id, l])).values()];
  return { rules, byId: new Map(rules.map((r) => [r.id, r])), layers };
}
