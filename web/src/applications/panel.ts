// The 审批 (joint review) panel: a header button opens it over the left of the map. What it offers
// follows the account logged in:
//   受理申请 — the window (window_clerk): the application form (form.ts);
//   待办审查 — a department's reviewer: the applications waiting for its opinion, by deadline,
//     with the days left and the overdue ones in red;
//   全部申请 — every account: all applications with a status filter.
// A click on an application opens it (detail.ts): its compliance report on the map and beside it,
// the departments' opinions (and the reviewer's opinion form), the window's withdraw and amend,
// the versions and the timeline. Anonymous visitors are asked to log in (the API answers them 401).
import type { Map as MlMap } from 'maplibre-gl';
import { currentAccount, onAccountChange, type Account } from '../auth/session';
import { allows, reviewInbox, submitApplication } from '../../../server/accounts/needs';
import { STATUSES, WINDOW_DEPARTMENT } from '../../../server/applications/vocabulary';
import { colon, lang, onLangChange, pick, t } from '../i18n/i18n';
import { h, replaceChildren } from '../ui/dom';
import { headerButton, showPanel } from '../ui/panel';
import { fetchInbox, fetchList, fetchProjectTypes, type Application, type AppStatus, type Id, type ProjectTypes, type Summary } from './api';
import { ApplicationDetail, statusBadge, verdictBadge } from './detail';
import { daysLeftText, daysUntil, haText } from './format';
import { ApplicationForm } from './form';
import './applications.css';

type Tab = 'new' | 'inbox' | 'list';
const PAGE = 50;

interface ListState {
  items: Summary[];
  total: number;
  loading: boolean;
  error?: string;
  loaded: boolean;
}

export class ApplicationsPanel {
  private tab: Tab = 'list';
  private types: ProjectTypes | undefined;
  private typesError: string | undefined;
  private status: AppStatus | '' = '';
  private department = '';
  private list: ListState = { items: [], total: 0, loading: false, loaded: false };
  private inbox: ListState & { department?: string } = { items: [], total: 0, loading: false, loaded: false };
  private form: ApplicationForm | undefined;
  private detail: ApplicationDetail | undefined;
  private request = 0;

  private readonly openButton = h('button', { type: 'button', class: 'ap-open', 'data-testid': 'ap-open', 'aria-expanded': 'false' });
  private readonly title = h('h2', { class: 'panel-title', id: 'ap-title' });
  private readonly closeButton = h('button', { type: 'button', class: 'close', 'data-testid': 'ap-close' }, '×');
  private readonly tabsEl = h('div', { class: 'ap-tabs', role: 'tablist' });
  private readonly backButton = h('button', { type: 'button', class: 'ap-back', 'data-testid': 'ap-back' });
  private readonly body = h('div', { class: 'ap-body', role: 'tabpanel' });
  readonly root = h('section', { class: 'ap-panel', 'data-testid': 'ap-panel', role: 'dialog', 'aria-labelledby': 'ap-title' },
    h('div', { class: 'panel-head' }, this.title, this.closeButton),
    this.tabsEl,
    this.body);

  constructor(private readonly map: MlMap, header: HTMLElement, private readonly host: HTMLElement) {
    this.root.hidden = true;
    host.append(this.root);
    headerButton(header, this.openButton, this.root, () => this.open(), () => this.close());
    this.closeButton.addEventListener('click', () => this.close());
    this.backButton.addEventListener('click', () => this.back());
    onLangChange(() => this.render());
    onAccountChange((a) => this.accountChanged(a));
    // The viewer is made once the session is known (main.ts): start from its account (the window on its form).
    this.accountChanged(currentAccount());
  }

  get isOpen(): boolean {
    return !this.root.hidden;
  }

  /** Opens the panel: the application or the form shown again on the map, what the tab shows loaded. */
  open(): void {
    showPanel(this.root, this.openButton, this.host, 'ap-panel-open', true);
    this.ensureLoaded();
    this.render();
    if (this.detail) this.detail.redisplay();
    else if (this.tab === 'new') this.form?.shown();
  }

  /** Closes the panel and takes its drawings off the map (the state stays for the next open). */
  close(): void {
    showPanel(this.root, this.openButton, this.host, 'ap-panel-open', false);
    this.detail?.dispose();
    this.form?.hidden();
  }

