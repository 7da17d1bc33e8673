// The detail view of one case: the rule, both plans' layer and class, the area in m², 公顷 and
// 亩, the coordination state, the status change (buttons for the allowed transitions, each with
// its form), comments and the full history. Pure rendering of the store's DetailModel: the calls
// are the handlers' (actions.ts).
import { formatTime, t, type StringKey } from '../i18n/i18n';
import { h } from '../ui/dom';
import type { CaseAction, CaseEvent, CaseView, Status } from './api';
import type { DetailModel, Draft, Notice } from './store';
import { HIGHLIGHT_COLORS } from './highlight';
import { areaTexts, type Vocab } from './vocab';

export interface DetailHandlers {
  back(): void;
  reload(): void;
  chooseAction(to: Status | undefined): void;
  submit(): void;
  saveDraftAsComment(): void;
  addComment(): void;
}

const ACTION_KEYS: Record<Status, StringKey> = {
  coordinated: 'cfToCoordinated',
  verified: 'cfToVerified',
  pending: 'cfToPending',
  resolved_by_data: 'cfEvResolved',
};

const EVENT_KEYS: Record<CaseAction, StringKey> = {
  detected: 'cfEvDetected',
  transition: 'cfEvTransition',
  comment: 'cfEvComment',
  resolved_by_data: 'cfEvResolved',
  reappeared: 'cfEvReappeared',
};

/** The colour swatch of a severity or of a highlight colour. */
export function dot(color: string, cls = 'cf-dot'): HTMLElement {
  const el = h('span', { class: cls, 'aria-hidden': 'true' });
  el.style.background = color;
  return el;
}

export function severityBadge(v: Vocab, severity: string): HTMLElement {
  const el = h('span', { class: `cf-sev cf-sev-${severity}`, 'data-severity': severity }, v.severity(severity));
  el.style.setProperty('--sev', v.severityColor(severity));
  return el;
}

export function statusBadge(v: Vocab, status: string, testid?: string): HTMLElement {
  return h('span', { class: `cf-status cf-status-${status}`, 'data-status': status, ...(testid ? { 'data-testid': testid } : {}) }, v.status(status));
}

function fact(label: string, value: Node | string | null, testid?: string): Node[] {
  return [h('dt', {}, label), h('dd', testid ? { 'data-testid': testid } : {}, value ?? '—')];
}

function sideFact(v: Vocab, c: CaseView, which: 'a' | 'b'): Node[] {
  const s = c[which];
  const label = t(which === 'a' ? 'cfSideA' : 'cfSideB');
  const swatch = h('span', { class: `cf-hl-swatch cf-hl-${which}`, 'aria-hidden': 'true' });
  swatch.style.borderColor = HIGHLIGHT_COLORS[which];
  return fact(label, h('span', { class: 'cf-side', 'data-layer': s.layer, 'data-fid': s.fid ?? '' },
    swatch,
    h('span', {}, h('strong', {}, v.layer(s.layer, s.layer_zh)), ' · ', v.className(s), h('span', { class: 'cf-code' }, ` ${s.code}`),
      h('span', { class: 'cf-fid' }, s.fid === null ? ` · ${t('cfFeatureGone')}` : ` · ${t('cfFeature')} ${s.fid}`))), `cf-detail-${which}`);
}

function textField(m: DetailModel, key: keyof Draft, label: string, opts: { required?: boolean; multiline?: boolean; placeholder?: string } = {}): HTMLElement {
  const id = `cf-draft-${key}`;
  const attrs = { id, 'data-testid': id, class: m.invalid.has(key) ? 'invalid' : undefined, 'aria-required': opts.required ? 'true' : undefined };
  const input = opts.multiline
    ? h('textarea', { ...attrs, rows: 2 })
    : h('input', { ...attrs, type: 'text', placeholder: opts.placeholder, maxlength: 10, inputmode: 'numeric' });
  input.value = m.draft[key];
  input.addEventListener('input', () => {
    m.draft[key] = input.value;
    if (m.invalid.delete(key)) input.classList.remove('invalid');
  });
  return h('label', { class: 'cf-field', for: id },
    h('span', { class: 'cf-label' }, label, opts.required ? h('span', { class: 'cf-req', title: t('required') }, ' *') : null),
    input);
}

