// The caption a Chinese public map carries (公开地图的审图号与出版信息), on the map and always
// visible — in screenshots too: bottom left "审图号：<reviewNumber>", bottom right
// "<title> 第N版 <date> 大同市规划局". A MapLibre control at each corner, so they stack with
// the scale bar instead of covering it.
import type { IControl, Map as MlMap } from 'maplibre-gl';
import { lang, onLangChange, t } from '../i18n/i18n';
import { h } from '../ui/dom';
import { issuerZh, REGISTRY_DEPARTMENTS } from './layers';

/** What the caption says of a release (a release of the API, or an archive's metadata). */
export interface CaptionInfo {
  number: number;
  title: string;
  reviewNumber: string | null;
  publishedAt: string | null;
  preparedAt?: string | null;
  department: string;
  status?: string;
}

/** The day of a timestamp in China (UTC+8): the day a release was published there. */
export function chinaDate(iso: string): { y: number; m: number; d: number } | null {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return null;
  const cn = new Date(at.getTime() + 8 * 3600_000);
  return { y: cn.getUTCFullYear(), m: cn.getUTCMonth() + 1, d: cn.getUTCDate() };
}

/** A release date as the caption writes it: 2026年12月4日 in Chinese, 2026-12-04 in English. */
export function formatReleaseDate(iso: string | null | undefined): string {
  const d = iso ? chinaDate(iso) : null;
  if (!d) return '—';
  if (lang() === 'zh') return `${d.y}年${d.m}月${d.d}日`;
  return `${d.y}-${String(d.m).padStart(2, '0')}-${String(d.d).padStart(2, '0')}`;
}

/** The issuing department's name: 大同市规划局 / the registry's English name. */
export function issuerName(department: string): string {
  if (lang() === 'zh') return issuerZh(department);
  const en = REGISTRY_DEPARTMENTS.find((d) => d.id === department)?.en;
  return en ? `Datong ${en}` : department;
}

/** "第N版" / "Release N". */
export const editionText = (n: number): string => t('rlEdition', { n });

/** The 审图号 line. */
export function reviewLine(info: CaptionInfo): string {
  return `${t('rlReviewNumber')}${lang() === 'zh' ? '：' : ': '}${info.reviewNumber ?? t('rlNoReviewNumber')}`;
}

/** The title line: title, edition, date, issuer. */
export function titleLine(info: CaptionInfo): string {
  const date = info.publishedAt ? formatReleaseDate(info.publishedAt) : `${t('rlStatus_draft')} ${formatReleaseDate(info.preparedAt)}`;
  return [info.title, editionText(info.number), date, issuerName(info.department)].join(lang() === 'zh' ? ' ' : ', ');
}

class Corner implements IControl {
  readonly el: HTMLElement;
  constructor(cls: string, testid: string) {
    this.el = h('div', { class: `maplibregl-ctrl rl-caption ${cls}`, 'data-testid': testid });
  }
  onAdd(): HTMLElement {
    return this.el;
  }
  onRemove(): void {
    this.el.remove();
  }
}

/** The two captions of a map; set() names the release shown, or null for none. */
export class ReleaseCaption {
  private readonly left = new Corner('rl-caption-review', 'rl-caption-review');
  private readonly right = new Corner('rl-caption-title', 'rl-caption-title');
  private info: CaptionInfo | null = null;
  private readonly stop: () => void;

  /**
   * corners: the 审图号 bottom left and the title line bottom right (a map alone), or both lines
   * in one corner (a side of the swipe, whose other half the other map covers).
   */
  constructor(private readonly map: MlMap, corners: 'split' | 'left' | 'right' = 'split') {
    map.addControl(this.left, corners === 'right' ? 'bottom-right' : 'bottom-left');
    map.addControl(this.right, corners === 'left' ? 'bottom-left' : 'bottom-right');
    this.stop = onLangChange(() => this.render());
    this.render();
  }

  set(info: CaptionInfo | null): void {
    this.info = info;
    this.render();
  }

  private render(): void {
    const i = this.info;
    this.left.el.hidden = !i;
    this.right.el.hidden = !i;
    this.left.el.textContent = i ? reviewLine(i) : '';
    this.right.el.textContent = i ? titleLine(i) : '';
    if (i) this.right.el.dataset.release = String(i.number);
  }

  remove(): void {
    this.stop();
    this.map.removeControl(this.left);
    this.map.removeControl(this.right);
  }
}
