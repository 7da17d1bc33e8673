import { describe, expect, test } from 'vitest';
import { areaText, daysLeftText, daysUntil, haText, muText, parseArea, shareText, shortSignature } from './format';

describe('applications: formats', () => {
  test('areas in 公顷 (4 decimals) and 亩 (2 decimals); 1 公顷 = 15 亩', () => {
    expect(haText(23_145, 'zh')).toBe('2.3145 公顷');
    expect(muText(23_145, 'zh')).toBe('34.72 亩');
    expect(areaText(10_000, 'zh')).toBe('1.0000 公顷（15.00 亩）');
    expect(areaText(10_000, 'en')).toBe('1.0000 ha (15.00 mu)');
    expect(haText(1_234_567, 'zh')).toBe('123.4567 公顷');
    // The server's own figures win when given.
    expect(haText(0, 'zh', 2.5)).toBe('2.5000 公顷');
  });

  test('shares in per cent', () => {
    expect(shareText(0.2345)).toBe('23.4%');
    expect(shareText(1)).toBe('100.0%');
    expect(shareText(0.0001)).toBe('<0.1%');
    expect(shareText(0)).toBe('0.0%');
    expect(shareText(null)).toBe('—');
  });

  test('days to a deadline and their words', () => {
    const today = new Date(2026, 2, 10, 15, 30);
    expect(daysUntil('2026-03-13', today)).toBe(3);
    expect(daysUntil('2026-03-10', today)).toBe(0);
    expect(daysUntil('2026-03-08', today)).toBe(-2);
    expect(daysUntil('2026-04-01', today)).toBe(22);
    expect(daysLeftText(3, 'zh')).toBe('剩 3 个工作日');
    expect(daysLeftText(0, 'zh')).toBe('今日到期');
    expect(daysLeftText(-2, 'zh')).toBe('超期 2 个工作日');
    expect(daysLeftText(1, 'en')).toBe('1 working day left');
    expect(daysLeftText(-3, 'en')).toBe('3 working days overdue');
  });

  test('a requested area typed in 公顷 or 亩', () => {
    expect(parseArea('2.5', 'ha')).toBe(25_000);
    expect(parseArea('15', 'mu')).toBeCloseTo(10_000, 9);
    expect(parseArea('1,200', 'ha')).toBe(12_000_000);
    expect(parseArea('', 'ha')).toBeUndefined();
    expect(parseArea('abc', 'ha')).toBeNaN();
  });

  test('a signature shortened for the eye', () => {
    expect(shortSignature('0123456789abcdef0123456789abcdef')).toBe('01234567…89abcdef');
    expect(shortSignature(null)).toBe('—');
  });
});
