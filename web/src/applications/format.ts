// Numbers, areas, dates and deadlines of the joint review as the panel shows them: areas in 公顷
// (4 decimals, 1 m²) and 亩 (2 decimals), shares in per cent, the days left to a deadline.
import { formatNumber, m2ToHa, m2ToMu } from '../identify/area';
import { locale, t, type Lang } from '../i18n/i18n';

/** "2.3145 公顷" / "2.3145 ha" from square metres. */
export function haText(m2: number, l: Lang, ha?: number): string {
  return `${formatNumber(ha ?? m2ToHa(m2), 4, locale(l))} ${t('unitHa', undefined, l)}`;
}

/** "34.72 亩" / "34.72 mu" from square metres. */
export function muText(m2: number, l: Lang, mu?: number): string {
  return `${formatNumber(mu ?? m2ToMu(m2), 2, locale(l))} ${t('unitMu', undefined, l)}`;
}

/** "2.3145 公顷（34.72 亩）": an area both ways. */
export function areaText(m2: number, l: Lang, ha?: number, mu?: number): string {
  return l === 'zh' ? `${haText(m2, l, ha)}（${muText(m2, l, mu)}）` : `${haText(m2, l, ha)} (${muText(m2, l, mu)})`;
}

/** A share (0–1) in per cent with one decimal: "23.4%"; below 0.05 % "<0.1%". */
export function shareText(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '—';
  const pct = share * 100;
  if (pct > 0 && pct < 0.05) return '<0.1%';
  return `${pct.toFixed(1)}%`;
}

/** Whole days from today to a YYYY-MM-DD deadline (local calendar days; negative when past). */
export function daysUntil(deadline: string, today: Date = new Date()): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(deadline);
  if (!m) return NaN;
  const due = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const now = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  return Math.round((due - now) / 86_400_000);
}

/** Working days to the deadline, as the server counts them (weekends and public holidays skipped): "剩 3 个工作日" / "今日到期" / "超期 2 个工作日" (and the English). */
export function daysLeftText(days: number, l: Lang): string {
  if (!Number.isFinite(days)) return '—';
  if (days === 0) return t('apDueToday', undefined, l);
  if (days > 0) return t(days === 1 ? 'apDayLeft' : 'apDaysLeft', { n: days }, l);
  return t(days === -1 ? 'apDayOverdue' : 'apDaysOverdue', { n: -days }, l);
}

/** The first 8 and last 8 hex digits of a signature: "3f9a…c012". */
export function shortSignature(sig: string | null | undefined): string {
  if (!sig) return '—';
  return sig.length > 20 ? `${sig.slice(0, 8)}…${sig.slice(-8)}` : sig;
}

/** A requested area typed in 公顷 (or 亩) as m²; undefined for empty, NaN for nonsense. */
export function parseArea(text: string, unit: 'ha' | 'mu'): number | undefined {
  const s = text.trim().replace(/[,，\s]/g, '');
  if (s === '') return undefined;
  if (!/^\d+(\.\d+)?$/.test(s)) return NaN;
  const v = Number(s);
  return unit === 'ha' ? v * 10_000 : (v * 10_000) / 15;
}
