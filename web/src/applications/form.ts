// The window's application form (受理申请): project name, type (with the departments that always
// review it and their deadline), investor, requested area (公顷 or 亩), and the site (site.ts: drawn,
// uploaded or typed, normalised by the server and shown on the map). 提交申请 sends it; the
// compliance check runs with the submission and the panel opens the new application's report.
import type { Map as MlMap } from 'maplibre-gl';
import { colon, pick, t, type StringKey } from '../i18n/i18n';
import { h, replaceChildren } from '../ui/dom';
import { submitApplication, type Application, type ProjectTypeCode, type ProjectTypes } from './api';
import { parseArea } from './format';
import { SiteEditor } from './site';

type Field = 'name' | 'type' | 'investor' | 'area' | 'site';

export class ApplicationForm {
  readonly root = h('form', { class: 'ap-form', 'data-testid': 'ap-form', novalidate: true });
  private readonly site: SiteEditor;
  private readonly nameInput = h('input', { type: 'text', id: 'ap-name', maxlength: 200, 'data-testid': 'ap-name', autocomplete: 'off' });
  private readonly typeSelect = h('select', { id: 'ap-type', 'data-testid': 'ap-type' });
  private readonly typeInfo = h('p', { class: 'ap-hint', 'data-testid': 'ap-type-info' });
  private readonly investorInput = h('input', { type: 'text', id: 'ap-investor', maxlength: 200, 'data-testid': 'ap-investor', autocomplete: 'organization' });
  private readonly areaInput = h('input', { type: 'text', id: 'ap-area', inputmode: 'decimal', maxlength: 16, 'data-testid': 'ap-requested-area' });
  private readonly areaUnit = h('select', { 'data-testid': 'ap-requested-unit', 'aria-label': 'unit' });
  private readonly submitButton = h('button', { type: 'submit', class: 'ap-btn ap-btn-primary ap-btn-wide', 'data-testid': 'ap-submit' });
  private readonly message = h('div', { class: 'ap-form-message', 'aria-live': 'polite', 'data-testid': 'ap-form-message' });
  private readonly labels: Record<Field, HTMLElement> = {
    name: h('span', { class: 'ap-label' }), type: h('span', { class: 'ap-label' }), investor: h('span', { class: 'ap-label' }),
    area: h('span', { class: 'ap-label' }), site: h('h4', { class: 'ap-subhead' }),
  };
  private readonly intro = h('p', { class: 'ap-intro' });
  private readonly heading = h('h3', { class: 'ap-form-title' });
  private invalid = new Set<Field>();
  private busy = false;

  constructor(map: MlMap, panel: () => HTMLElement, private types: ProjectTypes | undefined, private readonly onSubmitted: (app: Application) => void) {
    this.site = new SiteEditor(map, panel, () => this.renderState());
    this.root.append(
      this.heading, this.intro,
      h('label', { class: 'ap-field', for: 'ap-name' }, this.labels.name, this.nameInput),
      h('div', { class: 'ap-grid2' },
        h('label', { class: 'ap-field', for: 'ap-type' }, this.labels.type, this.typeSelect),
        h('label', { class: 'ap-field', for: 'ap-area' }, this.labels.area, h('span', { class: 'ap-with-unit' }, this.areaInput, this.areaUnit))),
      this.typeInfo,
      h('label', { class: 'ap-field', for: 'ap-investor' }, this.labels.investor, this.investorInput),
      h('section', { class: 'ap-site-section' }, this.labels.site, this.site.root),
      this.message,
      this.submitButton);
    this.typeSelect.addEventListener('change', () => { this.invalid.delete('type'); this.renderTypeInfo(); this.renderState(); });
    for (const [el, f] of [[this.nameInput, 'name'], [this.investorInput, 'investor'], [this.areaInput, 'area']] as const) {
      el.addEventListener('input', () => { if (this.invalid.delete(f)) this.renderState(); });
    }
    this.root.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
    this.render();
  }

  setTypes(types: ProjectTypes): void {
    this.types = types;
    this.render();
  }

  /** Shows the form's site on the map again (the panel came back to the form). */
  shown(): void {
    this.site.redisplay();
  }

  /** Takes the form's site off the map (the panel closes or leaves the form). */
  hidden(): void {
    this.site.dispose();
  }

  private departmentName(id: string): string {
    const d = this.types?.departments.find((x) => x.id === id);
    return d ? pick(d) : id;
  }

