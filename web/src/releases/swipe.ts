// The swipe (卷帘) of a comparison: two maps over the main one, the left side of the divider
// showing one release (or the working data), the right side the other, moving together; the
// divider is dragged (mouse, touch or the arrow keys). The right map is clipped with clip-path,
// so each side takes the clicks and drags made over it. Written here rather than taken from
// @maplibre/maplibre-gl-compare, whose 0.5 release is CommonJS requiring Node's `events` module
// (which the bundler does not provide in the browser) and clips with the deprecated CSS `clip`.
import type { Map as MlMap, StyleSpecification } from 'maplibre-gl';
import { t } from '../i18n/i18n';
import { createMap, whenLoaded } from '../map/map';
import { h } from '../ui/dom';
import { ReleaseCaption, type CaptionInfo } from './caption';

/** One side of the swipe: its style and what the captions say of it (null: the working data). */
export interface SwipeSide {
  style: string | StyleSpecification;
  label: string;
  caption: CaptionInfo | null;
}

export class Swipe {
  readonly left: MlMap;
  readonly right: MlMap;
  readonly root: HTMLElement;
  private readonly rightBox: HTMLElement;
  private readonly divider: HTMLElement;
  private readonly leftLabel: HTMLElement;
  private readonly rightLabel: HTMLElement;
  /** The divider's position as a fraction of the width. */
  private fraction = 0.5;
  private syncing = false;
  private readonly resize = new ResizeObserver(() => this.place());
  private readonly captions: ReleaseCaption[] = [];

  /** start: where the divider starts, px from the left of host (default its middle). */
  constructor(host: HTMLElement, camera: MlMap, left: SwipeSide, right: SwipeSide, start?: number) {
    const leftBox = h('div', { class: 'rl-swipe-map rl-swipe-left', 'data-testid': 'rl-swipe-left' });
    this.rightBox = h('div', { class: 'rl-swipe-map rl-swipe-right', 'data-testid': 'rl-swipe-right' });
    this.leftLabel = h('span', { class: 'rl-swipe-label rl-swipe-label-left', 'data-testid': 'rl-swipe-label-left' }, left.label);
    this.rightLabel = h('span', { class: 'rl-swipe-label rl-swipe-label-right', 'data-testid': 'rl-swipe-label-right' }, right.label);
    this.divider = h('div', {
      class: 'rl-swipe-divider', 'data-testid': 'rl-swipe-divider', role: 'separator', tabindex: 0,
      'aria-orientation': 'vertical', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': t('rlSwipeDivider'),
    }, h('span', { class: 'rl-swipe-handle', 'aria-hidden': 'true' }, '⟷'));
    this.root = h('div', { class: 'rl-swipe', 'data-testid': 'rl-swipe' }, leftBox, this.rightBox, this.divider, this.leftLabel, this.rightLabel);
    host.append(this.root);

    const view = { center: camera.getCenter(), zoom: camera.getZoom(), bearing: camera.getBearing(), pitch: camera.getPitch() };
    this.left = createMap(leftBox, left.style);
    this.right = createMap(this.rightBox, right.style);
    for (const m of [this.left, this.right]) m.jumpTo(view);
    if (left.caption) this.captions.push(withCaption(this.left, left.caption, 'left'));
    if (right.caption) this.captions.push(withCaption(this.right, right.caption, 'right'));
    this.sync(this.left, this.right);
    this.sync(this.right, this.left);
    this.drag();
    this.resize.observe(this.root);
    if (start !== undefined) this.moveTo(start);
    else this.place();
  }

  /** Both maps loaded. */
  loaded(): Promise<unknown> {
    return Promise.all([whenLoaded(this.left), whenLoaded(this.right)]);
  }

  /** The divider's position (px from the left of the map area). */
  get position(): number {
    return Math.round(this.fraction * this.root.clientWidth);
  }

  /** Moves the divider to x px from the left edge (clamped to the map). */
  moveTo(x: number): void {
    const w = this.root.clientWidth || 1;
    this.fraction = Math.min(1, Math.max(0, x / w));
    this.place();
  }

  private place(): void {
    const x = this.position;
    this.rightBox.style.clipPath = `inset(0 0 0 ${x}px)`;
    this.divider.style.left = `${x}px`;
    this.divider.setAttribute('aria-valuenow', String(Math.round(this.fraction * 100)));
    this.root.dataset.position = String(x);
    // Each label beside the divider on its side, cut short before the map's edge (and the zoom buttons).
    this.leftLabel.style.right = `calc(100% - ${x}px + 14px)`;
    this.leftLabel.style.maxWidth = `${Math.max(0, x - 24)}px`;
    this.rightLabel.style.left = `${x + 14}px`;
    this.rightLabel.style.maxWidth = `${Math.max(0, this.root.clientWidth - x - 70)}px`;
  }

  /** When `from` moves (by the user), `to` follows. */
  private sync(from: MlMap, to: MlMap): void {
    from.on('move', () => {
      if (this.syncing) return;
      this.syncing = true;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
      this.syncing = false;
    });
  }

  private drag(): void {
    const d = this.divider;
    const move = (e: PointerEvent) => this.moveTo(e.clientX - this.root.getBoundingClientRect().left);
    const end = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', end);
      window.removeEventListener('pointercancel', end);
      d.classList.remove('dragging');
    };
    d.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      d.classList.add('dragging');
      // On the window, not the divider: the pointer runs ahead of it over the maps.
      window.addEventListener('pointermove', move);
      window.addEventListener('pointerup', end);
      window.addEventListener('pointercancel', end);
    });
    d.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? 0.1 : 0.02;
      if (e.key === 'ArrowLeft') this.moveTo((this.fraction - step) * this.root.clientWidth);
      else if (e.key === 'ArrowRight') this.moveTo((this.fraction + step) * this.root.clientWidth);
      else return;
      e.preventDefault();
    });
  }

  /** The camera both maps share now. */
  camera(): { center: [number, number]; zoom: number; bearing: number; pitch: number } {
    const c = this.left.getCenter();
    return { center: [c.lng, c.lat], zoom: this.left.getZoom(), bearing: this.left.getBearing(), pitch: this.left.getPitch() };
  }

  remove(): void {
    this.resize.disconnect();
    for (const c of this.captions) c.remove();
    this.left.remove();
    this.right.remove();
    this.root.remove();
  }
}

function withCaption(map: MlMap, info: CaptionInfo, corners: 'left' | 'right'): ReleaseCaption {
  const c = new ReleaseCaption(map, corners);
  c.set(info);
  return c;
}
