// Interface language: Chinese by default, English on request, remembered in localStorage.
import { STRINGS, type StringKey } from './strings';

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
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  for (const fn of listeners) fn(next);
}

/** Calls fn on every language change; returns the unsubscribe function. */
export function onLangChange(fn: (lang: Lang) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** The interface string for key in the current language. */
export function t(key: StringKey): string {
  return STRINGS[key][current];
}

/** The current language's side of a bilingual registry text. */
export function pick(text: Localized): string {
  return text[current] || text.zh;
}

/** Sets the <html lang> attribute to the stored language at start-up. */
export function initDocumentLang(): void {
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
}

/** A timestamp as local "YYYY-MM-DD HH:mm" (the same in both languages). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
