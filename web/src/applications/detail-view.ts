// The view of one application, rendered from its state (detail-state.ts; no fetching): its head
// (number, status, project), the compliance report of the version on the map (the tables beside
// it: rules broken with 公顷, sensitive areas, each plan's classes with 公顷/亩 and share; the
// printable report; the re-check against today's plans), the departments it was routed to with
// their deadlines and signed opinions (read-only, with author, time and signature; corrections
// linked), the opinion form for a reviewer of a department still to decide, the correction form,
// the window's withdraw and amend & resubmit, the versions and the timeline. What the user does
// goes to the handlers (detail-actions.ts through detail.ts); what is typed goes into the drafts.
import { DECISIONS, EVENT_KINDS, OUTCOMES, SITE_SOURCES } from '../../../server/applications/vocabulary';
import { nameOf, colon, formatTime, lang, paren, pick, t, term, type StringKey } from '../i18n/i18n';
import { h } from '../ui/dom';
import { reportUrl, type Application, type Check, type CheckDifference, type Id, type Opinion, type ProjectTypeCode } from './api';
import { DECISION_CODES, type ApplicationState, type NoticeWhere, type OpinionDraft, type Permissions } from './detail-state';
import { SITE_RED } from './draw';
import { areaText, daysLeftText, daysUntil, haText, muText, shareText, shortSignature } from './format';
import { ALERT_COLOR, RULE_COLOR } from './mapview';
import { describeEvent } from './timeline';

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `ap-status ap-status-${status}`, 'data-testid': 'ap-status', 'data-status': status }, nameOf(OUTCOMES, status));
}

export function verdictBadge(verdict: string): HTMLElement {
  return h('span', { class: `ap-verdict ap-verdict-${verdict}`, 'data-testid': 'ap-verdict', 'data-verdict': verdict }, term('apVerdict', verdict));
}

export function decisionBadge(decision: string): HTMLElement {
  return h('span', { class: `ap-decision ap-decision-${decision}`, 'data-decision': decision }, nameOf(DECISIONS, decision));
}

/** What the view's buttons and fields ask for. */
export interface ViewHandlers {
  /** Something typed or chosen changes what the view shows. */
  rerender(): void;
  showMap(version: number): void;
  recheck(): void;
  signOpinion(): void;
  openCorrection(opinionId: Id | undefined): void;
  signCorrection(): void;
  toggleWithdraw(open: boolean): void;
  withdraw(): void;
  openAmend(): void;
  closeAmend(): void;
  siteChoice(newSite: boolean): void;
  amend(): void;
}

/** The part of the amendment's site editor the view shows. */
export interface AmendSiteView {
  root: HTMLElement;
  isBusy: boolean;
}

export class DetailView {
  /** The amendment's resubmit button once rendered: it follows the site editor's state without a re-render. */
  amendButton: HTMLButtonElement | undefined;

  constructor(private readonly s: ApplicationState, private readonly may: Permissions,
    private readonly amendSite: AmendSiteView | undefined, private readonly on: ViewHandlers) {}

