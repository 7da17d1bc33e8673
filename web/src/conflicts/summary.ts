// The summary table: current patches per rule × district (count, 公顷, 亩), rules in the rules'
// order with a subtotal each, and the total. A district row lists that rule's cases in that district.
import { t } from '../i18n/i18n';
import { formatNumber, m2ToHa, m2ToMu } from '../identify/area';
import { h } from '../ui/dom';
import type { Summary, SummaryRow } from './api';
import { dot } from './detail';
import { formatInt, locale, type Vocab } from './vocab';

export function renderSummary(v: Vocab, summary: Summary, pick: (row: SummaryRow) => void): HTMLElement {
  const l = locale();
  const ha = (x: number): string => formatNumber(x, 2, l);
  const mu = (x: number): string => formatNumber(x, 0, l);
  const order = new Map(v.info.rules.map((r, i) => [r.id, i]));
  const byRule = new Map<string, SummaryRow[]>();
  for (const r of summary.rows) {
    const list = byRule.get(r.rule_id) ?? [];
    list.push(r);
    byRule.set(r.rule_id, list);
  }
  const rules = [...byRule.keys()].sort((a, b) => (order.get(a) ?? 99) - (order.get(b) ?? 99));
  const body: HTMLElement[] = [];
  for (const id of rules) {
    const rows = byRule.get(id)!;
    const first = rows[0]!;
    const count = rows.reduce((s, r) => s + r.count, 0);
    const m2 = rows.reduce((s, r) => s + r.area_m2, 0);
    body.push(h('tr', { class: 'cf-sum-rule', 'data-rule': id },
      h('th', { scope: 'rowgroup', colspan: 2 }, dot(v.severityColor(first.severity)), ' ', v.rule(id, { zh: first.rule_zh, en: first.rule_zh })),
      h('td', { class: 'num' }, formatInt(count)), h('td', { class: 'num' }, ha(m2ToHa(m2))), h('td', { class: 'num' }, mu(m2ToMu(m2)))));
    for (const r of rows) {
      const tr = h('tr', { class: 'cf-sum-row', 'data-testid': 'cf-summary-row', 'data-rule': r.rule_id, 'data-adcode': r.adcode, tabindex: 0 },
        h('td', { class: 'cf-sum-indent' }),
        h('td', {}, v.district(r.adcode, r.district)),
        h('td', { class: 'num', 'data-col': 'count' }, formatInt(r.count)),
        h('td', { class: 'num', 'data-col': 'ha' }, ha(r.area_ha)),
        h('td', { class: 'num', 'data-col': 'mu' }, mu(r.area_mu)));
      tr.addEventListener('click', () => pick(r));
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(r); });
      body.push(tr);
    }
  }
  return h('div', { class: 'cf-summary' },
    h('p', { class: 'cf-muted cf-small' }, t('cfSummaryNote')),
    h('table', { class: 'cf-table', 'data-testid': 'cf-summary-table' },
      h('thead', {}, h('tr', {},
        h('th', { colspan: 2 }, `${t('rule')} / ${t('district')}`),
        h('th', { class: 'num' }, t('cfColCount')), h('th', { class: 'num' }, t('cfColHa')), h('th', { class: 'num' }, t('cfColMu')))),
      h('tbody', {}, ...body),
      h('tfoot', {}, h('tr', { 'data-testid': 'cf-summary-total' },
        h('th', { colspan: 2 }, t('cfTotalRow')),
        h('td', { class: 'num' }, formatInt(summary.totals.count)),
        h('td', { class: 'num' }, ha(summary.totals.area_ha ?? 0)),
        h('td', { class: 'num' }, mu(summary.totals.area_mu ?? 0))))));
}