  /** Opens an application by id (from the lists, after a submission, or from outside). */
  openApplication(id: Id): void {
    if (this.root.hidden) this.open();
    this.form?.hidden();
    this.detail?.dispose();
    this.detail = new ApplicationDetail(id, this.map, () => this.root, currentAccount, () => this.types, (app) => this.applicationChanged(app));
    this.render();
    this.body.scrollTop = 0;
  }

  private back(): void {
    this.detail?.dispose();
    this.detail = undefined;
    this.render();
    if (this.tab === 'new') this.form?.shown();
    this.refreshLists();
  }

  private accountChanged(a: Account | null): void {
    this.detail?.dispose();
    this.detail = undefined;
    this.form?.hidden();
    this.form = undefined;
    this.list = { items: [], total: 0, loading: false, loaded: false };
    this.inbox = { items: [], total: 0, loading: false, loaded: false };
    this.tab = this.tabsFor(a)[0] ?? 'list';
    this.typesError = undefined;
    if (!a) this.types = undefined;
    if (this.isOpen) this.ensureLoaded();
    this.render();
  }

  private tabsFor(a: Account | null): Tab[] {
    if (!a) return [];
    const tabs: Tab[] = [];
    if (allows(a, submitApplication)) tabs.push('new');
    if (allows(a, reviewInbox)) tabs.push('inbox');
    tabs.push('list');
    return tabs;
  }

  private ensureLoaded(): void {
    const a = currentAccount();
    if (!a) return;
    if (!this.types && !this.typesError) {
      void fetchProjectTypes().then((types) => {
        this.types = types;
        this.form?.setTypes(types);
        this.render();
      }, (err: Error) => {
        this.typesError = err.message;
        this.render();
      });
    }
    if (this.tab === 'new' && !this.form && allows(a, submitApplication)) {
      this.form = new ApplicationForm(this.map, () => this.root, this.types, (app) => this.submitted(app));
    }
    if (this.tab === 'inbox' && !this.inbox.loaded && !this.inbox.loading) void this.loadInbox();
    if (this.tab === 'list' && !this.list.loaded && !this.list.loading) void this.loadList(false);
  }

  private refreshLists(): void {
    this.list.loaded = false;
    this.inbox.loaded = false;
    this.ensureLoaded();
  }

  private async loadList(more: boolean): Promise<void> {
    const request = ++this.request;
    this.list = { ...this.list, loading: true, error: undefined, ...(more ? {} : { items: [], total: 0 }) };
    this.renderBody();
    try {
      const page = await fetchList(this.status, this.department, PAGE, more ? this.list.items.length : 0);
      if (request !== this.request) return;
      this.list = { items: more ? [...this.list.items, ...page.items] : page.items, total: page.total, loading: false, loaded: true };
    } catch (err) {
      if (request !== this.request) return;
      this.list = { ...this.list, loading: false, loaded: true, error: (err as Error).message };
    }
    this.renderBody();
  }

  private async loadInbox(): Promise<void> {
    this.inbox = { ...this.inbox, loading: true, error: undefined };
    if (!this.detail) this.renderBody();
    try {
      const r = await fetchInbox();
      this.inbox = { items: r.items, total: r.items.length, department: r.department, loading: false, loaded: true };
    } catch (err) {
      this.inbox = { ...this.inbox, loading: false, loaded: true, error: (err as Error).message };
    }
    this.renderTabs(); // the tab's count too
    if (!this.detail) this.renderBody();
  }

  private submitted(app: Application): void {
    this.list.loaded = false;
    this.openApplication(app.id);
  }

  private applicationChanged(app: Application): void {
    // Keep the lists' copies in step (they are reloaded on the way back anyway).
    const i = this.list.items.findIndex((x) => x.id === app.id);
    if (i >= 0) this.list.items[i] = { ...this.list.items[i]!, status: app.status, version: app.version, verdict: app.current.check.verdict };
    this.inbox.loaded = false;
    // A reviewer's inbox count follows its opinions.
    const a = currentAccount();
    if (a && allows(a, reviewInbox)) void this.loadInbox();
  }

