// The detection tab: re-run the detection (incremental by default, full on request), the result
// of the run just made (duration, patches, opened / closed / reopened, changed layers) and the
// recent runs.
import { formatTime, t } from '../i18n/i18n';
import { formatNumber, m2ToHa } from '../identify/area';
import { h } from '../ui/dom';
import type { RunTotals } from './api';
import type { RunsModel } from './store';
import { formatDuration, formatInt, locale, type Vocab } from './vocab';

export interface RunsHandlers {
  modeChanged(mode: 'incremental' | 'full'): void;
  run(): void;
}

const modeName = (mode: string): string => t(mode === 'full' ? 'cfModeFull' : 'cfModeIncremental');

function totalsList(v: Vocab, totals: RunTotals, changed: string[]): HTMLElement {
  const l = locale();
  return h('dl', { class: 'cf-facts cf-run-facts' },
    h('dt', {}, t('cfRunPatches')),
    h('dd', { 'data-testid': 'cf-run-patches' }, `${formatInt(totals.patches)} ${t('unitPieces')} · ${formatNumber(m2ToHa(totals.area_m2), 2, l)} ${t('unitHa')}`),
    h('dt', {}, t('cfRunOpened')), h('dd', { 'data-testid': 'cf-run-opened' }, formatInt(totals.opened)),
    h('dt', {}, t('cfRunClosed')), h('dd', { 'data-testid': 'cf-run-closed' }, formatInt(totals.closed)),
    h('dt', {}, t('cfRunReopened')), h('dd', {}, formatInt(totals.reopened)),
    h('dt', {}, t('cfRunSlivers')), h('dd', {}, `${formatInt(totals.sliver_parts)} · ${formatNumber(totals.sliver_area_m2, 1, l)} ${t('unitM2')}`),
    h('dt', {}, t('cfRunChanged')), h('dd', {}, changed.length ? changed.map((id) => v.layer(id)).join('、') : t('none')));
}

export function renderRuns(v: Vocab, m: RunsModel, handlers: RunsHandlers): HTMLElement {
  const radio = (mode: 'incremental' | 'full', label: string): HTMLElement => {
    const input = h('input', { type: 'radio', name: 'cf-run-mode', value: mode, 'data-testid': `cf-run-mode-${mode}`, disabled: m.running });
    input.checked = m.mode === mode;
    input.addEventListener('change', () => { if (input.checked) handlers.modeChanged(mode); });
    return h('label', { class: 'cf-radio' }, input, h('span', {}, label));
  };
  const button = h('button', { type: 'button', class: 'cf-primary', 'data-testid': 'cf-run', disabled: m.running || m.allowed === false, title: m.allowed === false ? t('cfNotAllowed') : undefined }, m.running ? t('cfRunning') : t('cfRunButton'));
  button.addEventListener('click', () => handlers.run());

  let result: HTMLElement | null = null;
  if (m.error) {
    result = h('p', { class: 'cf-notice cf-notice-error', role: 'alert', 'data-testid': 'cf-run-error' }, `${t('cfRunFailed')}: ${m.error}`);
  } else if (m.result) {
    const r = m.result;
    result = h('div', { class: 'cf-run-result', 'data-testid': 'cf-run-result', 'data-run': r.id, 'data-mode': r.mode },
      h('p', { class: 'cf-run-head' }, `✓ ${t('cfRunDone', { id: r.id, mode: modeName(r.mode), duration: formatDuration(r.duration_ms) })}`),
      totalsList(v, r.totals, r.changedLayers),
      h('p', { class: 'cf-muted cf-small' }, t('cfRunRefreshed')));
  }

  let recent: HTMLElement;
  if (m.records) {
    recent = h('table', { class: 'cf-table', 'data-testid': 'cf-runs-table' },
      h('thead', {}, h('tr', {},
        h('th', {}, t('cfColRun')), h('th', {}, t('cfColMode')), h('th', {}, t('cfColStarted')),
        h('th', { class: 'num' }, t('cfColDuration')), h('th', { class: 'num' }, t('cfColCount')), h('th', { class: 'num' }, t('cfColOpenedClosed')))),
      h('tbody', {}, ...m.records.map((r) => {
        const tot = r.stats?.totals;
        return h('tr', { 'data-run': r.id, class: r.status === 'failed' ? 'cf-run-failed' : undefined, title: r.status },
          h('td', {}, `#${r.id}`),
          h('td', {}, modeName(r.mode)),
          h('td', {}, formatTime(r.started_at)),
          h('td', { class: 'num' }, r.status === 'running' ? t('cfRunning') : formatDuration(r.duration_ms)),
          h('td', { class: 'num' }, tot ? formatInt(tot.patches) : '—'),
          h('td', { class: 'num' }, tot ? `${formatInt(tot.opened)} / ${formatInt(tot.closed)}` : '—'));
      })));
  } else if (m.recordsError) {
    recent = h('p', { class: 'error' }, `${t('loadError')}: ${m.recordsError}`);
  } else {
    recent = h('p', { class: 'cf-muted' }, t('loading'));
  }

  return h('div', { class: 'cf-runs' },
    h('section', { class: 'cf-section' },
      h('h4', {}, t('cfRunTitle')),
      radio('incremental', t('cfRunIncremental')),
      radio('full', t('cfRunFull')),
      m.busy && !m.running ? h('p', { class: 'cf-note-warn' }, t('cfRunBusy')) : null,
      h('div', { class: 'cf-buttons' }, button),
      result),
    h('section', { class: 'cf-section' }, h('h4', {}, t('cfRecentRuns')), recent));
}
