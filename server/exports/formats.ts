// What an export can be: the three file formats (each a GDAL driver with its creation options),
// the coordinate systems each may be written in, and the attribute encodings. Parsing a request's
// format / crs / encoding into an ExportOptions, or a 400 naming what was expected.
import { CRS84 } from '../ogcapi/crs';
import { badCrs, badEncoding, badFormat } from './messages';

export const FORMATS = ['geojson', 'shapefile', 'gpkg'] as const;
export type ExportFormat = (typeof FORMATS)[number];

/** The attribute encodings a Shapefile may be written in (the other formats: UTF-8). */
export const ENCODINGS = ['utf8', 'gbk'] as const;
export type AttributeEncoding = (typeof ENCODINGS)[number];

interface FormatSpec {
  /** GDAL (OGR) driver name. */
  driver: string;
  /** Name of the file GDAL writes in the temp folder (given the layer id). */
  output: (layerId: string) => string;
  /** Extension of the downloaded file. */
  ext: string;
  contentType: string;
  /** Layer creation options (-lco). */
  lco: (o: { encoding: AttributeEncoding }) => string[];
  /**
   * Text width declared for text columns, or null for unbounded text. A DBF field needs a width:
   * without one GDAL declares 80 bytes and cuts longer values; 254 is DBF's largest, and RESIZE=YES
   * shrinks each field to its longest value when the file is closed.
   */
  textWidth: number | null;
}

export const FORMAT_SPECS: Record<ExportFormat, FormatSpec> = {
  geojson: {
    driver: 'GeoJSON',
    output: (id) => `${id}.geojson`,
    ext: 'geojson',
    contentType: 'application/geo+json',
    // RFC 7946: CRS84 longitude/latitude, right-hand rings; 9 decimals ≈ 0.1 mm like the OGC API.
    lco: () => ['RFC7946=YES', 'COORDINATE_PRECISION=9'],
    textWidth: null,
  },
  shapefile: {
    driver: 'ESRI Shapefile',
    // GDAL (≥ 3.1) writes a .shp.zip as one zip of .shp .shx .dbf .prj .cpg (through /vsizip/):
    // no zip writer needed in Node.
    output: (id) => `${id}.shp.zip`,
    ext: 'zip',
    contentType: 'application/zip',
    // ENCODING recodes the DBF and names the code page in the .cpg (UTF-8, or CP936 = GBK).
    lco: ({ encoding }) => [`ENCODING=${encoding === 'gbk' ? 'CP936' : 'UTF-8'}`, 'RESIZE=YES'],
    textWidth: 254,
  },
  gpkg: {
    driver: 'GPKG',
    output: (id) => `${id}.gpkg`,
    ext: 'gpkg',
    contentType: 'application/geopackage+sqlite3',
    lco: () => [],
    textWidth: null,
  },
};

/** CGCS2000 geographic (EPSG:4490): storage CRS, default of Shapefile and GeoPackage. */
export const CGCS2000 = 4490;
/** CGCS2000 Gauss-Krüger zones: 6° 4491–4512 and 3° 4513–4554 (each with and without the zone prefix). */
const GK_6 = [4491, 4512] as const;
const GK_3 = [4513, 4554] as const;
const isGaussKruger = (srid: number) => (srid >= GK_6[0] && srid <= GK_6[1]) || (srid >= GK_3[0] && srid <= GK_3[1]);

export interface ExportCrs {
  /** EPSG code written (CRS84 is written as CGCS2000 lon/lat, see server/ogcapi/crs.ts). */
  srid: number;
  /** For the file name: CRS84 or EPSG4547. */
  label: string;
}

export interface ExportOptions {
  format: ExportFormat;
  crs: ExportCrs;
  encoding: AttributeEncoding;
}

const EPSG_URI = /^https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/0\/(\d{4,5})$/;

/** Parses format, crs and encoding (each optional: GeoJSON in CRS84 and UTF-8 by default). */
export function parseExportOptions(q: { format?: string; crs?: string; encoding?: string }): ExportOptions {
  const fmt = (q.format ?? 'geojson').trim().toLowerCase();
  const format = FORMATS.find((f) => f === fmt) ?? (fmt === 'shp' ? 'shapefile' : fmt === 'geopackage' ? 'gpkg' : undefined);
  if (!format) throw badFormat(q.format ?? '', FORMATS);

  let crs: ExportCrs;
  const raw = q.crs?.trim();
  if (format === 'geojson') {
    // RFC 7946 knows one CRS: a GeoJSON file in anything else would be read wrong by most readers.
    if (raw !== undefined && !/^(OGC:)?CRS84$/i.test(raw) && raw.replace(/^https:/, 'http:') !== CRS84) {
      throw badCrs(raw, 'GeoJSON (RFC 7946)', 'CRS84 only; choose shapefile or gpkg for EPSG:4490 or a Gauss-Krüger zone');
    }
    crs = { srid: CGCS2000, label: 'CRS84' };
  } else {
    const m = raw === undefined ? ['', String(CGCS2000)] : (/^EPSG:(\d{4,5})$/i.exec(raw) ?? EPSG_URI.exec(raw));
    const srid = m ? Number(m[1]) : NaN;
    if (!(srid === CGCS2000 || isGaussKruger(srid))) {
      throw badCrs(raw ?? '', format === 'gpkg' ? 'GeoPackage' : 'Shapefile', 'EPSG:4490 or a CGCS2000 Gauss-Krüger zone (EPSG:4491–4512 6°, EPSG:4513–4554 3°)');
    }
    crs = { srid, label: `EPSG${srid}` };
  }

  const enc = (q.encoding ?? 'utf8').trim().toLowerCase();
  const encoding: AttributeEncoding | undefined = enc === 'utf8' || enc === 'utf-8' ? 'utf8' : enc === 'gbk' || enc === 'cp936' ? 'gbk' : undefined;
  if (!encoding) throw badEncoding(q.encoding ?? '', format, format === 'shapefile' ? 'utf8 or gbk' : 'utf8');
  if (encoding !== 'utf8' && format !== 'shapefile') throw badEncoding(q.encoding ?? '', format, 'UTF-8 only (the format requires it)');
  return { format, crs, encoding };
}
