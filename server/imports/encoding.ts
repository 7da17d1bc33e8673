// Text encodings of delivered files: a Shapefile's .cpg names the code page of its .dbf; without
// one (and for CSV and GeoJSON saved by Chinese Windows software) the bytes decide: valid UTF-8
// is UTF-8, anything else is taken as GB18030, the superset of GBK and GB2312 that Chinese GIS
// software writes. Decoding uses iconv-lite (Node's own TextDecoder has no GB18030 in small-ICU builds).
import iconv from 'iconv-lite';
import { isUtf8 } from 'node:buffer';

/** Code-page names and numbers found in .cpg files (ArcGIS, GDAL, QGIS) → an iconv-lite label. */
const CPG_ALIASES: Record<string, string> = {
  'utf-8': 'utf-8', utf8: 'utf-8', '65001': 'utf-8',
  gbk: 'gb18030', cp936: 'gb18030', '936': 'gb18030', 'ansi 936': 'gb18030', 'windows-936': 'gb18030', ms936: 'gb18030',
  gb2312: 'gb18030', 'gb-2312': 'gb18030', gb18030: 'gb18030', '54936': 'gb18030', 'euc-cn': 'gb18030',
  big5: 'big5', '950': 'big5', cp950: 'big5',
  '1252': 'windows-1252', 'ansi 1252': 'windows-1252', 'windows-1252': 'windows-1252', cp1252: 'windows-1252',
  '88591': 'iso-8859-1', 'iso-8859-1': 'iso-8859-1', 'iso8859-1': 'iso-8859-1', latin1: 'iso-8859-1',
};

/**
 * The iconv-lite label for an encoding name as written in a .cpg or by a caller ('GBK', 'CP936',
 * '936', 'UTF-8', …), or undefined when it is not a known encoding. GBK and GB2312 map to GB18030,
 * their superset, so that every byte sequence they allow decodes.
 */
export function normaliseEncoding(name: string): string | undefined {
  const key = name.trim().replace(/^\uFEFF/, '').toLowerCase();
  if (!key) return undefined;
  if (CPG_ALIASES[key]) return CPG_ALIASES[key];
  const cp = /^(?:cp|windows-|ansi\s*)?(\d{3,5})$/.exec(key);
  if (cp && iconv.encodingExists(`cp${cp[1]}`)) return `cp${cp[1]}`;
  return iconv.encodingExists(key) ? key : undefined;
}

/** UTF-8 when the bytes are valid UTF-8 (plain ASCII included), else GB18030. */
export function detectEncoding(bytes: Uint8Array): 'utf-8' | 'gb18030' {
  return isUtf8(bytes) ? 'utf-8' : 'gb18030';
}

/** Decodes bytes with an iconv-lite label, dropping a leading byte-order mark. */
export function decode(bytes: Uint8Array, encoding: string): string {
  return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), encoding, { stripBOM: true });
}

/**
 * Incremental UTF-8 validity over a stream of chunks (a multi-byte sequence may straddle two
 * chunks): push every chunk, then `valid()`.
 */
export function utf8Validator() {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let ok = true;
  return {
    push(chunk: Uint8Array) {
      if (!ok) return;
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        ok = false;
      }
    },
    valid(): boolean {
      if (!ok) return false;
      try {
        decoder.decode();
        return true;
      } catch {
        return false;
      }
    },
  };
}