  private showTab(tab: Tab): void {
    if (this.detail) {
      this.detail.dispose();
      this.detail = undefined;
    }
    if (this.tab === 'new' && tab !== 'new') this.form?.hidden();
    this.tab = tab;
    if (tab === 'inbox') this.inbox.loaded = false;
    if (tab === 'list') this.list.loaded = false;
    this.ensureLoaded();
    this.render();
    if (tab === 'new') this.form?.shown();
  }

  // ---- rendering -------------------------------------------------------------------------------

  private departmentName(id: string): string {
    const d = this.types?.departments.find((x) => x.id === id);
    return d ? pick(d) : id;
  }

  private typeName(code: string): string {
    const x = this.types?.types.find((y) => y.code === code);
    return x ? pick(x) : code;
  }

  private item(s: Summary, inbox: boolean): HTMLElement {
    const l = lang();
    const running = s.status === 'under_review';
    const days = s.days_left ?? daysUntil(s.deadline);
    const overdue = running && (s.overdue || days < 0);
    const button = h('button', { type: 'button', class: 'ap-item-button' },
      h('div', { class: 'ap-item-line' },
        h('span', { class: 'ap-item-number' }, s.number),
        statusBadge(s.status),
        verdictBadge(s.verdict),
        h('span', { class: 'ap-item-version ap-muted' }, t('apVersionN', { n: s.version }))),
      h('div', { class: 'ap-item-name' }, s.name),
      h('div', { class: 'ap-item-meta' },
        h('span', {}, this.typeName(s.project_type)),
        h('span', {}, s.investor),
        h('span', { class: 'ap-num' }, haText(0, l, s.site_area_ha))),
      h('div', { class: 'ap-item-meta' },
        h('span', { class: `ap-deadline${overdue ? ' ap-overdue' : ''}`, 'data-testid': 'ap-item-deadline', 'data-overdue': String(overdue) },
          `${t('apDeadline')} ${s.deadline}`, running ? ` · ${daysLeftText(days, l)}` : ''),
        !inbox && running && s.waiting_for.length
          ? h('span', { class: 'ap-muted' }, `${t('apWaitingFor')}${colon()}${s.waiting_for.map((d) => this.departmentName(d)).join('、')}`) : null));
    button.addEventListener('click', () => this.openApplication(s.id));
    return h('li', { class: `ap-item${overdue ? ' ap-item-overdue' : ''}`, 'data-testid': inbox ? 'ap-inbox-item' : 'ap-list-item', 'data-id': s.id, 'data-number': s.number,
      'data-status': s.status, 'data-overdue': String(overdue) }, button);
  }

