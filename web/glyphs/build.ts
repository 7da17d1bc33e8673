// Builds the label glyphs the style's `glyphs: "/fonts/{fontstack}/{range}.pbf"` points at, so the
// viewer needs no font server on the internet.
//
// Source font: Noto Sans Regular from the npm package @fontsource/noto-sans (SIL OFL 1.1), whose
// WOFF files are split by script subset; a code point is taken from the first subset that has it.
// Output: one MapLibre glyph PBF per 256-code-point range below U+10000 (256 files), empty where
// the font has nothing, so MapLibre never meets a 404 for any label text. CJK ideographs, kana,
// CJK punctuation and full-width forms are drawn by MapLibre itself with `localIdeographFontFamily`
// and are never requested, but their ranges exist (empty) all the same.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { PbfWriter } from 'pbf'; // protobuf writer (the same library MapLibre reads glyphs with)
import opentype from 'opentype.js'; // parses the WOFF fonts into outlines
import type { Plugin } from 'vite';
import { glyphToSdf, GLYPH_SIZE_PX } from './sdf';

/** The font stack name the server's style uses in `text-font`. */
export const FONT_STACK = 'Noto Sans Regular';

/** @fontsource/noto-sans subsets, in order of preference for a code point they share. */
const SUBSETS = ['latin', 'latin-ext', 'cyrillic', 'cyrillic-ext', 'greek', 'greek-ext', 'vietnamese'];

/**
 * Server glyph `top` is measured from an origin above the em box, not from the baseline; MapLibre
 * aligns its locally drawn CJK glyphs with server glyphs by subtracting 27.5 px from the ascent
 * (glyph_manager.ts `topAdjustment`). We subtract the same, rounded, so mixed Latin/CJK labels line up.
 */
const TOP_ADJUSTMENT_PX = 27;

/** Number of 256-code-point ranges in the Basic Multilingual Plane. */
const RANGE_COUNT = 256;

function loadFonts(): opentype.Font[] {
  const require = createRequire(import.meta.url);
  return SUBSETS.map((subset) => {
    const file = require.resolve(`@fontsource/noto-sans/files/noto-sans-${subset}-400-normal.woff`);
    const data = readFileSync(file);
    return opentype.parse(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  });
}

/** Encodes one range's glyphs as the protobuf `glyphs { fontstack { name, range, glyph* } }`. */
function encodeRange(fonts: opentype.Font[], rangeIndex: number): Uint8Array {
  const start = rangeIndex * 256, end = start + 255;
  const pbf = new PbfWriter();
  pbf.writeMessage(1, (_: null, stack: PbfWriter) => {
    stack.writeStringField(1, FONT_STACK);
    stack.writeStringField(2, `${start}-${end}`);
    for (let cp = start; cp <= end; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue; // surrogates are not characters
      const ch = String.fromCodePoint(cp);
      const font = fonts.find((f) => f.hasChar(ch));
      if (!font) continue;
      const glyph = font.charToGlyph(ch);
      if (glyph.index === 0) continue; // .notdef
      const sdf = glyphToSdf(glyph.getPath(0, 0, GLYPH_SIZE_PX).commands);
      const advance = Math.round(((glyph.advanceWidth ?? 0) * GLYPH_SIZE_PX) / font.unitsPerEm);
      stack.writeMessage(3, (_g: null, g: PbfWriter) => {
        g.writeVarintField(1, cp);
        if (sdf.bitmap.length > 0) g.writeBytesField(2, sdf.bitmap);
        g.writeVarintField(3, sdf.width);
        g.writeVarintField(4, sdf.height);
        g.writeSVarintField(5, sdf.left);
        g.writeSVarintField(6, sdf.ascent - TOP_ADJUSTMENT_PX);
        g.writeVarintField(7, advance);
      }, null);
    }
  }, null);
  return pbf.finish();
}

/** All glyph PBFs of the font stack, keyed by their path under /fonts/ ("Noto Sans Regular/0-255.pbf"). */
export function buildGlyphs(): Map<string, Uint8Array> {
  const fonts = loadFonts();
  const files = new Map<string, Uint8Array>();
  for (let r = 0; r < RANGE_COUNT; r++) {
    files.set(`${FONT_STACK}/${r * 256}-${r * 256 + 255}.pbf`, encodeRange(fonts, r));
  }
  return files;
}

/**
 * Vite plugin: emits the glyph PBFs as `fonts/<stack>/<range>.pbf` into the build output
 * (web/dist/fonts/, which the server serves at /fonts/) and serves them at /fonts/ in `vite dev`.
 */
export function glyphsPlugin(): Plugin {
  let cache: Map<string, Uint8Array> | undefined;
  const glyphs = (): Map<string, Uint8Array> => (cache ??= buildGlyphs());
  return {
    name: 'onemap-glyphs',
    generateBundle() {
      for (const [path, source] of glyphs()) {
        this.emitFile({ type: 'asset', fileName: `fonts/${path}`, source });
      }
    },
    configureServer(server) {
      server.middlewares.use('/fonts/', (req, res, next) => {
        const path = decodeURIComponent((req.url ?? '').replace(/^\//, '').split('?')[0]);
        const body = glyphs().get(path);
        if (!body) return next();
        res.setHeader('Content-Type', 'application/x-protobuf');
        res.end(body);
      });
    },
  };
}
