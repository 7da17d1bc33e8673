// The 成果发布 (releases) panel of the working viewer, for staff: every release with its status;
// preparing a draft of the current layers (title, notes, 批复文号, 审图号) for 市规划局's plan editor,
// publishing a draft (asking for its 审图号 when it has none) and withdrawing a release (with a
// reason) for its reviewer — the buttons as the account may, the server's check the one that
// counts — and comparing a release with the working data (the comparison panel). A release opens
// in the release viewer at /?release=N (a draft too, for staff).
import type { Map as MlMap } from 'maplibre-gl';
import { mayPrepareRelease, mayPublishRelease, mayWithdrawRelease, refusalText } from '../auth/permissions';
import { currentAccount, onAccountChange } from '../auth/session';
import { formatTime, onLangChange, t } from '../i18n/i18n';
import { h, replaceChildren } from '../ui/dom';
import { headerButton, showPanel } from '../ui/panel';
import { fetchReleases, prepareRelease, publishRelease, withdrawRelease, type ReleaseSummary } from './api';
import { editionText, formatReleaseDate } from './caption';
import { ComparePanel } from './compare';
import { captionOf, fetchReleaseStyle } from './public';

type Form = { kind: 'publish' | 'withdraw'; number: number } | { kind: 'prepare' } | null;

export class ReleasesPanel {
  private readonly openButton = h('button', { type: 'button', class: 'cf-open rl-open', 'data-testid': 'releases-open', 'aria-expanded': 'false' });
  private readonly title = h('h2', { class: 'panel-title', id: 'rl-title' });
  private readonly closeButton = h('button', { type: 'button', class: 'close', 'data-testid': 'releases-close' }, '×');
  private readonly body = h('div', { class: 'cf-body', 'data-testid': 'releases-body' });
  private readonly root = h('section', { class: 'cf-panel rl-panel', 'data-testid': 'releases-panel', role: 'dialog', 'aria-labelledby': 'rl-title' },
    h('div', { class: 'panel-head' }, this.title, this.closeButton), this.body);
  private releases: ReleaseSummary[] = [];
  private current: number | null = null;
  private loaded = false;
  private error: string | undefined;
  private form: Form = null;
  private busy = false;
  private notice: { ok: boolean; text: string } | undefined;
  readonly compare: ComparePanel;

