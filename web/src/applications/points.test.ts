import { describe, expect, test } from 'vitest';
import proj4 from 'proj4';
import { checkPoints, gkToLonLat, gkZone, parseNumber, parsePointsText, pointsToPolygon, toSitePoints } from './points';

const GRS80 = '+proj=longlat +ellps=GRS80 +no_defs';
const CM114 = '+proj=tmerc +lat_0=0 +lon_0=114 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs';

describe('applications: boundary points (界址点)', () => {
  test('zones of the CGCS2000 3-degree GK series', () => {
    expect(gkZone(4526)).toEqual({ srid: 4526, cm: 114, zone: 38, prefixed: true });
    expect(gkZone(4547)).toEqual({ srid: 4547, cm: 114, zone: 38, prefixed: false });
    expect(gkZone(4513)).toMatchObject({ cm: 75, zone: 25, prefixed: true });
    expect(gkZone(4554)).toMatchObject({ cm: 135, prefixed: false });
    expect(gkZone(4490)).toBeUndefined();
    expect(gkZone(2383)).toBeUndefined();
  });

  test('numbers as surveyors write them', () => {
    expect(parseNumber(' 4 438 646.699 ')).toBe(4_438_646.699);
    expect(parseNumber('38,440,293.859')).toBe(38_440_293.859);
    expect(parseNumber('４４３８６４６．６９９')).toBe(4_438_646.699);
    expect(parseNumber('44x')).toBeUndefined();
    expect(parseNumber('')).toBeUndefined();
  });

  test('a pasted table: tabs (Excel), commas or spaces; a header line skipped; numbered when no 点号', () => {
    const excel = '点号\tX\tY\nJ1\t4438646.699\t38440293.859\nJ2\t4438646.699\t38440393.859\r\nJ3\t4438546.699\t38440393.859\t1\n';
    expect(parsePointsText(excel)).toEqual([
      { no: 'J1', x: '4438646.699', y: '38440293.859', ring: '1' },
      { no: 'J2', x: '4438646.699', y: '38440393.859', ring: '1' },
      { no: 'J3', x: '4438546.699', y: '38440393.859', ring: '1' },
    ]);
    expect(parsePointsText('4438646.699, 440293.859\n4438646.699 440393.859')).toEqual([
      { no: 'J1', x: '4438646.699', y: '440293.859', ring: '1' },
      { no: 'J2', x: '4438646.699', y: '440393.859', ring: '1' },
    ]);
    expect(parsePointsText('K1，4438646.7，440293.9，2')).toEqual([{ no: 'K1', x: '4438646.7', y: '440293.9', ring: '2' }]);
  });

  test('conversion agrees with proj4 on EPSG:4547 and the prefixed zone 38 is the same place', () => {
    const [e, n] = proj4(GRS80, CM114).forward([113.3, 40.08]);
    const [lon, lat] = gkToLonLat(4547, n!, e!);
    expect(lon).toBeCloseTo(113.3, 9);
    expect(lat).toBeCloseTo(40.08, 9);
    const [lon2, lat2] = gkToLonLat(4526, n!, e! + 38_000_000);
    expect(lon2).toBeCloseTo(113.3, 9);
    expect(lat2).toBeCloseTo(40.08, 9);
  });

  test('the polygon: outer ring 1, holes from the other rings, closed', () => {
    const rows = [
      { no: 'J1', x: '4438000', y: '440000', ring: '1' },
      { no: 'J2', x: '4438000', y: '440300', ring: '1' },
      { no: 'J3', x: '4438300', y: '440300', ring: '1' },
      { no: 'J4', x: '4438300', y: '440000', ring: '1' },
      { no: 'K1', x: '4438100', y: '440100', ring: '2' },
      { no: 'K2', x: '4438100', y: '440200', ring: '2' },
      { no: 'K3', x: '4438200', y: '440200', ring: '2' },
    ];
    const mp = pointsToPolygon(rows, 4547)!;
    expect(mp.coordinates).toHaveLength(1);
    expect(mp.coordinates[0]).toHaveLength(2);
    expect(mp.coordinates[0]![0]).toHaveLength(5);
    expect(mp.coordinates[0]![0]![0]).toEqual(mp.coordinates[0]![0]![4]);
    expect(mp.coordinates[0]![1]).toHaveLength(4);
    expect(toSitePoints(rows).slice(3, 5)).toEqual([{ ring: 1, order: 4, x: 4438300, y: 440000 }, { ring: 2, order: 1, x: 4438100, y: 440100 }]);
    expect(checkPoints(rows, 4547)).toEqual([]);
    expect(pointsToPolygon(rows.slice(0, 2), 4547)).toBeNull();
  });

  test('checks: wrong prefix, swapped columns, nonsense, too few points, repeated point', () => {
    const ok = [
      { no: '1', x: '4438000', y: '38440000', ring: '1' },
      { no: '2', x: '4438000', y: '38440300', ring: '1' },
      { no: '3', x: '4438300', y: '38440300', ring: '1' },
    ];
    expect(checkPoints(ok, 4526)).toEqual([]);
    // The same points in the zone without prefix: Y has the zone number.
    expect(checkPoints(ok, 4547).map((p) => p.code)).toEqual(['y_zone_prefix', 'y_zone_prefix', 'y_zone_prefix']);
    // Without prefix where the zone wants one.
    const bare = ok.map((r) => ({ ...r, y: r.y.slice(2) }));
    expect(checkPoints(bare, 4526).map((p) => p.code)).toEqual(['y_no_prefix', 'y_no_prefix', 'y_no_prefix']);
    // Zone 39's easting typed in zone 38.
    expect(checkPoints([{ ...ok[0]!, y: '39440000' }, ok[1]!, ok[2]!], 4526)).toEqual([{ row: 0, column: 'y', code: 'y_out_of_range' }]);
    // X and Y swapped.
    expect(checkPoints([{ ...ok[0]!, x: '440000', y: '4438000' }, ...ok.slice(1)], 4547).find((p) => p.row === 0)).toEqual({ row: 0, code: 'swapped' });
    expect(checkPoints([{ ...ok[0]!, x: '44a' }, ...ok.slice(1)], 4526)).toContainEqual({ row: 0, column: 'x', code: 'not_a_number' });
    expect(checkPoints(ok.slice(0, 2), 4526)).toEqual([{ code: 'too_few' }]);
    // The first point repeated at the end closes the ring: fine. Repeated in the middle: not.
    expect(checkPoints([...ok, { ...ok[0]!, no: '4' }], 4526)).toEqual([]);
    expect(checkPoints([ok[0]!, ok[1]!, { ...ok[1]!, no: 'x' }, ok[2]!], 4526)).toContainEqual({ row: 2, code: 'duplicate' });
  });
});
