// Opening a 成果包 (a release's PMTiles archive) from disk, with no server: the file is read in the
// browser through the `pmtiles` package (FileSource, its MapLibre protocol), and the style, the
// layers' registry entries (legend) and the release's facts (审图号 caption) come from the archive's
// JSON metadata, which the archive writer fills in (server/releases/archive.ts):
//   "onemap": { "release": {...}, "layers": [registry entries], "style": <MapLibre style, source url "pmtiles://<name>"> }
// (flat keys "onemap.release", "onemap.layers", "onemap.style" are read too).
import * as maplibregl from 'maplibre-gl';
import type { StyleSpecification } from 'maplibre-gl';
import { FileSource, PMTiles, Protocol, type Source } from 'pmtiles';
import type { RegistryEntry } from '../layers/registry';
import type { CaptionInfo } from './caption';
import { entriesIn, releaseEntries } from './layers';

let protocol: Protocol | undefined;
let opened = 0;

/** The pmtiles:// protocol, registered with MapLibre once. */
function pmtilesProtocol(): Protocol {
  if (!protocol) {
    protocol = new Protocol();
    maplibregl.addProtocol('pmtiles', protocol.tilev4 as maplibregl.AddProtocolAction);
  }
  return protocol;
}

/** An archive opened from disk. */
export interface OpenedArchive {
  /** The file's name. */
  name: string;
  /** The style to show it with, its sources on this file. */
  style: StyleSpecification;
  /** The layers' registry entries (tree and legend). */
  entries: RegistryEntry[];
  /** The release's facts for the caption, when the archive has them. */
  release: CaptionInfo | null;
  /** Zooms and bounds of the tiles, from the archive's header. */
  minZoom: number;
  maxZoom: number;
  bounds: [number, number, number, number];
}

/** A value of the metadata under "onemap": nested ({onemap: {key}}) or flat ("onemap.key"). */
function onemap(meta: Record<string, unknown>, key: string): unknown {
  const nested = meta.onemap;
  if (nested && typeof nested === 'object' && key in nested) return (nested as Record<string, unknown>)[key];
  const flat = meta[`onemap.${key}`];
  // Some writers keep nested values as JSON text.
  if (typeof flat === 'string') {
    try {
      return JSON.parse(flat);
    } catch {
      return flat;
    }
  }
  return flat;
}

function captionOf(value: unknown): CaptionInfo | null {
  if (!value || typeof value !== 'object') return null;
  const r = value as Record<string, unknown>;
  const number = Number(r.number ?? r.release);
  if (!Number.isInteger(number)) return null;
  const str = (x: unknown) => (typeof x === 'string' && x ? x : null);
  return {
    number,
    title: str(r.title) ?? '',
    reviewNumber: str(r.reviewNumber) ?? str(r.review_number),
    publishedAt: str(r.publishedAt) ?? str(r.published_at),
    preparedAt: str(r.preparedAt) ?? str(r.prepared_at),
    department: str(r.department) ?? 'planning',
    status: str(r.status) ?? undefined,
  };
}

/**
 * The style with its pmtiles:// sources on this file (the archive names itself; the file may have
 * been renamed) and its glyphs from the page's own server when there is one; with none (a file://
 * page) the labels go, as nothing could draw them.
 */
function localStyle(style: StyleSpecification, key: string): StyleSpecification {
  const copy = structuredClone(style);
  for (const src of Object.values(copy.sources)) {
    const s = src as { type: string; url?: string; tiles?: string[] };
    if (s.type === 'vector' && (s.url?.startsWith('pmtiles://') || !s.tiles)) {
      s.url = `pmtiles://${key}`;
      delete s.tiles;
    }
  }
  if (location.protocol === 'http:' || location.protocol === 'https:') {
    if (copy.glyphs || copy.layers.some((l) => l.type === 'symbol')) copy.glyphs = `${location.origin}/fonts/{fontstack}/{range}.pbf`;
  } else {
    delete copy.glyphs;
    copy.layers = copy.layers.filter((l) => l.type !== 'symbol');
  }
  return copy;
}

/** The style the archive carries, or one made of its vector layers (a plain PMTiles file). */
function styleOf(meta: Record<string, unknown>, key: string): StyleSpecification {
  const given = onemap(meta, 'style');
  if (given && typeof given === 'object' && (given as StyleSpecification).version === 8) return localStyle(given as StyleSpecification, key);
  const vector = Array.isArray(meta.vector_layers) ? (meta.vector_layers as { id: string }[]) : [];
  const palette = ['#e8736c', '#4f9a55', '#3b82f6', '#f59e0b', '#8b5cf6', '#0ea5e9', '#b5727f'];
  return {
    version: 8,
    sources: { archive: { type: 'vector', url: `pmtiles://${key}` } },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#f4f1ea' } },
      ...vector.flatMap((v, i) => [
        { id: `${v.id}:fill`, type: 'fill' as const, source: 'archive', 'source-layer': v.id, metadata: { 'onemap:layer': v.id }, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': palette[i % palette.length], 'fill-opacity': 0.5 } },
        { id: `${v.id}:line`, type: 'line' as const, source: 'archive', 'source-layer': v.id, metadata: { 'onemap:layer': v.id }, paint: { 'line-color': palette[i % palette.length], 'line-width': 1 } },
      ]),
    ] as StyleSpecification['layers'],
  };
}

/** Opens a .pmtiles file: registers it with the protocol and reads its header and metadata. */
export async function openArchive(file: File): Promise<OpenedArchive> {
  const p = pmtilesProtocol();
  // A key of our own: the URL needs no escaping whatever the file is called, and a second file of
  // the same name is another archive.
  const key = `archive-${++opened}.pmtiles`;
  const files = new FileSource(file);
  const source: Source = { getKey: () => key, getBytes: (offset, length) => files.getBytes(offset, length) };
  const archive = new PMTiles(source);
  const header = await archive.getHeader();
  if (header.tileType !== 1) throw new Error(`${file.name}: not a vector-tile (MVT) archive (tile type ${header.tileType})`);
  const meta = ((await archive.getMetadata()) ?? {}) as Record<string, unknown>;
  p.add(archive);
  const style = styleOf(meta, key);
  const entries = entriesIn(onemap(meta, 'layers')) ?? releaseEntries(style);
  return {
    name: file.name,
    style,
    entries,
    release: captionOf(onemap(meta, 'release')),
    minZoom: header.minZoom,
    maxZoom: header.maxZoom,
    bounds: [header.minLon, header.minLat, header.maxLon, header.maxLat],
  };
}
