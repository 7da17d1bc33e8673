// The 图斑列表 tab, rendered from the store's state (no fetching): the filters (rule by severity,
// district, severity, status), the tools for the filters (current patches by severity, the count,
// the ledger exports, the district report), and the cases with "load more".
import { pick, t } from '../i18n/i18n';
import { h } from '../ui/dom';
import { ledgerUrl, reportUrl, type CaseFilter, type CaseView } from './api';
import { severityBadge, statusBadge } from './detail';
import { severityCount, type ListState, type SummaryState } from './store';
import { areaTexts, formatInt, type Vocab } from './vocab';

export interface ListHandlers {
  setFilter(change: Partial<CaseFilter>): void;
  open(c: CaseView): void;
  more(): void;
  retry(): void;
}

/** A load failure in words with a retry button. */
export function errorWithRetry(message: string, retry: () => void): HTMLElement {
  const b = h('button', { type: 'button', class: 'cf-secondary' }, t('retry'));
  b.addEventListener('click', retry);
  return h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${message} `, b);
}

/** The four filter selects. */
export function renderFilters(v: Vocab, f: CaseFilter, handlers: Pick<ListHandlers, 'setFilter'>): HTMLElement[] {
  const select = (id: string, label: string, value: string, options: (HTMLOptionElement | HTMLOptGroupElement)[], onChange: (value: string) => void, wide = false): HTMLElement => {
    const el = h('select', { id, 'data-testid': id }, ...options);
    el.value = value;
    el.addEventListener('change', () => onChange(el.value));
    return h('label', { class: `cf-field${wide ? ' cf-wide' : ''}`, for: id }, h('span', { class: 'cf-label' }, label), el);
  };
  const opt = (value: string, text: string): HTMLOptionElement => h('option', { value }, text);
  const set = handlers.setFilter;
  const ruleOptions = [opt('', t('cfAllRules')), ...v.info.severities.map((s) => h('optgroup', { label: pick(s) },
    ...v.info.rules.filter((r) => r.severity === s.code).map((r) => opt(r.id, pick(r)))))];
  const districtOptions = [opt('*', t('cfAllDistricts')), ...v.districts.map((d) => opt(d.adcode, pick(d))), opt('', t('cfOutside'))];
  return [
    select('cf-filter-rule', t('rule'), f.rule ?? '', ruleOptions, (x) => set({ rule: x || undefined }), true),
    select('cf-filter-district', t('district'), f.adcode ?? '*', districtOptions, (x) => set({ adcode: x === '*' ? undefined : x })),
    select('cf-filter-severity', t('cfFilterSeverity'), f.severity ?? '',
      [opt('', t('cfAllSeverities')), ...v.info.severities.map((s) => opt(s.code, pick(s)))], (x) => set({ severity: x || undefined })),
    select('cf-filter-status', t('cfStatus'), f.status ?? '',
      [h('option', { value: 'open', title: t('cfStatusOpenTitle') }, t('cfStatusOpen')), opt('', t('allStatuses')), ...v.info.statuses.map((s) => opt(s.code, pick(s)))],
      (x) => set({ status: (x || undefined) as CaseFilter['status'] })),
  ];
}

/** Counts by severity (each a filter chip), the total, the ledger exports and the district report for the filters. */
export function renderTools(v: Vocab, f: CaseFilter, l: ListState, summary: SummaryState, handlers: Pick<ListHandlers, 'setFilter'>): HTMLElement[] {
  const count = l.loading && !l.cases.length ? t('loading') : t('cfTotal', { n: formatInt(l.total) });
  const adcode = f.adcode;
  const report = adcode && /^\d{6}$/.test(adcode)
    ? h('a', { class: 'cf-link', href: reportUrl(adcode), target: '_blank', rel: 'noopener', 'data-testid': 'cf-report', title: t('cfReportTitle') },
      `${t('cfReport')} · ${v.district(adcode)}`)
    : null;
  const bySeverity = v.info.severities.map((sev) => {
    const n = severityCount(summary.data, sev.code);
    const active = f.severity === sev.code;
    const chip = h('button', {
      type: 'button', class: `cf-chip${active ? ' active' : ''}`, 'data-testid': `cf-severity-${sev.code}`,
      'data-count': n ?? '', 'aria-pressed': String(active), title: t('cfBySeverityTitle'),
    }, severityBadge(v, sev.code), h('span', { class: 'cf-chip-n' }, n === undefined ? '…' : formatInt(n)));
    chip.addEventListener('click', () => handlers.setFilter({ severity: active ? undefined : sev.code }));
    return chip;
  });
  return [
    h('div', { class: 'cf-severities', 'data-testid': 'cf-severities' }, h('span', { class: 'cf-muted cf-small' }, t('cfBySeverity')), ...bySeverity),
    h('span', { class: 'cf-count', 'data-testid': 'cf-count', 'data-total': l.total }, count),
    h('span', { class: 'cf-links' },
      h('span', { class: 'cf-muted', title: t('cfExportTitle') }, t('cfExport')),
      h('a', { class: 'cf-link', href: ledgerUrl('csv', f), download: 'conflict-ledger.csv', 'data-testid': 'cf-export-csv', title: t('cfExportTitle') }, 'CSV'),
      h('a', { class: 'cf-link', href: ledgerUrl('geojson', f), download: 'conflict-ledger.geojson', 'data-testid': 'cf-export-geojson', title: t('cfExportTitle') }, 'GeoJSON'),
      report),
  ];
}

function caseItem(v: Vocab, c: CaseView, selected: boolean, open: (c: CaseView) => void): HTMLElement {
  const area = areaTexts(c.area_m2, c.area_ha, c.area_mu);
  const button = h('button', { type: 'button', class: 'cf-case-button' },
    severityBadge(v, c.severity),
    h('span', { class: 'cf-case-main' },
      h('span', { class: 'cf-case-rule' }, v.rule(c.rule_id, { zh: c.rule_zh, en: c.rule_en })),
      h('span', { class: 'cf-case-meta' },
        h('span', { class: 'cf-case-district' }, v.district(c.adcode, c.district)),
        h('span', { class: 'cf-case-area', 'data-testid': 'cf-case-area' }, `${area.ha} · ${area.mu}`))),
    statusBadge(v, c.status));
  button.addEventListener('click', () => open(c));
  return h('li', {
    class: `cf-case${selected ? ' selected' : ''}`, 'data-testid': 'cf-case', 'data-id': c.id, 'data-fid': c.fid,
    'data-rule': c.rule_id, 'data-adcode': c.adcode, 'data-severity': c.severity, 'data-status': c.status, 'data-area-m2': c.area_m2 ?? '',
  }, button);
}

/** The cases loaded so far, what to say when there is none or loading failed, and "load more". */
export function renderCases(v: Vocab, l: ListState, selectedId: string | undefined, handlers: Pick<ListHandlers, 'open' | 'more' | 'retry'>): (HTMLElement | null)[] {
  const more = l.cases.length < l.total;
  const moreButton = h('button', { type: 'button', class: 'cf-secondary cf-more', 'data-testid': 'cf-more', disabled: l.loading },
    l.loading ? t('loading') : `${t('loadMore')}（${t('cfShown', { shown: formatInt(l.cases.length), total: formatInt(l.total) })}）`);
  moreButton.addEventListener('click', () => handlers.more());
  return [
    l.cases.length ? h('ul', { class: 'cf-cases', 'data-testid': 'cf-cases' }, ...l.cases.map((c) => caseItem(v, c, c.id === selectedId, handlers.open))) : null,
    !l.loading && !l.error && !l.cases.length ? h('p', { class: 'cf-muted', 'data-testid': 'cf-empty' }, t('cfNone')) : null,
    l.error ? errorWithRetry(l.error, () => handlers.retry()) : null,
    more && !l.error ? moreButton : null,
    l.loading && !l.cases.length ? h('p', { class: 'cf-muted' }, t('loading')) : null,
  ];
}
