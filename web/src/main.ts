// The viewer's entry. The session of the browser's cookie decides which viewer `/` is:
//   anonymous — the public viewer of the published releases (web/src/releases/public.ts): the
//     current release (or ?release=N), the release list, the 审图号 on the map, comparison and a
//     成果包 opened from disk; no working-data route is called;
//   staff — the working viewer: header with the import, conflicts, review and 成果发布 buttons, the
//     language switch and the account (登录 / 退出), layer tree (left), map with the measure tool,
//     identify panel (right) and coordinate status bar (bottom), all driven by the server's
//     registry and style; /?release=N shows that release (a draft too) in the release viewer.
// Logging in or out reloads the page into the other viewer. `/?pmtiles` is the release viewer on
// an archive from disk with no server call at all.
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
import { onAccountChange } from './auth/session';
import { mountPublicViewer } from './releases/public';
import { mountReleases } from './releases/staff';
import './releases/releases.css';
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

/** The title and the language switch. */
function mountTitle(): void {
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
}

/** The header: title, language switch and (登录 / the logged-in account and 退出) the session of the browser's cookie, restored. */
function mountHeader(): AuthHeader {
  mountTitle();
  return mountAuth(byTestId('app-header'));
}

/** The public (release) viewer fills the page's panels; its load failure is said where the tree would be. */
async function releaseViewer(opts: { offline?: boolean; staff?: boolean }): Promise<void> {
  document.body.classList.add('release-viewer');
  const tree = byTestId('layer-tree');
  try {
    await mountPublicViewer({ header: byTestId('app-header'), left: tree, right: document.querySelector<HTMLElement>('.panel-right')!, mapEl: byTestId('map') }, opts);
    mountStatusBar(byTestId('status-bar'), window.__onemap!.map);
  } catch (err) {
    replaceChildren(tree, h('p', { class: 'error', role: 'alert', 'data-testid': 'load-error' }, `${t('catalogueLoadError')}: ${(err as Error).message}`));
  }
}

async function main(): Promise<void> {
  initDocumentLang();
  const params = new URLSearchParams(location.search);
  if (params.has('pmtiles')) {
    mountTitle();
    await releaseViewer({ offline: true });
    return;
  }
  const auth = mountHeader();
  const account = await auth.ready;
  // Logging in opens the working viewer, logging out (or a session that ended) the public one.
  onAccountChange((a) => { if (!!a !== !!account) location.reload(); });
  if (!account || params.has('release')) {
    await releaseViewer({ staff: !!account });
    return;
  }
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
    // The 成果发布 button (releases: prepare, publish, withdraw) and 对比分析 (a release against the working data).
    const releases = mountReleases(byTestId('app-header'), byTestId('map').parentElement!, map);
    const others = [conflicts, review];
    for (const id of ['releases-open', 'rl-compare-open']) {
      byTestId(id).addEventListener('click', () => { for (const o of others) if (o.isOpen) o.close(); });
    }
    for (const id of ['conflicts-open', 'ap-open']) {
      byTestId(id).addEventListener('click', () => { if (releases.isOpen) releases.close(); if (releases.compare.isOpen) releases.compare.close(); });
    }
  } catch (err) {
    replaceChildren(tree, h('p', { class: 'error', role: 'alert', 'data-testid': 'load-error' },
      `${t('catalogueLoadError')}: ${(err as Error).message}`));
  }
}

void main();
