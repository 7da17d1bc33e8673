// A panel that a header button opens over the map (the conflicts and review panels; the import
// panel's preview padding would fit too): the button goes before the language switch and says
// whether the panel is shown (aria-expanded), the map's host carries a class while it is (the
// layout makes room), and a shape fitted on the map is kept clear of the panel.
import type { Map as MlMap, PaddingOptions } from 'maplibre-gl';

/** Puts a panel's button into the header before the language switch; a click opens the panel, or closes it when shown. */
export function headerButton(header: HTMLElement, button: HTMLButtonElement, panel: HTMLElement, open: () => void, close: () => void): void {
  header.insertBefore(button, header.querySelector('[data-testid="lang-switch"]'));
  button.addEventListener('click', () => (panel.hidden ? open() : close()));
}

/** Shows or hides a panel: its button says so, and the map's host carries `hostClass` while it is shown. */
export function showPanel(panel: HTMLElement, button: HTMLButtonElement, host: HTMLElement, hostClass: string, shown: boolean): void {
  panel.hidden = !shown;
  host.classList.toggle(hostClass, shown);
  button.setAttribute('aria-expanded', String(shown));
}

/**
 * Map padding (px) that keeps a fitted shape clear of a panel floating over the map's `side`:
 * `margin` all round, plus what the panel covers on its side, but never so much that the shape
 * has less than `keep(mapWidth)` px of the map's width.
 */
export function clearOfPanel(map: MlMap, panel: HTMLElement | null, side: 'left' | 'right', margin: number, keep: (mapWidth: number) => number): PaddingOptions {
  const mapBox = map.getContainer().getBoundingClientRect();
  let covered = 0;
  if (panel && !panel.hidden) {
    const box = panel.getBoundingClientRect();
    covered = Math.max(0, side === 'left' ? box.right - mapBox.left : mapBox.right - box.left);
  }
  const inner = Math.min(covered + margin, Math.max(margin, mapBox.width - keep(mapBox.width)));
  const vertical = Math.min(margin, mapBox.height / 4);
  return { top: vertical, bottom: vertical, left: side === 'left' ? inner : margin, right: side === 'right' ? inner : margin };
}
