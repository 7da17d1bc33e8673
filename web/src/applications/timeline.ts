// The words of a timeline entry: the server records each event's facts (name, decision, reason,
// note, the departments that rejected …) as an object; the panel says them in the interface
// language. A plain string is shown as it is.
import type { TimelineEntry } from './api';
import { areaText } from './format';
import { DECISIONS, OUTCOMES } from '../../../server/applications/vocabulary';
import { nameOf, lang, t } from '../i18n/i18n';

export interface Names {
  department(id: string): string;
  type(code: string): string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The lines describing an event (label: text, or text alone). */
export function describeEvent(e: Pick<TimelineEntry, 'kind'> & { detail?: unknown }, names: Names): string[] {
  const d = e.detail;
  if (d === undefined || d === null) return [];
  if (typeof d === 'string') return d.trim() ? [d] : [];
  if (typeof d !== 'object') return [String(d)];
  const o = d as Record<string, unknown>;
  const lines: string[] = [];
  const sep = lang() === 'zh' ? '：' : ': ';
  switch (e.kind) {
    case 'submitted': {
      const parts = [str(o['name']), str(o['project_type']) ? names.type(String(o['project_type'])) : undefined,
        typeof o['site_area_m2'] === 'number' ? areaText(o['site_area_m2'], lang()) : undefined].filter(Boolean);
      if (parts.length) lines.push(parts.join(' · '));
      break;
    }
    case 'resubmitted': {
      if (str(o['note'])) lines.push(`${t('apAmendNote')}${sep}${str(o['note'])}`);
      const facts: string[] = [];
      if (typeof o['site_changed'] === 'boolean') facts.push(t(o['site_changed'] ? 'apTlSiteChanged' : 'apTlSiteKept'));
      if (str(o['previous_outcome'])) facts.push(t('apTlPrevious', { s: nameOf(OUTCOMES, String(o['previous_outcome'])) }));
      if (facts.length) lines.push(facts.join(' · '));
      break;
    }
    case 'opinion':
    case 'correction': {
      if (str(o['decision'])) lines.push(`${t('apDecision')}${sep}${nameOf(DECISIONS, String(o['decision']))}`);
      if (str(o['conditions'])) lines.push(`${t('apConditions')}${sep}${str(o['conditions'])}`);
      if (str(o['reason'])) lines.push(`${t('apReason')}${sep}${str(o['reason'])}`);
      if (str(o['note'])) lines.push(`${t('apNote')}${sep}${str(o['note'])}`);
      break;
    }
    case 'withdrawn':
      if (str(o['reason'])) lines.push(`${t('apWithdrawReason')}${sep}${str(o['reason'])}`);
      break;
    case 'rejected': {
      const depts = Array.isArray(o['departments']) ? (o['departments'] as unknown[]).map((x) => names.department(String(x))) : [];
      if (depts.length) lines.push(t('apTlRejectedBy', { d: depts.join('、') }));
      break;
    }
    case 'approved':
      if (typeof o['conditions'] === 'number' && o['conditions'] > 0) lines.push(t('apTlConditionsN', { n: o['conditions'] }));
      break;
    default:
      for (const [k, v] of Object.entries(o)) if (typeof v === 'string' || typeof v === 'number') lines.push(`${k}${sep}${v}`);
  }
  return lines;
}