  private errorRetry(message: string, retry: () => void): HTMLElement {
    const b = h('button', { type: 'button', class: 'ap-btn' }, t('retry'));
    b.addEventListener('click', retry);
    return h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${message} `, b);
  }

  private listView(): HTMLElement {
    const select = h('select', { id: 'ap-filter-status', 'data-testid': 'ap-filter-status' },
      h('option', { value: '' }, t('allStatuses')),
      ...STATUSES.map((s) => h('option', { value: s.code }, pick(s))));
    select.value = this.status;
    select.addEventListener('change', () => {
      this.status = select.value as AppStatus | '';
      void this.loadList(false);
    });
    const dept = h('select', { id: 'ap-filter-dept', 'data-testid': 'ap-filter-department', title: t('apFilterDeptTitle') },
      h('option', { value: '' }, t('apAllDepartments')),
      ...(this.types?.departments ?? []).filter((d) => d.id !== WINDOW_DEPARTMENT).map((d) => h('option', { value: d.id }, pick(d))));
    dept.value = this.department;
    dept.addEventListener('change', () => {
      this.department = dept.value;
      void this.loadList(false);
    });
    const l = this.list;
    const more = h('button', { type: 'button', class: 'ap-btn ap-btn-wide', 'data-testid': 'ap-list-more', disabled: l.loading }, t('loadMore'));
    more.addEventListener('click', () => void this.loadList(true));
    return h('div', { class: 'ap-list-view', 'data-testid': 'ap-list' },
      h('div', { class: 'ap-toolbar' },
        h('span', { class: 'ap-filters' },
          h('label', { class: 'ap-inline', for: 'ap-filter-status' }, h('span', { class: 'ap-label' }, t('apFilterStatus')), select),
          h('label', { class: 'ap-inline', for: 'ap-filter-dept' }, h('span', { class: 'ap-label' }, t('apFilterDept')), dept)),
        h('span', { class: 'ap-count', 'data-testid': 'ap-list-count', 'data-total': l.total }, l.loaded ? t('apTotal', { n: l.total }) : '')),
      l.items.length ? h('ul', { class: 'ap-items' }, ...l.items.map((s) => this.item(s, false))) : null,
      l.loaded && !l.loading && !l.error && !l.items.length ? h('p', { class: 'ap-muted ap-empty' }, t('apNone')) : null,
      l.error ? this.errorRetry(l.error, () => void this.loadList(false)) : null,
      l.loading ? h('p', { class: 'ap-muted' }, t('loading')) : null,
      l.items.length < l.total && !l.error ? more : null);
  }

  private inboxView(): HTMLElement {
    const b = this.inbox;
    const dept = b.department ? this.departmentName(b.department) : this.departmentName(currentAccount()?.department ?? '');
    const overdue = b.items.filter((s) => s.overdue || (s.days_left ?? daysUntil(s.deadline)) < 0).length;
    return h('div', { class: 'ap-inbox-view', 'data-testid': 'ap-inbox' },
      h('div', { class: 'ap-toolbar' },
        h('span', { class: 'ap-count', 'data-testid': 'ap-inbox-count', 'data-total': b.items.length }, b.loaded ? t('apInboxOf', { d: dept, n: b.items.length }) : ''),
        overdue ? h('span', { class: 'ap-overdue-chip' }, `${t('apOverdue')} ${overdue}`) : null),
      b.items.length ? h('ul', { class: 'ap-items' }, ...b.items.map((s) => this.item(s, true))) : null,
      b.loaded && !b.loading && !b.error && !b.items.length ? h('p', { class: 'ap-muted ap-empty', 'data-testid': 'ap-inbox-empty' }, t('apInboxNone')) : null,
      b.error ? this.errorRetry(b.error, () => void this.loadInbox()) : null,
      b.loading ? h('p', { class: 'ap-muted' }, t('loading')) : null);
  }

  private renderBody(): void {
    const a = currentAccount();
    this.root.dataset.tab = this.detail ? 'detail' : this.tab;
    if (!a) {
      replaceChildren(this.body, h('div', { class: 'ap-login-first', 'data-testid': 'ap-login-first' }, h('p', {}, t('apLoginFirst'))));
      return;
    }
    if (this.detail) {
      this.backButton.textContent = t('apBack');
      replaceChildren(this.body, this.backButton, this.detail.root);
      return;
    }
    switch (this.tab) {
      case 'new':
        replaceChildren(this.body,
          this.typesError ? h('p', { class: 'error', role: 'alert' }, `${t('loadError')}: ${this.typesError}`) : null,
          this.form?.root);
        break;
      case 'inbox':
        replaceChildren(this.body, this.inboxView());
        break;
      case 'list':
        replaceChildren(this.body, this.listView());
        break;
    }
  }

  render(): void {
    this.openButton.textContent = t('apOpen');
    this.openButton.title = t('apOpenTitle');
    this.title.textContent = t('apTitle');
    this.closeButton.title = t('close');
    this.renderTabs();
    this.form?.render();
    this.detail?.render();
    this.renderBody();
  }

  private renderTabs(): void {
    const a = currentAccount();
    const tabs = this.tabsFor(a);
    const labels: Record<Tab, string> = { new: t('apTabNew'), inbox: t('apTabInbox'), list: t('apTabList') };
    replaceChildren(this.tabsEl, ...tabs.map((tab) => {
      const b = h('button', { type: 'button', role: 'tab', class: 'ap-tab', 'data-testid': `ap-tab-${tab}`, 'aria-selected': String(!this.detail && this.tab === tab) }, labels[tab],
        tab === 'inbox' && this.inbox.loaded && this.inbox.items.length ? h('span', { class: 'ap-tab-badge', 'data-testid': 'ap-inbox-badge' }, String(this.inbox.items.length)) : null);
      b.addEventListener('click', () => this.showTab(tab));
      return b;
    }));
    this.tabsEl.hidden = tabs.length === 0;
  }
}

/** Mounts the 审批 button into the header and its panel over the map. */
export function mountApplications(header: HTMLElement, host: HTMLElement, map: MlMap): ApplicationsPanel {
  return new ApplicationsPanel(map, header, host);
}
