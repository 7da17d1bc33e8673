// Project types of the joint review as data (layers/project-types.json, read by vocabulary.ts), validated at load against
// the registry and the conflict rules like the rules themselves: every problem named by key path.
// For each type this resolves, once, which conflict rules a site of the type is checked against
// (the rule side the site stands in for, and the other side it is overlaid with).
import { z } from 'zod';
import type { Layer, Registry } from '../layers/registry';
import type { Rule, RuleSet, RuleSide } from '../conflicts/rules';
import { PROJECT_TYPES_FILE } from './vocabulary';

const classes = z.union([z.literal('*'), z.array(z.string().min(1)).min(1)]);
const typeSchema = z
  .object({
    code: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/),
    zh: z.string().min(1),
    en: z.string().min(1),
    stands_for: z.array(z.object({ layer: z.string(), classes }).strict()),
    conforms: z.record(z.string(), z.array(z.string().min(1)).min(1)),
    departments: z.array(z.string()).min(1),
    deadline_days: z.number().int().min(1).max(60),
  })
  .strict();
const alertSchema = z
  .object({ id: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/), zh: z.string().min(1), en: z.string().min(1), layer: z.string(), classes, department: z.string() })
  .strict();
const fileSchema = z.object({ $comment: z.string().optional(), types: z.array(typeSchema).min(1), alerts: z.array(alertSchema) }).strict();

/** A conflict rule a site of some type is checked against: the site takes `site`'s place, overlaid with `other`. */
export interface SiteRule {
  rule: Rule;
  site: RuleSide;
  other: RuleSide;
}

export interface ProjectType {
  code: string;
  zh: string;
  en: string;
  departments: string[];
  deadline_days: number;
  conforms: Map<string, string[]>;
  rules: SiteRule[];
}

export interface Alert {
  id: string;
  zh: string;
  en: string;
  layer: Layer;
  codes: string[];
  department: string;
}

export interface ProjectTypes {
  types: ProjectType[];
  byCode: Map<string, ProjectType>;
  alerts: Alert[];
}

/** Validates the project types (the file's content: layers/project-types.json unless given) against the registry and the rules. */
export function loadProjectTypes(registry: Registry, rules: RuleSet, json: unknown = PROJECT_TYPES_FILE): ProjectTypes {
  const where = 'project-types.json';
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`project types are invalid:\n  ${parsed.error.issues.map((i) => `${where}: ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n  ')}`);
  }
  const problems: string[] = [];
  const departments = new Set(registry.departments.map((d) => d.id));
  const layerCodes = (label: string, layerId: string, sel: '*' | string[]): { layer: Layer; codes: string[] } | undefined => {
    const layer = registry.byId.get(layerId);
    if (!layer || layer.derived || layer.geometry !== 'MultiPolygon') {
      problems.push(`${label}.layer: '${layerId}' is not a plan polygon layer of the registry`);
      return undefined;
    }
    const known = layer.classification.classes.map((c) => c.code);
    if (sel === '*') return { layer, codes: known };
    sel.forEach((c, j) => {
      if (!known.includes(c)) problems.push(`${label}.classes.${j}: class '${c}' is not in layer '${layerId}' (${known.join(', ')})`);
    });
    return { layer, codes: sel };
  };

  const types: ProjectType[] = parsed.data.types.map((t, i) => {
    const label = `${where}: types.${i} (${t.code})`;
    t.departments.forEach((d, j) => {
      if (!departments.has(d)) problems.push(`${label}: departments.${j}: '${d}' is not in departments.json`);
    });
    const conforms = new Map<string, string[]>();
    for (const [layerId, codes] of Object.entries(t.conforms)) {
      const r = layerCodes(`${label}: conforms.${layerId}`, layerId, codes);
      if (r) conforms.set(layerId, r.codes);
    }
    const stands = t.stands_for.map((s, j) => layerCodes(`${label}: stands_for.${j}`, s.layer, s.classes)).filter((s) => s !== undefined);
    // A rule applies when one of its sides selects a class the site stands for.
    const siteRules: SiteRule[] = [];
    for (const rule of rules.rules) {
      for (const [site, other] of [[rule.a, rule.b], [rule.b, rule.a]] as const) {
        if (stands.some((s) => s.layer.id === site.layer.id && s.codes.some((c) => site.codes.includes(c)))) {
          siteRules.push({ rule, site, other });
          break;
        }
      }
    }
    return { code: t.code, zh: t.zh, en: t.en, departments: t.departments, deadline_days: t.deadline_days, conforms, rules: siteRules };
  });
  const seen = new Set<string>();
  for (const t of types) {
    if (seen.has(t.code)) problems.push(`${where}: type '${t.code}' appears twice`);
    seen.add(t.code);
  }
  const alerts: Alert[] = [];
  parsed.data.alerts.forEach((a, i) => {
    const label = `${where}: alerts.${i} (${a.id})`;
    if (!departments.has(a.department)) problems.push(`${label}: department '${a.department}' is not in departments.json`);
    const r = layerCodes(label, a.layer, a.classes);
    if (r) alerts.push({ id: a.id, zh: a.zh, en: a.en, layer: r.layer, codes: r.codes, department: a.department });
  });
  if (problems.length) throw new Error(`project types are invalid:\n  ${problems.join('\n  ')}`);
  return { types, byCode: new Map(types.map((t) => [t.code, t])), alerts };
}
