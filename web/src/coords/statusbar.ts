// Status bar: live cursor coordinates in CGCS2000 lon/lat and EPSG:4547 Gauss-Krüger, and the zoom.
import type { Map as MlMap } from 'maplibre-gl';
import { onLangChange, t } from '../i18n/i18n';
import { h, replaceChildren } from '../ui/dom';
import { formatGk, formatLonLat, lonLatToGk } from './gk';

/** Mounts the coordinate read-out into container and follows the cursor over the map. */
export function mountStatusBar(container: HTMLElement, map: MlMap): void {
  const lonLat = h('output', { class: 'coord', 'data-testid': 'coords-lonlat' }, '—');
  const gk = h('output', { class: 'coord', 'data-testid': 'coords-gk' }, '—');
  const zoom = h('output', { class: 'coord', 'data-testid': 'coords-zoom' }, map.getZoom().toFixed(2));
  const lonLatLabel = h('span', { class: 'coord-label' });
  const gkLabel = h('span', { class: 'coord-label' });
  const zoomLabel = h('span', { class: 'coord-label' });

  const labels = (): void => {
    lonLatLabel.textContent = t('lonLat');
    gkLabel.textContent = t('gk');
    zoomLabel.textContent = t('zoom');
  };
  labels();
  onLangChange(labels);

  replaceChildren(container,
    h('span', { class: 'coord-group' }, lonLatLabel, lonLat),
    h('span', { class: 'coord-group' }, gkLabel, gk),
    h('span', { class: 'coord-group coord-zoom' }, zoomLabel, zoom));

  map.on('mousemove', (e) => {
    const { lng, lat } = e.lngLat;
    lonLat.textContent = formatLonLat(lng, lat);
    const p = lonLatToGk(lng, lat);
    gk.textContent = formatGk(p.x, p.y);
  });
  map.on('zoom', () => { zoom.textContent = map.getZoom().toFixed(2); });
}