  constructor(header: HTMLElement, private readonly host: HTMLElement, map: MlMap) {
    this.root.hidden = true;
    host.append(this.root);
    headerButton(header, this.openButton, this.root, () => this.open(), () => this.close());
    this.closeButton.addEventListener('click', () => this.close());
    this.root.addEventListener('keydown', (e) => { if (e.key === 'Escape' && !(e.target instanceof HTMLTextAreaElement)) this.close(); });
    this.compare = new ComparePanel(header, host, map, {
      releases: () => this.releases,
      working: true,
      style: (side) => (side === 'working' ? Promise.resolve(`${location.origin}/style.json`) : fetchReleaseStyle(side)),
      caption: (side) => {
        const r = typeof side === 'number' ? this.releases.find((x) => x.number === side) : undefined;
        return r ? captionOf(r) : null;
      },
      defaults: () => ({ from: this.current ?? this.releases[0]?.number, to: 'working' }),
    });
    // The two panels take the map's left side in turns.
    this.compare.openButton.addEventListener('click', () => { if (this.compare.isOpen) this.close(); });
    this.openButton.addEventListener('click', () => { if (this.isOpen) this.compare.close(); });
    onLangChange(() => this.render());
    onAccountChange(() => this.render());
    this.render();
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  open(): void {
    showPanel(this.root, this.openButton, this.host, 'cf-panel-open', true);
    this.render();
    void this.load();
  }

  close(): void {
    showPanel(this.root, this.openButton, this.host, 'cf-panel-open', false);
  }

  /** Loads the list (and the comparison's choices). */
  async load(): Promise<void> {
    try {
      const list = await fetchReleases();
      this.releases = list.releases;
      this.current = list.current;
      this.loaded = true;
      this.error = undefined;
    } catch (err) {
      this.error = refusalText(err);
    }
    this.compare.refresh();
    this.render();
  }

  private async act(what: () => Promise<{ number: number }>, done: (n: number) => string): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.notice = undefined;
    this.render();
    try {
      const r = await what();
      this.form = null;
      this.notice = { ok: true, text: done(r.number) };
      await this.load();
    } catch (err) {
      this.notice = { ok: false, text: `${t('actionFailed')}: ${refusalText(err)}` };
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private render(): void {
    this.title.textContent = t('rlPanel');
    this.openButton.textContent = t('rlPanel');
    this.closeButton.title = t('close');
    if (this.root.hidden) return;
    const a = currentAccount();
    const prepare = h('button', { type: 'button', class: 'cf-primary', 'data-testid': 'rl-prepare-open', disabled: !a || !mayPrepareRelease(a) || this.busy }, t('rlPrepare'));
    prepare.addEventListener('click', () => { this.form = this.form?.kind === 'prepare' ? null : { kind: 'prepare' }; this.render(); });
    const compare = h('button', { type: 'button', class: 'cf-secondary', 'data-testid': 'rl-compare-working', disabled: !this.releases.length }, t('rlCompareWorking'));
    compare.addEventListener('click', () => { this.close(); this.compare.open(this.current ?? this.releases[0]?.number, 'working'); });
    replaceChildren(this.body,
      h('div', { class: 'cf-buttons' }, prepare, compare),
      this.form?.kind === 'prepare' ? this.prepareForm() : null,
      this.notice ? h('p', { class: `cf-notice ${this.notice.ok ? 'cf-notice-ok' : 'cf-notice-error'}`, role: 'status', 'data-testid': 'rl-notice' }, this.notice.text) : null,
      this.error ? h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${this.error}`) : null,
      !this.loaded && !this.error ? h('p', { class: 'cf-muted' }, t('loading')) : null,
      this.loaded && !this.releases.length ? h('p', { class: 'cf-muted' }, t('rlNoneYet')) : null,
      h('ul', { class: 'cf-cases rl-staff-list', 'data-testid': 'rl-staff-list' }, ...this.releases.map((r) => this.item(r))));
  }

  private item(r: ReleaseSummary): HTMLElement {
    const a = currentAccount();
    const canPublish = r.status === 'draft' && !!a && mayPublishRelease(a, r);
    const canWithdraw = r.status !== 'withdrawn' && !!a && mayWithdrawRelease(a, r);
    const button = (kind: 'publish' | 'withdraw', enabled: boolean) => {
      const b = h('button', { type: 'button', class: 'cf-action', 'data-testid': `rl-${kind}`, disabled: !enabled || this.busy }, t(kind === 'publish' ? 'rlPublish' : 'rlWithdraw'));
      b.addEventListener('click', () => { this.form = this.form?.kind === kind && this.form.number === r.number ? null : { kind, number: r.number }; this.render(); });
      return b;
    };
    const compare = h('button', { type: 'button', class: 'cf-action', 'data-testid': 'rl-item-compare' }, t('rlCompareWorking'));
    compare.addEventListener('click', () => { this.close(); this.compare.open(r.number, 'working'); });
    const form = this.form && this.form.kind !== 'prepare' && this.form.number === r.number ? (this.form.kind === 'publish' ? this.publishForm(r) : this.withdrawForm(r)) : null;
    return h('li', { class: 'cf-case rl-staff-item', 'data-testid': 'rl-staff-item', 'data-number': r.number, 'data-status': r.status },
      h('div', { class: 'rl-staff-head' },
        h('span', { class: 'rl-item-edition' }, editionText(r.number)),
        h('span', { class: 'rl-item-title' }, r.title),
        h('span', { class: `rl-status rl-status-${r.status}`, 'data-testid': 'rl-item-status' }, t(`rlStatus_${r.status}`))),
      h('dl', { class: 'cf-facts cf-small' },
        h('dt', {}, t('rlReviewNumber')), h('dd', {}, r.reviewNumber ?? '—'),
        h('dt', {}, t('rlApprovalNumber')), h('dd', {}, r.approvalNumber ?? '—'),
        h('dt', {}, t('rlPrepared')), h('dd', {}, `${r.preparedBy} ${formatTime(r.preparedAt)}`),
        r.publishedAt ? h('dt', {}, t('rlPublishedAt')) : null, r.publishedAt ? h('dd', {}, `${r.publishedBy ?? ''} ${formatReleaseDate(r.publishedAt)}`) : null,
        r.withdrawn ? h('dt', {}, t('rlWithdrawnReason')) : null, r.withdrawn ? h('dd', {}, `${r.withdrawn.by} ${formatTime(r.withdrawn.at)}：${r.withdrawn.reason}`) : null),
      h('div', { class: 'cf-actions' },
        h('a', { class: 'cf-link', href: `/?release=${r.number}`, 'data-testid': 'rl-item-view' }, t('rlView')),
        r.status === 'draft' ? button('publish', canPublish) : null,
        r.status !== 'withdrawn' ? button('withdraw', canWithdraw) : null,
        compare),
      form);
  }

  private field(label: string, input: HTMLElement, required = false): HTMLElement {
    return h('label', { class: 'cf-field' }, h('span', { class: 'cf-label' }, label, required ? h('span', { class: 'cf-req' }, ' *') : null), input);
  }

  private prepareForm(): HTMLElement {
    const title = h('input', { type: 'text', maxlength: 200, 'data-testid': 'rl-prepare-title', value: t('rlDefaultTitle') });
    const notes = h('textarea', { rows: 3, maxlength: 10000, 'data-testid': 'rl-prepare-notes' });
    const approval = h('input', { type: 'text', maxlength: 100, 'data-testid': 'rl-prepare-approval', placeholder: t('rlApprovalPh') });
    const review = h('input', { type: 'text', maxlength: 100, 'data-testid': 'rl-prepare-review', placeholder: t('rlReviewPh') });
    const submit = h('button', { type: 'submit', class: 'cf-primary', 'data-testid': 'rl-prepare-submit', disabled: this.busy }, t('rlPrepareSubmit'));
    const form = h('form', { class: 'cf-form', 'data-testid': 'rl-prepare-form' },
      h('div', { class: 'cf-form-title' }, t('rlPrepare')),
      h('p', { class: 'cf-muted cf-small' }, t('rlPrepareHint')),
      this.field(t('rlTitle'), title, true), this.field(t('rlNotes'), notes), this.field(t('rlApprovalNumber'), approval), this.field(t('rlReviewNumber'), review),
      h('div', { class: 'cf-buttons' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!title.value.trim()) {
        title.classList.add('invalid');
        title.focus();
        return;
      }
      const opt = (x: string) => x.trim() || undefined;
      void this.act(() => prepareRelease({ title: title.value.trim(), notes: opt(notes.value), approvalNumber: opt(approval.value), reviewNumber: opt(review.value) }), (n) => t('rlPreparedDone', { n }));
    });
    return form;
  }

  private publishForm(r: ReleaseSummary): HTMLElement {
    const review = h('input', { type: 'text', maxlength: 100, 'data-testid': 'rl-publish-review', value: r.reviewNumber ?? '', placeholder: t('rlReviewPh') });
    const approval = h('input', { type: 'text', maxlength: 100, 'data-testid': 'rl-publish-approval', value: r.approvalNumber ?? '', placeholder: t('rlApprovalPh') });
    const submit = h('button', { type: 'submit', class: 'cf-primary', 'data-testid': 'rl-publish-submit', disabled: this.busy }, t('rlPublishSubmit'));
    const form = h('form', { class: 'cf-form', 'data-testid': 'rl-publish-form' },
      h('p', { class: 'cf-muted cf-small' }, t('rlPublishHint')),
      this.field(t('rlReviewNumber'), review, true), this.field(t('rlApprovalNumber'), approval),
      h('div', { class: 'cf-buttons' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!review.value.trim()) {
        review.classList.add('invalid');
        review.focus();
        return;
      }
      const body = { reviewNumber: review.value.trim(), ...(approval.value.trim() && approval.value.trim() !== r.approvalNumber ? { approvalNumber: approval.value.trim() } : {}) };
      void this.act(() => publishRelease(r.number, body), (n) => t('rlPublishedDone', { n }));
    });
    return form;
  }

  private withdrawForm(r: ReleaseSummary): HTMLElement {
    const reason = h('textarea', { rows: 2, maxlength: 2000, 'data-testid': 'rl-withdraw-reason' });
    const submit = h('button', { type: 'submit', class: 'cf-primary', 'data-testid': 'rl-withdraw-submit', disabled: this.busy }, t('rlWithdrawSubmit'));
    const form = h('form', { class: 'cf-form', 'data-testid': 'rl-withdraw-form' },
      h('p', { class: 'cf-note-warn' }, t('rlWithdrawHint')),
      this.field(t('rlWithdrawReason'), reason, true),
      h('div', { class: 'cf-buttons' }, submit));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!reason.value.trim()) {
        reason.classList.add('invalid');
        reason.focus();
        return;
      }
      void this.act(() => withdrawRelease(r.number, reason.value.trim()), (n) => t('rlWithdrawnDone', { n }));
    });
    return form;
  }
}

/** Mounts the 成果发布 button and panel (and the comparison) into the working viewer. */
export function mountReleases(header: HTMLElement, host: HTMLElement, map: MlMap): ReleasesPanel {
  return new ReleasesPanel(header, host, map);
}
