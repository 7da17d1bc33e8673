// What the user does in the 差异图斑 panel that writes: a status change against the case's
// version (If-Match), a comment, the draft of a change no longer possible kept as a comment, and a
// detection run. Each checks what it can first, calls the API and puts the answer (or the refusal,
// in words) into the store; `ledgerChanged` then refreshes what the panel cannot see from here (the
// conflicts layer's tiles on the map).
import { t } from '../i18n/i18n';
import { refusalText } from '../auth/permissions';
import { ApiError } from '../platform/http';
import { postComment, postRun, postTransition, type Status, type TransitionRequest } from './api';
import { emptyDraft, stripDetail, type ConflictsStore, type DetailModel, type Draft, type Notice } from './store';
import type { Vocab } from './vocab';
import { parseDate } from '../../../server/platform/values';

/** The draft fields a change to `to` needs and lacks (or has wrong). */
export function draftProblems(to: Status, draft: Draft): Set<keyof Draft> {
  const invalid = new Set<keyof Draft>();
  if (to === 'coordinated') {
    if (!draft.decision) invalid.add('decision');
    if (!draft.reason.trim()) invalid.add('reason');
    const date = draft.effective_date.trim();
    if (date && !parseDate(date)) invalid.add('effective_date');
  } else if (to === 'pending' && !draft.reason.trim()) {
    invalid.add('reason');
  }
  return invalid;
}

/** What to say about the draft's problems. */
export function problemText(to: Status, invalid: ReadonlySet<string>): string {
  if (invalid.has('decision') || invalid.has('reason')) return t(to === 'coordinated' ? 'cfNeedDecision' : 'cfNeedReason');
  return t('cfBadDate');
}

/** The request of a change to `to` from the draft: the coordination's fields for coordinated, the reason for a reopening. */
export function transitionRequest(to: Status, draft: Draft): TransitionRequest {
  return {
    to,
    comment: draft.comment,
    ...(to === 'coordinated' ? {
      decision: draft.decision as TransitionRequest['decision'],
      reason: draft.reason,
      district_opinion: draft.district_opinion,
      city_opinion: draft.city_opinion,
      effective_date: draft.effective_date,
    } : {}),
    ...(to === 'pending' ? { reason: draft.reason } : {}),
  };
}

/** A draft as the text of a comment, one labelled line per field filled in ('' when nothing is). */
export function draftAsComment(draft: Draft, action: Status | undefined, decisionName: (code: string) => string): string {
  return [
    draft.decision ? `${t('cfDecision')}：${decisionName(draft.decision)}` : '',
    draft.reason.trim() ? `${t(action === 'pending' ? 'cfReopenReason' : 'cfReason')}：${draft.reason.trim()}` : '',
    draft.district_opinion.trim() ? `${t('cfDistrictOpinion')}：${draft.district_opinion.trim()}` : '',
    draft.city_opinion.trim() ? `${t('cfCityOpinion')}：${draft.city_opinion.trim()}` : '',
    draft.effective_date ? `${t('cfEffectiveDate')}：${draft.effective_date}` : '',
    draft.comment.trim(),
  ].filter(Boolean).join('\n');
}

export class ConflictsActions {
  constructor(private readonly store: ConflictsStore, private readonly ledgerChanged: () => void) {}

  private get vocab(): Vocab | undefined {
    return this.store.vocab;
  }

  /** Opens the form of a transition (undefined: closes it); a stale-version notice stays. */
  chooseAction(to: Status | undefined): void {
    const m = this.store.selected;
    if (!m) return;
    m.action = to;
    m.invalid = new Set();
    if (m.notice?.kind !== 'stale') m.notice = undefined;
    this.store.changed('detail');
  }

  private say(m: DetailModel, notice: Notice): void {
    m.notice = notice;
    m.revealNotice = true;
    this.store.changed('detail');
  }

