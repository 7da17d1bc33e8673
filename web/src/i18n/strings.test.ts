import { describe, expect, test } from 'vitest';
import { GROUPS, STRINGS } from './strings';
import { t, term } from './i18n';

describe('the viewer\'s string table', () => {
  test('every key stands in one group only (a group spread over another would hide its text)', () => {
    const seen = new Map<string, string>();
    for (const [group, texts] of Object.entries(GROUPS)) {
      for (const key of Object.keys(texts)) {
        expect(seen.get(key), `${key} in ${group}`).toBeUndefined();
        seen.set(key, group);
      }
    }
    expect(Object.keys(STRINGS).sort()).toEqual([...seen.keys()].sort());
  });

  test('no two entries say the same in both languages (a shared text is one entry)', () => {
    const byText = new Map<string, string[]>();
    for (const texts of Object.values(GROUPS)) {
      for (const [key, text] of Object.entries(texts)) {
        const same = `${text.zh}\u0000${text.en}`;
        byText.set(same, [...(byText.get(same) ?? []), key]);
      }
    }
    expect([...byText.values()].filter((keys) => keys.length > 1)).toEqual([]);
  });

  test('both languages have the same {placeholders}', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(STRINGS)) expect(names(text.en), key).toEqual(names(text.zh));
  });

  test('t fills placeholders and takes a language; term names a code or gives it back', () => {
    expect(t('cfTotal', { n: 12 }, 'zh')).toBe('共 12 个图斑');
    expect(t('cfTotal', { n: 12 }, 'en')).toBe('12 cases');
    expect(t('cfRunDone', { id: 3 }, 'en')).toBe('Run 3 ({mode}) finished in {duration}');
    expect(term('apVerdict', 'conflicting')).toBe('存在冲突');
    expect(term('apVerdict', 'nonsense')).toBe('nonsense');
  });
});