function decisionField(v: Vocab, m: DetailModel, c: CaseView): HTMLElement {
  const select = h('select', { id: 'cf-draft-decision', 'data-testid': 'cf-draft-decision', class: m.invalid.has('decision') ? 'invalid' : undefined, 'aria-required': 'true' },
    h('option', { value: '' }, t('cfChooseDecision')),
    ...v.info.decisions.map((d) => h('option', { value: d.code }, v.decision(d.code, c))));
  select.value = m.draft.decision;
  select.addEventListener('change', () => {
    m.draft.decision = select.value;
    if (m.invalid.delete('decision')) select.classList.remove('invalid');
  });
  return h('label', { class: 'cf-field', for: 'cf-draft-decision' },
    h('span', { class: 'cf-label' }, t('cfDecision'), h('span', { class: 'cf-req', title: t('required') }, ' *')), select);
}

function actionForm(v: Vocab, m: DetailModel, c: CaseView, handlers: DetailHandlers): HTMLElement | null {
  const to = m.action;
  if (!to) return null;
  const allowed = c.allowed.includes(to);
  const busy = m.busy === 'transition';
  const fields: HTMLElement[] = [];
  if (to === 'coordinated') {
    fields.push(decisionField(v, m, c),
      textField(m, 'reason', t('cfReason'), { required: true, multiline: true }),
      textField(m, 'district_opinion', t('cfDistrictOpinion'), { multiline: true }),
      textField(m, 'city_opinion', t('cfCityOpinion'), { multiline: true }),
      // Text, not type=date: the browser's date field speaks the browser's language and format.
      textField(m, 'effective_date', t('cfEffectiveDate'), { placeholder: 'YYYY-MM-DD' }));
  } else if (to === 'pending') {
    fields.push(textField(m, 'reason', t('cfReopenReason'), { required: true, multiline: true }));
  }
  fields.push(textField(m, 'comment', t('cfComment'), { multiline: true }));
  const submit = h('button', { type: 'button', class: 'cf-primary', 'data-testid': 'cf-submit', disabled: busy || !allowed }, busy ? t('submitting') : t('cfSubmit'));
  submit.addEventListener('click', () => handlers.submit());
  const cancel = h('button', { type: 'button', class: 'cf-secondary', 'data-testid': 'cf-cancel', disabled: busy }, t('cancel'));
  cancel.addEventListener('click', () => handlers.chooseAction(undefined));
  let saveAsComment: HTMLElement | null = null;
  if (!allowed) {
    saveAsComment = h('button', { type: 'button', class: 'cf-secondary', 'data-testid': 'cf-save-as-comment', disabled: busy }, t('cfSaveAsComment'));
    saveAsComment.addEventListener('click', () => handlers.saveDraftAsComment());
  }
  return h('div', { class: 'cf-form', 'data-testid': 'cf-action-form', 'data-to': to },
    h('div', { class: 'cf-form-title' }, `${t(ACTION_KEYS[to])} → `, statusBadge(v, to)),
    !allowed ? h('p', { class: 'cf-note-warn', 'data-testid': 'cf-not-allowed' }, t('cfStaleNotAllowed')) : null,
    ...fields,
    h('div', { class: 'cf-buttons' }, submit, saveAsComment, cancel));
}

