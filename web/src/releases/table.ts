// The comparison table (对比分析表) of two sides: per layer the features added, removed and changed
// with their counts and areas (公顷), each layer's change per class, the net change of the key
// totals (basic farmland, construction land, red line, parks) and the open conflicts gained and lost.
import { lang, locale, t } from '../i18n/i18n';
import { h } from '../ui/dom';
import type { ClassChange, Comparison, KeyTotal, LayerChange } from './api';

const nf = (digits: number) => new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** 公顷 with two decimals ('—' for none). */
export function ha(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : nf(2).format(x);
}

/** A signed change: +1.23 / −1.23 / 0.00. */
export function signedHa(x: number | null | undefined): string {
  if (x === null || x === undefined) return '—';
  const r = Math.round(x * 100) / 100;
  if (r === 0) return nf(2).format(0);
  return `${r > 0 ? '+' : '−'}${nf(2).format(Math.abs(r))}`;
}

const sign = (x: number) => (Math.round(x * 100) === 0 ? 'zero' : x > 0 ? 'up' : 'down');
const name = (x: { zh: string; en?: string }) => (lang() === 'en' && x.en ? x.en : x.zh);
const num = (text: string, attrs: Record<string, string> = {}) => h('td', { class: 'num', ...attrs }, text);

function layerRows(l: LayerChange): HTMLElement[] {
  const none = l.added.count + l.removed.count + l.changed.count === 0;
  const head = h('tr', { class: `rl-cmp-layer${none ? ' rl-cmp-none' : ''}`, 'data-testid': 'rl-cmp-layer', 'data-layer': l.layerId },
    h('th', { scope: 'row' }, l.title, h('span', { class: 'rl-cmp-rev' }, ` ${revisions(l)}`)),
    num(String(l.added.count), { 'data-testid': 'rl-cmp-added' }), num(ha(l.added.area_ha)),
    num(String(l.removed.count), { 'data-testid': 'rl-cmp-removed' }), num(ha(l.removed.area_ha)),
    num(String(l.changed.count), { 'data-testid': 'rl-cmp-changed' }), num(l.changed.area_before_ha === null ? '—' : `${ha(l.changed.area_before_ha)} → ${ha(l.changed.area_after_ha)}`));
  const classes = l.byClass.filter((c) => Math.round(c.change_ha * 100) !== 0);
  return [head, ...classes.map((c) => classRow(l, c))];
}

function revisions(l: LayerChange): string {
  const r = (x: number | null) => (x === null ? '—' : `r${x}`);
  return `(${r(l.fromRevision)} → ${r(l.toRevision)})`;
}

function classRow(l: LayerChange, c: ClassChange): HTMLElement {
  const dot = h('span', { class: 'layer-dot', style: `background:${c.color}` });
  return h('tr', { class: 'rl-cmp-class', 'data-testid': 'rl-cmp-class', 'data-layer': l.layerId, 'data-code': c.code },
    h('td', { class: 'rl-cmp-class-name' }, dot, ` ${name(c)}`, h('span', { class: 'legend-code' }, ` ${c.code}`)),
    h('td', { class: 'num', colspan: 6 },
      `${ha(c.from_ha)} → ${ha(c.to_ha)} ${t('unitHa')} `,
      h('span', { class: `rl-change rl-change-${sign(c.change_ha)}`, 'data-testid': 'rl-cmp-class-change' }, signedHa(c.change_ha))));
}

function totalRow(x: KeyTotal): HTMLElement {
  return h('tr', { 'data-testid': 'rl-cmp-total', 'data-id': x.id },
    h('th', { scope: 'row' }, name(x)),
    num(ha(x.from_ha)), num(ha(x.to_ha)),
    h('td', { class: `num rl-change rl-change-${sign(x.change_ha)}`, 'data-testid': 'rl-cmp-total-change' }, signedHa(x.change_ha)));
}

/** The whole table of a comparison; fromLabel/toLabel name the two sides ("第1版", "工作数据"). */
export function renderComparison(c: Comparison, fromLabel: string, toLabel: string): HTMLElement {
  const changedLayers = c.layers.filter((l) => l.added.count + l.removed.count + l.changed.count > 0).length;
  return h('div', { class: 'rl-cmp', 'data-testid': 'rl-cmp-table' },
    h('p', { class: 'rl-cmp-summary' }, t('rlCmpSummary', { from: fromLabel, to: toLabel, n: changedLayers })),
    h('h4', {}, t('rlCmpTotals')),
    h('table', { class: 'cf-table rl-table' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', { class: 'num' }, fromLabel), h('th', { class: 'num' }, toLabel), h('th', { class: 'num' }, `${t('rlCmpNet')}（${t('unitHa')}）`))),
      h('tbody', {}, ...c.totals.map(totalRow))),
    h('h4', {}, t('rlCmpLayers')),
    h('div', { class: 'rl-table-wrap' },
      h('table', { class: 'cf-table rl-table' },
        h('thead', {},
          h('tr', {}, h('th', { rowspan: 2 }, t('layers')), h('th', { colspan: 2, class: 'rl-added' }, t('rlChange_added')), h('th', { colspan: 2, class: 'rl-removed' }, t('rlChange_removed')), h('th', { colspan: 2, class: 'rl-changed' }, t('rlChange_changed'))),
          h('tr', {}, ...[0, 1, 2].flatMap(() => [h('th', { class: 'num' }, t('rlCount')), h('th', { class: 'num' }, t('unitHa'))]))),
        h('tbody', {}, ...c.layers.flatMap(layerRows)))),
    h('h4', {}, t('rlCmpConflicts')),
    h('dl', { class: 'cf-facts', 'data-testid': 'rl-cmp-conflicts' },
      h('dt', {}, t('rlConflictsGained')), h('dd', { 'data-testid': 'rl-cmp-gained' }, String(c.conflicts.gainedCount)),
      h('dt', {}, t('rlConflictsLost')), h('dd', { 'data-testid': 'rl-cmp-lost' }, String(c.conflicts.lostCount))));
}
