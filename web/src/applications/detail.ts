// One application: its head (number, status, project), the compliance report of the version on
// the map (the tables beside it: rules broken with 公顷, sensitive areas, each plan's classes with
// 公顷/亩 and share; the printable report), the departments it was routed to with their deadlines
// and signed opinions (read-only, with author, time and signature; corrections linked), the
// opinion form for a reviewer of a department still to decide, the correction form, the window's
// withdraw and amend & resubmit, the versions and the timeline.
import type { Map as MlMap } from 'maplibre-gl';
import type { Account } from '../auth/session';
import { colon, formatTime, lang, paren, pick, t, term, type StringKey } from '../i18n/i18n';
import { h, replaceChildren } from '../ui/dom';
import {
  amend, fetchApplication, fetchRecheck, fetchReportMap, postCorrection, postOpinion, reportUrl, SiteError, withdraw,
  type Application, type Check, type CheckDifference, type Decision, type Id, type Opinion, type ProjectTypeCode, type ProjectTypes, type Required,
} from './api';
import { areaText, daysLeftText, daysUntil, haText, muText, parseArea, shareText, shortSignature } from './format';
import { ALERT_COLOR, fitTo, removeReport, RULE_COLOR, showReport, switchLayersOn } from './mapview';
import { SITE_RED } from './draw';
import { SiteEditor } from './site';
import { describeEvent } from './timeline';

interface OpinionDraft {
  decision: Decision | '';
  conditions: string;
  reason: string;
  note: string;
  invalid: Set<'decision' | 'conditions' | 'reason' | 'note'>;
}

const emptyDraft = (): OpinionDraft => ({ decision: '', conditions: '', reason: '', note: '', invalid: new Set() });

type Notice = { kind: 'ok' | 'error'; text: string; where: 'top' | 'opinion' | 'correction' | 'withdraw' | 'amend' };

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `ap-status ap-status-${status}`, 'data-testid': 'ap-status', 'data-status': status }, term('apStatus', status));
}

export function verdictBadge(verdict: string): HTMLElement {
  return h('span', { class: `ap-verdict ap-verdict-${verdict}`, 'data-testid': 'ap-verdict', 'data-verdict': verdict }, term('apVerdict', verdict));
}

export function decisionBadge(decision: string): HTMLElement {
  return h('span', { class: `ap-decision ap-decision-${decision}`, 'data-decision': decision }, term('apDecision', decision));
}

export class ApplicationDetail {
  readonly root = h('div', { class: 'ap-detail', 'data-testid': 'ap-detail' });
  app: Application | undefined;
  private loading = true;
  private loadError: string | undefined;
  private mapVersion: number | undefined;
  private layersTurnedOn: string[] = [];
  private opinion = emptyDraft();
  private correction: (OpinionDraft & { opinionId: Id }) | undefined;
  private withdrawOpen = false;
  private withdrawReason = '';
  private amendOpen = false;
  private amendDraft = { note: '', name: '', type: '' as ProjectTypeCode | '', investor: '', area: '', newSite: false, invalid: new Set<string>() };
  private amendSite: SiteEditor | undefined;
  private amendButton: HTMLButtonElement | undefined;
  private busy: '' | 'opinion' | 'correction' | 'withdraw' | 'amend' = '';
  private notice: Notice | undefined;
  private disposed = false;

  constructor(readonly id: Id, private readonly map: MlMap, private readonly panel: () => HTMLElement,
    private readonly account: () => Account | null, private readonly types: () => ProjectTypes | undefined,
    private readonly onChanged: (app: Application) => void) {
    this.render();
    void this.load();
  }

  /** Takes the report and any site being prepared off the map. */
  dispose(): void {
    this.disposed = true;
    removeReport(this.map);
    this.amendSite?.dispose();
  }

  /** Draws the report again (the panel came back to this application). */
  redisplay(): void {
    this.disposed = false;
    if (this.app) void this.showMap(this.mapVersion ?? this.app.version, false);
    this.amendSite?.redisplay();
  }

  async load(): Promise<void> {
    this.loading = true;
    this.render();
    try {
      const app = await fetchApplication(this.id);
      if (this.disposed) return;
      this.setApp(app);
      void this.showMap(app.version, true);
    } catch (err) {
      this.loadError = (err as Error).message;
    } finally {
      this.loading = false;
      this.render();
    }
  }

  private setApp(app: Application): void {
    const versionChanged = this.app && this.app.version !== app.version;
    this.app = app;
    this.loadError = undefined;
    if (versionChanged) {
      this.opinion = emptyDraft();
      this.correction = undefined;
    }
    this.onChanged(app);
  }

  /** Draws version's report on the map, switches its layers on and (fit) zooms to it. */
  private async showMap(version: number, fit: boolean): Promise<void> {
    const app = this.app;
    if (!app) return;
    this.mapVersion = version;
    try {
      const fc = await fetchReportMap(app.id, version);
      if (this.disposed || this.app?.id !== app.id) return;
      showReport(this.map, fc);
      const check = version === app.current.version ? app.current.check : undefined;
      if (check) {
        const turned = switchLayersOn(this.map, [...check.rules.map((r) => r.layer), ...check.alerts.map((a) => a.layer)]);
        this.layersTurnedOn = [...new Set([...this.layersTurnedOn, ...turned])];
      }
      if (fit) fitTo(this.map, fc, this.panel());
      this.root.dataset.mapVersion = String(version);
      this.render();
    } catch (err) {
      this.notice = { kind: 'error', text: `${t('loadError')}: ${(err as Error).message}`, where: 'top' };
      this.render();
    }
  }

