import { describe, expect, test } from 'vitest';
import { m2ToHa, m2ToMu } from './area';

describe('area units', () => {
  test('one 公顷 is 10 000 m²', () => {
    expect(m2ToHa(10_000)).toBe(1);
  });

  test('one 亩 is 10 000/15 m², so 15 亩 make a 公顷', () => {
    expect(m2ToMu(10_000)).toBe(15);
    expect(m2ToMu(10_000 / 15)).toBeCloseTo(1, 12);
  });
});
