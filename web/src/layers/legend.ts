// A layer's legend: one colour swatch per class of its classification, with the class name.
import { pick } from '../i18n/i18n';
import { h } from '../ui/dom';
import type { RegistryEntry as Layer } from './registry';

/** The swatch for one class, drawn the way the layer is styled (area, outline, line or point). */
export function swatch(kind: Layer['style']['kind'], color: string): HTMLElement {
  const el = h('span', { class: `swatch swatch-${kind}`, 'aria-hidden': 'true' });
  if (kind === 'outline') el.style.borderColor = color;
  else el.style.setProperty('--swatch', color);
  return el;
}

/** The legend list of a registry layer. */
export function renderLegend(layer: Layer): HTMLElement {
  return h('ul', { class: 'legend', 'data-testid': `layer-legend-${layer.id}` },
    ...layer.classification.classes.map((c) =>
      h('li', { class: 'legend-item', 'data-code': c.code },
        swatch(layer.style.kind, c.color),
        h('span', { class: 'legend-name' }, pick(c)),
        h('span', { class: 'legend-code' }, c.code))));
}