  // ---- permissions -----------------------------------------------------------------------------

  private get isWindow(): boolean {
    const a = this.account();
    return !!a && a.roles.includes('window_clerk');
  }

  private get canWithdraw(): boolean {
    const a = this.account();
    return !!a && !!this.app && (a.roles.includes('window_clerk') || a.roles.includes('admin')) && (this.app.status === 'under_review' || this.app.status === 'rejected');
  }

  private get canAmend(): boolean {
    return this.isWindow && !!this.app && this.app.status !== 'approved';
  }

  /** The required entry the logged-in reviewer may sign, or why not. */
  private myRequired(): { req?: Required; why?: StringKey } {
    const a = this.account();
    const app = this.app;
    if (!a || !app || !a.roles.includes('reviewer') || app.status !== 'under_review') return {};
    const req = app.current.required.find((r) => r.department === a.department);
    if (!req) return { why: 'apNotRequired' };
    if (app.submitted_by === a.name || app.current.submitted_by === a.name) return { why: 'apOwnApplication' };
    return { req };
  }

  private canCorrect(o: Opinion): boolean {
    const a = this.account();
    return !!a && !!this.app && a.roles.includes('reviewer') && a.department === o.department && this.app.status === 'under_review'
      && !o.corrected_by && o.version === this.app.version;
  }

  private departmentName(id: string): string {
    const fromApp = this.app?.current.required.find((r) => r.department === id);
    if (fromApp) return pick(fromApp);
    const d = this.types()?.departments.find((x) => x.id === id);
    return d ? pick(d) : id;
  }

  private typeName(code: string): string {
    const t = this.types()?.types.find((x) => x.code === code);
    return t ? pick(t) : code;
  }

  // ---- writes ----------------------------------------------------------------------------------

  private async afterWriteError(err: unknown, where: Notice['where']): Promise<void> {
    const e = err as SiteError;
    if (e.status === 409 && ['stale_version', 'not_under_review', 'already_signed', 'already_corrected'].includes(e.code)) {
      try {
        const app = await fetchApplication(this.id);
        this.setApp(app);
        this.notice = { kind: 'error', text: `${t('apStale', { v: app.version })}${paren(`${e.code}: ${e.message}`)}`, where };
      } catch {
        this.notice = { kind: 'error', text: `${t('actionFailed')}${colon()}${e.message} (${e.code})`, where };
      }
    } else {
      this.notice = { kind: 'error', text: `${t('actionFailed')}${colon()}${e.message}${e.code ? ` (${e.code})` : ''}`, where };
    }
  }

  private validate(d: OpinionDraft, withNote: boolean): boolean {
    d.invalid = new Set();
    if (!d.decision) d.invalid.add('decision');
    if (d.decision === 'conditional' && !d.conditions.trim()) d.invalid.add('conditions');
    if (d.decision === 'reject' && !d.reason.trim()) d.invalid.add('reason');
    if (withNote && !d.note.trim()) d.invalid.add('note');
    return d.invalid.size === 0;
  }

  private invalidText(d: OpinionDraft): string {
    if (d.invalid.has('decision')) return t('apNeedDecision');
    if (d.invalid.has('conditions')) return t('apNeedConditions');
    if (d.invalid.has('reason')) return t('apNeedReason');
    return t('apNeedNote');
  }

  private opinionBody(d: OpinionDraft): { decision: Decision; conditions?: string; reason?: string } {
    const decision = d.decision as Decision;
    return {
      decision,
      ...(decision === 'conditional' ? { conditions: d.conditions.trim() } : {}),
      ...(decision === 'reject' ? { reason: d.reason.trim() } : {}),
    };
  }

