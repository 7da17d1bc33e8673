// The viewer's entry: header with the import and conflicts buttons, the language switch and the
// account (登录 / 退出), layer
// tree (left), map with the measure tool, identify panel (right) and coordinate status bar
// (bottom), all driven by the server's registry and style.
import type { Map as MlMap } from 'maplibre-gl';
import { initDocumentLang, lang, onLangChange, setLang, t } from './i18n/i18n';
import { createMap, whenLoaded } from './map/map';
import { fetchRegistry } from './layers/registry';
import { mountLayerTree } from './layers/tree';
import { mountIdentify } from './identify/identify';
import { mountStatusBar } from './coords/statusbar';
import { MeasureControl } from './measure/measure';
import { mountImport } from './imports/panel';
import { mountConflicts } from './conflicts/panel';
import { mountAuth, type AuthHeader } from './auth/header';
import { mountApplications } from './applications/panel';
import { h, replaceChildren } from './ui/dom';
import './styles.css';

declare global {
  interface Window {
    /** Handle for end-to-end tests: the MapLibre map once created. */
    __onemap?: { map: MlMap };
  }
}

function byTestId(id: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`index.html lacks the element data-testid="${id}"`);
  return el;
}

function mountHeader(): AuthHeader {
  const title = byTestId('app-title');
  const sw = byTestId('lang-switch');
  const render = (): void => {
    title.textContent = t('title');
    document.title = t('title');
    sw.textContent = t('langSwitch');
    sw.title = t('langSwitchTitle');
  };
  sw.addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
  render();
  onLangChange(render);
  // 登录 / the logged-in account and 退出; restores the session of the browser's cookie.
  return mountAuth(byTestId('app-header'));
}

async function main(): Promise<void> {
  initDocumentLang();
  const auth = mountHeader();
  const tree = byTestId('layer-tree');
  const right = document.querySelector<HTMLElement>('.panel-right')!;
  try {
    // The catalogue and the map load in parallel; the tree needs both.
    const map = createMap(byTestId('map'));
    window.__onemap = { map };
    const [registry] = await Promise.all([fetchRegistry(), whenLoaded(map)]);
    auth.setDepartments(registry.departments);
    mountLayerTree(tree, map, registry);
    mountIdentify(right, map, registry.layers);
    // After the style has loaded (its sketch layers go on top); while it measures, clicks skip identify.
    map.addControl(new MeasureControl(), 'top-left');
    mountStatusBar(byTestId('status-bar'), map);
    // The 导入 button in the header; its panel floats over the map, its preview goes on top of every layer.
    mountImport(byTestId('app-header'), byTestId('map').parentElement!, map, registry);
    // The 差异图斑 button; its panel floats over the map's left side, its highlight goes on top.
    const conflicts = mountConflicts(byTestId('app-header'), byTestId('map').parentElement!, map, registry);
    // The 审批 (joint review) button; its panel takes the map's left side, so the two panels take turns.
    const review = mountApplications(byTestId('app-header'), byTestId('map').parentElement!, map);
    byTestId('ap-open').addEventListener('click', () => { if (review.isOpen && conflicts.isOpen) conflicts.close(); });
    byTestId('conflicts-open').addEventListener('click', () => { if (conflicts.isOpen && review.isOpen) review.close(); });
  } catch (err) {
    replaceChildren(tree, h('p', { class: 'error', role: 'alert', 'data-testid': 'load-error' },
      `${t('catalogueLoadError')}: ${(err as Error).message}`));
  }
}

void main();
