// What a reviewer or the window does to one application: sign an opinion, correct one, withdraw
// the application, amend and resubmit it, re-check a version against today's plans. Each checks
// its form first, calls the API and puts the answer into the state; a refusal is said in words,
// and one that comes from a stale view (409 stale_version …) reloads the application first.
import { DECISIONS, EVENT_KINDS, OUTCOMES } from '../../../server/applications/vocabulary';
import { nameOf, colon, paren, t, term } from '../i18n/i18n';
import { amend, fetchApplication, fetchRecheck, postCorrection, postOpinion, withdraw, type Id, type SiteError, type SiteInput } from './api';
import {
  amendBody, amendDraftOf, amendProblems, emptyOpinion, opinionBody, opinionProblemKey, opinionProblems,
  type ApplicationState, type NoticeWhere, type OpinionDraft,
} from './detail-state';

/** The refusals that mean the view is behind the server's state. */
const STALE = ['stale_version', 'not_under_review', 'already_signed', 'already_corrected'];

export class ApplicationActions {
  /** `newVersion`: an amendment made a new version, whose report goes on the map. */
  constructor(private readonly s: ApplicationState, private readonly newVersion: (version: number) => void) {}

  private async afterWriteError(err: unknown, where: NoticeWhere): Promise<void> {
    const e = err as SiteError;
    if (e.status === 409 && STALE.includes(e.code)) {
      try {
        const app = await fetchApplication(this.s.id);
        this.s.setApp(app);
        this.s.notice = { kind: 'error', text: `${t('apStale', { v: app.version })}${paren(`${e.code}: ${e.message}`)}`, where };
      } catch {
        this.s.notice = { kind: 'error', text: `${t('actionFailed')}${colon()}${e.message} (${e.code})`, where };
      }
    } else {
      this.s.notice = { kind: 'error', text: `${t('actionFailed')}${colon()}${e.message}${e.code ? ` (${e.code})` : ''}`, where };
    }
  }

  /** Runs a write: busy while it goes, the notice after, the view rendered at each step. */
  private async write(busy: ApplicationState['busy'], where: NoticeWhere, send: () => Promise<void>): Promise<void> {
    const s = this.s;
    s.busy = busy;
    s.notice = undefined;
    s.changed();
    try {
      await send();
    } catch (err) {
      await this.afterWriteError(err, where);
    } finally {
      s.busy = '';
      s.changed();
    }
  }

  /** Whether the draft is complete; otherwise says what it lacks by its form. */
  private checked(d: OpinionDraft, withNote: boolean, where: NoticeWhere): boolean {
    d.invalid = opinionProblems(d, withNote);
    if (!d.invalid.size) return true;
    this.s.notice = { kind: 'error', text: t(opinionProblemKey(d.invalid)), where };
    this.s.changed();
    return false;
  }

  /** Signs the department's opinion on the current version. */
  async signOpinion(): Promise<void> {
    const s = this.s;
    const app = s.app;
    if (!app || s.busy || !this.checked(s.opinion, false, 'opinion')) return;
    await this.write('opinion', 'opinion', async () => {
      const r = await postOpinion(app.id, { version: app.version, ...opinionBody(s.opinion) });
      s.opinion = emptyOpinion();
      s.setApp(r.application);
      s.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${nameOf(DECISIONS, r.opinion.decision)} · ${nameOf(OUTCOMES, r.application.status)}`, where: 'top' };
    });
  }

  /** Opens (opinionId) or closes the correction form. */
  openCorrection(opinionId: Id | undefined): void {
    this.s.correction = opinionId === undefined ? undefined : { ...emptyOpinion(), opinionId };
    this.s.notice = undefined;
    this.s.changed();
  }

  /** Signs the correction of the department's opinion. */
  async signCorrection(): Promise<void> {
    const s = this.s;
    const app = s.app;
    const c = s.correction;
    if (!app || !c || s.busy || !this.checked(c, true, 'correction')) return;
    await this.write('correction', 'correction', async () => {
      const r = await postCorrection(app.id, c.opinionId, { ...opinionBody(c), note: c.note.trim() });
      s.correction = undefined;
      s.setApp(r.application);
      s.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${nameOf(EVENT_KINDS, 'correction')} · ${nameOf(DECISIONS, r.opinion.decision)} · ${nameOf(OUTCOMES, r.application.status)}`, where: 'top' };
    });
  }

  /** Opens or closes the withdrawal form. */
  toggleWithdraw(open: boolean): void {
    this.s.withdrawOpen = open;
    if (!open) this.s.notice = undefined;
    this.s.changed();
  }

  /** Withdraws the application, with the reason typed. */
  async withdraw(): Promise<void> {
    const s = this.s;
    const app = s.app;
    if (!app || s.busy) return;
    if (!s.withdrawReason.trim()) {
      s.notice = { kind: 'error', text: t('apNeedWithdrawReason'), where: 'withdraw' };
      s.changed();
      return;
    }
    await this.write('withdraw', 'withdraw', async () => {
      const next = await withdraw(app.id, s.withdrawReason.trim());
      s.withdrawOpen = false;
      s.withdrawReason = '';
      s.setApp(next);
      s.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${nameOf(OUTCOMES, next.status)}`, where: 'top' };
    });
  }

  /** Opens the amendment form, filled in from the current version. */
  openAmend(): void {
    const s = this.s;
    if (!s.app) return;
    s.amendOpen = true;
    s.withdrawOpen = false;
    s.amendDraft = amendDraftOf(s.app.current);
  }

  /** Resubmits the application amended (`site`: the new site, when it changes and has been checked). */
  async amend(site: SiteInput | undefined): Promise<void> {
    const s = this.s;
    const app = s.app;
    const d = s.amendDraft;
    if (!app || s.busy) return;
    d.invalid = amendProblems(d, site);
    if (d.invalid.size) {
      const text = d.invalid.has('note') ? t('apNeedAmendNote') : d.invalid.has('site') ? t('apSiteNeeded') : t('apSubmitMissing', { f: [...d.invalid].join('、') });
      s.notice = { kind: 'error', text, where: 'amend' };
      s.changed();
      return;
    }
    await this.write('amend', 'amend', async () => {
      const next = await amend(app.id, amendBody(d, app, site));
      s.amendOpen = false;
      s.setApp(next);
      s.layersTurnedOn = [];
      s.notice = { kind: 'ok', text: `${t('apDone')}${colon()}${t('apVersionN', { n: next.version })} · ${term('apVerdict', next.current.check.verdict)}`, where: 'top' };
      this.newVersion(next.version);
    });
  }

  /** Runs the current version's check again on today's plans. */
  async recheck(): Promise<void> {
    const s = this.s;
    const app = s.app;
    if (!app || s.recheck.busy) return;
    s.recheck = { ...s.recheck, busy: true };
    s.changed();
    try {
      s.recheck = { busy: false, result: await fetchRecheck(app.id, app.current.version, 'current') };
    } catch (e) {
      s.recheck = { busy: false, error: String((e as Error).message ?? e) };
    }
    s.changed();
  }
}