  /** Sends the open status change, against the version the panel shows. */
  async submitTransition(): Promise<void> {
    const m = this.store.selected;
    const d = m?.detail;
    if (!m || !d || !m.action || m.busy) return;
    const to = m.action;
    m.invalid = draftProblems(to, m.draft);
    if (m.invalid.size) {
      this.say(m, { kind: 'error', text: problemText(to, m.invalid), where: 'change' });
      return;
    }
    m.busy = 'transition';
    m.notice = undefined;
    this.store.changed('detail');
    const id = d.id;
    try {
      const changed = await postTransition(id, d.version, transitionRequest(to, m.draft));
      if (this.store.selected?.item.id !== id) return;
      m.busy = undefined;
      m.action = undefined;
      m.draft = emptyDraft();
      m.detail = changed;
      m.item = stripDetail(changed);
      this.store.updateListItem(changed);
      this.store.changed('list');
      this.say(m, { kind: 'ok', text: t('cfDone', { status: this.vocab?.status(changed.status) ?? changed.status }), where: 'change' });
      this.afterLedgerChange();
    } catch (err) {
      if (this.store.selected?.item.id !== id) return;
      m.busy = undefined;
      await this.refused(m, err);
    }
  }

  /** A refused change: say why; on a stale version reload the case and keep what was typed. */
  private async refused(m: DetailModel, err: unknown): Promise<void> {
    const e = err instanceof ApiError ? err : undefined;
    if (e?.status === 412) {
      const current = (e.details as { currentVersion?: number } | undefined)?.currentVersion;
      this.say(m, { kind: 'stale', text: t('cfStale', { version: current ?? '?' }), where: 'change' });
      await this.store.loadDetail();
      m.revealNotice = true;
      this.store.changed('detail');
      // The map and the list may show the old state too.
      this.afterLedgerChange();
      this.store.changed('list');
      return;
    }
    const field = (e?.details as { field?: string } | undefined)?.field;
    if (field && field in m.draft) m.invalid.add(field);
    this.say(m, { kind: 'error', text: `${t('actionFailed')}: ${refusalText(err)}`, where: 'change' });
    // 409: the case is not in the state the panel shows; show the real one.
    if (e?.status === 409) await this.store.loadDetail();
  }

  /** The draft of a change no longer possible, kept as a comment so nothing is lost. */
  async saveDraftAsComment(): Promise<void> {
    const m = this.store.selected;
    if (!m || m.busy) return;
    const text = draftAsComment(m.draft, m.action, (code) => this.vocab?.decision(code, m.item) ?? code);
    if (!text) return;
    if (await this.comment(text, 'change')) {
      m.action = undefined;
      m.draft = emptyDraft();
      this.store.changed('detail');
    }
  }

  /** Posts what the comment box holds. */
  async addComment(): Promise<void> {
    const m = this.store.selected;
    if (!m || !m.comment.trim()) return;
    if (await this.comment(m.comment.trim())) {
      m.comment = '';
      this.store.changed('detail');
    }
  }

  private async comment(text: string, where: Notice['where'] = 'comment'): Promise<boolean> {
    const m = this.store.selected;
    if (!m || m.busy) return false;
    const id = m.item.id;
    m.busy = 'comment';
    m.notice = undefined;
    this.store.changed('detail');
    try {
      await postComment(id, text);
      if (this.store.selected?.item.id !== id) return false;
      m.busy = undefined;
      m.notice = { kind: 'ok', text: t('cfCommentAdded'), where };
      m.revealNotice = true;
      await this.store.loadDetail();
      return true;
    } catch (err) {
      if (this.store.selected?.item.id !== id) return false;
      m.busy = undefined;
      this.say(m, { kind: 'error', text: `${t('actionFailed')}: ${refusalText(err)}`, where });
      return false;
    }
  }

  /** After the ledger changed: the summary is stale, the conflicts tiles carry the old status. */
  private afterLedgerChange(): void {
    void this.store.loadSummary();
    this.ledgerChanged();
  }

  /** Starts a detection run in the chosen mode; then everything it may have changed loads anew. */
  async run(): Promise<void> {
    const s = this.store;
    if (s.runs.running) return;
    s.runs = { ...s.runs, running: true, error: undefined, result: undefined };
    s.changed('runs');
    try {
      const result = await postRun(s.runs.mode);
      s.runs = { ...s.runs, running: false, result };
      // Everything the run may have changed: the list, the summary, the open case, the map.
      void s.loadList(false);
      void s.loadSummary();
      if (s.selected) void s.loadDetail();
      this.ledgerChanged();
    } catch (err) {
      s.runs = { ...s.runs, running: false, error: refusalText(err) };
    }
    s.changed('runs');
    void s.loadRuns();
  }
}
