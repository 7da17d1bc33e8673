import { describe, expect, test } from 'vitest';
import { measureArea, measureLength, sketchFeatures } from './geometry';

describe('measure geometry', () => {
  test('a degree of longitude on the equator is about 111.2 km on turf’s sphere', () => {
    const r = measureLength([[113, 0], [114, 0]]);
    expect(r.km).toBeCloseTo(111.195, 2);
    expect(r.m).toBeCloseTo(r.km * 1000, 6);
  });

  test('area in m², 公顷 and 亩 agree (1 公顷 = 10 000 m² = 15 亩)', () => {
    const r = measureArea([[113.30, 40.08], [113.31, 40.08], [113.31, 40.09], [113.30, 40.09]]);
    expect(r.m2).toBeGreaterThan(900_000);
    expect(r.m2).toBeLessThan(1_000_000);
    expect(r.ha).toBeCloseTo(r.m2 / 10_000, 9);
    expect(r.mu).toBeCloseTo(r.ha * 15, 9);
    expect(r.perimeter.km).toBeGreaterThan(3.8);
  });

  test('too few vertices measure zero', () => {
    expect(measureLength([[113, 40]]).m).toBe(0);
    expect(measureArea([[113, 40], [113.1, 40]]).m2).toBe(0);
  });

  test('the area sketch is a fill, a closed line and the vertices, the first one marked', () => {
    const fc = sketchFeatures('area', [[0, 0], [1, 0]], [1, 1]);
    expect(fc.features.map((f) => f.properties?.['kind'])).toEqual(['fill', 'line', 'vertex', 'vertex']);
    const line = fc.features[1]!.geometry;
    expect(line.type === 'LineString' && line.coordinates).toEqual([[0, 0], [1, 0], [1, 1], [0, 0]]);
    expect(fc.features[2]!.properties?.['first']).toBe(true);
  });
});