function eventItem(v: Vocab, c: CaseView, e: CaseEvent): HTMLElement {
  const key = EVENT_KEYS[e.action];
  const actor = e.actor === 'system' ? t('cfSystem') : e.actor === 'anonymous' ? t('cfAnonymous') : e.actor;
  const d = (e.details ?? {}) as Record<string, unknown>;
  const lines: (Node | null)[] = [];
  const line = (label: string, value: unknown, cls = ''): HTMLElement | null =>
    value === null || value === undefined || value === '' ? null
      : h('div', { class: `cf-ev-line ${cls}` }, h('span', { class: 'cf-ev-label' }, `${label}：`), String(value));
  if (e.action === 'transition' || e.action === 'reappeared' || (e.action === 'resolved_by_data' && e.from_status)) {
    lines.push(h('div', { class: 'cf-ev-line' },
      e.from_status ? statusBadge(v, e.from_status) : null, e.from_status ? ' → ' : null, e.to_status ? statusBadge(v, e.to_status) : null));
  }
  if (e.decision) lines.push(line(t('cfDecision'), v.decision(e.decision, c)));
  lines.push(line(e.to_status === 'pending' && e.action === 'transition' ? t('cfReopenReason') : t('cfReason'), e.reason));
  lines.push(line(t('cfDistrictOpinion'), d.district_opinion));
  lines.push(line(t('cfCityOpinion'), d.city_opinion));
  lines.push(line(t('cfEffectiveDate'), d.effective_date));
  if (e.action === 'resolved_by_data' && typeof d.layer === 'string') {
    lines.push(line(t('cfResolvedBy'), `${v.layer(d.layer)} ${typeof d.revision === 'number' ? t('cfRevision', { n: d.revision }) : ''}`.trim()));
  }
  if (typeof d.note === 'string') lines.push(line(t('cfComment'), d.note));
  if (e.comment) lines.push(h('div', { class: 'cf-ev-comment' }, e.comment));
  return h('li', { class: `cf-event cf-ev-${e.action}`, 'data-testid': 'cf-event', 'data-action': e.action, 'data-to': e.to_status ?? '' },
    h('div', { class: 'cf-ev-head' },
      h('strong', {}, key ? t(key) : e.action),
      e.run_id ? h('span', { class: 'cf-muted' }, ` · ${t('cfRunNo', { n: e.run_id })}`) : null,
      h('span', { class: 'cf-ev-meta' }, `${formatTime(e.at)} · ${actor}`)),
    ...lines);
}

