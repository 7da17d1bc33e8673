// Minimal typings for the part of opentype.js (v2, which ships no types) that the glyph builder uses.
// Node loads its UMD build, whose module object is the default export.
declare module 'opentype.js' {
  namespace opentype {
    /** One drawing command of a glyph outline, in px with y pointing down. */
    type PathCommand =
      | { type: 'M' | 'L'; x: number; y: number }
      | { type: 'Q'; x1: number; y1: number; x: number; y: number }
      | { type: 'C'; x1: number; y1: number; x2: number; y2: number; x: number; y: number }
      | { type: 'Z' };
    interface Path { commands: PathCommand[] }
    interface Glyph {
      index: number;
      /** Advance in font units. */
      advanceWidth?: number;
      getPath(x: number, y: number, fontSize: number): Path;
    }
    interface Font {
      unitsPerEm: number;
      hasChar(c: string): boolean;
      charToGlyph(c: string): Glyph;
    }
    function parse(buffer: ArrayBuffer): Font;
  }
  export type PathCommand = opentype.PathCommand;
  export default opentype;
}
