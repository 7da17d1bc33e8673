// One application in the 审批 panel: this file ties its parts together and owns what lives on the
// map — the compliance report of the version shown (red line, overlaps hatched, the plan layers it
// names switched on) and the site editor of an amendment. The state and its loading are
// detail-state.ts, the writes detail-actions.ts, the rendering detail-view.ts.
import type { Map as MlMap } from 'maplibre-gl';
import type { Account } from '../auth/session';
import { t } from '../i18n/i18n';
import { replaceChildren, h } from '../ui/dom';
import { fetchReportMap, type Application, type Id, type ProjectTypes } from './api';
import { ApplicationActions } from './detail-actions';
import { ApplicationState, permissionsOf } from './detail-state';
import { DetailView } from './detail-view';
import { fitTo, removeReport, showReport, switchLayersOn } from './mapview';
import { SiteEditor } from './site';

export { decisionBadge, statusBadge, verdictBadge } from './detail-view';

export class ApplicationDetail {
  readonly root = h('div', { class: 'ap-detail', 'data-testid': 'ap-detail' });
  private readonly state: ApplicationState;
  private readonly actions: ApplicationActions;
  /** The amendment's new site, while the amendment form is open. */
  private amendSite: SiteEditor | undefined;
  private amendButton: HTMLButtonElement | undefined;

  constructor(readonly id: Id, private readonly map: MlMap, private readonly panel: () => HTMLElement,
    private readonly account: () => Account | null, types: () => ProjectTypes | undefined,
    onChanged: (app: Application) => void) {
    this.state = new ApplicationState(id, types, () => this.render(), onChanged);
    this.actions = new ApplicationActions(this.state, (version) => {
      this.closeAmendSite();
      void this.showMap(version, true);
    });
    this.render();
    void this.load();
  }

  /** The application as last loaded. */
  get app(): Application | undefined {
    return this.state.app;
  }

  /** Takes the report and any site being prepared off the map. */
  dispose(): void {
    this.state.disposed = true;
    removeReport(this.map);
    this.amendSite?.dispose();
  }

  /** Draws the report again (the panel came back to this application). */
  redisplay(): void {
    this.state.disposed = false;
    const app = this.state.app;
    if (app) void this.showMap(this.state.mapVersion ?? app.version, false);
    this.amendSite?.redisplay();
  }

  /** Loads the application and puts its current version's report on the map. */
  async load(): Promise<void> {
    const app = await this.state.load();
    if (app) void this.showMap(app.version, true);
  }

  /** Draws version's report on the map, switches its layers on and (fit) zooms to it. */
  private async showMap(version: number, fit: boolean): Promise<void> {
    const s = this.state;
    const app = s.app;
    if (!app) return;
    s.mapVersion = version;
    try {
      const fc = await fetchReportMap(app.id, version);
      if (s.disposed || s.app?.id !== app.id) return;
      showReport(this.map, fc);
      const check = version === app.current.version ? app.current.check : undefined;
      if (check) {
        const turned = switchLayersOn(this.map, [...check.rules.map((r) => r.layer), ...check.alerts.map((a) => a.layer)]);
        s.layersTurnedOn = [...new Set([...s.layersTurnedOn, ...turned])];
      }
      if (fit) fitTo(this.map, fc, this.panel());
      this.root.dataset.mapVersion = String(version);
    } catch (err) {
      s.notice = { kind: 'error', text: `${t('loadError')}: ${(err as Error).message}`, where: 'top' };
    }
    this.render();
  }

  private openAmend(): void {
    this.actions.openAmend();
    this.amendSite ??= new SiteEditor(this.map, this.panel, () => this.updateAmendButton());
    this.render();
  }

  private closeAmendSite(): void {
    this.amendSite?.dispose();
    this.amendSite = undefined;
  }

  /** The site editor's state changed (busy, checked): only the resubmit button follows, the focus stays. */
  private updateAmendButton(): void {
    if (this.amendButton) this.amendButton.disabled = !!this.state.busy || !!this.amendSite?.isBusy;
  }

  render(): void {
    const s = this.state;
    const a = this.account();
    const view = new DetailView(s, permissionsOf(a, s.app), this.amendSite, {
      rerender: () => this.render(),
      showMap: (version) => void this.showMap(version, true),
      recheck: () => void this.actions.recheck(),
      signOpinion: () => void this.actions.signOpinion(),
      openCorrection: (opinionId) => this.actions.openCorrection(opinionId),
      signCorrection: () => void this.actions.signCorrection(),
      toggleWithdraw: (open) => this.actions.toggleWithdraw(open),
      withdraw: () => void this.actions.withdraw(),
      openAmend: () => this.openAmend(),
      closeAmend: () => {
        s.amendOpen = false;
        this.closeAmendSite();
        this.render();
      },
      siteChoice: (newSite) => {
        s.amendDraft.newSite = newSite;
        if (newSite) this.amendSite?.redisplay();
        else this.amendSite?.dispose();
        this.render();
      },
      amend: () => void this.actions.amend(s.amendDraft.newSite ? this.amendSite?.input : undefined),
    });
    const app = s.app;
    if (app) {
      this.root.dataset.status = app.status;
      this.root.dataset.version = String(app.version);
      this.root.dataset.id = String(app.id);
    }
    replaceChildren(this.root, ...view.render());
    this.amendButton = view.amendButton;
  }
}
