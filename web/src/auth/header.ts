// The header's account area: 登录 opens a small login dialog (account name, password, the
// server's message when it refuses); logged in, the account's display name and department with a
// 退出 button. The state is restored from the session cookie on load (GET /api/auth/me). A write
// the server refuses for want of an account (401) opens the dialog, saying so.
import { lang, onLangChange, t } from '../i18n/i18n';
import type { Named } from '../layers/registry';
import { onUnauthenticated } from '../platform/http';
import { h, replaceChildren } from '../ui/dom';
import { currentAccount, login, logout, onAccountChange, restoreSession, type Account } from './session';

export class AuthHeader {
  /** The session of the browser's cookie, restored (null: anonymous); the viewer chooses its mode by it. */
  readonly ready: Promise<Account | null>;
  private departments: Named[] = [];
  private busy = false;
  private readonly area = h('div', { class: 'auth-area', 'data-testid': 'auth-area' });
  private readonly loginButton = h('button', { type: 'button', class: 'auth-login', 'data-testid': 'login-open', 'aria-expanded': 'false', 'aria-haspopup': 'dialog' });
  private readonly accountEl = h('span', { class: 'auth-account', 'data-testid': 'auth-account' });
  private readonly logoutButton = h('button', { type: 'button', class: 'auth-logout', 'data-testid': 'logout' });
  private readonly nameInput = h('input', { type: 'text', id: 'login-name', name: 'username', autocomplete: 'username', maxlength: 40, required: true, 'data-testid': 'login-name' });
  private readonly passwordInput = h('input', { type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', maxlength: 200, required: true, 'data-testid': 'login-password' });
  private readonly errorEl = h('p', { class: 'error auth-error', role: 'alert', 'data-testid': 'login-error' });
  private readonly submitButton = h('button', { type: 'submit', class: 'auth-submit', 'data-testid': 'login-submit' });
  private readonly cancelButton = h('button', { type: 'button', class: 'auth-cancel', 'data-testid': 'login-cancel' });
  private readonly dialogTitle = h('h2', { class: 'panel-title', id: 'login-title' });
  private readonly nameLabel = h('span', { class: 'auth-label' });
  private readonly passwordLabel = h('span', { class: 'auth-label' });
  private readonly form = h('form', { class: 'auth-form', novalidate: true },
    h('label', { class: 'auth-field', for: 'login-name' }, this.nameLabel, this.nameInput),
    h('label', { class: 'auth-field', for: 'login-password' }, this.passwordLabel, this.passwordInput),
    this.errorEl,
    h('div', { class: 'auth-buttons' }, this.submitButton, this.cancelButton));
  private readonly dialog = h('section', { class: 'auth-dialog', role: 'dialog', 'aria-labelledby': 'login-title', 'data-testid': 'login-dialog' },
    this.dialogTitle, this.form);

  constructor(header: HTMLElement) {
    this.dialog.hidden = true;
    this.errorEl.hidden = true;
    this.area.append(this.loginButton, this.accountEl, this.logoutButton);
    // At the header's right end, after the language switch (the import and conflicts buttons go
    // before the switch); the dialog floats under it, above the map and its panels.
    header.append(this.area);
    document.body.append(this.dialog);
    this.loginButton.addEventListener('click', () => (this.dialog.hidden ? this.openDialog() : this.closeDialog()));
    this.cancelButton.addEventListener('click', () => this.closeDialog());
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
    this.dialog.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.closeDialog(); });
    this.logoutButton.addEventListener('click', () => void this.logout());
    onAccountChange(() => this.render());
    onLangChange(() => this.render());
    onUnauthenticated(() => {
      this.openDialog();
      this.showError(t('loginRequired'));
    });
    this.render();
    this.ready = restoreSession();
  }

  /** The departments' names (from the layer catalogue) for the header; ids are shown until then. */
  setDepartments(departments: Named[]): void {
    this.departments = departments;
    this.render();
  }

  /** The department's name in the current language ('' for an admin's, who acts for none). */
  private departmentName(id: string | null): string {
    if (id === null) return '';
    const d = this.departments.find((x) => x.id === id);
    return d ? (lang() === 'zh' ? d.zh : d.en) : id;
  }

  private openDialog(): void {
    this.dialog.hidden = false;
    this.loginButton.setAttribute('aria-expanded', 'true');
    this.showError(undefined);
    this.nameInput.focus();
  }

  private closeDialog(): void {
    this.dialog.hidden = true;
    this.loginButton.setAttribute('aria-expanded', 'false');
    this.passwordInput.value = '';
    this.showError(undefined);
  }

  private showError(message: string | undefined): void {
    this.errorEl.textContent = message ?? '';
    this.errorEl.hidden = !message;
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    const name = this.nameInput.value.trim();
    const password = this.passwordInput.value;
    if (!name || !password) {
      this.showError(t(!name ? 'loginNameMissing' : 'loginPasswordMissing'));
      (!name ? this.nameInput : this.passwordInput).focus();
      return;
    }
    this.busy = true;
    this.submitButton.disabled = true;
    this.showError(undefined);
    try {
      await login(name, password);
      this.closeDialog();
      this.nameInput.value = '';
    } catch (err) {
      // The server's own message (e.g. 401 invalid_credentials, 429 too_many_attempts).
      this.showError(`${t('loginFailed')}: ${(err as Error).message}`);
      this.passwordInput.select();
    } finally {
      this.busy = false;
      this.submitButton.disabled = false;
    }
  }

  private async logout(): Promise<void> {
    this.logoutButton.disabled = true;
    try {
      await logout();
    } catch {
      /* anonymous anyway */
    } finally {
      this.logoutButton.disabled = false;
    }
  }

  private render(): void {
    const a = currentAccount();
    this.loginButton.textContent = t('login');
    this.logoutButton.textContent = t('logout');
    this.dialogTitle.textContent = t('loginTitle');
    this.nameLabel.textContent = t('loginName');
    this.passwordLabel.textContent = t('loginPassword');
    this.submitButton.textContent = t('login');
    this.cancelButton.textContent = t('cancel');
    this.loginButton.hidden = !!a;
    this.accountEl.hidden = !a;
    this.logoutButton.hidden = !a;
    this.area.dataset.account = a?.name ?? '';
    if (a) {
      this.closeDialog();
      const dept = this.departmentName(a.department);
      replaceChildren(this.accountEl,
        h('span', { class: 'auth-display-name', 'data-testid': 'auth-display-name' }, a.display_name),
        h('span', { class: 'auth-department', 'data-testid': 'auth-department' }, dept));
      this.accountEl.title = dept ? `${a.name} · ${dept}` : a.name;
    } else {
      replaceChildren(this.accountEl);
      this.accountEl.removeAttribute('title');
    }
  }
}

/** Mounts the account area (登录 / name, department, 退出) into the header and restores the session. */
export function mountAuth(header: HTMLElement): AuthHeader {
  return new AuthHeader(header);
}
