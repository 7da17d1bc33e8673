// The identify panel on the right: the features found at the clicked point, each with its layer,
// class, attributes (registry labels) and area in m², 公顷 and 亩.
import { locale, pick, t } from '../i18n/i18n';
import { swatch } from '../layers/legend';
import type { RegistryEntry as Layer } from '../layers/registry';
import { formatGk, formatLonLat, lonLatToGk } from '../coords/gk';
import { h, replaceChildren } from '../ui/dom';
import type { IdentifiedFeature, IdentifyResult } from './api';
import { formatNumber, m2ToHa, m2ToMu } from './area';

/** What the panel shows. */
export type PanelState =
  | { kind: 'hint' }
  | { kind: 'loading'; lon: number; lat: number }
  | { kind: 'result'; result: IdentifyResult }
  | { kind: 'no-layers'; lon: number; lat: number }
  | { kind: 'error'; message: string };

function formatValue(value: unknown, type: string): string {
  if (value === null || value === undefined || value === '') return '—';
  if (type === 'boolean' || typeof value === 'boolean') return value === true || value === 'true' ? t('yes') : t('no');
  if (typeof value === 'number') return value.toLocaleString(locale(), { maximumFractionDigits: 6 });
  return String(value);
}

function areaRows(f: IdentifiedFeature): HTMLElement | null {
  if (f.area_m2 === null || f.area_m2 === undefined) return null;
  const l = locale();
  const ha = f.area_ha ?? m2ToHa(f.area_m2);
  const mu = f.area_mu ?? m2ToMu(f.area_m2);
  return h('div', { class: 'area', 'data-testid': 'identify-area' },
    h('span', { class: 'area-label' }, t('area')),
    h('span', { class: 'area-value', 'data-testid': 'identify-area-m2' }, `${formatNumber(f.area_m2, 1, l)} ${t('unitM2')}`),
    h('span', { class: 'area-value', 'data-testid': 'identify-area-ha' }, `${formatNumber(ha, 4, l)} ${t('unitHa')}`),
    h('span', { class: 'area-value', 'data-testid': 'identify-area-mu' }, `${formatNumber(mu, 2, l)} ${t('unitMu')}`));
}

function featureCard(f: IdentifiedFeature, layer: Layer | undefined): HTMLElement {
  const attrs = layer?.attributes ?? Object.keys(f.properties).map((name) => ({ name, type: 'text', zh: name, en: name }));
  return h('article', { class: 'feature', 'data-testid': 'identify-feature', 'data-layer': f.layer, 'data-fid': f.fid },
    h('header', { class: 'feature-head' },
      f.class ? swatch(layer?.style.kind ?? 'fill', f.class.color) : null,
      h('div', {},
        h('div', { class: 'feature-layer' }, layer ? pick(layer.title) : f.layer),
        h('div', { class: 'feature-class', 'data-testid': 'identify-class' },
          f.class ? pick(f.class) : '—', f.code ? h('span', { class: 'code' }, ` ${f.code}`) : null))),
    areaRows(f),
    h('dl', { class: 'attrs' },
      ...attrs.flatMap((a) => [h('dt', {}, pick(a)), h('dd', {}, formatValue(f.properties[a.name], a.type))]),
      h('dt', {}, t('featureId')), h('dd', {}, String(f.fid))));
}

function location(lon: number, lat: number): HTMLElement {
  const gk = lonLatToGk(lon, lat);
  return h('div', { class: 'identify-location' },
    h('span', {}, t('clickedAt')), h('span', {}, formatLonLat(lon, lat)), h('span', {}, formatGk(gk.x, gk.y)));
}

/** The identify panel: call show() with a new state; onClose is called by its close button. */
export class IdentifyPanel {
  private state: PanelState = { kind: 'hint' };
  private readonly body = h('div', { class: 'identify-body', 'data-testid': 'identify-body' });
  private readonly title = h('h2', { class: 'panel-title' });
  private readonly closeButton = h('button', { type: 'button', class: 'close', 'data-testid': 'identify-close' }, '×');

  constructor(private readonly root: HTMLElement, private readonly layers: Map<string, Layer>, onClose: () => void) {
    root.setAttribute('data-testid', 'identify-panel');
    root.append(h('div', { class: 'panel-head' }, this.title, this.closeButton), this.body);
    this.closeButton.addEventListener('click', () => { this.show({ kind: 'hint' }); onClose(); });
    this.render();
  }

  /** Shows a new state. */
  show(state: PanelState): void {
    this.state = state;
    this.render();
  }

  /** Re-renders the current state (after a language switch). */
  render(): void {
    const s = this.state;
    this.title.textContent = t('identify');
    this.closeButton.title = t('close');
    this.closeButton.hidden = s.kind === 'hint';
    this.root.dataset.state = s.kind;
    switch (s.kind) {
      case 'hint':
        replaceChildren(this.body, h('p', { class: 'muted' }, t('identifyHint')));
        break;
      case 'loading':
        replaceChildren(this.body, location(s.lon, s.lat), h('p', { class: 'muted' }, t('identifyLoading')));
        break;
      case 'no-layers':
        replaceChildren(this.body, location(s.lon, s.lat), h('p', { class: 'muted' }, t('identifyNoLayers')));
        break;
      case 'error':
        replaceChildren(this.body, h('p', { class: 'error', role: 'alert' }, `${t('identifyError')}: ${s.message}`));
        break;
      case 'result':
        replaceChildren(this.body, location(s.result.lon, s.result.lat),
          s.result.features.length === 0
            ? h('p', { class: 'muted', 'data-testid': 'identify-empty' }, t('identifyNone'))
            : h('div', { class: 'features' }, ...s.result.features.map((f) => featureCard(f, this.layers.get(f.layer)))));
        break;
    }
  }
}