  private renderTypeInfo(): void {
    const type = this.types?.types.find((x) => x.code === this.typeSelect.value);
    this.typeInfo.textContent = type ? t('apTypeDepartments', { d: type.departments.map((d) => this.departmentName(d)).join('、'), n: type.deadline_days }) : '';
    this.typeInfo.hidden = !type;
  }

  private async submit(): Promise<void> {
    if (this.busy) return;
    const name = this.nameInput.value.trim();
    const type = this.typeSelect.value as ProjectTypeCode | '';
    const investor = this.investorInput.value.trim();
    const area = parseArea(this.areaInput.value, this.areaUnit.value === 'mu' ? 'mu' : 'ha');
    const site = this.site.input;
    this.invalid = new Set();
    if (!name) this.invalid.add('name');
    if (!type) this.invalid.add('type');
    if (!investor) this.invalid.add('investor');
    if (area !== undefined && Number.isNaN(area)) this.invalid.add('area');
    if (!site) this.invalid.add('site');
    if (this.invalid.size || !type || !site) {
      const missing = [...this.invalid].map((f) => (f === 'site' ? t('apSite') : this.labels[f].textContent ?? f));
      this.showMessage('error', this.invalid.has('site') && this.invalid.size === 1 ? t('apSiteNeeded') : t('apSubmitMissing', { f: missing.join('、') }));
      this.renderState();
      return;
    }
    this.busy = true;
    this.showMessage('busy', t('submitting'));
    this.renderState();
    try {
      const app = await submitApplication({ name, project_type: type, investor, ...(area !== undefined ? { requested_area_m2: area } : {}), site });
      this.busy = false;
      this.nameInput.value = '';
      this.investorInput.value = '';
      this.areaInput.value = '';
      this.site.reset();
      this.showMessage('ok', t('apSubmitted', { n: app.number }));
      this.renderState();
      this.onSubmitted(app);
    } catch (err) {
      this.busy = false;
      const e = err as Error & { code?: string };
      this.showMessage('error', `${t('apSubmitFailed')}${colon()}${e.message}${e.code ? ` (${e.code})` : ''}`);
      this.renderState();
    }
  }

  private showMessage(kind: 'ok' | 'error' | 'busy' | 'none', text = ''): void {
    if (kind === 'none') {
      replaceChildren(this.message);
      return;
    }
    replaceChildren(this.message, h('p', { class: `ap-notice ap-notice-${kind}`, role: kind === 'error' ? 'alert' : undefined, 'data-kind': kind }, text));
  }

  private renderState(): void {
    for (const [f, el] of [['name', this.nameInput], ['type', this.typeSelect], ['investor', this.investorInput], ['area', this.areaInput]] as const) {
      el.classList.toggle('invalid', this.invalid.has(f));
    }
    this.site.root.classList.toggle('invalid', this.invalid.has('site') && !this.site.input);
    this.submitButton.disabled = this.busy || this.site.isBusy;
  }

  /** Renders every text (also after a language switch). */
  render(): void {
    this.heading.textContent = t('apFormTitle');
    this.intro.textContent = t('apFormIntro');
    const req = (key: StringKey): (string | HTMLElement)[] => [t(key), h('span', { class: 'ap-req', title: t('required') }, ' *')];
    replaceChildren(this.labels.name, ...req('apName'));
    replaceChildren(this.labels.type, ...req('apType'));
    replaceChildren(this.labels.investor, ...req('apInvestor'));
    this.labels.area.textContent = t('apRequestedArea');
    replaceChildren(this.labels.site, ...req('apSite'));
    this.areaInput.placeholder = t('apOptional');
    this.areaInput.title = t('apRequestedHint');
    const chosen = this.typeSelect.value;
    replaceChildren(this.typeSelect, h('option', { value: '' }, t('apTypeChoose')),
      ...(this.types?.types ?? []).map((t) => h('option', { value: t.code }, pick(t))));
    this.typeSelect.value = chosen;
    const unit = this.areaUnit.value || 'ha';
    replaceChildren(this.areaUnit, h('option', { value: 'ha' }, t('unitHa')), h('option', { value: 'mu' }, t('unitMu')));
    this.areaUnit.value = unit;
    this.submitButton.textContent = t('apSubmit');
    this.submitButton.title = t('apSubmitTitle');
    this.renderTypeInfo();
    this.site.render();
    this.renderState();
  }
}
