import { describe, expect, test } from 'vitest';
import { formatGk, formatLonLat, lonLatToGk } from './gk';

describe('Gauss-Krüger EPSG:4547', () => {
  test('projects the centre of 城区 as PROJ cs2cs does (EPSG:4490 → EPSG:4547)', () => {
    // echo "40.08 113.3" | cs2cs EPSG:4490 EPSG:4547 -f %.3f  →  4438646.699  440293.859
    const { x, y } = lonLatToGk(113.3, 40.08);
    expect(x).toBeCloseTo(440293.859, 3);
    expect(y).toBeCloseTo(4438646.699, 3);
  });

  test('puts the central meridian 114°E at the false easting 500 000 m', () => {
    expect(lonLatToGk(114, 40).x).toBeCloseTo(500000, 6);
  });

  test('formats lon/lat with 6 decimals and hemisphere letters', () => {
    expect(formatLonLat(113.3, 40.08)).toBe('113.300000°E, 40.080000°N');
  });

  test('writes X as the northing and Y as the easting, as Chinese surveys and EPSG:4547 do', () => {
    expect(formatGk(440293.8589, 4438646.6987)).toBe('X 4438646.699 m, Y 440293.859 m');
  });
});
