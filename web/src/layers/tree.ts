// The layer tree in the left panel: plan groups, each layer with its visibility checkbox,
// opacity slider and legend. The map's style is the source of truth for visibility.
import type { Map as MlMap } from 'maplibre-gl';
import { onLangChange, pick, t } from '../i18n/i18n';
import { h, replaceChildren } from '../ui/dom';
import { renderLegend } from './legend';
import { layersByGroup, type LayerList, type RegistryEntry as Layer } from './registry';
import { isLayerVisible, LayerOpacity, setLayerVisible } from './style-layers';

/**
 * Mounts the layer tree into container and keeps it in step with the language; returns the
 * function that stops it (the public viewer mounts the tree again for another release).
 */
export function mountLayerTree(container: HTMLElement, map: MlMap, registry: LayerList): () => void {
  const opacity = new LayerOpacity(map);
  const opacityPct = new Map<string, number>(); // per layer, 0–100
  const expanded = new Set<string>();
  const departments = new Map(registry.departments.map((d) => [d.id, d]));

  const layerItem = (layer: Layer): HTMLElement => {
    const checkbox = h('input', {
      type: 'checkbox',
      'data-testid': `layer-toggle-${layer.id}`,
      'aria-label': pick(layer.title),
    });
    checkbox.checked = isLayerVisible(map, layer.id);
    checkbox.addEventListener('change', () => setLayerVisible(map, layer.id, checkbox.checked));

    const pct = opacityPct.get(layer.id) ?? 100;
    const slider = h('input', {
      type: 'range', min: 0, max: 100, step: 5, value: pct,
      'data-testid': `layer-opacity-${layer.id}`,
      'aria-label': `${t('opacity')} ${pick(layer.title)}`,
    });
    const pctLabel = h('span', { class: 'opacity-value' }, `${pct}%`);
    slider.addEventListener('input', () => {
      const v = Number(slider.value);
      opacityPct.set(layer.id, v);
      pctLabel.textContent = `${v}%`;
      opacity.set(layer.id, v / 100);
    });

    const details = h('div', { class: 'layer-details', 'data-testid': `layer-details-${layer.id}` },
      h('label', { class: 'opacity' }, h('span', {}, t('opacity')), slider, pctLabel),
      renderLegend(layer),
      h('dl', { class: 'layer-meta' },
        h('dt', {}, t('department')), h('dd', {}, pick(departments.get(layer.department) ?? { zh: layer.department, en: layer.department })),
        h('dt', {}, t('period')), h('dd', {}, `${layer.period.from}–${layer.period.to}`),
        h('dt', {}, t('standard')), h('dd', {}, layer.classification.standard || layer.standard)));
    details.hidden = !expanded.has(layer.id);

    const expander = h('button', {
      type: 'button', class: 'expander',
      'aria-expanded': String(expanded.has(layer.id)),
      'data-testid': `layer-expand-${layer.id}`,
      title: t('legend'),
    }, expanded.has(layer.id) ? '▾' : '▸');
    expander.addEventListener('click', () => {
      const open = !expanded.has(layer.id);
      if (open) expanded.add(layer.id); else expanded.delete(layer.id);
      details.hidden = !open;
      expander.textContent = open ? '▾' : '▸';
      expander.setAttribute('aria-expanded', String(open));
    });

    const first = layer.classification.classes[0];
    return h('li', { class: 'layer-item', 'data-testid': `layer-item-${layer.id}` },
      h('div', { class: 'layer-row' },
        expander,
        h('label', { class: 'layer-label' }, checkbox,
          first ? h('span', { class: 'layer-dot', style: `background:${first.color}` }) : null,
          h('span', { class: 'layer-title' }, pick(layer.title)))),
      details);
  };

  const render = (): void => {
    replaceChildren(container,
      h('h2', { class: 'panel-title' }, t('layers')),
      ...layersByGroup(registry).map(({ group, layers }) =>
        h('section', { class: 'layer-group', 'data-testid': `layer-group-${group.id}` },
          h('h3', {}, pick(group)),
          h('ul', { class: 'layer-list' }, ...layers.map(layerItem)))));
  };

  render();
  return onLangChange(render);
}
