import { describe, expect, test } from 'vitest';
import { PbfReader } from 'pbf';
import { buildGlyphs, FONT_STACK } from './build';

type Glyph = { id: number; bitmap?: Uint8Array; width: number; height: number; left: number; top: number; advance: number };

/** Reads a glyph PBF exactly as MapLibre's parse_glyph_pbf.ts does (same tags and wire types). */
function parse(data: Uint8Array): { name?: string; range?: string; glyphs: Glyph[] } {
  const out: { name?: string; range?: string; glyphs: Glyph[] } = { glyphs: [] };
  new PbfReader(data).readFields((tag, o, pbf) => {
    if (tag !== 1) return;
    pbf.readMessage((t, s, p) => {
      if (t === 1) s.name = p.readString();
      else if (t === 2) s.range = p.readString();
      else if (t === 3) {
        s.glyphs.push(p.readMessage((k, g: Glyph, q) => {
          if (k === 1) g.id = q.readVarint();
          else if (k === 2) g.bitmap = q.readBytes();
          else if (k === 3) g.width = q.readVarint();
          else if (k === 4) g.height = q.readVarint();
          else if (k === 5) g.left = q.readSVarint();
          else if (k === 6) g.top = q.readSVarint();
          else if (k === 7) g.advance = q.readVarint();
        }, { id: 0, width: 0, height: 0, left: 0, top: 0, advance: 0 } as Glyph));
      }
    }, o);
  }, out);
  return out;
}

describe('glyph PBFs', () => {
  const files = buildGlyphs();

  test('exist for every 256-code-point range of the BMP, so MapLibre never gets a 404', () => {
    expect(files.size).toBe(256);
    for (let r = 0; r < 65536; r += 256) expect(files.has(`${FONT_STACK}/${r}-${r + 255}.pbf`)).toBe(true);
  });

  test('name their font stack and range', () => {
    const p = parse(files.get(`${FONT_STACK}/0-255.pbf`)!);
    expect(p.name).toBe(FONT_STACK);
    expect(p.range).toBe('0-255');
  });

  test('carry digits and Latin letters with bitmaps of (width + 6) × (height + 6) bytes', () => {
    const { glyphs } = parse(files.get(`${FONT_STACK}/0-255.pbf`)!);
    for (const ch of '0123456789ABCabc-()') {
      const g = glyphs.find((x) => x.id === ch.codePointAt(0));
      expect(g, ch).toBeDefined();
      expect(g!.bitmap!.length).toBe((g!.width + 6) * (g!.height + 6));
      expect(g!.advance).toBeGreaterThan(0);
    }
  });

  test('give the space an advance but no bitmap', () => {
    const space = parse(files.get(`${FONT_STACK}/0-255.pbf`)!).glyphs.find((g) => g.id === 32)!;
    expect(space.width).toBe(0);
    expect(space.bitmap).toBeUndefined();
    expect(space.advance).toBeGreaterThan(0);
  });

  test('encode the inside of a stroke above the edge value 191 and the far outside as 0', () => {
    const l = parse(files.get(`${FONT_STACK}/0-255.pbf`)!).glyphs.find((g) => g.id === 'l'.codePointAt(0))!;
    const w = l.width + 6, midRow = 3 + Math.floor(l.height / 2);
    const row = Array.from(l.bitmap!.subarray(midRow * w, (midRow + 1) * w));
    expect(Math.max(...row)).toBeGreaterThan(191);
    expect(row[0]).toBeLessThan(191);
  });

  test('leave the CJK ranges empty: MapLibre draws ideographs locally', () => {
    expect(parse(files.get(`${FONT_STACK}/19968-20223.pbf`)!).glyphs).toEqual([]);
  });
});
