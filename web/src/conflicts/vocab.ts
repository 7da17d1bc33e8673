// Names for what the conflicts API returns as codes (rules, severities, statuses, decisions,
// layers, classes, districts) in the interface language, and the number, area and time formats.
import { lang, pick, t } from '../i18n/i18n';
import type { StringKey } from '../i18n/strings';
import { formatNumber, m2ToHa, m2ToMu } from '../identify/area';
import type { Registry } from '../layers/registry';
import { DECISIONS, type Kind } from '../../../server/conflicts/vocabulary';
import type { CaseSide, CaseView, District, RulesInfo, Term } from './api';

/** An interface string with {name} placeholders filled in. */
export function fmt(key: StringKey, vars: Record<string, string | number>): string {
  return t(key).replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export function locale(): string {
  return lang() === 'zh' ? 'zh-CN' : 'en';
}

export function formatInt(n: number): string {
  return n.toLocaleString(locale());
}

/** The three area figures of a patch: m², 公顷, 亩. */
export function areaTexts(m2: number | null, ha?: number | null, mu?: number | null): { m2: string; ha: string; mu: string } {
  if (m2 === null || m2 === undefined) return { m2: '—', ha: '—', mu: '—' };
  const l = locale();
  return {
    m2: `${formatNumber(m2, 1, l)} ${t('unitM2')}`,
    ha: `${formatNumber(ha ?? m2ToHa(m2), 4, l)} ${t('unitHa')}`,
    mu: `${formatNumber(mu ?? m2ToMu(m2), 2, l)} ${t('unitMu')}`,
  };
}

/** A duration in ms as seconds (or ms below one second). */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${formatNumber(ms / 1000, 1, locale())} ${t('cfSeconds')}`;
}

const KIND_KEYS: Record<Kind, StringKey> = { conflict: 'cfKindConflict', hazard: 'cfKindHazard', notice: 'cfKindNotice' };

/** The vocabularies of the API (rules endpoint) and of the registry, looked up by code. */
export class Vocab {
  private readonly rules: Map<string, RulesInfo['rules'][number]>;
  private readonly terms: Map<string, Term>;
  private readonly districtsByCode: Map<string, District>;
  private readonly layers: Map<string, Registry['layers'][number]>;

  constructor(readonly info: RulesInfo, readonly districts: District[], registry: Registry) {
    this.rules = new Map(info.rules.map((r) => [r.id, r]));
    this.terms = new Map<string, Term>([
      ...info.severities.map((s) => [`severity:${s.code}`, s] as const),
      ...info.statuses.map((s) => [`status:${s.code}`, s] as const),
      ...info.decisions.map((s) => [`decision:${s.code}`, s] as const),
    ]);
    this.districtsByCode = new Map(districts.map((d) => [d.adcode, d]));
    this.layers = new Map(registry.layers.map((l) => [l.id, l]));
  }

  private term(kind: string, code: string | null): string {
    if (!code) return '—';
    const x = this.terms.get(`${kind}:${code}`);
    return x ? pick(x) : code;
  }

  rule(id: string, fallback?: { zh: string; en: string }): string {
    const r = this.rules.get(id);
    return r ? pick(r) : fallback ? pick(fallback) : id;
  }

  ruleOf(id: string): RulesInfo['rules'][number] | undefined {
    return this.rules.get(id);
  }

  severity(code: string): string {
    return this.term('severity', code);
  }

  severityColor(code: string): string {
    return this.info.severities.find((s) => s.code === code)?.color ?? '#888888';
  }

  status(code: string | null): string {
    return this.term('status', code);
  }

  decision(code: string | null, c?: Pick<CaseView, 'a' | 'b'>): string {
    const name = this.term('decision', code);
    // A decision that follows one plan names it.
    const follows = DECISIONS.find((d) => d.code === code)?.follows;
    if (!c || !follows) return name;
    const side = c[follows];
    const layer = this.layer(side.layer, side.layer_zh);
    return lang() === 'zh' ? `${name}（${layer}）` : `${name} (${layer})`;
  }

  kind(code: string): string {
    const key = KIND_KEYS[code as Kind];
    return key ? t(key) : code;
  }

  /** A layer's title in the current language. */
  layer(id: string | null, zh?: string): string {
    if (!id) return '—';
    const l = this.layers.get(id);
    return l ? pick(l.title) : zh ?? id;
  }

  /** A class of a layer by code, in the current language (the registry's names). */
  className(side: Pick<CaseSide, 'layer' | 'code' | 'class_zh'>): string {
    const c = this.layers.get(side.layer)?.classification.classes.find((k) => k.code === side.code);
    return c ? pick(c) : side.class_zh ?? side.code;
  }

  /** A district by its code and (API) name; '' is outside every district. */
  district(adcode: string, name?: string): string {
    if (adcode === '') return t('cfOutside');
    const d = this.districtsByCode.get(adcode);
    return d ? pick(d) : name ?? adcode;
  }
}