  private async signOpinion(): Promise<void> {
    const app = this.app;
    if (!app || this.busy) return;
    if (!this.validate(this.opinion, false)) {
      this.notice = { kind: 'error', text: this.invalidText(this.opinion), where: 'opinion' };
      this.render();
      return;
    }
    this.busy = 'opinion';
    this.notice = undefined;
    this.render();
    try {
      const r = await postOpinion(app.id, { version: app.version, ...this.opinionBody(this.opinion) });
      this.opinion = emptyDraft();
      this.setApp(r.application);
      this.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${term('apDecision', r.opinion.decision)} · ${term('apStatus', r.application.status)}`, where: 'top' };
    } catch (err) {
      await this.afterWriteError(err, 'opinion');
    } finally {
      this.busy = '';
      this.render();
    }
  }

  private async signCorrection(): Promise<void> {
    const app = this.app;
    const c = this.correction;
    if (!app || !c || this.busy) return;
    if (!this.validate(c, true)) {
      this.notice = { kind: 'error', text: this.invalidText(c), where: 'correction' };
      this.render();
      return;
    }
    this.busy = 'correction';
    this.notice = undefined;
    this.render();
    try {
      const r = await postCorrection(app.id, c.opinionId, { ...this.opinionBody(c), note: c.note.trim() });
      this.correction = undefined;
      this.setApp(r.application);
      this.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${t('apEvent_correction')} · ${term('apDecision', r.opinion.decision)} · ${term('apStatus', r.application.status)}`, where: 'top' };
    } catch (err) {
      await this.afterWriteError(err, 'correction');
    } finally {
      this.busy = '';
      this.render();
    }
  }

  private async doWithdraw(): Promise<void> {
    const app = this.app;
    if (!app || this.busy) return;
    if (!this.withdrawReason.trim()) {
      this.notice = { kind: 'error', text: t('apNeedWithdrawReason'), where: 'withdraw' };
      this.render();
      return;
    }
    this.busy = 'withdraw';
    this.notice = undefined;
    this.render();
    try {
      const next = await withdraw(app.id, this.withdrawReason.trim());
      this.withdrawOpen = false;
      this.withdrawReason = '';
      this.setApp(next);
      this.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${term('apStatus', next.status)}`, where: 'top' };
    } catch (err) {
      await this.afterWriteError(err, 'withdraw');
    } finally {
      this.busy = '';
      this.render();
    }
  }

  private openAmend(): void {
    const cur = this.app!.current;
    this.amendOpen = true;
    this.withdrawOpen = false;
    this.amendDraft = {
      note: '', name: cur.name, type: cur.project_type, investor: cur.investor,
      area: cur.requested_area_m2 ? String(Math.round(cur.requested_area_m2) / 10_000) : '', newSite: true, invalid: new Set(),
    };
    this.amendSite ??= new SiteEditor(this.map, this.panel, () => this.updateAmendButton());
    this.render();
  }

  private closeAmend(): void {
    this.amendOpen = false;
    this.amendSite?.dispose();
    this.amendSite = undefined;
    this.render();
  }

  /** The site editor's state changed (busy, checked): only the resubmit button follows, the focus stays. */
  private updateAmendButton(): void {
    if (this.amendButton) this.amendButton.disabled = !!this.busy || !!this.amendSite?.isBusy;
  }

  private async doAmend(): Promise<void> {
    const app = this.app;
    const d = this.amendDraft;
    if (!app || this.busy) return;
    d.invalid = new Set();
    const area = parseArea(d.area, 'ha');
    if (!d.note.trim()) d.invalid.add('note');
    if (!d.name.trim()) d.invalid.add('name');
    if (!d.investor.trim()) d.invalid.add('investor');
    if (area !== undefined && Number.isNaN(area)) d.invalid.add('area');
    const site = d.newSite ? this.amendSite?.input : undefined;
    if (d.newSite && !site) d.invalid.add('site');
    if (d.invalid.size) {
      this.notice = { kind: 'error', text: d.invalid.has('note') ? t('apNeedAmendNote') : d.invalid.has('site') ? t('apSiteNeeded') : t('apSubmitMissing', { f: [...d.invalid].join('、') }), where: 'amend' };
      this.render();
      return;
    }
    const cur = app.current;
    this.busy = 'amend';
    this.notice = undefined;
    this.render();
    try {
      const next = await amend(app.id, {
        note: d.note.trim(),
        expected_version: app.version,
        ...(d.name.trim() !== cur.name ? { name: d.name.trim() } : {}),
        ...(d.type && d.type !== cur.project_type ? { project_type: d.type } : {}),
        ...(d.investor.trim() !== cur.investor ? { investor: d.investor.trim() } : {}),
        ...(area !== undefined && Math.abs(area - (cur.requested_area_m2 ?? 0)) > 0.5 ? { requested_area_m2: area } : {}),
        ...(site ? { site } : {}),
      });
      this.amendSite?.dispose();
      this.amendSite = undefined;
      this.amendOpen = false;
      this.setApp(next);
      this.layersTurnedOn = [];
      this.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${t('apVersionN', { n: next.version })} · ${term('apVerdict', next.current.check.verdict)}`, where: 'top' };
      void this.showMap(next.version, true);
    } catch (err) {
      await this.afterWriteError(err, 'amend');
    } finally {
      this.busy = '';
      this.render();
    }
  }

  // ---- rendering -------------------------------------------------------------------------------

  private noticeAt(where: Notice['where']): HTMLElement | null {
    const n = this.notice;
    if (!n || n.where !== where) return null;
    return h('p', { class: `ap-notice ap-notice-${n.kind}`, role: n.kind === 'error' ? 'alert' : 'status', 'data-testid': `ap-notice-${where}`, 'data-kind': n.kind }, n.text);
  }

  private section(title: string, testid: string, ...children: (Node | string | null | false | undefined)[]): HTMLElement {
    return h('section', { class: 'ap-section', 'data-testid': testid }, h('h4', { class: 'ap-subhead' }, title), ...children);
  }

  private headView(app: Application): HTMLElement {
    const cur = app.current;
    const l = lang();
    return h('header', { class: 'ap-head' },
      h('div', { class: 'ap-head-line' },
        h('span', { class: 'ap-number', 'data-testid': 'ap-number' }, app.number),
        statusBadge(app.status),
        h('span', { class: 'ap-version', 'data-testid': 'ap-version' }, t('apVersionN', { n: app.version }))),
      h('h3', { class: 'ap-name', 'data-testid': 'ap-name-view' }, cur.name),
      h('dl', { class: 'ap-dl ap-facts' },
        h('dt', {}, t('apType')), h('dd', { 'data-testid': 'ap-type-view' }, this.typeName(cur.project_type)),
        h('dt', {}, t('apInvestor')), h('dd', {}, cur.investor),
        h('dt', {}, t('apSiteArea')), h('dd', { 'data-testid': 'ap-site-area-view' }, areaText(cur.site_area_m2, l, cur.site_area_ha, cur.site_area_mu),
          h('span', { class: 'ap-muted' }, ` · ${term('apSource', cur.site_source)}`)),
        cur.requested_area_m2 ? h('dt', {}, t('apRequestedArea')) : null,
        cur.requested_area_m2 ? h('dd', {}, areaText(cur.requested_area_m2, l)) : null,
        h('dt', {}, t('apSubmittedBy')), h('dd', {}, `${cur.submitted_by} · ${formatTime(cur.submitted_at)}`),
        h('dt', {}, t('apDeadline')), h('dd', {}, this.deadlineView(cur.deadline, app.status === 'under_review', undefined, cur.days_left))));
  }

  private deadlineView(deadline: string, running: boolean, overdue?: boolean, daysLeft?: number): HTMLElement {
    const days = daysLeft ?? daysUntil(deadline);
    const late = overdue ?? days < 0;
    return h('span', { class: `ap-deadline${running && late ? ' ap-overdue' : ''}`, 'data-overdue': String(running && late) },
      deadline, running ? h('span', { class: 'ap-days' }, ` · ${daysLeftText(days, lang())}`) : null);
  }

  private reportView(app: Application, check: Check): [HTMLElement, HTMLElement] {
    const l = lang();
    const version = app.current.version;
    const legend = h('div', { class: 'ap-legend' },
      h('span', {}, h('i', { class: 'ap-sw ap-sw-site', style: `border-color:${SITE_RED}` }), t('apMapLegendSite')),
      h('span', {}, h('i', { class: 'ap-sw ap-sw-hatch', style: `--c:${RULE_COLOR}` }), t('apMapLegendRule')),
      h('span', {}, h('i', { class: 'ap-sw ap-sw-hatch', style: `--c:${ALERT_COLOR}` }), t('apMapLegendAlert')));
    const rules = check.rules.length
      ? h('table', { class: 'ap-table', 'data-testid': 'ap-rules' },
        h('thead', {}, h('tr', {}, h('th', {}, t('rule')), h('th', { class: 'num' }, t('unitHa')), h('th', { class: 'num' }, t('unitMu')),
          h('th', { class: 'num' }, t('apColShare')), h('th', {}, t('apColDept')))),
        h('tbody', {}, ...check.rules.map((r) => h('tr', { 'data-testid': 'ap-rule', 'data-rule': r.rule, 'data-area-ha': r.area_ha, 'data-area-m2': r.area_m2 },
          h('td', {}, h('span', { class: `ap-sev ap-sev-${r.severity}` }, term('apSeverity', r.severity)), ' ', pick(r),
            l === 'zh' && r.summary_zh ? h('div', { class: 'ap-muted ap-small', 'data-testid': 'ap-rule-summary' }, r.summary_zh) : null),
          h('td', { class: 'num', 'data-testid': 'ap-rule-ha' }, haText(r.area_m2, l, r.area_ha).replace(/ \S+$/, '')),
          h('td', { class: 'num' }, muText(r.area_m2, l, r.area_mu).replace(/ \S+$/, '')),
          h('td', { class: 'num' }, shareText(r.share)),
          h('td', {}, r.departments.map((d) => this.departmentName(d)).join('、'))))))
      : h('p', { class: 'ap-ok-line', 'data-testid': 'ap-rules-none' }, `✓ ${t('apRulesNone')}`);
    const alerts = check.alerts.length
      ? h('table', { class: 'ap-table', 'data-testid': 'ap-alerts' },
        h('thead', {}, h('tr', {}, h('th', {}, t('apAlerts')), h('th', { class: 'num' }, t('unitHa')), h('th', { class: 'num' }, t('apColShare')), h('th', {}, t('apColDept')))),
        h('tbody', {}, ...check.alerts.map((a) => h('tr', { 'data-testid': 'ap-alert', 'data-alert': a.id },
          h('td', {}, pick(a)), h('td', { class: 'num' }, haText(a.area_m2, l, a.area_ha).replace(/ \S+$/, '')),
          h('td', { class: 'num' }, shareText(a.share)), h('td', {}, this.departmentName(a.department))))))
      : null;
    const plans = h('div', { class: 'ap-plans', 'data-testid': 'ap-plans' }, ...check.plans.map((p) => {
      const details = h('details', { class: 'ap-plan', 'data-group': p.group, open: p.verdict !== 'compliant' },
        h('summary', {}, h('span', { class: 'ap-plan-name' }, pick(p)), verdictBadge(p.verdict)),
        ...p.layers.map((ly) => h('div', { class: 'ap-plan-layer', 'data-layer': ly.layer },
          h('div', { class: 'ap-plan-layer-head' }, h('span', {}, pick(ly)), h('span', { class: 'ap-muted ap-small' }, t('apRevisionN', { n: ly.revision })), verdictBadge(ly.verdict)),
          ly.notes?.length ? h('ul', { class: 'ap-layer-notes' }, ...ly.notes.map((n) => h('li', {}, n))) : null,
          ly.classes.length ? h('table', { class: 'ap-table ap-table-compact' },
            h('thead', {}, h('tr', {}, h('th', {}, t('apColClass')), h('th', { class: 'num' }, t('unitHa')), h('th', { class: 'num' }, t('unitMu')), h('th', { class: 'num' }, t('apColShare')))),
            h('tbody', {}, ...ly.classes.map((c) => h('tr', { 'data-code': c.code },
              h('td', {}, pick(c), h('span', { class: 'ap-muted ap-small' }, ` ${c.code}`)),
              h('td', { class: 'num' }, haText(c.area_m2, l, c.area_ha).replace(/ \S+$/, '')),
              h('td', { class: 'num' }, muText(c.area_m2, l, c.area_mu).replace(/ \S+$/, '')),
              h('td', { class: 'num' }, shareText(c.share)))))) : h('p', { class: 'ap-muted ap-small' }, '—'))));
      return details;
    }));
    const link = h('a', { class: 'ap-print', href: reportUrl(app.id, version), target: '_blank', rel: 'noopener', title: t('apReportPrintTitle'), 'data-testid': 'ap-report-link' }, `${t('apReportPrint')} ↗`);
    const recheckOut = h('div', { class: 'ap-recheck', 'data-testid': 'ap-recheck-result' });
    const recheck = h('button', { type: 'button', class: 'ap-link-btn', title: t('apRecheckTitle'), 'data-testid': 'ap-recheck' }, t('apRecheck'));
    recheck.addEventListener('click', () => {
      recheck.setAttribute('disabled', '');
      fetchRecheck(app.id, version, 'current')
        .then((r) => replaceChildren(recheckOut, r.reproduced
          ? h('p', { class: 'ap-small', 'data-reproduced': 'true' }, t('apRecheckSame'))
          : h('div', { 'data-reproduced': 'false' }, h('p', { class: 'ap-small' }, t('apRecheckChanged', { n: r.differences.length })),
            h('ul', { class: 'ap-small' }, ...r.differences.map((d) => h('li', { 'data-what': d.what }, differenceText(d)))))))
        .catch((e: unknown) => replaceChildren(recheckOut, h('p', { class: 'ap-error-box' }, String((e as Error).message ?? e))))
        .finally(() => recheck.removeAttribute('disabled'));
    });
    const turned = this.layersTurnedOn.length
      ? h('p', { class: 'ap-muted ap-small', 'data-testid': 'ap-layers-on' }, t('apLayersOn', { l: this.layersTurnedOn.join('、') })) : null;
    return [
      this.section(t('apReport'), 'ap-report',
        h('div', { class: 'ap-report-head' },
          h('span', { class: 'ap-label' }, t('apVerdict')), verdictBadge(check.verdict),
          h('span', { class: 'ap-muted ap-small' }, `${t('apCheckedAt')} ${formatTime(check.checked_at)}`), link),
        h('div', { class: 'ap-recheck-bar' }, recheck), recheckOut,
        legend, turned,
        h('h5', { class: 'ap-minor' }, t('apRules')), rules,
        alerts ? h('h5', { class: 'ap-minor' }, t('apAlerts')) : null, alerts),
      this.section(t('apPlans'), 'ap-plans-section', plans),
    ];
  }

  private opinionCard(o: Opinion, effective: boolean): HTMLElement {
    const correct = effective && this.canCorrect(o) && !this.correction
      ? h('button', { type: 'button', class: 'ap-link-btn', title: t('apCorrectTitle'), 'data-testid': 'ap-correct-open' }, t('apCorrect')) : null;
    correct?.addEventListener('click', () => {
      this.correction = { ...emptyDraft(), opinionId: o.id };
      this.notice = undefined;
      this.render();
    });
    return h('div', { class: `ap-opinion${o.corrected_by ? ' ap-opinion-corrected' : ''}`, 'data-testid': 'ap-opinion', 'data-id': o.id, 'data-department': o.department, 'data-decision': o.decision },
      h('div', { class: 'ap-opinion-head' }, decisionBadge(o.decision),
        o.corrects ? h('span', { class: 'ap-tag' }, t('apEvent_correction')) : null,
        o.corrected_by ? h('span', { class: 'ap-tag ap-tag-grey' }, t('apCorrected')) : null, correct),
      o.conditions ? h('p', { class: 'ap-opinion-text' }, h('span', { class: 'ap-label' }, `${t('apConditions')}${colon()}`), o.conditions) : null,
      o.reason ? h('p', { class: 'ap-opinion-text', 'data-testid': 'ap-opinion-reason' }, h('span', { class: 'ap-label' }, `${t('apReason')}${colon()}`), o.reason) : null,
      o.note ? h('p', { class: 'ap-opinion-text' }, h('span', { class: 'ap-label' }, `${t('apNote')}${colon()}`), o.note) : null,
      h('div', { class: 'ap-sig' },
        h('span', {}, `${t('apSignedBy')}${colon()}${o.author_name || o.author}${paren(o.author)}`),
        h('span', {}, `${t('apSignedAt')}${colon()}${formatTime(o.signed_at)}`),
        h('span', { title: o.signature, 'data-testid': 'ap-signature' }, `${t('apSignature')}${colon()}`, h('code', {}, shortSignature(o.signature)))));
  }

  private decisionForm(d: OpinionDraft, prefix: string, withNote: boolean, onSubmit: () => void, onCancel?: () => void): HTMLElement {
    const radios = (['approve', 'conditional', 'reject'] as Decision[]).map((dec) => {
      const input = h('input', { type: 'radio', name: `${prefix}-decision`, value: dec, 'data-testid': `${prefix}-${dec}` });
      input.checked = d.decision === dec;
      input.addEventListener('change', () => {
        d.decision = dec;
        d.invalid.delete('decision');
        this.render();
      });
      return h('label', { class: `ap-radio ap-radio-${dec}` }, input, term('apDecision', dec));
    });
    const text = (key: 'conditions' | 'reason' | 'note', label: StringKey, ph: StringKey): HTMLElement => {
      const area = h('textarea', { rows: 3, placeholder: t(ph), 'data-testid': `${prefix}-${key}`, class: d.invalid.has(key) ? 'invalid' : undefined });
      area.value = d[key];
      area.addEventListener('input', () => { d[key] = area.value; });
      return h('label', { class: 'ap-field' }, h('span', { class: 'ap-label' }, t(label), h('span', { class: 'ap-req' }, ' *')), area);
    };
    const submit = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': `${prefix}-submit`, disabled: !!this.busy }, this.busy ? t('submitting') : t('apSign'));
    submit.addEventListener('click', onSubmit);
    const cancel = onCancel ? h('button', { type: 'button', class: 'ap-btn', 'data-testid': `${prefix}-cancel` }, t('cancel')) : null;
    cancel?.addEventListener('click', onCancel!);
    return h('div', { class: 'ap-opinion-form', 'data-testid': `${prefix}-form` },
      h('div', { class: `ap-radios${d.invalid.has('decision') ? ' invalid' : ''}`, role: 'radiogroup', 'aria-label': t('apDecision') }, ...radios),
      d.decision === 'conditional' ? text('conditions', 'apConditions', 'apConditionsPh') : null,
      d.decision === 'reject' ? text('reason', 'apReason', 'apReasonPh') : null,
      withNote ? text('note', 'apNote', 'apNotePh') : null,
      h('p', { class: 'ap-hint' }, t('apSignNote')),
      this.noticeAt(withNote ? 'correction' : 'opinion'),
      h('div', { class: 'ap-row-buttons' }, submit, cancel));
  }

  /** For a reviewer whose department still has to decide: a banner at the top that leads to the form. */
  private yourTurn(app: Application): HTMLElement | null {
    const r = this.myRequired().req;
    if (!r || r.opinion) return null;
    const days = r.days_left ?? daysUntil(r.deadline);
    const go = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-your-turn-go' }, t('apOpinionForm'));
    go.addEventListener('click', () => this.root.querySelector('[data-testid="ap-opinion-form"]')?.scrollIntoView({ behavior: 'smooth', block: 'center' }));
    return h('div', { class: `ap-your-turn${r.overdue || days < 0 ? ' ap-your-turn-late' : ''}`, 'data-testid': 'ap-your-turn' },
      h('div', {}, h('strong', {}, t('apYourTurn', { d: pick(r) })),
        h('div', { class: 'ap-small' }, `${t('apDeadline')} ${r.deadline} · ${daysLeftText(days, lang())} · ${t('apVersionN', { n: app.version })}`)),
      go);
  }

  private requiredView(app: Application): HTMLElement {
    const mine = this.myRequired();
    const cur = app.current;
    const running = app.status === 'under_review';
    const cards = cur.required.map((r) => {
      const chain = app.opinions.filter((o) => o.version === cur.version && o.department === r.department);
      const effective = r.opinion;
      const isMine = mine.req?.department === r.department;
      const correcting = this.correction && chain.some((o) => o.id === this.correction!.opinionId);
      return h('article', { class: `ap-dept${effective ? ` ap-dept-${effective.decision}` : ''}`, 'data-testid': 'ap-required', 'data-department': r.department,
        'data-decision': effective?.decision ?? '' },
        h('div', { class: 'ap-dept-head' },
          h('strong', { class: 'ap-dept-name' }, pick(r)),
          effective ? decisionBadge(effective.decision) : h('span', { class: 'ap-pending' }, t('apPending')),
          h('span', { class: 'ap-dept-deadline' }, this.deadlineView(r.deadline, running && !effective, r.overdue, r.days_left))),
        r.reasons.length ? h('ul', { class: 'ap-reasons', 'aria-label': t('apReasons') }, ...r.reasons.map((x) => h('li', {}, x))) : null,
        ...chain.map((o) => this.opinionCard(o, o.id === effective?.id)),
        correcting ? h('div', { class: 'ap-subform' }, h('div', { class: 'ap-subform-title' }, t('apCorrectForm')),
          this.decisionForm(this.correction!, 'ap-correction', true, () => void this.signCorrection(), () => { this.correction = undefined; this.notice = undefined; this.render(); })) : null,
        isMine && !effective ? h('div', { class: 'ap-subform ap-subform-mine' },
          h('div', { class: 'ap-subform-title' }, t('apOpinionFor', { d: pick(r), v: cur.version })),
          this.decisionForm(this.opinion, 'ap-opinion', false, () => void this.signOpinion())) : null);
    });
    return this.section(t('apRouting'), 'ap-routing',
      mine.why && this.account()?.roles.includes('reviewer') ? h('p', { class: 'ap-muted ap-small', 'data-testid': 'ap-why-not' }, t(mine.why)) : null,
      ...cards);
  }

  private windowView(app: Application): HTMLElement | null {
    if (!this.canWithdraw && !this.canAmend) return null;
    const buttons: HTMLElement[] = [];
    if (this.canAmend && !this.amendOpen) {
      const b = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-amend-open' }, t('apAmend'));
      b.addEventListener('click', () => this.openAmend());
      buttons.push(b);
    }
    if (this.canWithdraw && !this.withdrawOpen && !this.amendOpen) {
      const b = h('button', { type: 'button', class: 'ap-btn ap-btn-danger', 'data-testid': 'ap-withdraw-open' }, t('apWithdraw'));
      b.addEventListener('click', () => { this.withdrawOpen = true; this.render(); });
      buttons.push(b);
    }
    let withdrawForm: HTMLElement | null = null;
    if (this.withdrawOpen) {
      const area = h('textarea', { rows: 2, 'data-testid': 'ap-withdraw-reason' });
      area.value = this.withdrawReason;
      area.addEventListener('input', () => { this.withdrawReason = area.value; });
      const ok = h('button', { type: 'button', class: 'ap-btn ap-btn-danger', 'data-testid': 'ap-withdraw-submit', disabled: !!this.busy }, t('apWithdrawConfirm'));
      ok.addEventListener('click', () => void this.doWithdraw());
      const cancel = h('button', { type: 'button', class: 'ap-btn' }, t('cancel'));
      cancel.addEventListener('click', () => { this.withdrawOpen = false; this.notice = undefined; this.render(); });
      withdrawForm = h('div', { class: 'ap-subform' }, h('div', { class: 'ap-subform-title' }, t('apWithdraw')),
        h('label', { class: 'ap-field' }, h('span', { class: 'ap-label' }, t('apWithdrawReason'), h('span', { class: 'ap-req' }, ' *')), area),
        this.noticeAt('withdraw'), h('div', { class: 'ap-row-buttons' }, ok, cancel));
    }
    return this.section(t('apWindowActions'), 'ap-window', h('div', { class: 'ap-row-buttons' }, ...buttons), withdrawForm, this.amendOpen ? this.amendView() : null);
  }

  private amendView(): HTMLElement {
    const d = this.amendDraft;
    const input = (key: 'note' | 'name' | 'investor' | 'area', label: StringKey, required: boolean, multiline = false, ph?: StringKey): HTMLElement => {
      const el = multiline
        ? h('textarea', { rows: 2, 'data-testid': `ap-amend-${key}`, placeholder: ph ? t(ph) : undefined })
        : h('input', { type: 'text', 'data-testid': `ap-amend-${key}` });
      el.value = d[key];
      el.classList.toggle('invalid', d.invalid.has(key));
      el.addEventListener('input', () => { d[key] = el.value; });
      return h('label', { class: 'ap-field' }, h('span', { class: 'ap-label' }, t(label), key === 'area' ? paren(t('unitHa')) : '', required ? h('span', { class: 'ap-req' }, ' *') : null), el);
    };
    const type = h('select', { 'data-testid': 'ap-amend-type' }, ...(this.types()?.types ?? []).map((t) => h('option', { value: t.code }, pick(t))));
    type.value = d.type;
    type.addEventListener('change', () => { d.type = type.value as ProjectTypeCode; });
    const siteChoice = (newSite: boolean, label: StringKey): HTMLElement => {
      const r = h('input', { type: 'radio', name: 'ap-amend-site', 'data-testid': `ap-amend-site-${newSite ? 'new' : 'keep'}` });
      r.checked = d.newSite === newSite;
      r.addEventListener('change', () => { d.newSite = newSite; if (!newSite) this.amendSite?.dispose(); else this.amendSite?.redisplay(); this.render(); });
      return h('label', { class: 'ap-radio' }, r, t(label));
    };
    const submit = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-amend-submit', disabled: !!this.busy || !!this.amendSite?.isBusy },
      this.busy === 'amend' ? t('submitting') : t('apAmendSubmit'));
    submit.addEventListener('click', () => void this.doAmend());
    this.amendButton = submit;
    const cancel = h('button', { type: 'button', class: 'ap-btn', 'data-testid': 'ap-amend-cancel' }, t('cancel'));
    cancel.addEventListener('click', () => this.closeAmend());
    return h('div', { class: 'ap-subform', 'data-testid': 'ap-amend-form' },
      h('div', { class: 'ap-subform-title' }, t('apAmend')),
      input('note', 'apAmendNote', true, true, 'apAmendNotePh'),
      input('name', 'apName', true),
      h('div', { class: 'ap-grid2' }, h('label', { class: 'ap-field' }, h('span', { class: 'ap-label' }, t('apType')), type), input('area', 'apRequestedArea', false)),
      input('investor', 'apInvestor', true),
      h('div', { class: 'ap-radios' }, siteChoice(false, 'apAmendKeepSite'), siteChoice(true, 'apAmendNewSite')),
      d.newSite && this.amendSite ? this.amendSite.root : null,
      this.noticeAt('amend'),
      h('div', { class: 'ap-row-buttons' }, submit, cancel));
  }

  private versionsView(app: Application): HTMLElement {
    return this.section(t('apVersions'), 'ap-versions',
      h('table', { class: 'ap-table' },
        h('thead', {}, h('tr', {}, h('th', {}, t('version')), h('th', {}, t('apSubmittedAt')), h('th', {}, t('apVerdict')), h('th', {}, t('apOutcome')), h('th', {}))),
        h('tbody', {}, ...[...app.versions].sort((a, b) => b.version - a.version).map((v) => {
          const show = h('button', { type: 'button', class: 'ap-link-btn', 'data-testid': 'ap-version-map', disabled: this.mapVersion === v.version }, t('apShowOnMap'));
          show.addEventListener('click', () => void this.showMap(v.version, true));
          return [
            h('tr', { 'data-testid': 'ap-version-row', 'data-version': v.version, 'data-outcome': v.outcome, class: this.mapVersion === v.version ? 'ap-row-current' : undefined },
              h('td', {}, t('apVersionN', { n: v.version })),
              h('td', {}, formatTime(v.submitted_at), h('div', { class: 'ap-muted ap-small' }, v.submitted_by)),
              h('td', {}, verdictBadge(v.verdict)),
              h('td', {}, statusBadge(v.outcome)),
              h('td', { class: 'ap-nowrap' }, show, ' ', h('a', { class: 'ap-link', href: reportUrl(app.id, v.version), target: '_blank', rel: 'noopener' }, t('apReportPrint')))),
            v.note ? h('tr', { class: 'ap-note-row' }, h('td', { colspan: 5 }, h('span', { class: 'ap-label' }, `${t('apAmendNote')}${colon()}`), v.note)) : null,
          ];
        }).flat().filter((x): x is HTMLTableRowElement => !!x))));
  }

  private timelineView(app: Application): HTMLElement {
    return this.section(t('apTimeline'), 'ap-timeline',
      h('ol', { class: 'ap-timeline' }, ...app.timeline.map((e) => h('li', { class: `ap-ev ap-ev-${e.kind}`, 'data-testid': 'ap-event', 'data-kind': e.kind, 'data-version': e.version, 'data-department': e.department ?? '' },
        h('div', { class: 'ap-ev-head' },
          h('strong', {}, term('apEvent', e.kind)),
          e.department ? h('span', { class: 'ap-ev-dept' }, this.departmentName(e.department)) : null,
          h('span', { class: 'ap-muted ap-small' }, t('apVersionN', { n: e.version })),
          h('span', { class: 'ap-ev-meta' }, `${formatTime(e.at)} · ${e.actor}`)),
        ...describeEvent(e, { department: (id) => this.departmentName(id), type: (code) => this.typeName(code) })
          .map((line) => h('div', { class: 'ap-ev-detail' }, line))))));
  }

  render(): void {
    const app = this.app;
    if (!app) {
      replaceChildren(this.root, this.loading ? h('p', { class: 'ap-muted' }, t('loading'))
        : h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${this.loadError ?? ''}`));
      return;
    }
    this.root.dataset.status = app.status;
    this.root.dataset.version = String(app.version);
    this.root.dataset.id = String(app.id);
    const [report, plans] = this.reportView(app, app.current.check);
    replaceChildren(this.root,
      this.headView(app),
      this.noticeAt('top'),
      this.yourTurn(app),
      report,
      this.requiredView(app),
      plans,
      this.windowView(app),
      this.versionsView(app),
      this.timelineView(app));
  }
}

/** A difference in the reader's language: "土地用途区·基本农田保护区：5.70 公顷 → 无". */
function differenceText(d: CheckDifference): string {
  const l = lang();
  const value = (v: number | string | null) =>
    v === null ? t('none') : typeof v === 'number' ? haText(v, l) : d.what === 'verdict' ? term('apVerdict', v) : v;
  return `${l === 'zh' ? d.zh : d.en}${colon()}${value(d.before)} → ${value(d.after)}`;
}