/** The detail view of the selected case. */
export function renderDetail(v: Vocab, m: DetailModel, handlers: DetailHandlers): HTMLElement {
  const c: CaseView = m.detail ?? m.item;
  const area = areaTexts(c.area_m2, c.area_ha, c.area_mu);
  const back = h('button', { type: 'button', class: 'cf-back', 'data-testid': 'cf-back' }, t('cfBack'));
  back.addEventListener('click', () => handlers.back());

  const notice = (where: Notice['where']): HTMLElement | null => m.notice?.where === where
    ? h('div', { class: `cf-notice cf-notice-${m.notice.kind}`, 'data-testid': 'cf-notice', 'data-kind': m.notice.kind, role: m.notice.kind === 'ok' ? 'status' : 'alert' }, m.notice.text)
    : null;

  const facts = h('dl', { class: 'cf-facts' },
    ...fact(t('cfKind'), v.kind(c.kind)),
    ...fact(t('cfDistrict'), v.district(c.adcode, c.district), 'cf-detail-district'),
    ...fact(t('area'), h('span', { class: 'cf-area' },
      h('span', { 'data-testid': 'cf-detail-m2' }, area.m2), h('span', { 'data-testid': 'cf-detail-ha' }, area.ha), h('span', { 'data-testid': 'cf-detail-mu' }, area.mu))),
    ...sideFact(v, c, 'a'),
    ...sideFact(v, c, 'b'),
    ...fact(t('cfStatus'), statusBadge(v, c.status, 'cf-detail-status')),
    ...(c.decision ? fact(t('cfDecision'), v.decision(c.decision, c), 'cf-detail-decision') : []),
    ...(c.reason ? fact(t('cfReason'), c.reason, 'cf-detail-reason') : []),
    ...(c.district_opinion ? fact(t('cfDistrictOpinion'), c.district_opinion) : []),
    ...(c.city_opinion ? fact(t('cfCityOpinion'), c.city_opinion) : []),
    ...(c.effective_date ? fact(t('cfEffectiveDate'), c.effective_date) : []),
    ...(c.resolved_layer ? fact(t('cfResolvedBy'), `${v.layer(c.resolved_layer)} ${c.resolved_revision !== null ? t('cfRevision', { n: c.resolved_revision }) : ''}`.trim()) : []),
    ...fact(t('cfFirstRun'), `${t('cfRunNo', { n: c.first_run })} · ${formatTime(c.created_at)}`),
    ...fact(t('version'), String(c.version), 'cf-detail-version'));

  // Status change: who acts (the account; anonymous writes are refused and open the login), one
  // button per allowed transition (disabled for an account that may not make it), the open form.
  const actorInput = h('input', { type: 'text', id: 'cf-actor', 'data-testid': 'cf-actor', readonly: true, placeholder: t('cfActorNone') });
  actorInput.value = m.account ?? '';
  actorInput.title = t(m.account !== undefined ? 'cfActorAccount' : 'cfActorNone');
  if (m.account !== undefined) actorInput.dataset.account = 'true';
  const buttons = c.allowed.map((to) => {
    const allowed = !m.may || m.may.transition(to);
    const b = h('button', {
      type: 'button', class: `cf-action${m.action === to ? ' active' : ''}`, 'data-testid': `cf-action-${to}`, 'aria-pressed': String(m.action === to),
      disabled: !m.detail || !!m.busy || !allowed, title: allowed ? undefined : t('cfNotAllowed'),
    }, t(ACTION_KEYS[to]));
    b.addEventListener('click', () => handlers.chooseAction(m.action === to ? undefined : to));
    return b;
  });
  const change = h('section', { class: 'cf-section', 'data-testid': 'cf-change' },
    h('h4', {}, t('cfChangeStatus')),
    h('label', { class: 'cf-field cf-actor', for: 'cf-actor' }, h('span', { class: 'cf-label' }, t('cfActor')), actorInput),
    buttons.length ? h('div', { class: 'cf-actions' }, ...buttons) : h('p', { class: 'cf-muted' }, t('cfNoTransition')),
    notice('change'),
    actionForm(v, m, c, handlers));

  // Comments (no version needed: two comments at once both land).
  const commentBox = h('textarea', { id: 'cf-comment', 'data-testid': 'cf-comment', rows: 2, placeholder: t('cfCommentPlaceholder'), maxlength: 4000 });
  commentBox.value = m.comment;
  const mayComment = !m.may || m.may.comment;
  const commentButton = h('button', { type: 'button', class: 'cf-secondary', 'data-testid': 'cf-comment-add', disabled: !!m.busy || !m.comment.trim() || !mayComment, title: mayComment ? undefined : t('cfNotAllowed') }, t('cfAddComment'));
  commentBox.addEventListener('input', () => {
    m.comment = commentBox.value;
    commentButton.disabled = !!m.busy || !m.comment.trim() || !mayComment;
  });
  commentButton.addEventListener('click', () => handlers.addComment());
  const comments = h('section', { class: 'cf-section' }, h('h4', {}, t('cfComments')), notice('comment'), commentBox, h('div', { class: 'cf-buttons' }, commentButton));

  let history: HTMLElement;
  if (m.detail) {
    history = h('ol', { class: 'cf-history', 'data-testid': 'cf-history' },
      ...[...m.detail.events].reverse().map((e) => eventItem(v, c, e)));
  } else if (m.loadError) {
    const retry = h('button', { type: 'button', class: 'cf-secondary' }, t('retry'));
    retry.addEventListener('click', () => handlers.reload());
    history = h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${m.loadError} `, retry);
  } else {
    history = h('p', { class: 'cf-muted' }, t('loading'));
  }

  return h('article', {
    class: 'cf-detail', 'data-testid': 'cf-detail', 'data-id': c.id, 'data-fid': c.fid, 'data-status': c.status,
    'data-version': c.version, 'data-loaded': m.detail ? 'true' : 'false',
  },
    back,
    h('header', { class: 'cf-detail-head' },
      severityBadge(v, c.severity),
      h('h3', { class: 'cf-detail-rule', 'data-testid': 'cf-detail-rule' }, v.rule(c.rule_id, { zh: c.rule_zh, en: c.rule_en })),
      h('span', { class: 'cf-muted cf-patch-no' }, `${t('cfPatch')} #${c.fid}`)),
    h('p', { class: 'cf-hl-note' },
      dot(HIGHLIGHT_COLORS.patch, 'cf-dot'), ' ', t('cfHighlightNote')),
    facts,
    change,
    comments,
    h('section', { class: 'cf-section' }, h('h4', {}, t('cfHistory')), history));
}