  private noticeAt(where: NoticeWhere): HTMLElement | null {
    const n = this.s.notice;
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
        h('dt', {}, t('apType')), h('dd', { 'data-testid': 'ap-type-view' }, this.s.typeName(cur.project_type)),
        h('dt', {}, t('apInvestor')), h('dd', {}, cur.investor),
        h('dt', {}, t('apSiteArea')), h('dd', { 'data-testid': 'ap-site-area-view' }, areaText(cur.site_area_m2, l, cur.site_area_ha, cur.site_area_mu),
          h('span', { class: 'ap-muted' }, ` · ${nameOf(SITE_SOURCES, cur.site_source)}`)),
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
          h('td', {}, r.departments.map((d) => this.s.departmentName(d)).join('、'))))))
      : h('p', { class: 'ap-ok-line', 'data-testid': 'ap-rules-none' }, `✓ ${t('apRulesNone')}`);
    const alerts = check.alerts.length
      ? h('table', { class: 'ap-table', 'data-testid': 'ap-alerts' },
        h('thead', {}, h('tr', {}, h('th', {}, t('apAlerts')), h('th', { class: 'num' }, t('unitHa')), h('th', { class: 'num' }, t('apColShare')), h('th', {}, t('apColDept')))),
        h('tbody', {}, ...check.alerts.map((a) => h('tr', { 'data-testid': 'ap-alert', 'data-alert': a.id },
          h('td', {}, pick(a)), h('td', { class: 'num' }, haText(a.area_m2, l, a.area_ha).replace(/ \S+$/, '')),
          h('td', { class: 'num' }, shareText(a.share)), h('td', {}, this.s.departmentName(a.department))))))
      : null;
    const plans = h('div', { class: 'ap-plans', 'data-testid': 'ap-plans' }, ...check.plans.map((p) => {
      const details = h('details', { class: 'ap-plan', 'data-group': p.group, open: p.verdict !== 'compliant' },
        h('summary', {}, h('span', { class: 'ap-plan-name' }, pick(p)), verdictBadge(p.verdict)),
        ...p.layers.map((ly) => h('div', { class: 'ap-plan-layer', 'data-layer': ly.layer },
          h('div', { class: 'ap-plan-layer-head' }, h('span', {}, pick(ly)), h('span', { class: 'ap-muted ap-small' }, t('apRevisionN', { n: ly.revision ?? '—' })), verdictBadge(ly.verdict)),
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
    const r = this.s.recheck;
    const recheckOut = h('div', { class: 'ap-recheck', 'data-testid': 'ap-recheck-result' },
      r.error ? h('p', { class: 'ap-error-box' }, r.error)
        : r.result?.reproduced ? h('p', { class: 'ap-small', 'data-reproduced': 'true' }, t('apRecheckSame'))
          : r.result ? h('div', { 'data-reproduced': 'false' }, h('p', { class: 'ap-small' }, t('apRecheckChanged', { n: r.result.differences.length })),
            h('ul', { class: 'ap-small' }, ...r.result.differences.map((d) => h('li', { 'data-what': d.what }, differenceText(d)))))
            : null);
    const recheck = h('button', { type: 'button', class: 'ap-link-btn', title: t('apRecheckTitle'), 'data-testid': 'ap-recheck', disabled: r.busy }, t('apRecheck'));
    recheck.addEventListener('click', () => this.on.recheck());
    const turned = this.s.layersTurnedOn.length
      ? h('p', { class: 'ap-muted ap-small', 'data-testid': 'ap-layers-on' }, t('apLayersOn', { l: this.s.layersTurnedOn.join('、') })) : null;
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
    const correct = effective && this.may.correct(o) && !this.s.correction
      ? h('button', { type: 'button', class: 'ap-link-btn', title: t('apCorrectTitle'), 'data-testid': 'ap-correct-open' }, t('apCorrect')) : null;
    correct?.addEventListener('click', () => {
      this.on.openCorrection(o.id);
    });
    return h('div', { class: `ap-opinion${o.corrected_by ? ' ap-opinion-corrected' : ''}`, 'data-testid': 'ap-opinion', 'data-id': o.id, 'data-department': o.department, 'data-decision': o.decision },
      h('div', { class: 'ap-opinion-head' }, decisionBadge(o.decision),
        o.corrects ? h('span', { class: 'ap-tag' }, nameOf(EVENT_KINDS, 'correction')) : null,
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
    const radios = DECISION_CODES.map((dec) => {
      const input = h('input', { type: 'radio', name: `${prefix}-decision`, value: dec, 'data-testid': `${prefix}-${dec}` });
      input.checked = d.decision === dec;
      input.addEventListener('change', () => {
        d.decision = dec;
        d.invalid.delete('decision');
        this.on.rerender();
      });
      return h('label', { class: `ap-radio ap-radio-${dec}` }, input, nameOf(DECISIONS, dec));
    });
    const text = (key: 'conditions' | 'reason' | 'note', label: StringKey, ph: StringKey): HTMLElement => {
      const area = h('textarea', { rows: 3, placeholder: t(ph), 'data-testid': `${prefix}-${key}`, class: d.invalid.has(key) ? 'invalid' : undefined });
      area.value = d[key];
      area.addEventListener('input', () => { d[key] = area.value; });
      return h('label', { class: 'ap-field' }, h('span', { class: 'ap-label' }, t(label), h('span', { class: 'ap-req' }, ' *')), area);
    };
    const submit = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': `${prefix}-submit`, disabled: !!this.s.busy }, this.s.busy ? t('submitting') : t('apSign'));
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
    const r = this.may.sign.req;
    if (!r || r.opinion) return null;
    const days = r.days_left ?? daysUntil(r.deadline);
    const go = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-your-turn-go' }, t('apOpinionForm'));
    go.addEventListener('click', () => go.closest('.ap-detail')?.querySelector('[data-testid="ap-opinion-form"]')?.scrollIntoView({ behavior: 'smooth', block: 'center' }));
    return h('div', { class: `ap-your-turn${r.overdue || days < 0 ? ' ap-your-turn-late' : ''}`, 'data-testid': 'ap-your-turn' },
      h('div', {}, h('strong', {}, t('apYourTurn', { d: pick(r) })),
        h('div', { class: 'ap-small' }, `${t('apDeadline')} ${r.deadline} · ${daysLeftText(days, lang())} · ${t('apVersionN', { n: app.version })}`)),
      go);
  }

  private requiredView(app: Application): HTMLElement {
    const mine = this.may.sign;
    const cur = app.current;
    const running = app.status === 'under_review';
    const cards = cur.required.map((r) => {
      const chain = app.opinions.filter((o) => o.version === cur.version && o.department === r.department);
      const effective = r.opinion;
      const isMine = mine.req?.department === r.department;
      const correcting = this.s.correction && chain.some((o) => o.id === this.s.correction!.opinionId);
      return h('article', { class: `ap-dept${effective ? ` ap-dept-${effective.decision}` : ''}`, 'data-testid': 'ap-required', 'data-department': r.department,
        'data-decision': effective?.decision ?? '' },
        h('div', { class: 'ap-dept-head' },
          h('strong', { class: 'ap-dept-name' }, pick(r)),
          effective ? decisionBadge(effective.decision) : h('span', { class: 'ap-pending' }, t('apPending')),
          h('span', { class: 'ap-dept-deadline' }, this.deadlineView(r.deadline, running && !effective, r.overdue, r.days_left))),
        r.reasons.length ? h('ul', { class: 'ap-reasons', 'aria-label': t('apReasons') }, ...r.reasons.map((x) => h('li', {}, x))) : null,
        ...chain.map((o) => this.opinionCard(o, o.id === effective?.id)),
        correcting ? h('div', { class: 'ap-subform' }, h('div', { class: 'ap-subform-title' }, t('apCorrectForm')),
          this.decisionForm(this.s.correction!, 'ap-correction', true, () => void this.on.signCorrection(), () => this.on.openCorrection(undefined))) : null,
        isMine && !effective ? h('div', { class: 'ap-subform ap-subform-mine' },
          h('div', { class: 'ap-subform-title' }, t('apOpinionFor', { d: pick(r), v: cur.version })),
          this.decisionForm(this.s.opinion, 'ap-opinion', false, () => void this.on.signOpinion())) : null);
    });
    return this.section(t('apRouting'), 'ap-routing',
      mine.why ? h('p', { class: 'ap-muted ap-small', 'data-testid': 'ap-why-not' }, t(mine.why)) : null,
      ...cards);
  }

  private windowView(app: Application): HTMLElement | null {
    if (!this.may.withdraw && !this.may.amend) return null;
    const buttons: HTMLElement[] = [];
    if (this.may.amend && !this.s.amendOpen) {
      const b = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-amend-open' }, t('apAmend'));
      b.addEventListener('click', () => this.on.openAmend());
      buttons.push(b);
    }
    if (this.may.withdraw && !this.s.withdrawOpen && !this.s.amendOpen) {
      const b = h('button', { type: 'button', class: 'ap-btn ap-btn-danger', 'data-testid': 'ap-withdraw-open' }, t('apWithdraw'));
      b.addEventListener('click', () => this.on.toggleWithdraw(true));
      buttons.push(b);
    }
    let withdrawForm: HTMLElement | null = null;
    if (this.s.withdrawOpen) {
      const area = h('textarea', { rows: 2, 'data-testid': 'ap-withdraw-reason' });
      area.value = this.s.withdrawReason;
      area.addEventListener('input', () => { this.s.withdrawReason = area.value; });
      const ok = h('button', { type: 'button', class: 'ap-btn ap-btn-danger', 'data-testid': 'ap-withdraw-submit', disabled: !!this.s.busy }, t('apWithdrawConfirm'));
      ok.addEventListener('click', () => void this.on.withdraw());
      const cancel = h('button', { type: 'button', class: 'ap-btn' }, t('cancel'));
      cancel.addEventListener('click', () => this.on.toggleWithdraw(false));
      withdrawForm = h('div', { class: 'ap-subform' }, h('div', { class: 'ap-subform-title' }, t('apWithdraw')),
        h('label', { class: 'ap-field' }, h('span', { class: 'ap-label' }, t('apWithdrawReason'), h('span', { class: 'ap-req' }, ' *')), area),
        this.noticeAt('withdraw'), h('div', { class: 'ap-row-buttons' }, ok, cancel));
    }
    return this.section(t('apWindowActions'), 'ap-window', h('div', { class: 'ap-row-buttons' }, ...buttons), withdrawForm, this.s.amendOpen ? this.amendView() : null);
  }

  private amendView(): HTMLElement {
    const d = this.s.amendDraft;
    const input = (key: 'note' | 'name' | 'investor' | 'area', label: StringKey, required: boolean, multiline = false, ph?: StringKey): HTMLElement => {
      const el = multiline
        ? h('textarea', { rows: 2, 'data-testid': `ap-amend-${key}`, placeholder: ph ? t(ph) : undefined })
        : h('input', { type: 'text', 'data-testid': `ap-amend-${key}` });
      el.value = d[key];
      el.classList.toggle('invalid', d.invalid.has(key));
      el.addEventListener('input', () => { d[key] = el.value; });
      return h('label', { class: 'ap-field' }, h('span', { class: 'ap-label' }, t(label), key === 'area' ? paren(t('unitHa')) : '', required ? h('span', { class: 'ap-req' }, ' *') : null), el);
    };
    const type = h('select', { 'data-testid': 'ap-amend-type' }, ...(this.s.projectTypes).map((t) => h('option', { value: t.code }, pick(t))));
    type.value = d.type;
    type.addEventListener('change', () => { d.type = type.value as ProjectTypeCode; });
    const siteChoice = (newSite: boolean, label: StringKey): HTMLElement => {
      const r = h('input', { type: 'radio', name: 'ap-amend-site', 'data-testid': `ap-amend-site-${newSite ? 'new' : 'keep'}` });
      r.checked = d.newSite === newSite;
      r.addEventListener('change', () => this.on.siteChoice(newSite));
      return h('label', { class: 'ap-radio' }, r, t(label));
    };
    const submit = h('button', { type: 'button', class: 'ap-btn ap-btn-primary', 'data-testid': 'ap-amend-submit', disabled: !!this.s.busy || !!this.amendSite?.isBusy },
      this.s.busy === 'amend' ? t('submitting') : t('apAmendSubmit'));
    submit.addEventListener('click', () => void this.on.amend());
    this.amendButton = submit;
    const cancel = h('button', { type: 'button', class: 'ap-btn', 'data-testid': 'ap-amend-cancel' }, t('cancel'));
    cancel.addEventListener('click', () => this.on.closeAmend());
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
          const show = h('button', { type: 'button', class: 'ap-link-btn', 'data-testid': 'ap-version-map', disabled: this.s.mapVersion === v.version }, t('apShowOnMap'));
          show.addEventListener('click', () => void this.on.showMap(v.version));
          return [
            h('tr', { 'data-testid': 'ap-version-row', 'data-version': v.version, 'data-outcome': v.outcome, class: this.s.mapVersion === v.version ? 'ap-row-current' : undefined },
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
          h('strong', {}, nameOf(EVENT_KINDS, e.kind)),
          e.department ? h('span', { class: 'ap-ev-dept' }, this.s.departmentName(e.department)) : null,
          h('span', { class: 'ap-muted ap-small' }, t('apVersionN', { n: e.version })),
          h('span', { class: 'ap-ev-meta' }, `${formatTime(e.at)} · ${e.actor}`)),
        ...describeEvent(e, { department: (id) => this.s.departmentName(id), type: (code) => this.s.typeName(code) })
          .map((line) => h('div', { class: 'ap-ev-detail' }, line))))));
  }

  /** The view's content: the loading state, or every section of the application. */
  render(): (HTMLElement | null)[] {
    const app = this.s.app;
    if (!app) {
      return [this.s.loading ? h('p', { class: 'ap-muted' }, t('loading'))
        : h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${this.s.loadError ?? ''}`)];
    }
    const [report, plans] = this.reportView(app, app.current.check);
    return [
      this.headView(app),
      this.noticeAt('top'),
      this.yourTurn(app),
      report,
      this.requiredView(app),
      plans,
      this.windowView(app),
      this.versionsView(app),
      this.timelineView(app),
    ];
  }
}

/** A difference in the reader's language: "土地用途区·基本农田保护区：5.70 公顷 → 无". */
function differenceText(d: CheckDifference): string {
  const l = lang();
  const value = (v: number | string | null) =>
    v === null ? t('none') : typeof v === 'number' ? haText(v, l) : d.what === 'verdict' ? term('apVerdict', v) : v;
  return `${l === 'zh' ? d.zh : d.en}${colon()}${value(d.before)} → ${value(d.after)}`;
}
