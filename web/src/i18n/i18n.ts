// Interface language: Chinese by default, English on request, remembered in localStorage.
import { STRINGS, type StringKey } from './strings';

export type { StringKey } from './strings';

/** The two interface languages. */
export type Lang = 'zh' | 'en';
/** Any text the registry or API gives in both languages. */
export type Localized = { zh: string; en: string };

const STORAGE_KEY = 'onemap.lang';
const listeners = new Set<(lang: Lang) => void>();

function stored(): Lang {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh'; // storage blocked (private mode, sandbox): fall back to the default
  }
}

let current: Lang = stored();

/** The current interface language. */
export function lang(): Lang {
  return current;
}

/** Switches the language, persists it and tells every subscriber. */
export function setLang(next: Lang): void {
  if (next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* not persisted; the switch still applies to this page */
  }
  document.documentElement.lang = locale(next);
  for (const fn of listeners) fn(next);
}

/** Calls fn on every language change; returns the unsubscribe function. */
export function onLangChange(fn: (lang: Lang) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Values for the {name} placeholders of a text. */
export type Vars = Record<string, string | number>;

/**
 * The interface text of key in the current language (or in `l`, for formatters that take the
 * language as an argument), its {name} placeholders filled in from vars.
 */
export function t(key: StringKey, vars?: Vars, l: Lang = current): string {
  const text: string = STRINGS[key][l];
  return vars ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) : text;
}

/** The vocabularies of the table: the part before `_` of its keys (apStatus, apDecision …). */
export type Vocabulary = StringKey extends infer K ? (K extends `${infer V}_${string}` ? V : never) : never;

/** The name of a vocabulary's code (the entry `<vocabulary>_<code>`); the code itself when there is none. */
export function term(vocabulary: Vocabulary, code: string): string {
  const key = `${vocabulary}_${code}`;
  return key in STRINGS ? t(key as StringKey) : code;
}

/** The locale of the interface language, for number formats. */
export function locale(l: Lang = current): string {
  return l === 'zh' ? 'zh-CN' : 'en';
}

/** The colon after a label: "：" in Chinese, ": " in English. */
export function colon(): string {
  return current === 'zh' ? '：' : ': ';
}

/** Text in brackets: "（…）" in Chinese, " (…)" in English. */
export function paren(text: string): string {
  return current === 'zh' ? `（${text}）` : ` (${text})`;
}

/** A gap between figures: an ideographic space in Chinese, an en space in English. */
export function gap(): string {
  return current === 'zh' ? '\u3000' : '\u2002';
}

/** The current language's side of a bilingual registry text. */
export function pick(text: Localized): string {
  return text[current] || text.zh;
}

/** The current language's name of `code` in a vocabulary's terms (the server's lists); the code itself when it is none of them. */
export function nameOf(terms: readonly (Localized & { code: string })[], code: string): string {
  const found = terms.find((x) => x.code === code);
  return found ? pick(found) : code;
}

/** Sets the <html lang> attribute to the stored language at start-up. */
export function initDocumentLang(): void {
  document.documentElement.lang = locale(current);
}

/** A timestamp as local "YYYY-MM-DD HH:mm" (the same in both languages). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
